use super::{Context, Sink};
use crate::diagnostic::Fix;
use crate::model::envoyfilter::{self, is_v2_type, Patch};
use crate::model::gvk::ENVOY_FILTER;
use crate::model::FieldPath;

crate::declare_rule! {
    /// ## What it does
    /// Reports EnvoyFilters with patches whose effect depends on the proxy version, and says
    /// for each patch why:
    /// - **`match.proxy.proxyVersion`**: the patch only applies to proxies whose
    ///   `ISTIO_VERSION` matches the regex. With `--target`, it fires when the regex does not
    ///   match the target version (the patch silently stops applying once proxies are
    ///   upgraded) unless a patch of the same `applyTo` in the same namespace matches the
    ///   target (a prepared per-version copy); without `--target`, every such match is
    ///   reported.
    /// - **relative operations without `priority`** (`INSERT_BEFORE`, `INSERT_AFTER`, and
    ///   `REPLACE`/`REMOVE` on filters), as istioctl's IST0151, and IST0155 when the filter
    ///   also matches a `proxyVersion`: the result depends on the filters Istio generates
    ///   and on the order other patches ran, both of which change between releases.
    ///   `INSERT_FIRST`, `ADD` and `MERGE` name no other filter and are not relative.
    /// - **Envoy extension types** (`typed_config` `@type`): Envoy deprecates and removes
    ///   extension fields between releases. xDS v2 types (`envoy.config.filter.*`, `*.v2.*`)
    ///   are no longer accepted at all.
    ///
    /// Patches that only set core fields without an extension type (a cluster's
    /// `connect_timeout`, a listener's buffer limit) are not reported, nor are the telemetry
    /// EnvoyFilters Istio's installer rendered itself up to 1.17 (`stats-filter-1.N`,
    /// `tcp-stats-filter-1.N`, `metadata-exchange-1.N`, `tcp-metadata-exchange-1.N`, with
    /// `-<revision>` for a revision, labelled `istio.io/rev`): the upgrade's installer
    /// replaces or removes them (1.18 dropped them), so there is nothing to copy or review.
    ///
    /// ## Why it matters during an upgrade
    /// Istio's EnvoyFilter API is "deeply tied to the internal implementation in Istio
    /// networking subsystem as well as Envoy's XDS API" and its configuration "should be
    /// carefully monitored across Istio proxy version upgrades". A patch that stops matching
    /// disappears without an error; one that no longer validates makes istiod reject the
    /// listener or cluster for every proxy it selects.
    ///
    /// ## Example that fires
    /// ```yaml
    /// kind: EnvoyFilter
    /// spec:
    ///   configPatches:
    ///   - applyTo: NETWORK_FILTER
    ///     match:
    ///       proxy: {proxyVersion: '^1\.28.*'}
    ///       listener: {filterChain: {filter: {name: envoy.filters.network.http_connection_manager}}}
    ///     patch:
    ///       operation: MERGE
    ///       value: {typed_config: {'@type': type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager, max_request_headers_kb: 96}}
    /// ```
    /// with `--target 1.30.3`.
    ///
    /// ## Example that does not fire
    /// A `CLUSTER` `MERGE` of `{connect_timeout: 5s}`, a `REMOVE` of an HTTP filter in an
    /// EnvoyFilter with `priority: 10`, or the installer's own `stats-filter-1.16` in
    /// `istio-system` labelled `istio.io/rev: default`.
    ///
    /// ## Fix
    /// Review each listed patch against the target release's Envoy API, test it on a canary
    /// revision, and add a copy matching the target's `proxyVersion` (or drop the match).
    /// Give EnvoyFilters with relative operations an explicit `priority`. Prefer first-class
    /// APIs where they exist (Telemetry, WasmPlugin, `ProxyConfig`, mesh config).
    ///
    /// ## References
    /// - EnvoyFilter reference (proxyVersion, priority, operations): <https://istio.io/latest/docs/reference/config/networking/envoy-filter/>
    /// - istio/istio `pkg/config/analysis/analyzers/envoyfilter/envoyfilter.go` (IST0151, IST0155)
    /// - istio/istio `releasenotes/notes/drop-xds-v2.yaml` ("Removed support for XDS v2 types in EnvoyFilters")
    /// - istio/istio `releasenotes/notes/drop-telemetry-envoyfilter.yaml` (1.18: "Removed legacy `EnvoyFilter` implementation for telemetry")
    code: "IPF308",
    name: "envoyfilter-needs-review",
    severity: Warning,
    summary: "An EnvoyFilter patches Envoy internals that change between proxy versions",
    fix: None,
    reads: [ENVOY_FILTER],
}

