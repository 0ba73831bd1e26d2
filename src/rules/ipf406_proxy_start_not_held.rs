use super::ipf405_grace_period_shorter_than_drain::describe_source;
use super::{Context, Sink};
use crate::diagnostic::{Edit, Fix};
use crate::model::mesh::{NativeSidecars, Source};
use crate::yaml;

crate::declare_rule! {
    /// ## What it does
    /// Fires for workloads that get a classic sidecar without `holdApplicationUntilProxyStarts`.
    /// The effective value follows Istio's precedence: the deprecated injector value
    /// `global.proxy.holdApplicationUntilProxyStarts` (ConfigMap
    /// `istio-sidecar-injector[-<rev>]`), then `meshConfig.defaultConfig` of the serving
    /// revision, then the pod's `proxy.istio.io/config` annotation.
    ///
    /// Gateways are skipped: the pod is the proxy, there is no application to hold.
    ///
    /// Native sidecars (`sidecar.istio.io/nativeSidecar: "true"`, istiod's
    /// `ENABLE_NATIVE_SIDECARS=true`, or its 1.27+ `auto` default with every kubelet at 1.33 or
    /// newer) always start before the application and Istio ignores the setting for them, so
    /// they never fire. When native sidecars depend on a Kubernetes version the input does not
    /// show (no Nodes, no `--kube-version`), the rule stays silent rather than guess.
    ///
    /// ## Why it matters during an upgrade
    /// Every meshed pod restarts. Without the hold, the application container starts in
    /// parallel with its proxy; calls it makes before Envoy is ready fail, so restarts turn
    /// into crash loops and failed readiness across the fleet exactly when it is most fragile.
    ///
    /// ## Example that fires
    /// A Deployment in a namespace labelled `istio-injection: enabled`, with no proxy config.
    ///
    /// ## Example that does not fire
    /// The same Deployment with the pod annotation
    /// `proxy.istio.io/config: '{"holdApplicationUntilProxyStarts": true}'`, or mesh config
    /// `defaultConfig: {holdApplicationUntilProxyStarts: true}`.
    ///
    /// ## Fix
    /// Set `holdApplicationUntilProxyStarts: true` mesh-wide in `meshConfig.defaultConfig`, or
    /// per workload with the `proxy.istio.io/config` annotation (what the fix writes).
    ///
    /// ## References
    /// - ProxyConfig `holdApplicationUntilProxyStarts`: <https://istio.io/latest/docs/reference/config/istio.mesh.v1alpha1/#ProxyConfig>
    /// - Application start-up ordering: <https://istio.io/latest/docs/ops/common-problems/injection/>
    code: "IPF406",
    name: "proxy-start-not-held",
    severity: Warning,
    summary: "A meshed workload does not get holdApplicationUntilProxyStarts (and is not on native sidecars)",
    fixable: true,
    reads: ["Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Namespace", "ConfigMap", "MutatingWebhookConfiguration", "Node"],
}

const ANNOTATION: &str = "proxy.istio.io/config";

fn check(cx: &Context, sink: &mut Sink) {
    let inv = cx.inventory;
    for w in &inv.workloads {
        if w.has_controller_in_inventory
            || w.membership.sidecar_revision().is_none()
            || w.is_gateway()
        {
            continue;
        }
        if inv.mesh.native_sidecars(w) != NativeSidecars::No {
            continue;
        }
        let hold = inv.mesh.proxy_settings(w).hold_application;
        if hold.value {
            continue;
        }
        let because = match hold.source {
            Source::Default => "it is off by default".to_string(),
            ref other => format!(
                "{} sets it to false",
                describe_source(inv, other, "holdApplicationUntilProxyStarts")
            ),
        };
        let annotations = w.pod_metadata_path().key("annotations");
        let field = if w.annotation(ANNOTATION).is_some() {
            annotations.clone().key(ANNOTATION)
        } else {
            w.pod_metadata_path()
        };
        // Keep whatever the annotation already configures and add the hold to it.
        let mut config = w
            .annotation(ANNOTATION)
            .and_then(|t| yaml::parse_str(t).ok().flatten())
            .map(|n| n.root().to_json())
            .filter(serde_json::Value::is_object)
            .unwrap_or_else(|| serde_json::json!({}));
        config["holdApplicationUntilProxyStarts"] = true.into();
        sink.object(
            w.object,
            field,
            format!("the application may start before its sidecar is ready: holdApplicationUntilProxyStarts is not enabled ({because})"),
        )
        .with_fix(Fix::safe(
            "hold the application until the proxy starts (pod annotation proxy.istio.io/config)",
            vec![Edit::Set {
                path: annotations.key(ANNOTATION),
                value: config.to_string().into(),
            }],
        ));
    }
}
