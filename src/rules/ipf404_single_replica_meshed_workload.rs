use super::{Context, Sink};
use crate::diagnostic::{Edit, Fix};
use crate::model::disruption::{
    sole_replica_restart, ReplicaSource, SoleReplicaRestart, SoleReplicaStop, DEPLOYMENT_STRATEGY,
    REPLICAS,
};
use crate::model::gvk::{
    DEPLOYMENT, HORIZONTAL_POD_AUTOSCALER, MUTATING_WEBHOOK_CONFIGURATION, NAMESPACE, REPLICA_SET,
    STATEFUL_SET,
};
use crate::model::workload::WorkloadKind;

crate::declare_rule! {
    /// ## What it does
    /// Reports workloads whose pods get a sidecar, that run exactly one replica, and whose
    /// restart for the new proxy really leaves nothing serving:
    ///
    /// - a Deployment with `strategy: Recreate`, which stops the pod before it starts the new
    ///   one;
    /// - a RollingUpdate Deployment that cannot surge: at one replica `maxSurge` (rounded up)
    ///   comes out 0 and `maxUnavailable` (rounded down) 1, so the old pod goes first;
    /// - a StatefulSet: its rolling update deletes the pod and only then creates the new one
    ///   (whatever `podManagementPolicy`), and with `OnDelete` someone deletes it by hand;
    /// - a bare ReplicaSet: its pod is replaced only by deleting it.
    ///
    /// One replica means `spec.replicas: 1` or absent (Kubernetes defaults it to 1), or a
    /// HorizontalPodAutoscaler that runs it at 1: its current count when the input shows it
    /// (read from a cluster), else its `minReplicas`.
    ///
    /// A RollingUpdate Deployment that surges — the default `25%`/`25%` at one replica gives
    /// `maxSurge` 1 and `maxUnavailable` 0 — is **not** reported: `kubectl rollout restart`
    /// starts the new pod and waits for it to be ready before it stops the old one, so the
    /// upgrade's restart costs nothing. Its pod is still the only one when a node is drained
    /// (an eviction deletes it before a replacement runs), but that is true of every
    /// single-replica workload at every node drain, an Istio upgrade does not drain nodes, and
    /// a PodDisruptionBudget cannot help one replica (it would only block the drain): it is
    /// not a finding about the upgrade. Workloads scaled to 0, bare Pods, Jobs and DaemonSets
    /// are not reported either.
    ///
    /// ## Why it matters during an upgrade
    /// Every sidecar workload is restarted to pick up the new proxy. For the workloads above
    /// that restart is an outage: from the moment the old pod stops until the new pod (and
    /// its new sidecar) is ready, nothing serves.
    ///
    /// ## Example that fires
    /// A Deployment in an `istio-injection=enabled` namespace with `replicas: 1` and
    /// `strategy: {type: Recreate}`; a single-replica StatefulSet.
    ///
    /// ## Example that does not fire
    /// A Deployment with `replicas: 1` and no strategy (the default rolling update surges);
    /// `replicas: 1` with an HPA `minReplicas: 2` targeting it; any workload in a namespace
    /// without injection.
    ///
    /// ## Fix
    /// For a Deployment that cannot surge: `maxSurge: 1` and `maxUnavailable: 0`, and
    /// `type: RollingUpdate` for `Recreate` (unsafe: `Recreate` and `maxSurge: 0` are often
    /// chosen for a volume or host port only one pod can hold, where a surge pod never starts). For a StatefulSet or ReplicaSet the fix is advice only:
    /// it never scales a stateful workload by itself — plan the restart as downtime, or run
    /// more replicas where the application supports it (databases need their own replication
    /// first). When an HPA owns the count, raise its `minReplicas` (shown, not applied).
    ///
    /// ## References
    /// - Deployment rolling update (`maxSurge`, `maxUnavailable`): <https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#rolling-update-deployment>
    /// - StatefulSet rolling updates: <https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/#rolling-updates>
    /// - Disruptions: <https://kubernetes.io/docs/concepts/workloads/pods/disruptions/>
    /// - Istio upgrade docs, keeping capacity during restarts: <https://istio.io/latest/docs/setup/upgrade/canary/>
    code: "IPF404",
    name: "single-replica-meshed-workload",
    severity: Warning,
    summary: "A meshed workload runs one replica and its restart for the new proxy stops it before a replacement is ready",
    fix: Sometimes,
    reads: [DEPLOYMENT, STATEFUL_SET, REPLICA_SET, HORIZONTAL_POD_AUTOSCALER, NAMESPACE, MUTATING_WEBHOOK_CONFIGURATION],
}

