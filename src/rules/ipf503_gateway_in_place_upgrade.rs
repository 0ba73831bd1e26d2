use super::{Context, Sink, Strategy};
use crate::diagnostic::Fix;
use crate::model::gateway::{gateway_install, GatewayInstall};
use crate::model::gvk::{
    DAEMON_SET, DEPLOYMENT, MUTATING_WEBHOOK_CONFIGURATION, NAMESPACE, STATEFUL_SET,
};
use crate::model::membership::Membership;

crate::declare_rule! {
    /// ## What it does
    /// With the canary strategy (the default), reports Istio gateway workloads that will be
    /// upgraded in place together with the control plane instead of by a canary of their own:
    ///
    /// - gateways installed by `istioctl install` / IstioOperator (`istio-ingressgateway`: a
    ///   fixed `proxyv2` image running `proxy router`), which the installer replaces in place
    ///   (the message names the in-cluster operator only for releases that still ship it:
    ///   up to 1.23, from `rules/removed-apis.yaml` `removed_components`);
    /// - injected gateways (`image: auto` with the `gateway` injection template or an
    ///   `istio: …gateway` label, as the `istio/gateway` chart renders them) that are not pinned
    ///   to a revision: they get the `default` revision (through `istio-injection=enabled`,
    ///   `sidecar.istio.io/inject: "true"` or `istio.io/rev: default`), so they jump to the new
    ///   proxy at their next restart once `default` points at the new control plane.
    ///
    /// Gateways pinned with `istio.io/rev` to a revision or a revision tag other than
    /// `default`, and gateways that istiod deploys for a Gateway API `Gateway`
    /// (`gateway.istio.io/managed`), are not reported. Nothing is reported with
    /// `--strategy in-place`, where in-place is the plan.
    ///
    /// ## Why it matters during an upgrade
    /// A canary control-plane upgrade lets you move workloads one namespace at a time and
    /// roll back by relabelling. A gateway that moves with the control plane gets no such
    /// canary: all north-south traffic switches to the new proxy at once, and rolling back
    /// means another gateway restart.
    ///
    /// ## Example that fires
    /// A gateway-chart Deployment (`image: auto`, `inject.istio.io/templates: gateway`) in a
    /// namespace labelled `istio-injection=enabled`.
    ///
    /// ## Example that does not fire
    /// The same Deployment with the pod label `istio.io/rev: 1-28-2` (a revision) or
    /// `istio.io/rev: prod-stable` (a tag you move deliberately).
    ///
    /// ## Fix
    /// Pin the gateway to its current revision or a tag (`helm install … istio/gateway --set
    /// revision=<rev>`), then upgrade it blue/green: deploy a second gateway Deployment on the
    /// new revision behind the same Service, shift traffic, remove the old one. Shown, not
    /// applied.
    ///
    /// ## References
    /// - Gateway canary upgrade: <https://istio.io/latest/docs/setup/additional-setup/gateway/#canary-upgrade-advanced>
    /// - Canary upgrades (gateways are upgraded in place): <https://istio.io/latest/docs/setup/upgrade/canary/>
    /// - istio/istio `manifests/charts/gateway/templates/deployment.yaml`
    code: "IPF503",
    name: "gateway-in-place-upgrade",
    severity: Warning,
    summary: "A gateway will be upgraded in place with the control plane instead of by its own canary",
    fix: None,
    reads: [DEPLOYMENT, DAEMON_SET, STATEFUL_SET, NAMESPACE, MUTATING_WEBHOOK_CONFIGURATION],
}

fn check(cx: &Context, sink: &mut Sink) {
    if cx.upgrade.strategy != Strategy::Canary {
        return;
    }
    let inv = cx.inventory;
    for w in &inv.workloads {
        let Some(install) = gateway_install(w) else {
            continue;
        };
        let (field, message) = match install {
            GatewayInstall::Managed => continue,
            GatewayInstall::Installer { image } => {
                let index = w
                    .spec
                    .containers
                    .iter()
                    .position(|c| c.image.as_deref() == Some(image.as_str()))
                    .unwrap_or(0);
                (
                    w.pod_spec_path()
                        .key("containers")
                        .index(index)
                        .key("image"),
                    format!("runs the installer-managed proxy image {image}: {} replaces it in place with the control plane, with no canary for gateway traffic", installers(cx)),
                )
            }
            GatewayInstall::Injected => match &w.membership {
                Membership::Sidecar { requested, .. } if requested == "default" => (
                    if w.label("istio.io/rev").is_some() {
                        w.pod_metadata_path().key("labels").key("istio.io/rev")
                    } else {
                        w.pod_metadata_path()
                    },
                    "is injected by the default revision and pinned to no other: it switches to the new proxy at its next restart once `default` points at the new control plane".to_string(),
                ),
                // Pinned to a revision or tag, or not injected at all (no proxy to upgrade).
                _ => continue,
            },
        };
        sink.object(w.object, field, message).with_fix(Fix::display_only(
            "pin the gateway to a revision or tag (istio/gateway chart: --set revision=<rev>) and upgrade it blue/green: a second gateway Deployment on the new revision behind the same Service, then remove the old one",
        ));
    }
}

/// What replaces an installer-managed gateway in place: `istioctl upgrade`, and the in-cluster
/// operator only where the release that performs the upgrade (the target, else the current
/// one) still ships it (`rules/removed-apis.yaml` `removed_components`).
fn installers(cx: &Context) -> String {
    let istioctl = "`istioctl upgrade`";
    let Some(operator) = cx.release.removed_apis.component("in-cluster-operator") else {
        return istioctl.to_string();
    };
    match cx.target_or_current() {
        Some(v) if operator.removed_by(v) => istioctl.to_string(),
        Some(_) => format!("{istioctl} / the in-cluster operator"),
        None => format!(
            "{istioctl} (or, before {}, the in-cluster operator)",
            operator.removed_in
        ),
    }
}
