//! Install-time configuration in the input: IstioOperator resources and Helm values files,
//! and the settings paths Istio's release data names in them (`pilot.env.X`,
//! `components.*.k8s.hpaSpec.metrics[].resource.targetAverageValue`).

use super::selector::scalar_string;
use super::{FieldPath, Inventory, ObjectId};
use crate::yaml::{Node, Value};

/// A Helm values file given with `--values`.
#[derive(Debug)]
pub struct ValuesFile {
    /// Index into the report's files.
    pub file: usize,
    pub tree: crate::yaml::Tree,
}

/// Where a tree of Istio install values was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ValuesAt {
    /// Inside an object: the values root is at `path` (IstioOperator `spec.values`, Flux
    /// HelmRelease `spec.values`, Argo CD Application `spec.source.helm.valuesObject`, Sail
    /// `Istio` / `IstioRevision` `spec.values`).
    Object { object: ObjectId, path: FieldPath },
    /// A Helm values file given with `--values`.
    File { file: usize },
}

/// One tree of Helm-shaped install values (the same keys as Istio's chart values), wherever
/// the estate writes it. Rules that judge install settings take these, so a new place that
/// holds values needs only a new source here.
#[derive(Clone, Debug)]
pub struct InstallValues<'a> {
    pub at: ValuesAt,
    pub root: Node<'a>,
    /// What wrote it, for messages: "IstioOperator spec.values", "values file".
    pub described_as: &'static str,
}

impl InstallValues<'_> {
    /// The location of `path` (relative to the values root) for a finding: the object and
    /// its full field path, or the file.
    pub fn field(&self, path: &FieldPath) -> ValuesAt {
        match &self.at {
            ValuesAt::Object { object, path: base } => ValuesAt::Object {
                object: *object,
                path: base.clone().join(path),
            },
            ValuesAt::File { file } => ValuesAt::File { file: *file },
        }
    }
}

fn values_at(root: Node<'_>, path: FieldPath) -> Option<(FieldPath, Node<'_>)> {
    let values = path.resolve(root).filter(|v| v.is_map())?;
    Some((path, values))
}

/// Every install-values tree in the input and the `--values` files.
pub fn install_values<'a>(inv: &'a Inventory, files: &'a [ValuesFile]) -> Vec<InstallValues<'a>> {
    let mut out = Vec::new();
    for (id, o) in inv.objects.iter().enumerate() {
        let root = o.root();
        let mut add = |found: Option<(FieldPath, Node<'a>)>, described_as| {
            if let Some((path, values)) = found {
                out.push(InstallValues {
                    at: ValuesAt::Object { object: id, path },
                    root: values,
                    described_as,
                });
            }
        };
        match (o.group(), o.kind()) {
            ("install.istio.io", "IstioOperator") => add(
                values_at(root, FieldPath::parse("/spec/values")),
                "IstioOperator spec.values",
            ),
            ("sailoperator.io", "Istio" | "IstioRevision") => add(
                values_at(root, FieldPath::parse("/spec/values")),
                "Sail operator spec.values",
            ),
            _ => {}
        }
    }
    // Helm releases of Istio's charts (Flux, Argo CD): every values layer, including
    // `helm.values` strings and `valuesFrom` ConfigMaps, recognised once by the model.
    for r in &inv.mesh.chart_releases {
        for v in r.values(inv) {
            let described_as = match (r.installer, v.owner == r.object) {
                (super::chart_release::Installer::Flux, true) => "HelmRelease spec.values",
                (super::chart_release::Installer::Flux, false) => "HelmRelease valuesFrom",
                (super::chart_release::Installer::ArgoCd, _) => "Application Helm values",
            };
            out.push(InstallValues {
                at: ValuesAt::Object {
                    object: v.owner,
                    path: v.path.clone(),
                },
                root: v.node,
                described_as,
            });
        }
    }
    out.extend(files.iter().map(|f| InstallValues {
        at: ValuesAt::File { file: f.file },
        root: f.tree.root(),
        described_as: "values file",
    }));
    out
}

/// A scalar setting as the chart's template renders it: Helm reads values as YAML, so an
/// unquoted `1.20` is the number 1.2 and renders as `1.2`.
pub fn rendered_scalar(node: Node) -> Option<String> {
    match node.value() {
        Value::Str(s) => Some(s.to_string()),
        Value::Int(i) => Some(i.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The `compatibilityVersion` the estate installs with, the one reader every rule and the
/// proxy model use: an IstioOperator's or Sail operator's `spec.values` (or IstioOperator
/// `spec.compatibilityVersion`), else a Helm release of Istio's charts with Helm's own
/// precedence across its values layers and parameters, else a `--values` file.
pub fn compatibility_version(inv: &Inventory, values: &[ValuesFile]) -> Option<String> {
    const KEY: &str = "compatibilityVersion";
    let operators = inv.objects.iter().find_map(|o| {
        let root = o.root();
        match (o.group(), o.kind()) {
            ("install.istio.io", "IstioOperator") => root
                .at(&["spec", "values", KEY])
                .or_else(|| root.at(&["spec", KEY])),
            ("sailoperator.io", "Istio" | "IstioRevision") => root.at(&["spec", "values", KEY]),
            _ => None,
        }
        .map(scalar_string)
    });
    operators
        .or_else(|| {
            inv.mesh
                .chart_releases
                .iter()
                .find_map(|r| r.value(inv, &[KEY]))
                .map(|(v, ..)| v)
        })
        .or_else(|| {
            values
                .iter()
                .find_map(|f| f.tree.root().get(KEY).map(scalar_string))
        })
}

/// An istiod env var the estate's install values set (`pilot.env.<name>`): its value and
/// where it is set.
pub fn pilot_env(inv: &Inventory, values: &[ValuesFile], name: &str) -> Option<(String, String)> {
    install_values(inv, values).iter().find_map(|v| {
        let value = v.root.at(&["pilot", "env", name])?;
        let place = match &v.at {
            ValuesAt::Object { object, .. } => {
                let o = inv.object(*object);
                format!("{} {}/{}", o.kind(), o.namespace(), o.name())
            }
            ValuesAt::File { .. } => "a values file".to_string(),
        };
        Some((scalar_string(value), place))
    })
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
