//! EnvoyFilter patches and what makes them depend on the proxy version: `proxyVersion`
//! matches, operations relative to other filters, and the Envoy extension types they set.

use super::FieldPath;
use crate::yaml::{Node, Value};

/// The telemetry EnvoyFilters Istio's installer rendered itself up to 1.17, one per proxy
/// version it supported: `stats-filter-1.N`, `tcp-stats-filter-1.N`, `metadata-exchange-1.N`
/// and `tcp-metadata-exchange-1.N` (with `-<revision>` appended for a revision), labelled
/// with the `istio.io/rev` they belong to. The installer of the next release replaces or
/// prunes them (1.18 dropped them: istio/istio `releasenotes/notes/drop-telemetry-envoyfilter.yaml`);
/// they are not the user's to copy or edit. Seen in every rendered install up to 1.17 in the
/// corpus (kubeflow's `common/istio-1-9` … `istio-1-17`, istio's upgrade test installs
/// 1.6.11 … 1.10.0) and in none from 1.18.
pub fn is_installer_telemetry_filter(o: &super::Object) -> bool {
    let Some(revision) = o.labels().get("istio.io/rev").map(str::to_string) else {
        return false;
    };
    let name = o.name();
    let Some(rest) = [
        "tcp-stats-filter-",
        "stats-filter-",
        "tcp-metadata-exchange-",
        "metadata-exchange-",
    ]
    .iter()
    .find_map(|p| name.strip_prefix(p)) else {
        return false;
    };
    // `1.N`, then nothing or `-<revision>`.
    let version_end = rest
        .strip_prefix("1.")
        .map(|r| 2 + r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len()));
    let Some(end) = version_end.filter(|&e| e > 2) else {
        return false;
    };
    match &rest[end..] {
        "" => true,
        suffix => suffix.strip_prefix('-') == Some(revision.as_str()),
    }
}

/// One entry of `spec.configPatches`.
#[derive(Debug)]
pub struct Patch<'a> {
    pub index: usize,
    pub apply_to: &'a str,
    pub operation: &'a str,
    /// `match.proxy.proxyVersion`: an RE2 regex matched against the proxy's `ISTIO_VERSION`.
    pub proxy_version: Option<&'a str>,
    pub value: Option<Node<'a>>,
}

impl Patch<'_> {
    pub fn path(&self) -> FieldPath {
        FieldPath::parse("/spec/configPatches").index(self.index)
    }

    /// Operations whose result depends on what other patches did first, as istioctl's
    /// EnvoyFilter analyzer defines them (IST0151): INSERT_BEFORE, INSERT_AFTER, and REPLACE
    /// or REMOVE where they apply (filters; REMOVE is ignored on routes). ADD, MERGE and
    /// INSERT_FIRST do not name another filter to be relative to.
    pub fn is_relative(&self) -> bool {
        match self.operation {
            "INSERT_BEFORE" | "INSERT_AFTER" => true,
            "REPLACE" => matches!(self.apply_to, "HTTP_FILTER" | "NETWORK_FILTER"),
            "REMOVE" => !matches!(self.apply_to, "ROUTE_CONFIGURATION" | "HTTP_ROUTE"),
            _ => false,
        }
    }

    /// Whether the patch applies to a proxy of `version`; `None` without a `proxyVersion`
    /// match or when the regex cannot be compiled.
    pub fn applies_to_version(&self, version: &str) -> Option<bool> {
        let re = regex::Regex::new(self.proxy_version?).ok()?;
        Some(re.is_match(version))
    }

    /// The Envoy extension types (`@type` / `type_url`) the patch value sets.
    pub fn extension_types(&self) -> Vec<&str> {
        let mut out = Vec::new();
        if let Some(v) = self.value {
            collect_types(v, &mut out);
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

fn collect_types<'a>(node: Node<'a>, out: &mut Vec<&'a str>) {
    match node.value() {
        Value::Map(entries) => {
            for e in entries {
                if e.key == "@type" || e.key == "type_url" {
                    if let Some(t) = e.value.as_str() {
                        out.push(t);
                    }
                }
                collect_types(e.value, out);
            }
        }
        Value::Seq(items) => items.iter().for_each(|i| collect_types(i, out)),
        _ => {}
    }
}

/// An Envoy v2 API type (`envoy.config.filter.*`, `envoy.api.v2.*`, `*.v2alpha*`): proxies
/// since Istio 1.10 (Envoy's v3-only API) reject them.
pub fn is_v2_type(type_url: &str) -> bool {
    let name = type_url.rsplit('/').next().unwrap_or(type_url);
    name.starts_with("envoy.config.filter.")
        || name.starts_with("envoy.api.v2.")
        || name
            .split('.')
            .any(|p| p == "v2" || p.starts_with("v2alpha"))
}

/// The patches of an EnvoyFilter object's root node.
pub fn patches(root: Node<'_>) -> Vec<Patch<'_>> {
    root.at(&["spec", "configPatches"])
        .and_then(Node::as_seq)
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(index, p)| Patch {
            index,
            apply_to: p.str_at(&["applyTo"]).unwrap_or("INVALID"),
            operation: p.str_at(&["patch", "operation"]).unwrap_or("INVALID"),
            proxy_version: p.str_at(&["match", "proxy", "proxyVersion"]),
            value: p.at(&["patch", "value"]),
        })
        .collect()
}

/// `spec.priority`; Istio treats absent as 0.
pub fn priority(root: Node) -> i64 {
    match root.at(&["spec", "priority"]).map(|n| n.value()) {
        Some(Value::Int(p)) => p,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse_str;

    #[test]
    fn classifies_patches() {
        let root = parse_str("spec:\n  configPatches:\n  - applyTo: HTTP_FILTER\n    match: {proxy: {proxyVersion: '^1\\.28.*'}}\n    patch:\n      operation: INSERT_BEFORE\n      value:\n        name: envoy.lua\n        typed_config: {'@type': type.googleapis.com/envoy.config.filter.http.lua.v2.Lua}\n  - applyTo: HTTP_ROUTE\n    patch: {operation: REMOVE}\n  - applyTo: CLUSTER\n    patch: {operation: MERGE, value: {connect_timeout: 1s}}\n").unwrap().unwrap();
        let p = patches(root.root());
        assert!(p[0].is_relative());
        assert!(!p[1].is_relative());
        assert!(!p[2].is_relative());
        assert_eq!(p[0].applies_to_version("1.28.2"), Some(true));
        assert_eq!(p[0].applies_to_version("1.30.0"), Some(false));
        assert_eq!(p[2].applies_to_version("1.30.0"), None);
        assert_eq!(
            p[0].extension_types(),
            vec!["type.googleapis.com/envoy.config.filter.http.lua.v2.Lua"]
        );
        assert!(is_v2_type(p[0].extension_types()[0]));
        assert!(!is_v2_type(
            "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua"
        ));
        assert!(p[2].extension_types().is_empty());
        assert_eq!(priority(root.root()), 0);
    }
}
