use std::collections::HashMap;
use std::time::Duration;

use super::{Context, Sink};
use crate::diagnostic::{Edit, Fix};
use crate::model::disruption::sole_replica_restart;
use crate::model::duration::format_duration;
use crate::model::gateway::gateway_install;
use crate::model::gvk::{
    CONFIG_MAP, DAEMON_SET, DEPLOYMENT, MUTATING_WEBHOOK_CONFIGURATION, NAMESPACE, NODE, POD,
    REPLICA_SET, SERVICE, STATEFUL_SET,
};
use crate::model::mesh::Source;
use crate::model::path::SELECTOR;
use crate::model::protocol::Protocol;
use crate::model::proxy::ProxyModel;
use crate::model::{Field, ObjectId, Selector};
use crate::yaml;

crate::declare_rule! {
    /// ## What it does
    /// Finds sidecar workloads behind a Service port that carries long-lived connections —
    /// gRPC, gRPC-Web, HTTP/2, WebSocket, or opaque TCP (TCP, TLS, MongoDB, Redis, MySQL;
    /// `https` ports are left out: by convention they carry short HTTP/1.1 requests) — and
    /// reports those whose classic sidecar keeps Istio's default `terminationDrainDuration`
    /// of 5s: nothing in `meshConfig.defaultConfig` of the serving revision, nothing in the
    /// pod's `proxy.istio.io/config` annotation, no `EXIT_ON_ZERO_ACTIVE_CONNECTIONS`. A drain
    /// tuned mesh-wide is a decision someone made for the whole mesh, not a default, and is
    /// not reported.
    ///
    /// It judges the pods the upgrade **terminates**: the ones running now. A native sidecar
    /// (see IPF405 for how the kind is told) is not reported: it starts draining from a
    /// preStop hook, keeps serving while the application shuts down and gets SIGTERM only
    /// after the application has exited, so the drain duration does not cut its connections.
    /// When the input cannot tell classic from native, the message says so.
    ///
    /// A workload whose restart stops its only pod before a replacement is ready (the
    /// workloads IPF404 reports: one replica as a StatefulSet, a bare ReplicaSet, or a
    /// Deployment that cannot surge) is not reported either: its clients lose every
    /// connection when that pod stops, whatever the drain, so a longer drain only delays the
    /// restart.
    ///
    /// The protocol comes from the port as Istio reads it: `appProtocol` first (including
    /// `kubernetes.io/h2c`, `kubernetes.io/ws`, `kubernetes.io/wss`), else the port name or
    /// its prefix before the first `-` (`grpc-api`, `tcp-db`). Ports with no recognised name
    /// (protocol sniffing) and plain HTTP/1.1 are not reported. A Service without a selector
    /// selects no pods. Gateways are left to IPF503: their ports are named `http2` by
    /// convention whatever their clients speak.
    ///
    /// ## Why it matters during an upgrade
    /// Every sidecar restarts to pick up the new proxy. On SIGTERM the proxy stops accepting
    /// new connections and waits `terminationDrainDuration`, then exits, cutting whatever is
    /// still open. HTTP/1.1 requests finish quickly, but gRPC streams, WebSockets and database
    /// connections stay open for minutes: with an untuned drain they are reset mid-flight,
    /// across the whole mesh, during the rollout.
    ///
    /// ## Example that fires
    /// A Service `ports: [{name: grpc-api, port: 9090}]` selecting a Deployment in an
    /// injected namespace, with no `proxy.istio.io/config` annotation.
    ///
    /// ## Example that does not fire
    /// The same Deployment with the pod annotation
    /// `proxy.istio.io/config: '{"terminationDrainDuration": "60s"}'` and
    /// `terminationGracePeriodSeconds: 65`, or with `proxyMetadata:
    /// {EXIT_ON_ZERO_ACTIVE_CONNECTIONS: "true"}`; mesh config `defaultConfig:
    /// {terminationDrainDuration: 30s}`; a pod with a native sidecar; a single-replica
    /// StatefulSet (a database restarted is down anyway); or a Service whose only port is
    /// `http`.
    ///
    /// ## Fix
    /// Give the workload a drain long enough for its connections to finish and a grace
    /// period above it: the fix adds `terminationDrainDuration` (at least 60s) to the pod's
    /// `proxy.istio.io/config` annotation, keeping what it already sets, and raises
    /// `terminationGracePeriodSeconds` to the drain plus 5s where needed. Unsafe: every
    /// termination of the pod now takes that long. Alternatively set
    /// `proxyMetadata.EXIT_ON_ZERO_ACTIVE_CONNECTIONS: "true"` so the proxy leaves as soon as
    /// the last connection closes.
    ///
    /// ## References
    /// - ProxyConfig `terminationDrainDuration`: <https://istio.io/latest/docs/reference/config/istio.mesh.v1alpha1/#ProxyConfig>
    /// - Protocol selection: <https://istio.io/latest/docs/ops/configuration/traffic-management/protocol-selection/>
    /// - istio/istio `pkg/config/protocol/instance.go`, `pkg/config/kube/conversion.go`
    /// - `EXIT_ON_ZERO_ACTIVE_CONNECTIONS`: <https://istio.io/latest/docs/reference/commands/pilot-agent/#envvars>
    code: "IPF407",
    name: "long-lived-connections-drain",
    severity: Warning,
    summary: "A classic-sidecar workload serving gRPC/WebSocket/TCP keeps Istio's default drain, so its connections are cut mid-flight",
    fix: Always,
    reads: [SERVICE, DEPLOYMENT, STATEFUL_SET, DAEMON_SET, REPLICA_SET, POD, NAMESPACE, CONFIG_MAP, MUTATING_WEBHOOK_CONFIGURATION, NODE],
}

