//! Istio gateways and control-plane components among the workloads: what is an ingress or
//! egress gateway, how it was installed, and whether it is pinned to a revision.

use super::version::image_name;
use super::workload::{Workload, WorkloadKind};
use super::Inventory;

/// How a gateway gets its proxy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GatewayInstall {
    /// `image: auto`, injected with the `gateway` template by whichever revision the labels
    /// select (the `istio/gateway` Helm chart, or a hand-written gateway Deployment).
    Injected,
    /// A fixed `proxyv2` image running `proxy router`, as `istioctl install` / IstioOperator
    /// renders `istio-ingressgateway`: the installer replaces it with the control plane.
    Installer { image: String },
    /// Deployed by istiod for a Gateway API `Gateway` (`gateway.istio.io/managed`).
    Managed,
}

/// Whether the workload is an Istio gateway, and how it was installed.
pub fn gateway_install(w: &Workload) -> Option<GatewayInstall> {
    if w.has_controller_in_inventory
        || !matches!(
            w.kind,
            WorkloadKind::Deployment | WorkloadKind::DaemonSet | WorkloadKind::StatefulSet
        )
    {
        return None;
    }
    if w.label("gateway.istio.io/managed").is_some() {
        return Some(GatewayInstall::Managed);
    }
    let router = w.spec.containers.iter().find(|c| {
        c.image
            .as_deref()
            .is_some_and(|i| image_name(i) == "proxyv2")
            && c.router_mode
    });
    if let Some(c) = router {
        return Some(GatewayInstall::Installer {
            image: c.image.as_deref().unwrap_or_default().to_string(),
        });
    }
    let auto = w
        .spec
        .containers
        .iter()
        .any(|c| &*c.name == "istio-proxy" && c.image.as_deref() == Some("auto"));
    let gateway_template = w.annotation("inject.istio.io/templates") == Some("gateway");
    let gateway_label = w.label("istio").is_some_and(|v| v.contains("gateway"));
    if auto && (gateway_template || gateway_label) {
        return Some(GatewayInstall::Injected);
    }
    None
}

/// istiod itself (one of the detected control planes) or a gateway: Istio's own components,
/// whose disruption budgets IPF502 judges.
pub fn is_istio_component(inv: &Inventory, w: &Workload) -> bool {
    inv.mesh
        .control_planes
        .iter()
        .any(|cp| cp.object == Some(w.object))
        || gateway_install(w).is_some()
}
