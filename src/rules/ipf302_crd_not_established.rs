use super::{Context, Sink};
use crate::diagnostic::Fix;
use crate::model::crd::{self, is_istio_group};
use crate::model::gvk::CUSTOM_RESOURCE_DEFINITION;

crate::declare_rule! {
    /// ## What it does
    /// Reads the status conditions of every Istio CustomResourceDefinition in the input and
    /// fires when `Established` or `NamesAccepted` is not `True` (or is missing from a status
    /// that has conditions), at that condition's `status`. A CRD without `status` (a manifest
    /// rather than a read from a cluster) is not judged.
    ///
    /// ## Why it matters during an upgrade
    /// A CRD that is not established does not serve its API: resources of that kind cannot
    /// be read or written, istiod's informers for it never sync, and `helm upgrade` of the
    /// control plane may wait forever. `NamesAccepted=False` means another CRD already
    /// claims the plural, kind or a short name.
    ///
    /// ## Example that fires
    /// `virtualservices.networking.istio.io` with condition `NamesAccepted: False`,
    /// reason `ListKindConflict`.
    ///
    /// ## Example that does not fire
    /// A CRD whose `Established` and `NamesAccepted` are both `True`, or a CRD manifest
    /// without `status`.
    ///
    /// ## Fix
    /// `kubectl describe crd <name>` shows the condition's message. Resolve the name
    /// conflict (remove the CRD that claims the names) or wait for the API server to
    /// establish it, before upgrading.
    ///
    /// ## References
    /// - CRD status conditions: <https://kubernetes.io/docs/reference/kubernetes-api/extend-resources/custom-resource-definition-v1/#CustomResourceDefinitionStatus>
    /// - Creating CRDs (established condition): <https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#create-a-customresourcedefinition>
    code: "IPF302",
    name: "crd-not-established",
    severity: Error,
    summary: "An Istio CRD's status says it is not Established or its names are not accepted",
    fix: None,
    reads: [CUSTOM_RESOURCE_DEFINITION],
}

fn check(cx: &Context, sink: &mut Sink) {
    for c in crd::installed(cx.inventory) {
        if !is_istio_group(c.group) {
            continue;
        }
        for p in c.condition_problems() {
            let state = match &p.status {
                Some(s) => format!("is {s}"),
                None => "is missing from its status".to_string(),
            };
            let detail = match (&p.reason, &p.message) {
                (Some(r), Some(m)) => format!(" ({r}: {m})"),
                (Some(r), None) => format!(" ({r})"),
                (None, Some(m)) => format!(" ({m})"),
                (None, None) => String::new(),
            };
            let meaning = if p.condition == "Established" {
                "the API server does not serve it yet"
            } else {
                "another CRD claims its names"
            };
            sink.object(
                c.id,
                p.field,
                format!(
                    "CRD {} condition {} {state}{detail}: {meaning}",
                    c.name, p.condition
                ),
            )
            .with_fix(Fix::display_only(format!(
                "inspect it with `kubectl describe crd {}` and resolve the condition before upgrading",
                c.name
            )));
        }
    }
}
