//! Istio's admission webhooks: which MutatingWebhookConfigurations inject sidecars, which
//! ValidatingWebhookConfigurations validate Istio config, whom they call and whom they select,
//! and the label combinations istioctl's webhook analyzer probes them with.

use std::collections::BTreeSet;

use super::selector::{labels_of, Labels, Operator, Selector};
use super::{FieldPath, Inventory, Object, ObjectId};
use crate::yaml::Node;

pub const REV: &str = "istio.io/rev";
pub const TAG: &str = "istio.io/tag";
pub const INJECTION: &str = "istio-injection";
pub const INJECT: &str = "sidecar.istio.io/inject";
pub const DEACTIVATED: &str = "istio.io/deactivated";

/// What the API server does when it cannot reach the webhook. Absent means `Fail` in
/// `admissionregistration.k8s.io/v1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailurePolicy {
    Fail,
    Ignore,
}

/// `clientConfig.service` of a webhook.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceRef {
    pub namespace: String,
    pub name: String,
    /// Defaults to 443 in the API.
    pub port: i64,
}

/// One entry of a webhook configuration's `webhooks` list.
#[derive(Clone, Debug)]
pub struct WebhookEntry {
    pub index: usize,
    pub name: String,
    /// `None` when the webhook calls a `url` (a remote istiod) instead of a Service.
    pub service: Option<ServiceRef>,
    pub failure_policy: FailurePolicy,
    /// An absent selector is the empty selector, which matches everything.
    pub namespace_selector: Selector,
    pub object_selector: Selector,
    /// `rules[*].apiGroups`, in order, without duplicates.
    pub api_groups: Vec<String>,
}

impl WebhookEntry {
    pub fn path(&self) -> FieldPath {
        FieldPath::parse("/webhooks").index(self.index)
    }

    /// `istioctl tag set default` neutralises the old default injector by making its
    /// selectors require `istio.io/deactivated: never-match`: such an entry selects nothing.
    pub fn is_deactivated(&self) -> bool {
        [&self.namespace_selector, &self.object_selector]
            .iter()
            .any(|s| s.requirements.iter().any(|r| r.key == DEACTIVATED))
    }

    /// Whether `namespace` labels and `pod` labels both pass this webhook's selectors.
    pub fn selects(&self, namespace: &Labels, pod: &Labels) -> bool {
        self.namespace_selector.matches(namespace) && self.object_selector.matches(pod)
    }
}

/// An Istio webhook configuration with its entries.
#[derive(Clone, Debug)]
pub struct WebhookConfig {
    pub object: ObjectId,
    pub name: String,
    /// The `istio.io/rev` label: the revision it serves (for a tag, the tag's target).
    pub revision: Option<String>,
    /// The `istio.io/tag` label of a revision-tag webhook.
    pub tag: Option<String>,
    pub webhooks: Vec<WebhookEntry>,
}

impl WebhookConfig {
    fn read(id: ObjectId, o: &Object) -> WebhookConfig {
        let webhooks = o
            .root()
            .get("webhooks")
            .and_then(Node::as_seq)
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(|(index, w)| WebhookEntry {
                index,
                name: w.str_at(&["name"]).unwrap_or_default().to_string(),
                service: w.at(&["clientConfig", "service"]).map(|s| ServiceRef {
                    namespace: s.str_at(&["namespace"]).unwrap_or_default().to_string(),
                    name: s.str_at(&["name"]).unwrap_or_default().to_string(),
                    port: match s.get("port").map(|p| p.value()) {
                        Some(crate::yaml::Value::Int(p)) => p,
                        _ => 443,
                    },
                }),
                failure_policy: match w.str_at(&["failurePolicy"]) {
                    Some("Ignore") => FailurePolicy::Ignore,
                    _ => FailurePolicy::Fail,
                },
                namespace_selector: w
                    .get("namespaceSelector")
                    .map(Selector::from_node)
                    .unwrap_or_default(),
                object_selector: w
                    .get("objectSelector")
                    .map(Selector::from_node)
                    .unwrap_or_default(),
                api_groups: {
                    let mut groups: Vec<String> = Vec::new();
                    for rule in w.get("rules").and_then(Node::as_seq).unwrap_or_default() {
                        for g in rule
                            .get("apiGroups")
                            .and_then(Node::as_seq)
                            .unwrap_or_default()
                        {
                            if let Some(g) = g.as_str() {
                                if !groups.iter().any(|x| x == g) {
                                    groups.push(g.to_string());
                                }
                            }
                        }
                    }
                    groups
                },
            })
            .collect();
        WebhookConfig {
            object: id,
            name: o.name().to_string(),
            revision: o.label(REV).map(str::to_string),
            tag: o.label(TAG).map(str::to_string),
            webhooks,
        }
    }

