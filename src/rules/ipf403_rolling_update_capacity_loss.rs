use super::{Context, Sink};
use crate::diagnostic::{Edit, Fix};
use crate::model::disruption::{
    resolve_fenceposts, Autoscalers, DaemonSetStrategy, DeploymentStrategy, DEPLOYMENT_STRATEGY,
    UPDATE_STRATEGY,
};
use crate::model::gvk::{
    DAEMON_SET, DEPLOYMENT, HORIZONTAL_POD_AUTOSCALER, MUTATING_WEBHOOK_CONFIGURATION, NAMESPACE,
};
use crate::model::intstr::IntOrPercent;
use crate::model::path::SPEC;
use crate::model::workload::{Workload, WorkloadKind};

crate::declare_rule! {
    /// ## What it does
    /// For every Deployment and DaemonSet whose pods get a sidecar, resolves the rollout's
    /// `maxUnavailable` the way the controllers do and fires when it takes pods away before
    /// their replacements are ready:
    ///
    /// - Deployment `strategy` defaults to `RollingUpdate` with `maxSurge: 25%` and
    ///   `maxUnavailable: 25%`. `maxSurge` is rounded **up** and `maxUnavailable` **down**
    ///   against the replicas, and when both come out 0 the controller lets one pod go. So
    ///   the default costs nothing at 1–3 replicas (25% of 3 rounds down to 0) and one pod at
    ///   4. `Recreate` stops every pod first.
    /// - DaemonSet `updateStrategy` defaults to `RollingUpdate` with `maxUnavailable: 1`,
    ///   `maxSurge: 0`; percentages are rounded **up**. `OnDelete` is not reported.
    ///
    /// The replicas are `spec.replicas` (default 1) or, when a HorizontalPodAutoscaler targets
    /// the Deployment, the replicas it runs: its `status.currentReplicas` when the input shows
    /// it (read from a cluster), else its `minReplicas` — the fewest it runs; the message says
    /// which, and more pods go at once when it has scaled up. A workload that runs one replica
    /// is left to IPF404, which says whether its restart is an outage. StatefulSets are not
    /// reported: they cannot surge, so one pod at a time is always down (see IPF401, IPF404
    /// for what protects them).
    ///
    /// ## Why it matters during an upgrade
    /// Every sidecar workload is restarted to pick up the new proxy, usually many at once
    /// (`kubectl rollout restart` per namespace). With `maxUnavailable` above 0 each restart
    /// removes serving capacity before the new pods (and their new sidecars) are ready, and
    /// the remaining pods take the full load.
    ///
    /// ## Example that fires
    /// ```yaml
    /// spec:
    ///   replicas: 2
    ///   strategy: {rollingUpdate: {maxSurge: 25%, maxUnavailable: 1}}
    /// ```
    ///
    /// ## Example that does not fire
    /// `maxUnavailable: 0` with `maxSurge: 1`, or no strategy at all with 3 replicas (the
    /// default 25% rounds down to 0 and 25% surge rounds up to 1).
    ///
    /// ## Fix
    /// Set `maxUnavailable: 0` and a `maxSurge` of at least 1, so the controller starts each
    /// new pod before it stops an old one. For `Recreate` the fix switches to such a rolling
    /// update and is unsafe: `Recreate` is often chosen for volumes only one pod can mount.
    ///
    /// ## References
    /// - Deployment rolling update: <https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#rolling-update-deployment>
    /// - DaemonSet rolling update: <https://kubernetes.io/docs/tasks/manage-daemon/update-daemon-set/>
    /// - Fencepost rounding: kubernetes/kubernetes `pkg/controller/deployment/util/deployment_util.go` (`ResolveFenceposts`)
    code: "IPF403",
    name: "rolling-update-capacity-loss",
    severity: Warning,
    summary: "A meshed Deployment's rollout takes pods down before replacements are ready (maxUnavailable above 0)",
    fix: Sometimes,
    reads: [DEPLOYMENT, DAEMON_SET, HORIZONTAL_POD_AUTOSCALER, NAMESPACE, MUTATING_WEBHOOK_CONFIGURATION],
}

fn check(cx: &Context, sink: &mut Sink) {
    let inv = cx.inventory;
    let hpas = inv.autoscalers();
    for w in &inv.workloads {
        if w.has_controller_in_inventory || w.membership.sidecar_revision().is_none() {
            continue;
        }
        match w.kind {
            WorkloadKind::Deployment => deployment(cx, hpas, w, sink),
            WorkloadKind::DaemonSet => daemonset(cx, w, sink),
            _ => {}
        }
    }
}