const ANNOTATION: &str = "proxy.istio.io/config";
/// The drain the fix proposes at the least: long enough for typical stream and idle
/// timeouts to close connections on their own.
const PROPOSED_DRAIN: Duration = Duration::from_secs(60);
const GRACE_MARGIN_SECONDS: u64 = 5;

/// One long-lived port of a Service selecting the workload.
struct Exposure {
    service: String,
    port: String,
    protocol: Protocol,
}

/// A Service's ports.
const PORTS: Field = Field::new("/spec/ports");

fn check(cx: &Context, sink: &mut Sink) {
    let inv = cx.inventory;
    let mut exposed: HashMap<ObjectId, Vec<Exposure>> = HashMap::new();
    for (_, svc) in inv.of_kind("Service") {
        let Some(selector) = SELECTOR.read(svc.root()).map(Selector::from_map) else {
            continue;
        };
        if selector.is_empty() {
            continue;
        }
        let ports: Vec<(String, Protocol)> = PORTS
            .read(svc.root())
            .and_then(yaml::Node::as_seq)
            .unwrap_or_default()
            .iter()
            .filter_map(|p| {
                let field = |key| p.get(key).and_then(yaml::Node::as_str);
                let protocol =
                    Protocol::of_port(field("name"), field("protocol"), field("appProtocol"));
                let number = p
                    .get("port")
                    .map(crate::model::selector::scalar_string)
                    .unwrap_or_default();
                let label = match (field("name"), field("appProtocol")) {
                    (_, Some(app)) => format!("{number} (appProtocol {app})"),
                    (Some(name), None) => format!("{name} ({number})"),
                    (None, None) => number,
                };
                protocol.is_long_lived().then_some((label, protocol))
            })
            .collect();
        if ports.is_empty() {
            continue;
        }
        for w in inv.workloads_matching(svc.namespace(), &selector) {
            for (port, protocol) in &ports {
                exposed.entry(w.object).or_default().push(Exposure {
                    service: svc.name().to_string(),
                    port: port.clone(),
                    protocol: *protocol,
                });
            }
        }
    }
    let proxies = ProxyModel::new(inv, cx.release, cx.values, cx.upgrade.target.as_ref());
    for w in &inv.workloads {
        // Gateways are the edge, not a sidecar: their ports are named http2 by convention and
        // their restarts are IPF503's subject.
        if w.has_controller_in_inventory
            || w.membership.sidecar_revision().is_none()
            || gateway_install(w).is_some()
        {
            continue;
        }
        let Some(exposures) = exposed.get(&w.object) else {
            continue;
        };
        let settings = inv.mesh.proxy_settings(w);
        if settings.exit_on_zero_active_connections
            || settings.termination_drain.source != Source::Default
        {
            continue;
        }
        let now = proxies.now(w);
        if now.is_native() {
            continue;
        }
        // Its only pod stops before a replacement is ready (IPF404): every connection ends
        // with it whatever the drain, so a longer drain would only delay the restart.
        if sole_replica_restart(inv, w).is_some() {
            continue;
        }
        let o = inv.object(w.object);
        let first = &exposures[0];
        let more = match exposures.len() {
            1 => String::new(),
            n => format!(
                " and {} more long-lived port{}",
                n - 1,
                if n == 2 { "" } else { "s" }
            ),
        };
        let drain = settings.termination_drain.value;
        let consequence = if now.is_classic() {
            "connections still open when the drain ends are cut when the sidecar restarts"
                .to_string()
        } else {
            format!(
                "if the running pods have classic sidecars, connections still open when the drain ends are cut when they restart (the input does not tell classic from native: {})",
                now.basis
            )
        };
        let message = format!(
            "serves {} on Service {}/{} port {}{more} but keeps Istio's default terminationDrainDuration of {}: {consequence}",
            first.protocol.as_str(),
            o.namespace(),
            first.service,
            first.port,
            format_duration(drain),
        );

        let proposed = PROPOSED_DRAIN.max(Duration::from_secs(
            drain.as_secs() + u64::from(drain.subsec_nanos() > 0),
        ));
        let mut config = w
            .annotation(ANNOTATION)
            .and_then(|t| yaml::parse_str(t).ok().flatten())
            .map(|n| n.root().to_json())
            .filter(serde_json::Value::is_object)
            .unwrap_or_else(|| serde_json::json!({}));
        // ProxyConfig is read as protobuf JSON, whose durations are seconds with an `s`.
        config["terminationDrainDuration"] = format!("{}s", proposed.as_secs()).into();
        let annotations = w.pod_metadata_path().key("annotations");
        let mut edits = vec![Edit::Set {
            path: annotations.clone().key(ANNOTATION),
            value: config.to_string().into(),
        }];
        let grace = proposed.as_secs() + GRACE_MARGIN_SECONDS;
        let grace_title = if (w.grace_period_seconds() as u64) < grace {
            edits.push(Edit::Set {
                path: w.pod_spec_path().key("terminationGracePeriodSeconds"),
                value: grace.into(),
            });
            format!(" and terminationGracePeriodSeconds {grace}")
        } else {
            String::new()
        };
        // The pod template's metadata, where the drain would be tuned: the finding stays put
        // when another rule's fix (IPF406's hold) adds the annotation.
        sink.object(w.object, w.pod_metadata_path(), message).with_fix(Fix::unsafe_(
            format!(
                "drain this workload's connections for {}s{grace_title} (pod annotation {ANNOTATION})",
                proposed.as_secs()
            ),
            edits,
        ));
    }
}