    /// Every `istio.io/rev` value the configuration names: its label and the values its
    /// selectors test (what istioctl's analyzer calls the webhook's revisions).
    pub fn revisions(&self) -> BTreeSet<String> {
        let mut revs: BTreeSet<String> = self.revision.iter().cloned().collect();
        for w in &self.webhooks {
            for s in [&w.namespace_selector, &w.object_selector] {
                for r in &s.requirements {
                    if let (REV, Operator::In(values)) = (r.key.as_str(), &r.op) {
                        revs.extend(values.iter().cloned());
                    }
                }
            }
        }
        revs
    }
}

/// Why a webhook cannot be served.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Staleness {
    /// `clientConfig.service` names a Service the input does not have, although it has other
    /// Services of that namespace.
    MissingService,
    /// The Service exists but has no port `clientConfig.service.port`.
    MissingPort { ports: Vec<i64> },
    /// The configuration's revision has no istiod, although the input has istiod Deployments
    /// in the webhook Service's namespace.
    MissingControlPlane {
        revision: String,
        present: Vec<String>,
    },
}

impl Staleness {
    /// What is wrong with a webhook entry, in words.
    pub fn describe(&self, entry: &WebhookEntry) -> String {
        let svc = entry
            .service
            .as_ref()
            .map_or(String::new(), |s| format!("{}/{}", s.namespace, s.name));
        match self {
            Staleness::MissingService => format!(
                "webhook {} calls Service {svc}, which is not in the input (other Services of {} are)",
                entry.name,
                entry.service.as_ref().map_or("", |s| s.namespace.as_str())
            ),
            Staleness::MissingPort { ports } => format!(
                "webhook {} calls port {} of Service {svc}, which only exposes {}",
                entry.name,
                entry.service.as_ref().map_or(443, |s| s.port),
                ports.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
            ),
            Staleness::MissingControlPlane { revision, present } => format!(
                "webhook {} serves revision `{revision}` through Service {svc}, but no istiod of that revision is in the input (revisions there: {})",
                entry.name,
                present.join(", ")
            ),
        }
    }
}

/// `; b, c do too` after the first of several stale entries, else nothing.
pub fn also_stale(found: &[(&WebhookEntry, Staleness)]) -> String {
    if found.len() < 2 {
        return String::new();
    }
    let names: Vec<&str> = found[1..].iter().map(|(e, _)| e.name.as_str()).collect();
    format!(
        "; {} {} too",
        names.join(", "),
        if names.len() == 1 { "does" } else { "do" }
    )
}

/// Decides staleness only from what the input can prove: a GitOps repository that holds the
/// webhooks but not the control plane's Services says nothing about whether they exist.
pub struct StaleCheck<'a> {
    inv: &'a Inventory,
    namespaces_with_services: BTreeSet<&'a str>,
}

