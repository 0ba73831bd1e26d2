use super::{Context, Sink};
use crate::diagnostic::Fix;
use crate::model::disruption::counts_for_budgets;
use crate::model::disruption::REPLICAS;
use crate::model::gvk::{
    DEPLOYMENT, HORIZONTAL_POD_AUTOSCALER, MUTATING_WEBHOOK_CONFIGURATION, NAMESPACE,
    POD_DISRUPTION_BUDGET, REPLICA_SET, STATEFUL_SET,
};
use crate::model::path::SELECTOR;
use crate::model::workload::WorkloadKind;

crate::declare_rule! {
    /// ## What it does
    /// Reports meshed Deployments, StatefulSets and ReplicaSets that run more than one
    /// replica (`spec.replicas`, default 1, or the `minReplicas` of the HorizontalPodAutoscaler
    /// that targets them) and that no PodDisruptionBudget in their namespace selects. Bare
    /// Pods, Jobs and DaemonSets are left out: a budget cannot keep a rollout or a drain
    /// from taking them down.
    ///
    /// ## Why it matters during an upgrade
    /// Node pools are often drained alongside an Istio upgrade. Without a budget, `kubectl
    /// drain` evicts every replica on the node at once, and several nodes drained in a row
    /// can take all replicas of the service down while they are rescheduled and their new
    /// sidecars start.
    ///
    /// ## Example that fires
    /// A Deployment with `replicas: 3` in an `istio-injection=enabled` namespace and no
    /// PodDisruptionBudget whose selector matches its pod labels.
    ///
    /// ## Example that does not fire
    /// The same Deployment with a `policy/v1` PodDisruptionBudget `maxUnavailable: 1` selecting
    /// `app: checkout`; or a single-replica Deployment (see IPF404).
    ///
    /// ## Fix
    /// Add a PodDisruptionBudget that selects the workload's pods and lets one go at a time.
    /// The finding shows the exact object to add (display-only: a new file is yours to place).
    ///
    /// ## References
    /// - Specifying a disruption budget: <https://kubernetes.io/docs/tasks/run-application/configure-pdb/>
    /// - Disruptions: <https://kubernetes.io/docs/concepts/workloads/pods/disruptions/>
    code: "IPF402",
    name: "missing-pdb",
    severity: Warning,
    summary: "A meshed workload with more than one replica has no PodDisruptionBudget",
    fix: None,
    reads: [POD_DISRUPTION_BUDGET, HORIZONTAL_POD_AUTOSCALER, DEPLOYMENT, STATEFUL_SET, REPLICA_SET, NAMESPACE, MUTATING_WEBHOOK_CONFIGURATION],
}

fn check(cx: &Context, sink: &mut Sink) {
    let inv = cx.inventory;
    let hpas = inv.autoscalers();
    let budgets = inv.budgets();
    for (i, w) in inv.workloads.iter().enumerate() {
        if !counts_for_budgets(w) || w.kind == WorkloadKind::Pod || !w.membership.is_meshed() {
            continue;
        }
        let replicas = hpas.replicas(inv, w);
        if replicas.min <= 1 || !budgets.covering(i).is_empty() {
            continue;
        }
        let o = inv.object(w.object);
        let message = format!(
            "{replicas} and no PodDisruptionBudget selects its pods: a node drain may evict all of them at once"
        );
        sink.object(w.object, REPLICAS, message)
            .with_fix(Fix::display_only(format!(
                "add a PodDisruptionBudget that lets one pod go at a time:\n{}",
                pdb_yaml(o.name(), o.namespace(), SELECTOR.read(o.root()))
            )));
    }
}

/// The budget to add, selecting what the workload's own selector selects.
fn pdb_yaml(name: &str, namespace: &str, selector: Option<crate::yaml::Node>) -> String {
    let mut s = format!(
        "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: {}\n  namespace: {}\nspec:\n  maxUnavailable: 1\n  selector:\n",
        yaml_scalar(name),
        yaml_scalar(namespace)
    );
    let labels = selector
        .and_then(|n| n.get("matchLabels"))
        .and_then(|n| n.as_map());
    if let Some(labels) = labels.filter(|l| !l.is_empty()) {
        s.push_str("    matchLabels:\n");
        for e in labels {
            s.push_str(&format!(
                "      {}: {}\n",
                yaml_scalar(e.key),
                yaml_scalar(&crate::model::selector::scalar_string(e.value))
            ));
        }
    }
    let expressions = selector
        .and_then(|n| n.get("matchExpressions"))
        .and_then(|n| n.as_seq());
    if let Some(items) = expressions.filter(|i| !i.is_empty()) {
        s.push_str("    matchExpressions:\n");
        for item in items {
            // JSON is YAML: a flow mapping keeps each requirement on its line.
            s.push_str(&format!("    - {}\n", item.to_json()));
        }
    }
    s.trim_end().to_string()
}

/// A plain scalar when YAML reads it back as the same string, else a JSON-quoted one.
fn yaml_scalar(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
        && text.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && !matches!(
            text.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n"
        );
    if plain {
        text.to_string()
    } else {
        serde_json::Value::String(text.to_string()).to_string()
    }
}