fn check(cx: &Context, sink: &mut Sink) {
    let inv = cx.inventory;
    for w in &inv.workloads {
        if w.membership.sidecar_revision().is_none() {
            continue;
        }
        let Some(SoleReplicaRestart { replicas, stop }) = sole_replica_restart(inv, w) else {
            continue;
        };
        let (_, count) = replicas.running();
        let hpa_fix = match &replicas.source {
            ReplicaSource::Autoscaler { name, .. } => Some(Fix::display_only(format!(
                "set minReplicas: 2 on HorizontalPodAutoscaler {name} (it owns the replica count), if the application can run twice"
            ))),
            _ => None,
        };
        let rolling = DEPLOYMENT_STRATEGY.key("rollingUpdate");
        let surge_edits = || {
            vec![
                Edit::Set {
                    path: rolling.clone().key("maxSurge"),
                    value: 1.into(),
                },
                Edit::Set {
                    path: rolling.clone().key("maxUnavailable"),
                    value: 0.into(),
                },
            ]
        };
        let (field, message, fix) = match stop {
            SoleReplicaStop::Recreate => {
                let mut edits = vec![Edit::Set {
                    path: DEPLOYMENT_STRATEGY.key("type"),
                    value: "RollingUpdate".into(),
                }];
                edits.extend(surge_edits());
                (
                    DEPLOYMENT_STRATEGY.key("type"),
                    format!("runs {count} with strategy Recreate: the restart that picks up the new proxy stops its only pod before the new one starts, so nothing serves until the new pod is ready"),
                    Fix::unsafe_(
                        "start the new pod before stopping the old one: type RollingUpdate, maxSurge: 1, maxUnavailable: 0 (not where the pod needs a volume only one pod can mount)",
                        edits,
                    ),
                )
            }
            SoleReplicaStop::NoSurge {
                max_surge,
                max_unavailable,
            } => (
                rolling.clone().key("maxSurge"),
                format!("runs {count} with rollingUpdate maxSurge {max_surge} and maxUnavailable {max_unavailable}: the restart that picks up the new proxy stops its only pod before the new one is ready, so nothing serves meanwhile"),
                // maxSurge 0 is often chosen for a volume or host port that one pod holds at
                // a time; a surge pod would then never start.
                Fix::unsafe_(
                    "start the new pod before stopping the old one: maxSurge: 1, maxUnavailable: 0 (not where the pod holds a volume or host port alone)",
                    surge_edits(),
                ),
            ),
            SoleReplicaStop::StatefulSet => (
                REPLICAS.path(),
                format!("runs {count} as a StatefulSet: the restart that picks up the new proxy deletes its only pod before the new one is created, so nothing serves until it is ready"),
                Fix::display_only(
                    "plan the restart as downtime, or run more replicas where the application supports it (a database needs its own replication first)",
                ),
            ),
            SoleReplicaStop::ReplicaSet => (
                REPLICAS.path(),
                format!("runs {count} as a ReplicaSet without a Deployment: its pod picks up the new proxy only when it is deleted, and nothing serves until the replacement is ready"),
                Fix::display_only(
                    "manage it with a Deployment that surges (maxSurge: 1, maxUnavailable: 0), or plan the restart as downtime",
                ),
            ),
        };
        let fix = match (w.kind, hpa_fix) {
            // Surging is the fix for a Deployment; the HPA's floor is the fix elsewhere.
            (WorkloadKind::Deployment, _) | (_, None) => fix,
            (_, Some(hpa_fix)) => hpa_fix,
        };
        sink.object(w.object, field, message).with_fix(fix);
    }
}
