use super::{Context, Sink};
use crate::diagnostic::{Edit, Fix};
use crate::model::disruption::ReplicaSource;
use crate::model::gateway::is_istio_component;
use crate::model::gvk::{
    DEPLOYMENT, HORIZONTAL_POD_AUTOSCALER, MUTATING_WEBHOOK_CONFIGURATION, NAMESPACE, POD,
    POD_DISRUPTION_BUDGET, REPLICA_SET, STATEFUL_SET,
};
use crate::model::path::SPEC;

crate::declare_rule! {
    /// ## What it does
    /// For every PodDisruptionBudget that selects a meshed workload (same namespace, by its
    /// label selector; in `policy/v1` an empty selector `{}` selects every pod of the
    /// namespace), computes the voluntary disruptions it allows exactly as the disruption
    /// controller does, with all pods healthy:
    ///
    /// - `maxUnavailable` (a number, or a percentage of the replicas rounded **up**) may be
    ///   down; `maxUnavailable: 0` or `0%` allows none;
    /// - `minAvailable` as a number must stay up; as a percentage of the replicas it is
    ///   rounded **up**, so `minAvailable: 90%` of 3 replicas keeps all 3.
    ///
    /// The replicas are the selected Deployments', StatefulSets' and ReplicaSets' (and bare
    /// Pods'), each `spec.replicas` (default 1) or, when a HorizontalPodAutoscaler's
    /// `scaleTargetRef` names the workload, its `minReplicas` (default 1): the count the
    /// workload may be running when the drain comes. It fires when the budget allows zero
    /// disruptions. Workloads scaled to zero are not counted; a budget over no pods blocks
    /// nothing; the same workload found in several files counts once. A budget over a single
    /// istiod or gateway pod is IPF502's finding.
    ///
    /// ## Why it matters during an upgrade
    /// Upgrades are often paired with node-pool rotations, and every meshed pod must be
    /// restarted anyway. `kubectl drain` and cluster autoscalers evict through the eviction
    /// API, which refuses while a budget allows zero disruptions: the drain retries forever
    /// and the node (and the upgrade) never finishes.
    ///
    /// ## Example that fires
    /// ```yaml
    /// apiVersion: policy/v1
    /// kind: PodDisruptionBudget
    /// metadata: {name: catalog, namespace: shop}
    /// spec:
    ///   minAvailable: 100%
    ///   selector: {matchLabels: {app: catalog}}   # Deployment catalog, 2 replicas
    /// ```
    ///
    /// ## Example that does not fire
    /// `minAvailable: 50%` of 3 replicas (2 must stay, 1 may go), or `maxUnavailable: 1`.
    ///
    /// ## Fix
    /// Allow at least one disruption: `maxUnavailable: 1` in place of `minAvailable` (unsafe:
    /// with a single replica that allows an outage, so raise replicas first, see IPF404).
    ///
    /// ## References
    /// - Disruptions and PDB semantics: <https://kubernetes.io/docs/concepts/workloads/pods/disruptions/>
    /// - Rounding: <https://kubernetes.io/docs/tasks/run-application/configure-pdb/#rounding-logic-when-specifying-percentages>
    /// - Safely drain a node: <https://kubernetes.io/docs/tasks/administer-cluster/safely-drain-node/>
    code: "IPF401",
    name: "pdb-blocks-eviction",
    severity: Error,
    summary: "A PodDisruptionBudget for a meshed workload allows zero voluntary disruptions",
    fix: Always,
    reads: [POD_DISRUPTION_BUDGET, HORIZONTAL_POD_AUTOSCALER, DEPLOYMENT, STATEFUL_SET, REPLICA_SET, POD, NAMESPACE, MUTATING_WEBHOOK_CONFIGURATION],
}

fn check(cx: &Context, sink: &mut Sink) {
    let inv = cx.inventory;
    let hpas = inv.autoscalers();
    let budgets = inv.budgets();
    for (budget, covered) in &budgets.budgets {
        if !covered
            .iter()
            .any(|&i| inv.workloads[i].membership.is_meshed())
        {
            continue;
        }
        let counted: Vec<_> = covered
            .iter()
            .map(|&i| (&inv.workloads[i], hpas.replicas(inv, &inv.workloads[i])))
            .filter(|(_, r)| r.min > 0)
            .collect();
        let expected: i64 = counted.iter().map(|(_, r)| r.min).sum();
        if expected == 0 || budget.disruptions_allowed(expected) > 0 {
            continue;
        }
        // A single istiod or gateway pod under its budget is IPF502's finding.
        if let [(w, r)] = counted.as_slice() {
            if r.min == 1 && is_istio_component(inv, w) {
                continue;
            }
        }
        let of = match counted.as_slice() {
            [(w, r)] => format!("{r} of {}", inv.object(w.object).display_name()),
            many => format!(
                "{expected} replicas of {}",
                many.iter()
                    .map(|(w, r)| {
                        let hpa = match r.source {
                            ReplicaSource::Autoscaler { .. } => " (HPA minReplicas)",
                            _ => "",
                        };
                        format!("{} ({}{hpa})", inv.object(w.object).display_name(), r.min)
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let message = format!(
            "{} of {of} allows 0 disruptions: the eviction API refuses every eviction, so node drains during the upgrade hang",
            budget.describe()
        );
        let mut edits = Vec::new();
        if budget.min_available.is_some() {
            edits.push(Edit::Remove {
                path: SPEC.key("minAvailable"),
            });
        }
        edits.push(Edit::Set {
            path: SPEC.key("maxUnavailable"),
            value: 1.into(),
        });
        sink.object(budget.object, budget.field(), message)
            .with_fix(Fix::unsafe_(
                "allow one disruption at a time: maxUnavailable: 1",
                edits,
            ));
    }
}