impl<'a> StaleCheck<'a> {
    pub fn new(inv: &'a Inventory) -> StaleCheck<'a> {
        StaleCheck {
            inv,
            namespaces_with_services: inv.of_kind("Service").map(|(_, o)| o.namespace()).collect(),
        }
    }

    /// Why `entry` cannot be served, if the input proves it. A deactivated entry selects
    /// nothing, so an unreachable Service behind it breaks nothing.
    pub fn check(&self, config: &WebhookConfig, entry: &WebhookEntry) -> Option<Staleness> {
        if entry.is_deactivated() {
            return None;
        }
        let svc = entry.service.as_ref()?;
        if self
            .namespaces_with_services
            .contains(svc.namespace.as_str())
        {
            let Some(service) = self.inv.get("Service", &svc.namespace, &svc.name) else {
                return Some(Staleness::MissingService);
            };
            let ports: Vec<i64> = service
                .root()
                .at(&["spec", "ports"])
                .and_then(Node::as_seq)
                .unwrap_or_default()
                .iter()
                .filter_map(|p| match p.get("port").map(|n| n.value()) {
                    Some(crate::yaml::Value::Int(p)) => Some(p),
                    _ => None,
                })
                .collect();
            if !ports.is_empty() && !ports.contains(&svc.port) {
                return Some(Staleness::MissingPort { ports });
            }
        }
        let revision = config.revision.as_ref()?;
        let present: Vec<String> = self
            .inv
            .mesh
            .control_planes
            .iter()
            .filter(|cp| cp.object.is_some() && cp.namespace == svc.namespace)
            .map(|cp| cp.revision.clone())
            .collect();
        if !present.is_empty() && !present.contains(revision) {
            return Some(Staleness::MissingControlPlane {
                revision: revision.clone(),
                present,
            });
        }
        None
    }
}

/// A sidecar injector: labelled with a revision or `app: sidecar-injector`, or with a webhook
/// named like Istio's (`namespace.sidecar-injector.istio.io`, `sidecar-injector.istio.io`).
/// The remedy for a configuration whose webhooks call Services that are gone: delete it when
/// every webhook is stale (`resource` is `mutatingwebhookconfiguration` or
/// `validatingwebhookconfiguration`), else repoint or remove the stale ones.
pub fn leftover_remedy(resource: &str, config: &str, stale: &[&str], calls: usize) -> String {
    if stale.len() == calls {
        format!("delete the leftover configuration: kubectl delete {resource} {config}")
    } else {
        format!(
            "point {} at an existing istiod Service, or remove {} from {config}",
            stale.join(", "),
            if stale.len() == 1 { "it" } else { "them" },
        )
    }
}

pub fn is_injector(o: &Object) -> bool {
    o.kind() == "MutatingWebhookConfiguration"
        && (o.label(REV).is_some()
            || o.label("app") == Some("sidecar-injector")
            || entry_names(o).any(|n| n.ends_with("sidecar-injector.istio.io")))
}

/// Istio's config validation: `istio-validator[-<rev>]-<ns>`, `istiod-default-validator`, or
/// webhooks named `validation.istio.io` / `rev.validation.istio.io` (older releases:
/// `pilot.validation.istio.io`, `istiod-<ns>`).
pub fn is_istio_validator(o: &Object) -> bool {
    o.kind() == "ValidatingWebhookConfiguration"
        && (o.name().starts_with("istio-validator")
            || o.name() == "istiod-default-validator"
            || entry_names(o)
                .any(|n| n == "validation.istio.io" || n.ends_with(".validation.istio.io")))
}

fn entry_names(o: &Object) -> impl Iterator<Item = &str> {
    o.root()
        .get("webhooks")
        .and_then(Node::as_seq)
        .unwrap_or_default()
        .iter()
        .filter_map(|w| w.str_at(&["name"]))
}

pub fn injection_webhooks(inv: &Inventory) -> Vec<WebhookConfig> {
    inv.of_kind("MutatingWebhookConfiguration")
        .filter(|(_, o)| is_injector(o))
        .map(|(id, o)| WebhookConfig::read(id, o))
        .collect()
}

pub fn validation_webhooks(inv: &Inventory) -> Vec<WebhookConfig> {
    inv.of_kind("ValidatingWebhookConfiguration")
        .filter(|(_, o)| is_istio_validator(o))
        .map(|(id, o)| WebhookConfig::read(id, o))
        .collect()
}

/// A namespace/pod label combination to test injectors against, with what it stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probe {
    pub namespace: Labels,
    pub pod: Labels,
    /// A real namespace in the input that has these namespace labels, if the probe came from one.
    pub real_namespace: Option<String>,
}

impl Probe {
    /// `namespace labels {istio-injection=enabled}, pod labels {}` as people read it.
    pub fn describe(&self) -> String {
        let show = |l: &Labels| {
            if l.is_empty() {
                "no labels".to_string()
            } else {
                l.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(",")
            }
        };
        match &self.real_namespace {
            Some(ns) => format!(
                "a pod with {} in namespace {ns} ({})",
                show(&self.pod),
                show(&self.namespace)
            ),
            None => format!(
                "a pod with {} in a namespace with {}",
                show(&self.pod),
                show(&self.namespace)
            ),
        }
    }
}

fn label_set(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The label combinations istioctl's webhook analyzer tests (istio/istio
/// `pkg/config/analysis/analyzers/webhook/webhook.go`): namespace labels {none,
/// `istio-injection=enabled`, `istio-injection=disabled`} × pod labels {none,
/// `sidecar.istio.io/inject=true`, `sidecar.istio.io/inject=false`}, each side also with
/// `istio.io/rev=<revision>` for every revision — plus every real namespace's labels.
pub fn injection_probes<'a>(
    revisions: impl IntoIterator<Item = &'a String> + Clone,
    namespaces: &[(String, Labels)],
) -> Vec<Probe> {
    let ns_base = [
        label_set(&[]),
        label_set(&[(INJECTION, "enabled")]),
        label_set(&[(INJECTION, "disabled")]),
    ];
    let pod_base = [
        label_set(&[]),
        label_set(&[(INJECT, "true")]),
        label_set(&[(INJECT, "false")]),
    ];
    let with_revisions = |base: &[Labels]| -> Vec<Labels> {
        let mut out = base.to_vec();
        for rev in revisions.clone() {
            for b in base {
                let mut l = b.clone();
                l.insert(REV, rev);
                out.push(l);
            }
        }
        out
    };
    let pods = with_revisions(&pod_base);
    let mut namespace_sets: Vec<(Labels, Option<String>)> = with_revisions(&ns_base)
        .into_iter()
        .map(|l| (l, None))
        .collect();
    namespace_sets.extend(namespaces.iter().map(|(n, l)| (l.clone(), Some(n.clone()))));
    let mut probes = Vec::with_capacity(namespace_sets.len() * pods.len());
    for (ns, real) in namespace_sets {
        for pod in &pods {
            probes.push(Probe {
                namespace: ns.clone(),
                pod: pod.clone(),
                real_namespace: real.clone(),
            });
        }
    }
    probes
}