fn deployment(cx: &Context, hpas: &Autoscalers, w: &Workload, sink: &mut Sink) {
    let inv = cx.inventory;
    let o = inv.object(w.object);
    let Some(strategy) = DeploymentStrategy::of(o.root()) else {
        return;
    };
    let (scale, count) = hpas.replicas(inv, w).running();
    // One replica is IPF404's: there the restart takes the whole workload down, or nothing.
    if scale <= 1 {
        return;
    }
    let scale_text = format!("at {count}");
    let rolling = DEPLOYMENT_STRATEGY.key("rollingUpdate");
    match strategy {
        DeploymentStrategy::Recreate => {
            sink.object(
                w.object,
                DEPLOYMENT_STRATEGY.key("type"),
                format!("strategy Recreate stops every pod ({count}) before starting new ones: restarting for the new proxy is an outage"),
            )
            .with_fix(Fix::unsafe_(
                "roll out one new pod at a time: type RollingUpdate, maxUnavailable: 0, maxSurge: 1",
                vec![
                    Edit::Set { path: DEPLOYMENT_STRATEGY.key("type"), value: "RollingUpdate".into() },
                    Edit::Set { path: rolling.clone().key("maxUnavailable"), value: 0.into() },
                    Edit::Set { path: rolling.key("maxSurge"), value: 1.into() },
                ],
            ));
        }
        DeploymentStrategy::RollingUpdate {
            max_surge,
            max_unavailable,
        } => {
            let posts = resolve_fenceposts(max_surge, max_unavailable, scale);
            if posts.unavailable == 0 {
                return;
            }
            let declared_at = rolling.clone().key("maxUnavailable");
            let declared = declared_at.resolve(o.root()).is_some();
            let what = if declared {
                format!("rollingUpdate.maxUnavailable {max_unavailable}")
            } else {
                format!("the default rollingUpdate.maxUnavailable {max_unavailable}")
            };
            let rounding = match max_unavailable {
                IntOrPercent::Percent(_)
                    if max_unavailable.scaled(scale, crate::model::intstr::Rounding::Down) == 0 =>
                {
                    " (the percentage rounds to 0 and maxSurge to 0, so the controller lets one go)"
                        .to_string()
                }
                IntOrPercent::Percent(_) => " (rounded down)".to_string(),
                IntOrPercent::Int(_) => String::new(),
            };
            let message = format!(
                "{what} {scale_text} lets {} {} go before replacements are ready{rounding}: the restart that picks up the new proxy drops capacity",
                posts.unavailable,
                if posts.unavailable == 1 { "pod" } else { "pods" },
            );
            let field = if declared {
                declared_at
            } else {
                DEPLOYMENT_STRATEGY.path()
            };
            let mut edits = vec![Edit::Set {
                path: rolling.clone().key("maxUnavailable"),
                value: 0.into(),
            }];
            if posts.surge == 0 {
                edits.push(Edit::Set {
                    path: rolling.key("maxSurge"),
                    value: 1.into(),
                });
            }
            let title = if posts.surge == 0 {
                "start new pods before stopping old ones: maxUnavailable: 0, maxSurge: 1"
            } else {
                "start new pods before stopping old ones: maxUnavailable: 0 (maxSurge already adds pods)"
            };
            sink.object(w.object, field, message)
                .with_fix(Fix::safe(title, edits));
        }
    }
}

fn daemonset(cx: &Context, w: &Workload, sink: &mut Sink) {
    let o = cx.inventory.object(w.object);
    let Some(strategy) = DaemonSetStrategy::of(o.root()) else {
        return;
    };
    let DaemonSetStrategy::RollingUpdate {
        max_unavailable, ..
    } = strategy
    else {
        return;
    };
    // A DaemonSet runs one pod per node; rounding up, any non-zero value means at least one.
    let Some(posts) = strategy.fenceposts(1) else {
        return;
    };
    if posts.unavailable == 0 {
        return;
    }
    // A surge pod needs the same host port as the old one on the same node and never
    // schedules; those DaemonSets cannot avoid the gap.
    if w.spec.containers.iter().any(|c| c.host_port) {
        return;
    }
    let rolling = UPDATE_STRATEGY.key("rollingUpdate");
    let declared_at = rolling.clone().key("maxUnavailable");
    let (what, field) = if declared_at.resolve(o.root()).is_some() {
        (
            format!("updateStrategy.rollingUpdate.maxUnavailable {max_unavailable}"),
            declared_at,
        )
    } else {
        (
            "the default updateStrategy.rollingUpdate.maxUnavailable 1".to_string(),
            SPEC.path(),
        )
    };
    let mut edits = vec![Edit::Set {
        path: rolling.clone().key("maxUnavailable"),
        value: 0.into(),
    }];
    if posts.surge == 0 {
        edits.push(Edit::Set {
            path: rolling.key("maxSurge"),
            value: 1.into(),
        });
    }
    sink.object(
        w.object,
        field,
        format!("{what} stops the pod on a node before its replacement is ready: the restart that picks up the new proxy leaves nodes without this DaemonSet's pod"),
    )
    .with_fix(Fix::safe(
        "start the new pod on each node before stopping the old one: maxUnavailable: 0, maxSurge: 1",
        edits,
    ));
}
