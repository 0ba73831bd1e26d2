use std::collections::BTreeMap;

use super::{Context, Sink};
use crate::diagnostic::Fix;
use crate::model::gvk::SERVICE;
use crate::model::path::SELECTOR;
use crate::model::selector::scalar_string;
use crate::model::{Field, ObjectId};

crate::declare_rule! {
    /// ## What it does
    /// Groups the Services of `type: LoadBalancer` whose selector names an `istio:` gateway
    /// label (`istio: ingressgateway`, `istio: ingress`, …) by that value and reports every
    /// Service of a group with more than one: typically the old and the new revision's gateway
    /// each got their own Service (`istio-ingressgateway` and `istio-ingressgateway-canary`).
    /// Gateways select Gateway resources by those labels in every namespace, so the groups
    /// span namespaces. The same Service (namespace and name) found in several files counts
    /// once.
    ///
    /// ## Why it matters during an upgrade
    /// Each LoadBalancer Service provisions its own cloud load balancer with its own address.
    /// A second one for the same gateway costs money, splits traffic only if DNS points at both,
    /// and leaves the cut-over to a DNS change instead of a pod rollout. The blue/green gateway
    /// pattern keeps one Service whose selector matches both revisions' pods.
    ///
    /// ## Example that fires
    /// Services `istio-ingressgateway` (selector `istio: ingressgateway`) and
    /// `istio-ingressgateway-canary` (selector `istio: ingressgateway, istio.io/rev: canary`),
    /// both `type: LoadBalancer`.
    ///
    /// ## Example that does not fire
    /// One LoadBalancer Service for `istio: ingressgateway` and a `ClusterIP` one for the
    /// canary; or LoadBalancers for different gateways (`ingressgateway`, `eastwestgateway`).
    ///
    /// ## Fix
    /// Keep one LoadBalancer Service per gateway with a selector without `istio.io/rev`, so
    /// it spans both revisions' pods; make the others `ClusterIP` or delete them. Shown, not
    /// applied.
    ///
    /// ## References
    /// - Gateway canary upgrade: <https://istio.io/latest/docs/setup/additional-setup/gateway/#canary-upgrade-advanced>
    /// - Kubernetes Service type LoadBalancer: <https://kubernetes.io/docs/concepts/services-networking/service/#loadbalancer>
    code: "IPF504",
    name: "duplicate-gateway-loadbalancer",
    severity: Warning,
    summary: "Several LoadBalancer Services select the same gateway across revisions (extra cloud load balancers)",
    fix: None,
    reads: [SERVICE],
}

const TYPE: Field = Field::new("/spec/type");

fn check(cx: &Context, sink: &mut Sink) {
    let inv = cx.inventory;
    let mut groups: BTreeMap<String, Vec<ObjectId>> = BTreeMap::new();
    for (id, svc) in inv.of_kind("Service") {
        if svc.api_version() != "v1" || TYPE.read_str(svc.root()) != Some("LoadBalancer") {
            continue;
        }
        let Some(value) = SELECTOR
            .read(svc.root())
            .and_then(|s| s.get("istio"))
            .map(scalar_string)
        else {
            continue;
        };
        // The same Service in several files (overlays, release history) is one load
        // balancer, not two: keep one object per namespace/name.
        let group = groups.entry(value).or_default();
        if !group.iter().any(|&o| {
            let other = inv.object(o);
            other.namespace() == svc.namespace() && other.name() == svc.name()
        }) {
            group.push(id);
        }
    }
    for (value, ids) in &groups {
        if ids.len() < 2 {
            continue;
        }
        for &id in ids {
            let others: Vec<String> = ids
                .iter()
                .filter(|&&o| o != id)
                .map(|&o| {
                    let s = inv.object(o);
                    format!("{}/{}", s.namespace(), s.name())
                })
                .collect();
            let rev = SELECTOR
                .read(inv.object(id).root())
                .and_then(|s| s.get("istio.io/rev"))
                .map(|r| format!(" (revision {})", scalar_string(r)))
                .unwrap_or_default();
            sink.object(
                id,
                TYPE,
                format!(
                    "a LoadBalancer for gateway pods istio: {value}{rev}, as {} {} also is: each provisions its own cloud load balancer and address",
                    if others.len() == 1 { "Service" } else { "Services" },
                    others.join(", ")
                ),
            )
            .with_fix(Fix::display_only(format!(
                "keep one LoadBalancer Service selecting istio: {value} without istio.io/rev (it spans both revisions' gateway pods) and make the others ClusterIP"
            )));
        }
    }
}