/// A real namespace's labels, for probing.
pub fn namespace_labels(inv: &Inventory) -> Vec<(String, Labels)> {
    inv.of_kind("Namespace")
        .map(|(_, o)| {
            let mut labels = labels_of(o.root().at(&["metadata", "labels"]));
            // The API server sets this label on every namespace; selectors may test it.
            let name_label = "kubernetes.io/metadata.name";
            if !labels.contains_key(name_label) {
                labels.insert(name_label, o.name());
            }
            (o.name().to_string(), labels)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::mesh::MeshOptions;
    use crate::model::{Inventory, Object};
    use crate::yaml::parse_str;

    fn object(text: &str) -> Object {
        Object::from_yaml(text)
    }

    const INJECTOR: &str = "apiVersion: admissionregistration.k8s.io/v1\nkind: MutatingWebhookConfiguration\nmetadata:\n  name: istio-sidecar-injector-canary\n  labels: {istio.io/rev: canary}\nwebhooks:\n- name: rev.namespace.sidecar-injector.istio.io\n  clientConfig: {service: {name: istiod-canary, namespace: istio-system}}\n  failurePolicy: Ignore\n  namespaceSelector:\n    matchExpressions:\n    - {key: istio.io/rev, operator: In, values: [canary, stable]}\n    - {key: istio-injection, operator: DoesNotExist}\n- name: rev.object.sidecar-injector.istio.io\n  clientConfig: {url: https://remote:15017/inject}\n  objectSelector:\n    matchLabels: {istio.io/rev: canary}\n";

    #[test]
    fn reads_injectors_with_defaults() {
        let o = object(INJECTOR);
        assert!(is_injector(&o));
        assert!(!is_istio_validator(&o));
        let (inv, _) = Inventory::build(vec![o], &MeshOptions::default());
        let configs = injection_webhooks(&inv);
        let c = &configs[0];
        assert_eq!(c.revision.as_deref(), Some("canary"));
        assert_eq!(
            c.revisions().into_iter().collect::<Vec<_>>(),
            vec!["canary", "stable"]
        );
        let first = &c.webhooks[0];
        assert_eq!(first.failure_policy, FailurePolicy::Ignore);
        assert_eq!(first.service.as_ref().unwrap().port, 443);
        assert!(first.object_selector.is_empty());
        let second = &c.webhooks[1];
        assert_eq!(second.failure_policy, FailurePolicy::Fail);
        assert!(second.service.is_none());
        assert!(second.selects(&Labels::new(), &label_set(&[(REV, "canary")])));
        assert!(!second.selects(&Labels::new(), &Labels::new()));
    }

    #[test]
    fn probes_cover_istioctl_combinations_and_real_namespaces() {
        let revs = vec!["canary".to_string()];
        let real = vec![("shop".to_string(), label_set(&[("team", "a")]))];
        let probes = injection_probes(&revs, &real);
        // (3 + 3) namespace sets + 1 real, × (3 + 3) pod sets.
        assert_eq!(probes.len(), 7 * 6);
        assert!(probes.iter().any(|p| p.namespace
            == label_set(&[(INJECTION, "disabled"), (REV, "canary")])
            && p.pod == label_set(&[(INJECT, "true"), (REV, "canary")])));
        assert!(probes
            .iter()
            .any(|p| p.real_namespace.as_deref() == Some("shop")));
        // The deactivated selector that `istioctl tag set default` writes matches no probe.
        let never = Selector::from_node(
            parse_str("matchLabels: {istio.io/deactivated: never-match}")
                .unwrap()
                .unwrap()
                .root(),
        );
        assert!(probes.iter().all(|p| !never.matches(&p.namespace)));
    }

    #[test]
    fn recognises_validators() {
        let o = object("apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\nmetadata: {name: istiod-istio-system}\nwebhooks:\n- name: validation.istio.io\n");
        assert!(is_istio_validator(&o));
        let other = object("apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\nmetadata: {name: cert-manager-webhook}\nwebhooks:\n- name: webhook.cert-manager.io\n");
        assert!(!is_istio_validator(&other));
    }
}
