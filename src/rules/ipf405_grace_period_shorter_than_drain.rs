use super::{Context, Sink};
use crate::diagnostic::{Edit, Fix, Severity};
use crate::model::duration::format_duration;
use crate::model::gvk::{
    CONFIG_MAP, CRON_JOB, DAEMON_SET, DEPLOYMENT, JOB, MUTATING_WEBHOOK_CONFIGURATION, NAMESPACE,
    NODE, POD, REPLICA_SET, STATEFUL_SET,
};
use crate::model::proxy::ProxyModel;

crate::declare_rule! {
    /// ## What it does
    /// For every workload that gets a sidecar, compares the pod's
    /// `terminationGracePeriodSeconds` (30 when absent, as the API server defaults it) with
    /// the proxy's effective `terminationDrainDuration`: Istio's default of 5s, overridden by
    /// `meshConfig.defaultConfig` in the serving revision's `istio[-<rev>]` ConfigMap, then by
    /// the pod's `proxy.istio.io/config` annotation — Istio's own precedence. It fires when
    /// the grace period is shorter than the drain. Pods whose proxy runs with
    /// `EXIT_ON_ZERO_ACTIVE_CONNECTIONS` are skipped: that mode ignores the drain duration.
    ///
    /// It judges the pods the upgrade **terminates**: the ones running now, with the sidecar
    /// they were injected with. A native sidecar (`istio-proxy` as an init container with
    /// `restartPolicy: Always`, read from the pod, its `sidecar.istio.io/status`, or the
    /// current control plane's injection settings: the pod annotation
    /// `sidecar.istio.io/nativeSidecar`, istiod's `ENABLE_NATIVE_SIDECARS`, its 1.27+ `auto`
    /// default with every kubelet at 1.33 or newer) is not reported: it starts draining from
    /// a preStop hook when shutdown begins and gets SIGTERM only after the application
    /// containers have exited, so `terminationDrainDuration` does not bound it. When the
    /// input cannot tell classic from native (an `auto` control plane and no kubelet
    /// version, or no control-plane version at all) the finding is a warning that says so.
    ///
    /// A grace period **equal** to the drain (Istio's default 5s drain with
    /// `terminationGracePeriodSeconds: 5`) is not reported. On SIGTERM pilot-agent starts
    /// the drain, sleeps `terminationDrainDuration` and then kills whatever Envoy still
    /// holds (istio/istio `pkg/envoy/agent.go` `terminate`); the kubelet's SIGKILL at the
    /// end of the grace period lands at that same moment and cuts nothing the drain would
    /// have let finish. A longer grace period would not give the application time after the
    /// drain either: with a classic sidecar the application gets SIGTERM together with the
    /// proxy, and the grace period is its own shutdown budget.
    ///
    /// ## Why it matters during an upgrade
    /// Every meshed pod restarts during an upgrade to pick up the new proxy. On SIGTERM the
    /// sidecar drains for `terminationDrainDuration`; if the kubelet's grace period runs out
    /// first, the proxy is killed mid-drain and in-flight requests fail across the whole mesh.
    ///
    /// ## Example that fires
    /// Mesh config `defaultConfig: {terminationDrainDuration: 35s}` and a Deployment without
    /// `terminationGracePeriodSeconds` (30s).
    ///
    /// ## Example that does not fire
    /// The same Deployment with `terminationGracePeriodSeconds: 35` or `45`, or whose running
    /// pods have a native sidecar.
    ///
    /// ## Fix
    /// Raise `terminationGracePeriodSeconds` above the drain (the fix sets drain + 5s), or
    /// shorten the drain for this pod with `proxy.istio.io/config`.
    ///
    /// ## References
    /// - ProxyConfig `terminationDrainDuration`: <https://istio.io/latest/docs/reference/config/istio.mesh.v1alpha1/#ProxyConfig>
    /// - Pod termination: <https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-termination>
    /// - Sidecar containers' shutdown order: <https://kubernetes.io/docs/concepts/workloads/pods/sidecar-containers/>
    code: "IPF405",
    name: "grace-period-shorter-than-drain",
    severity: Error,
    summary: "A pod with a classic sidecar has a terminationGracePeriodSeconds shorter than its proxy's terminationDrainDuration",
    fix: Always,
    reads: [POD, DEPLOYMENT, STATEFUL_SET, DAEMON_SET, REPLICA_SET, JOB, CRON_JOB, NAMESPACE, CONFIG_MAP, MUTATING_WEBHOOK_CONFIGURATION, NODE],
}

/// Margin the fix leaves between the end of the drain and the kubelet's SIGKILL.
const MARGIN_SECONDS: u64 = 5;

fn check(cx: &Context, sink: &mut Sink) {
    let inv = cx.inventory;
    let proxies = ProxyModel::new(inv, cx.release, cx.values, cx.upgrade.target.as_ref());
    for w in &inv.workloads {
        if w.has_controller_in_inventory || w.membership.sidecar_revision().is_none() {
            continue;
        }
        let now = proxies.now(w);
        if now.is_native() {
            continue;
        }
        let settings = inv.mesh.proxy_settings(w);
        if settings.exit_on_zero_active_connections {
            continue;
        }
        let drain = settings.termination_drain.value;
        let grace = w.grace_period_seconds();
        // Equal is fine: the SIGKILL lands as pilot-agent ends the drain and kills Envoy.
        if (grace as f64) >= drain.as_secs_f64() {
            continue;
        }
        let grace_text = match w.spec.termination_grace_period_seconds {
            Some(g) => format!("terminationGracePeriodSeconds is {g}"),
            None => "terminationGracePeriodSeconds is 30 (the Kubernetes default)".to_string(),
        };
        let drains = format!(
            "the sidecar drains for {} (from {})",
            format_duration(drain),
            settings
                .termination_drain
                .source
                .describe(inv, "terminationDrainDuration"),
        );
        let message = if now.is_classic() {
            format!("{grace_text} but {drains}: the kubelet kills istio-proxy mid-drain and in-flight requests fail when the pod restarts")
        } else {
            format!("{grace_text} but {drains}: if the running pods have classic sidecars, the kubelet kills istio-proxy mid-drain when they restart (native sidecars are not bounded by the drain, and the input does not tell which they have: {})", now.basis)
        };
        let wanted = drain.as_secs() + u64::from(drain.subsec_nanos() > 0) + MARGIN_SECONDS;
        let field = w.pod_spec_path().key("terminationGracePeriodSeconds");
        let finding = sink.object(w.object, field.clone(), message);
        if !now.is_classic() {
            finding.with_severity(Severity::Warning);
        }
        finding.with_fix(Fix::safe(
            format!("set terminationGracePeriodSeconds to {wanted}"),
            vec![Edit::Set {
                path: field,
                value: wanted.into(),
            }],
        ));
    }
}
