use super::{Context, Sink};
use crate::diagnostic::{Edit, Fix};
use crate::model::disruption::ReplicaSource;
use crate::model::workload::WorkloadKind;
use crate::model::FieldPath;

crate::declare_rule! {
    /// ## What it does
    /// Reports Deployments, StatefulSets and ReplicaSets whose pods get a sidecar and that run
    /// exactly one replica: `spec.replicas: 1`, no `spec.replicas` (Kubernetes defaults it to
    /// 1), or a HorizontalPodAutoscaler targeting the workload with `minReplicas` 1 (its
    /// default). An HPA whose `minReplicas` is 2 or more wins over `spec.replicas: 1`.
    /// Workloads scaled to 0, bare Pods, Jobs and DaemonSets are not reported.
    ///
    /// ## Why it matters during an upgrade
    /// Every sidecar workload is restarted to pick up the new proxy. With one replica there
    /// is nothing to serve while the single pod is replaced (StatefulSets and `Recreate`
    /// Deployments stop it first), and a node drain evicts it outright.
    ///
    /// ## Example that fires
    /// A Deployment in an `istio-injection=enabled` namespace with `replicas: 1`.
    ///
    /// ## Example that does not fire
    /// `replicas: 1` with an HPA `minReplicas: 2` targeting it; any workload in a namespace
    /// without injection.
    ///
    /// ## Fix
    /// Run at least two replicas: `spec.replicas: 2` (unsafe: it doubles the workload's
    /// resource use and some singletons must stay single), or raise the HPA's `minReplicas`
    /// (shown, not applied: the HPA is another object).
    ///
    /// ## References
    /// - Istio upgrade docs, keeping capacity during restarts: <https://istio.io/latest/docs/setup/upgrade/canary/>
    /// - Disruptions: <https://kubernetes.io/docs/concepts/workloads/pods/disruptions/>
    code: "IPF404",
    name: "single-replica-meshed-workload",
    severity: Warning,
    summary: "A meshed workload runs one replica, so every sidecar restart is an outage",
    fixable: true,
    reads: ["Deployment", "StatefulSet", "ReplicaSet", "HorizontalPodAutoscaler", "Namespace", "MutatingWebhookConfiguration"],
}

fn check(cx: &Context, sink: &mut Sink) {
    let inv = cx.inventory;
    let hpas = inv.autoscalers();
    for w in &inv.workloads {
        if w.has_controller_in_inventory
            || w.membership.sidecar_revision().is_none()
            || !matches!(
                w.kind,
                WorkloadKind::Deployment | WorkloadKind::StatefulSet | WorkloadKind::ReplicaSet
            )
        {
            continue;
        }
        let replicas = hpas.replicas(inv, w);
        if replicas.min != 1 {
            continue;
        }
        let message = format!(
            "runs {replicas}: while its only pod restarts to pick up the new proxy, nothing serves"
        );
        let field = FieldPath::parse("/spec/replicas");
        let fix = match &replicas.source {
            ReplicaSource::Autoscaler { name, .. } => Fix::display_only(format!(
                "set minReplicas: 2 on HorizontalPodAutoscaler {name} (it owns the replica count)"
            )),
            _ => Fix::unsafe_(
                "run two replicas: replicas: 2",
                vec![Edit::Set {
                    path: field.clone(),
                    value: 2.into(),
                }],
            ),
        };
        sink.object(w.object, field, message).with_fix(fix);
    }
}
