//! Install-time configuration in the input: IstioOperator resources and Helm values files,
//! and the settings paths Istio's release data names in them (`pilot.env.X`,
//! `components.*.k8s.hpaSpec.metrics[].resource.targetAverageValue`).

use super::FieldPath;
use crate::yaml::Node;

/// A Helm values file given with `--values`.
#[derive(Debug)]
pub struct ValuesFile {
    /// Index into the report's files.
    pub file: usize,
    pub tree: crate::yaml::Tree,
}

/// Every place where `pattern` is set under `root`. The pattern is dotted; `*` matches any
/// one key, a `[]` suffix any item of a list. Each alternative spelling is tried.
pub fn find_setting(root: Node, pattern: &str) -> Vec<FieldPath> {
    let mut found = Vec::new();
    let segments: Vec<&str> = pattern.split('.').collect();
    walk(root, &segments, FieldPath::root(), &mut found);
    found
}

fn walk(node: Node, segments: &[&str], path: FieldPath, found: &mut Vec<FieldPath>) {
    let Some((first, rest)) = segments.split_first() else {
        found.push(path);
        return;
    };
    let (key, list) = match first.strip_suffix("[]") {
        Some(k) => (k, true),
        None => (*first, false),
    };
    let Some(entries) = node.as_map() else {
        return;
    };
    for e in entries.iter().filter(|e| key == "*" || e.key == key) {
        let here = path.clone().key(e.key);
        if list {
            for (i, item) in e.value.as_seq().unwrap_or_default().iter().enumerate() {
                walk(item, rest, here.clone().index(i), found);
            }
        } else {
            walk(e.value, rest, here, found);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_wildcards_and_lists() {
        let root = crate::yaml::parse_str(
            r#"
components:
  pilot:
    k8s:
      hpaSpec:
        metrics:
        - resource: {name: cpu, targetAverageUtilization: 80}
        - resource: {name: memory}
  ingressGateways: [{name: a}]
values:
  gateways:
    istio-ingressgateway: {zvpn: {enabled: false}}
"#,
        )
        .unwrap()
        .unwrap();
        let paths: Vec<String> = find_setting(
            root.root(),
            "components.*.k8s.hpaSpec.metrics[].resource.targetAverageUtilization",
        )
        .iter()
        .map(ToString::to_string)
        .collect();
        assert_eq!(
            paths,
            ["/components/pilot/k8s/hpaSpec/metrics/0/resource/targetAverageUtilization"]
        );
        assert_eq!(
            find_setting(root.root(), "values.gateways.istio-ingressgateway.zvpn").len(),
            1
        );
        assert!(find_setting(root.root(), "values.global.useMCP").is_empty());
    }
}
