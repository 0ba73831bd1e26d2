use std::collections::HashSet;

use super::{Context, Sink};
use crate::diagnostic::Fix;
use crate::model::disruption::ReplicaSource;
use crate::model::gateway::gateway_install;
use crate::model::gvk::{
    DAEMON_SET, DEPLOYMENT, HORIZONTAL_POD_AUTOSCALER, POD_DISRUPTION_BUDGET, STATEFUL_SET,
};
use crate::model::ObjectId;

crate::declare_rule! {
    /// ## What it does
    /// Finds PodDisruptionBudgets that select istiod (a detected control plane's Deployment)
    /// or an Istio gateway and allow zero voluntary disruptions because the component runs a
    /// single replica: `spec.replicas: 1`, no `spec.replicas`, or a HorizontalPodAutoscaler
    /// targeting it with `minReplicas: 1` (the istiod and gateway chart default). The
    /// arithmetic is the disruption controller's (see IPF401).
    ///
    /// ## Why it matters during an upgrade
    /// Up to 1.27 the istiod chart always rendered a PDB with `minAvailable: 1`, even for one
    /// replica; since 1.28 it renders one only when more than one replica is guaranteed. A
    /// leftover budget over a single istiod (or gateway) pod means `kubectl drain` of that
    /// node never completes, which stalls node upgrades that are often done alongside the Istio
    /// upgrade (istio/istio#12602).
    ///
    /// ## Example that fires
    /// istiod with an HPA `minReplicas: 1` and no `replicas`, under a PDB `minAvailable: 1`.
    ///
    /// ## Example that does not fire
    /// The same PDB with HPA `minReplicas: 2`, or a PDB with `maxUnavailable: 1`.
    ///
    /// ## Fix
    /// Run at least two replicas (`autoscaleMin: 2` / HPA `minReplicas: 2`, or `replicaCount:
    /// 2`), or remove the budget, as the 1.28+ chart does for a single replica. Shown, not
    /// applied: the change belongs in the chart values that render these objects.
    ///
    /// ## References
    /// - istio/istio `manifests/charts/istio-control/istio-discovery/templates/poddisruptionbudget.yaml` (PR #57202)
    /// - In-place upgrade prerequisites: <https://istio.io/latest/docs/setup/upgrade/in-place/>
    /// - <https://github.com/istio/istio/issues/12602>
    code: "IPF502",
    name: "istiod-pdb-blocks-drain",
    severity: Warning,
    summary: "istiod or a gateway runs one replica under a PodDisruptionBudget that forbids its eviction",
    fix: None,
    reads: [POD_DISRUPTION_BUDGET, HORIZONTAL_POD_AUTOSCALER, DEPLOYMENT, DAEMON_SET, STATEFUL_SET],
}

fn check(cx: &Context, sink: &mut Sink) {
    let inv = cx.inventory;
    let hpas = inv.autoscalers();
    let budgets = inv.budgets();
    // By identity, not object: a repository may hold the same Deployment in several files,
    // some of them partial (kustomize patches) that only the complete copy shows for what
    // it is.
    let identity = |id: ObjectId| {
        let o = inv.object(id);
        (o.kind(), o.namespace(), o.name())
    };
    let istiods: HashSet<_> = inv
        .mesh
        .control_planes
        .iter()
        .filter_map(|cp| cp.object.map(identity))
        .collect();
    let gateways: HashSet<_> = inv
        .workloads
        .iter()
        .filter(|w| gateway_install(w).is_some())
        .map(|w| identity(w.object))
        .collect();
    for (budget, covered) in &budgets.budgets {
        let [only] = covered.as_slice() else {
            continue;
        };
        let w = &inv.workloads[*only];
        let what = if istiods.contains(&identity(w.object)) {
            "istiod"
        } else if gateways.contains(&identity(w.object)) {
            "the gateway"
        } else {
            continue;
        };
        let replicas = hpas.replicas(inv, w);
        if replicas.min != 1 || budget.disruptions_allowed(1) > 0 {
            continue;
        }
        let raise = match &replicas.source {
            ReplicaSource::Autoscaler { name, .. } => {
                format!("set minReplicas: 2 on HorizontalPodAutoscaler {name}")
            }
            _ => "set replicas: 2".to_string(),
        };
        let message = format!(
            "{what} {} runs {replicas} and {} allows 0 disruptions: kubectl drain of its node never completes",
            inv.object(w.object).display_name(),
            budget.describe(),
        );
        sink.object(
            budget.object,
            budget.field(),
            message,
        )
        .with_fix(Fix::display_only(if what == "istiod" {
            format!("{raise} (istiod chart: autoscaleMin / replicaCount), or delete this PodDisruptionBudget as the 1.28+ istiod chart does for one replica")
        } else {
            format!("{raise} (gateway chart: autoscaling.minReplicas / replicaCount), or delete this PodDisruptionBudget as the gateway chart does for one replica")
        }));
    }
}