fn check(cx: &Context, sink: &mut Sink) {
    let inv = cx.inventory;
    let target = cx.upgrade.target.as_ref().map(ToString::to_string);
    let filters: Vec<_> = inv
        .of_kind("EnvoyFilter")
        .filter(|(_, o)| o.group() == "networking.istio.io")
        .filter(|(_, o)| !envoyfilter::is_installer_telemetry_filter(o))
        .map(|(id, o)| (id, o, envoyfilter::patches(o.root())))
        .collect();
    // (namespace, applyTo) for which some patch is prepared for the target's proxies.
    let prepared: Vec<(&str, &str)> = match &target {
        Some(t) => filters
            .iter()
            .flat_map(|(_, o, ps)| ps.iter().map(move |p| (o.namespace(), p)))
            .filter(|(_, p)| p.applies_to_version(t) == Some(true))
            .map(|(ns, p)| (ns, p.apply_to))
            .collect(),
        None => Vec::new(),
    };

    for (id, o, patches) in &filters {
        let priority = envoyfilter::priority(o.root());
        let pinned = patches.iter().any(|p| p.proxy_version.is_some());
        let mut first_field: Option<FieldPath> = None;
        let mut described: Vec<String> = Vec::new();
        for p in patches {
            let at = format!(
                "configPatches[{}] ({} {})",
                p.index, p.operation, p.apply_to
            );
            let mut reasons: Vec<(FieldPath, String)> = Vec::new();
            if let Some(regex) = p.proxy_version {
                let field = p.path().key("match").key("proxy").key("proxyVersion");
                match (&target, p.applies_to_version(target.as_deref().unwrap_or_default())) {
                    (Some(t), Some(false)) if !prepared.contains(&(o.namespace(), p.apply_to)) => reasons.push((
                        field,
                        format!("matches proxyVersion `{regex}`, which {t} does not match, so it silently stops applying to upgraded proxies"),
                    )),
                    (None, _) => reasons.push((
                        field,
                        format!("only applies to proxies whose version matches `{regex}` (check it against the target version)"),
                    )),
                    _ => {}
                }
            }
            if p.is_relative() && priority == 0 {
                reasons.push((
                    p.path().key("patch").key("operation"),
                    format!(
                        "is relative to filters Istio generates, without a priority{}, so its result depends on the generated chain and the order of other patches, both of which change between releases",
                        if pinned { ", in an EnvoyFilter that also matches proxyVersion (IST0155)" } else { " (IST0151)" }
                    ),
                ));
            }
            reasons.extend(type_reasons(p));
            if let Some((field, _)) = reasons.first() {
                first_field.get_or_insert_with(|| field.clone());
                let what: Vec<&str> = reasons.iter().map(|(_, r)| r.as_str()).collect();
                described.push(format!("{at} {}", what.join(", and ")));
            }
        }
        let Some(field) = first_field else {
            continue;
        };
        let message = format!(
            "needs review before proxies change version: {}",
            described.join("; ")
        );
        sink.object(*id, field, message).with_fix(Fix::display_only(
            "review each listed patch against the target's Envoy API and test it on a canary revision; add a copy for the target's proxyVersion and an explicit spec.priority where relevant",
        ));
    }
}

fn type_reasons(p: &Patch) -> Vec<(FieldPath, String)> {
    let types = p.extension_types();
    if types.is_empty() {
        return Vec::new();
    }
    let field = p.path().key("patch").key("value");
    let short = |t: &str| t.rsplit('/').next().unwrap_or(t).to_string();
    let v2: Vec<String> = types
        .iter()
        .filter(|t| is_v2_type(t))
        .map(|t| short(t))
        .collect();
    if !v2.is_empty() {
        return vec![(
            field,
            format!(
                "uses the xDS v2 type {}, which Istio no longer accepts in EnvoyFilters (use the v3 type)",
                v2.join(", ")
            ),
        )];
    }
    vec![(
        field,
        format!(
            "sets Envoy extension config {}, whose fields Envoy deprecates and removes between releases",
            types.iter().map(|t| short(t)).collect::<Vec<_>>().join(", ")
        ),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{run_rule, Upgrade};

    /// An EnvoyFilter pinned to 1.16 proxies, named and labelled as given (fixture objects
    /// must be named `fire-*`/`dont-fire-*`, and the installer's names are fixed).
    fn filter(name: &str, labels: &str) -> String {
        format!(
            "apiVersion: networking.istio.io/v1alpha3\nkind: EnvoyFilter\nmetadata: {{name: {name}, namespace: istio-system, labels: {{{labels}}}}}\nspec:\n  configPatches:\n  - applyTo: NETWORK_FILTER\n    match:\n      proxy: {{proxyVersion: '^1\\.16.*'}}\n      listener: {{filterChain: {{filter: {{name: envoy.filters.network.tcp_proxy}}}}}}\n    patch:\n      operation: INSERT_BEFORE\n      value: {{name: istio.stats}}\n"
        )
    }

    fn reported(name: &str, labels: &str) -> bool {
        let upgrade = Upgrade {
            target: crate::model::Version::parse("1.17.0"),
            ..Upgrade::default()
        };
        let doc = filter(name, labels);
        !run_rule(&RULE, &[doc.as_str()], &upgrade).1.is_empty()
    }

    #[test]
    fn the_installers_own_telemetry_filters_are_not_reported() {
        // As kubeflow's rendered 1.16 install and istio's 1.9.5 upgrade test install have them.
        assert!(!reported("tcp-stats-filter-1.16", "istio.io/rev: default"));
        assert!(!reported("stats-filter-1.16", "istio.io/rev: default"));
        assert!(!reported(
            "metadata-exchange-1.9-1-9-5",
            "istio.io/rev: 1-9-5"
        ));
        assert!(!reported(
            "tcp-metadata-exchange-1.10",
            "istio.io/rev: default"
        ));
        // The same names without the installer's revision label, with another suffix, or
        // with no version are someone's own filters.
        assert!(reported("stats-filter-1.16", ""));
        assert!(reported(
            "stats-filter-1.16-custom",
            "istio.io/rev: default"
        ));
        assert!(reported("stats-filter-1.", "istio.io/rev: default"));
        assert!(reported("stats-filter-custom", "istio.io/rev: default"));
    }
}
