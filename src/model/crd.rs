//! CustomResourceDefinitions as they sit in the input: which versions they serve and store,
//! and whether the API server accepted them.

use super::{Object, ObjectId};
use crate::model::FieldPath;
use crate::yaml::Node;

/// One CRD object of the input.
#[derive(Debug)]
pub struct InstalledCrd<'a> {
    pub id: ObjectId,
    pub object: &'a Object,
    /// `<plural>.<group>`, the object's name.
    pub name: &'a str,
    pub group: &'a str,
    pub kind: &'a str,
    /// `(version, served, storage, index in spec.versions)`.
    pub versions: Vec<CrdVersion<'a>>,
}

#[derive(Debug)]
pub struct CrdVersion<'a> {
    pub name: &'a str,
    pub served: bool,
    pub storage: bool,
    pub index: usize,
}

/// A status condition that is not `True`, or a required one that is missing.
#[derive(Debug, PartialEq, Eq)]
pub struct ConditionProblem {
    pub condition: &'static str,
    /// `None` when the status has conditions but not this one.
    pub status: Option<String>,
    pub reason: Option<String>,
    pub message: Option<String>,
    pub field: FieldPath,
}

impl<'a> InstalledCrd<'a> {
    pub fn from_object(id: ObjectId, object: &'a Object) -> Option<InstalledCrd<'a>> {
        if object.kind() != "CustomResourceDefinition" {
            return None;
        }
        let spec = object.root().get("spec")?;
        let versions = spec
            .get("versions")
            .and_then(Node::as_seq)
            .unwrap_or_default()
            .iter()
            .enumerate()
            .filter_map(|(index, v)| {
                Some(CrdVersion {
                    name: v.str_at(&["name"])?,
                    served: bool_at(v, "served"),
                    storage: bool_at(v, "storage"),
                    index,
                })
            })
            .collect();
        Some(InstalledCrd {
            id,
            object,
            name: object.name(),
            group: spec.str_at(&["group"])?,
            kind: spec.str_at(&["names", "kind"])?,
            versions,
        })
    }

    pub fn serves(&self, version: &str) -> bool {
        self.versions.iter().any(|v| v.served && v.name == version)
    }

    pub fn served(&self) -> Vec<&'a str> {
        self.versions
            .iter()
            .filter(|v| v.served)
            .map(|v| v.name)
            .collect()
    }

    /// `Established` and `NamesAccepted` conditions that are not `True`. Nothing when the
    /// object has no status (a manifest, not a read from a cluster): there is nothing to
    /// judge then.
    pub fn condition_problems(&self) -> Vec<ConditionProblem> {
        let Some(conditions) = self
            .object
            .root()
            .at(&["status", "conditions"])
            .and_then(Node::as_seq)
        else {
            return Vec::new();
        };
        let base = FieldPath::root().key("status").key("conditions");
        let mut problems = Vec::new();
        for wanted in ["Established", "NamesAccepted"] {
            let found = conditions
                .iter()
                .enumerate()
                .find(|(_, c)| c.str_at(&["type"]) == Some(wanted));
            match found {
                Some((i, c)) => {
                    let status = c.get("status").map(super::selector::scalar_string);
                    if status.as_deref() != Some("True") {
                        problems.push(ConditionProblem {
                            condition: wanted,
                            status,
                            reason: c.str_at(&["reason"]).map(str::to_string),
                            message: c.str_at(&["message"]).map(str::to_string),
                            field: base.clone().index(i).key("status"),
                        });
                    }
                }
                None => problems.push(ConditionProblem {
                    condition: wanted,
                    status: None,
                    reason: None,
                    message: None,
                    field: base.clone(),
                }),
            }
        }
        problems
    }
}

fn bool_at(node: Node, key: &str) -> bool {
    matches!(
        node.get(key).map(|n| n.value()),
        Some(crate::yaml::Value::Bool(true))
    )
}

/// The CRDs of the input, by name.
pub fn installed(inv: &super::Inventory) -> Vec<InstalledCrd<'_>> {
    inv.of_kind("CustomResourceDefinition")
        .filter_map(|(id, o)| InstalledCrd::from_object(id, o))
        .collect()
}

/// Istio's API groups all end in `.istio.io` (networking, security, telemetry, extensions,
/// and the retired authentication, rbac, config).
pub fn is_istio_group(group: &str) -> bool {
    group.ends_with(".istio.io") || group == "istio.io"
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A CRD from its metadata, spec and status.
    fn object(text: &str) -> Object {
        Object::from_yaml(&format!(
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n{}",
            text.trim_start()
        ))
    }

    #[test]
    fn reads_versions_and_conditions() {
        let o = object(
            r#"
metadata: {name: gateways.networking.istio.io}
spec:
  group: networking.istio.io
  names: {kind: Gateway, plural: gateways}
  versions:
  - {name: v1alpha3, served: true, storage: false}
  - {name: v1beta1, served: true, storage: true}
  - {name: v1, served: false, storage: false}
status:
  conditions:
  - {type: NamesAccepted, status: "True"}
  - {type: Established, status: "False", reason: Installing}
"#,
        );
        let crd = InstalledCrd::from_object(0, &o).unwrap();
        assert_eq!(crd.served(), vec!["v1alpha3", "v1beta1"]);
        assert!(!crd.serves("v1"));
        let problems = crd.condition_problems();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].condition, "Established");
        assert_eq!(problems[0].reason.as_deref(), Some("Installing"));
        assert_eq!(problems[0].field.to_string(), "/status/conditions/1/status");
    }

    #[test]
    fn no_status_is_no_problem() {
        let o = object(
            "metadata: {name: a.networking.istio.io}\nspec: {group: networking.istio.io, names: {kind: A}}\n",
        );
        assert!(InstalledCrd::from_object(0, &o)
            .unwrap()
            .condition_problems()
            .is_empty());
    }
}
