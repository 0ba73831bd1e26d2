//! The Istio components of an estate — istiod, gateways, istio-cni, ztunnel, and the base
//! chart's CRDs — with the image each runs (or the chart version a Helm release declares)
//! and the revision it belongs to.

use super::chart_release::ChartComponent;
use super::version::image_name;
use super::workload::{Workload, WorkloadKind};
use super::{FieldPath, Inventory, ObjectId};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ComponentKind {
    Istiod,
    Gateway,
    Cni,
    Ztunnel,
    /// The base chart (CRDs and cluster-wide resources); only known from Helm releases.
    Base,
}

impl ComponentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ComponentKind::Istiod => "istiod",
            ComponentKind::Gateway => "gateway",
            ComponentKind::Cni => "istio-cni",
            ComponentKind::Ztunnel => "ztunnel",
            ComponentKind::Base => "base chart",
        }
    }
}

/// One component: a workload and the container image that tells its version, or a Helm
/// release of its chart and the chart version.
#[derive(Clone, Debug)]
pub struct Component {
    pub kind: ComponentKind,
    pub object: ObjectId,
    /// The container image; `None` for a Helm release.
    pub image: Option<String>,
    /// The image tag's version, or the chart version.
    pub version: Option<super::Version>,
    /// Path of the container's `image` field, or of the release's chart version.
    pub field: FieldPath,
    /// The revision it belongs to as labelled (`istio.io/rev`); `None` when unlabelled.
    pub revision: Option<String>,
}

/// A gateway runs `proxyv2` as `istio-proxy` in router mode (`proxy router`), or carries the
/// `istio: *gateway` label that istioctl and the gateway chart put on it. Injected sidecars
/// run `proxy sidecar` and are not components.
fn is_gateway(w: &Workload) -> bool {
    let Some(c) = w.spec.containers.iter().find(|c| &*c.name == "istio-proxy") else {
        return false;
    };
    c.router_mode || w.label("istio").is_some_and(|v| v.ends_with("gateway"))
}

fn kind_of(w: &Workload, container_image: &str) -> Option<ComponentKind> {
    let name = image_name(container_image);
    match (w.kind, name) {
        (WorkloadKind::Deployment, "pilot") => Some(ComponentKind::Istiod),
        (WorkloadKind::DaemonSet, "install-cni") => Some(ComponentKind::Cni),
        (WorkloadKind::DaemonSet, "ztunnel") => Some(ComponentKind::Ztunnel),
        (_, "proxyv2") if is_gateway(w) => Some(ComponentKind::Gateway),
        _ => None,
    }
}

/// Every component in the input. Pods and ReplicaSets whose controller is in the input are
/// left to the controller; gateways with `image: auto` get their image at injection and are
/// left out (the injector's values decide it).
pub fn components(inv: &Inventory) -> Vec<Component> {
    let mut out = Vec::new();
    for w in inv
        .workloads
        .iter()
        .filter(|w| !w.has_controller_in_inventory)
    {
        for (i, c) in w.spec.containers.iter().enumerate() {
            let Some(image) = c.image.as_deref() else {
                continue;
            };
            let Some(kind) = kind_of(w, image) else {
                continue;
            };
            let o = inv.object(w.object);
            let revision = match kind {
                ComponentKind::Istiod => inv
                    .mesh
                    .control_planes
                    .iter()
                    .find(|cp| cp.object == Some(w.object))
                    .map(|cp| cp.revision.clone()),
                _ => w
                    .label("istio.io/rev")
                    .or_else(|| o.label("istio.io/rev"))
                    .map(str::to_string),
            };
            out.push(Component {
                kind,
                object: w.object,
                version: super::Version::from_image(image),
                image: Some(image.to_string()),
                field: w.pod_spec_path().key("containers").index(i).key("image"),
                revision,
            });
            break;
        }
    }
    for r in &inv.mesh.chart_releases {
        let kind = match r.component {
            ChartComponent::Istiod | ChartComponent::IstiodRemote => ComponentKind::Istiod,
            ChartComponent::Gateway => ComponentKind::Gateway,
            ChartComponent::IstioCni => ComponentKind::Cni,
            ChartComponent::Ztunnel => ComponentKind::Ztunnel,
            ChartComponent::Base => ComponentKind::Base,
        };
        // Only istiod's chart always has a revision; other charts belong to one when their
        // `revision` value names it.
        let revision = match kind {
            ComponentKind::Istiod => Some(r.revision(inv)),
            _ => r
                .value(inv, &["revision"])
                .map(|(v, ..)| v)
                .filter(|v| !v.is_empty()),
        };
        out.push(Component {
            kind,
            object: r.object,
            image: None,
            version: r.version.clone(),
            field: r.version_field.clone(),
            revision,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inventory(docs: &[&str]) -> Inventory {
        crate::model::inventory_of(docs).0
    }

    #[test]
    fn finds_components_and_skips_sidecars() {
        let inv = inventory(&[
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: istiod-canary, namespace: istio-system, labels: {istio.io/rev: canary}}\nspec:\n  template:\n    spec:\n      containers: [{name: discovery, image: docker.io/istio/pilot:1.28.2}]\n",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: ingress, namespace: istio-ingress}\nspec:\n  template:\n    metadata: {labels: {istio: ingressgateway, istio.io/rev: canary}}\n    spec:\n      containers: [{name: istio-proxy, image: docker.io/istio/proxyv2:1.28.2}]\n",
            "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: ztunnel, namespace: istio-system}\nspec:\n  template:\n    spec:\n      containers: [{name: istio-proxy, image: docker.io/istio/ztunnel:1.28.2}]\n",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: cart-1, namespace: shop, labels: {istio.io/rev: canary}}\nspec:\n  containers:\n  - {name: cart, image: example/cart:1}\n  - {name: istio-proxy, image: docker.io/istio/proxyv2:1.28.2, args: [proxy, sidecar]}\n",
        ]);
        let found: Vec<(ComponentKind, Option<&str>)> = components(&inv)
            .iter()
            .map(|c| (c.kind, c.revision.as_deref()))
            .map(|(k, r)| (k, r.map(|r| if r == "canary" { "canary" } else { "other" })))
            .collect();
        assert_eq!(
            found,
            vec![
                (ComponentKind::Istiod, Some("canary")),
                (ComponentKind::Gateway, Some("canary")),
                (ComponentKind::Ztunnel, None),
            ]
        );
    }
}
