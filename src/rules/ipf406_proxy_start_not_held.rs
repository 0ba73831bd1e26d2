use super::{Context, Sink};
use crate::diagnostic::{Edit, Fix};
use crate::model::gvk::{
    CONFIG_MAP, CRON_JOB, DAEMON_SET, DEPLOYMENT, JOB, MUTATING_WEBHOOK_CONFIGURATION, NAMESPACE,
    NODE, POD, REPLICA_SET, STATEFUL_SET,
};
use crate::model::mesh::Source;
use crate::model::proxy::ProxyModel;
use crate::yaml;

crate::declare_rule! {
    /// ## What it does
    /// Fires for workloads whose pods **after the upgrade** get a classic sidecar without
    /// `holdApplicationUntilProxyStarts`. It judges the pods the upgrade creates, injected
    /// by the target release with the target's defaults, not the pods running now: a
    /// workload on classic sidecars today that the target injects as native sidecars is not
    /// reported.
    ///
    /// The sidecar kind follows the injection template: the pod annotation
    /// `sidecar.istio.io/nativeSidecar` (any value but `"false"` means native), else istiod's
    /// `ENABLE_NATIVE_SIDECARS` (from a target control plane in the input, else carried over
    /// from the serving istiod or the install settings), else its default in the target
    /// release — `false` before 1.27, `auto` from 1.27, unless a `compatibilityVersion` the
    /// target ships pins `false` — where `auto` means native when every kubelet is 1.33 or
    /// newer (Nodes in the input, else `--kube-version`). When that depends on a kubelet
    /// version the input does not show, the rule stays silent rather than guess. A template
    /// that already holds an injected proxy (`istioctl kube-inject` output) keeps it.
    ///
    /// The effective hold follows Istio's precedence: the deprecated injector value
    /// `global.proxy.holdApplicationUntilProxyStarts` (ConfigMap
    /// `istio-sidecar-injector[-<rev>]`), then `meshConfig.defaultConfig` of the serving
    /// revision, then the pod's `proxy.istio.io/config` annotation. Gateways are skipped: the
    /// pod is the proxy, there is no application to hold.
    ///
    /// What the hold prevents is the application's own outbound calls failing while Envoy is
    /// not ready; inbound traffic waits anyway, as the pod is not ready before its proxy. A
    /// single-replica database server is therefore not reported: every application container
    /// listens only on registered database ports (PostgreSQL 5432, MySQL 3306, MongoDB 27017,
    /// Redis 6379, Memcached 11211) and, with no primary or peer to join, it calls nothing
    /// when it starts. With more replicas it is reported: replicas connect to each other as
    /// they start.
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
    /// The same Deployment upgraded to 1.27 or later on a cluster whose kubelets are all 1.33
    /// or newer (native sidecars), or with the pod annotation
    /// `proxy.istio.io/config: '{"holdApplicationUntilProxyStarts": true}'`, or mesh config
    /// `defaultConfig: {holdApplicationUntilProxyStarts: true}`; a single-replica PostgreSQL
    /// StatefulSet whose container listens only on 5432.
    ///
    /// ## Fix
    /// Set `holdApplicationUntilProxyStarts: true` mesh-wide in `meshConfig.defaultConfig`, or
    /// per workload with the `proxy.istio.io/config` annotation (what the fix writes).
    ///
    /// ## References
    /// - ProxyConfig `holdApplicationUntilProxyStarts`: <https://istio.io/latest/docs/reference/config/istio.mesh.v1alpha1/#ProxyConfig>
    /// - Application start-up ordering: <https://istio.io/latest/docs/ops/common-problems/injection/>
    /// - Native sidecars by default from 1.27: <https://istio.io/latest/news/releases/1.27.x/announcing-1.27/upgrade-notes/>
    /// - `detectNativeSidecar`: istio/istio `pkg/kube/inject/webhook.go`
    code: "IPF406",
    name: "proxy-start-not-held",
    severity: Warning,
    summary: "After the upgrade, a meshed workload's classic sidecar does not hold the application until the proxy starts",
    fix: Sometimes,
    reads: [POD, DEPLOYMENT, STATEFUL_SET, DAEMON_SET, REPLICA_SET, JOB, CRON_JOB, NAMESPACE, CONFIG_MAP, MUTATING_WEBHOOK_CONFIGURATION, NODE],
}

const ANNOTATION: &str = "proxy.istio.io/config";

fn check(cx: &Context, sink: &mut Sink) {
    let inv = cx.inventory;
    let proxies = ProxyModel::new(inv, cx.release, cx.values, cx.upgrade.target.as_ref());
    for w in &inv.workloads {
        if w.has_controller_in_inventory
            || w.membership.sidecar_revision().is_none()
            || w.is_gateway()
        {
            continue;
        }
        let after = proxies.after(w);
        if !after.is_classic() {
            continue;
        }
        // A database server running alone calls nothing when it starts; its clients reach it
        // through the proxy once the pod is ready, so holding it changes nothing.
        if w.is_datastore_server() && inv.autoscalers().replicas(inv, w).running().0 == 1 {
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
                other.describe(inv, "holdApplicationUntilProxyStarts")
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
            format!("{} pods get {after}: the application may start before its sidecar is ready, as holdApplicationUntilProxyStarts is not enabled ({because})", when(cx)),
        )
        .with_fix(if w.proxy_container().is_some() {
            // Injected into the manifest (`istioctl kube-inject`): the hold is applied when
            // injecting, so the annotation alone changes nothing.
            Fix::display_only(format!(
                "set holdApplicationUntilProxyStarts: true in the pod's {ANNOTATION} annotation and inject the manifest again (istioctl kube-inject)"
            ))
        } else {
            Fix::safe(
                "hold the application until the proxy starts (pod annotation proxy.istio.io/config)",
                vec![Edit::Set {
                    path: annotations.key(ANNOTATION),
                    value: config.to_string().into(),
                }],
            )
        });
    }
}

/// Which pods the message is about.
fn when(cx: &Context) -> String {
    match &cx.upgrade.target {
        Some(t) => format!("after the upgrade to {t}, new"),
        None => "new".to_string(),
    }
}
