use super::{Context, Sink};
use crate::diagnostic::Fix;
use crate::model::gvk::{ARGO_APPLICATION, DAEMON_SET, DEPLOYMENT, FLUX_HELM_RELEASE};
use crate::model::version::{image_hub, image_name};
use crate::model::{Field, FieldPath, ObjectId};
use crate::release::RemovedComponent;
use crate::yaml::Node;

crate::declare_rule! {
    /// ## What it does
    /// Looks for components that the target release (`--target`) no longer ships, from
    /// `rules/removed-apis.yaml` (`removed_components`, each with its source):
    /// - the in-cluster IstioOperator controller, an `istio-operator[-<rev>]` Deployment
    ///   running Istio's `operator` image (removed in 1.24);
    /// - the control-plane Deployments from before istiod: `istio-pilot`, `istio-citadel`,
    ///   `istio-galley`, `istio-sidecar-injector` (gone by 1.6), the `istio-nodeagent`
    ///   DaemonSet (1.5), and Mixer's `istio-telemetry` / `istio-policy` (1.8);
    /// - Flux HelmRelease and Argo CD Application objects installing the `istiod-remote`
    ///   chart, which 1.24 replaced by the istiod chart's `remote` profile.
    ///
    /// A workload matches when one of its containers runs the component's image, and either
    /// the workload has the component's name or the image comes from an Istio hub; an
    /// application that happens to be called `istio-policy`, or an `operator` image from
    /// another vendor, is not reported. `istio-pilot` matches by name only (its `pilot`
    /// image is istiod's too).
    ///
    /// ## Why it matters during an upgrade
    /// The target has nothing to upgrade these to. The in-cluster operator keeps
    /// reconciling its IstioOperator resource with its own (old) charts, so it fights or
    /// reverts a control plane installed by newer tooling; a GitOps release of a removed
    /// chart fails to resolve the new chart version; and Mixer, Citadel or Galley
    /// Deployments stay behind with old images and webhooks that nothing maintains, while
    /// whatever depended on them (Mixer adapters, Galley's MCP server) stops working.
    ///
    /// ## Example that fires
    /// An `istio-operator` Deployment running `docker.io/istio/operator:1.22.3` with
    /// `--target 1.24.0`; a HelmRelease of chart `istiod-remote` with `--target 1.25.0`.
    ///
    /// ## Example that does not fire
    /// The same operator Deployment with `--target 1.23.2` (still shipped, deprecated), a
    /// Deployment named `istio-operator` that runs some other image, or istiod.
    ///
    /// ## Fix
    /// Move to what replaced the component (named in the message) before upgrading: for the
    /// in-cluster operator, install with `istioctl install -f` using the same IstioOperator
    /// or with Helm, then delete the operator; for `istiod-remote`, install the istiod chart
    /// with `profile: remote` and the base chart; for pre-istiod and Mixer components,
    /// upgrade through the releases that migrate them, then delete the leftover objects.
    ///
    /// ## References
    /// - In-cluster operator deprecation: <https://istio.io/latest/blog/2024/in-cluster-operator-deprecation-announcement/>
    /// - Istio 1.24 upgrade notes (istiod-remote chart): <https://istio.io/latest/news/releases/1.24.x/announcing-1.24/upgrade-notes/>
    /// - Istio 1.5 upgrade notes (control plane restructuring): <https://istio.io/latest/news/releases/1.5.x/announcing-1.5/upgrade-notes/>
    /// - Istio 1.8 upgrade notes (Mixer removed): <https://istio.io/latest/news/releases/1.8.x/announcing-1.8/upgrade-notes/>
    /// - Release data: `rules/removed-apis.yaml` (`removed_components`)
    code: "IPF310",
    name: "removed-component",
    severity: Error,
    summary: "The estate runs a component the target Istio release no longer ships",
    fix: None,
    reads: [DEPLOYMENT, DAEMON_SET, FLUX_HELM_RELEASE, ARGO_APPLICATION],
}

fn check(cx: &Context, sink: &mut Sink) {
    let Some(target) = cx.upgrade.target.as_ref() else {
        return;
    };
    let removed: Vec<&RemovedComponent> = cx
        .release
        .removed_apis
        .removed_components
        .iter()
        .filter(|c| c.removed_by(target))
        .collect();
    if removed.is_empty() {
        return;
    }
    for (id, o) in cx.inventory.objects.iter().enumerate() {
        let root = o.root();
        for c in &removed {
            let hit = if c.kinds.iter().any(|k| k == o.kind()) {
                workload_matches(c, o.name(), root)
            } else {
                chart_field(cx, c, id)
            };
            let Some(field) = hit else { continue };
            let note = c
                .note
                .as_deref()
                .map(|n| format!(" ({})", n.trim()))
                .unwrap_or_default();
            let message = format!(
                "{} was removed in Istio {} (last shipped in {}), so the target {} has nothing to upgrade it to{note} ({})",
                c.component,
                c.removed_in,
                c.last_in,
                target,
                c.sources.first().map(String::as_str).unwrap_or("rules/removed-apis.yaml"),
            );
            sink.object(id, field, message)
                .with_fix(Fix::display_only(format!(
                    "before upgrading, move to {}",
                    c.replacement.trim()
                )));
        }
    }
}

/// The image field of the container that makes this workload the component: it runs one
/// of the component's images, and either the workload has the component's name or the image
/// comes from an Istio hub (`docker.io/istio`, `gcr.io/istio-release`, a mirror keeping
/// `istio` in its path). Components whose image Istio still ships under another role
/// (`pilot` is istiod's) match by name only.
/// A workload's pod template containers.
const CONTAINERS: Field = Field::new("/spec/template/spec/containers");

fn workload_matches(c: &RemovedComponent, name: &str, root: Node) -> Option<FieldPath> {
    let named = c.names.iter().any(|n| {
        name == n
            || c.revision_suffix
                && name
                    .strip_prefix(n.as_str())
                    .is_some_and(|rest| rest.len() > 1 && rest.starts_with('-'))
    });
    if !named && c.require_name {
        return None;
    }
    let containers = CONTAINERS.read(root).and_then(Node::as_seq)?;
    containers.iter().enumerate().find_map(|(i, container)| {
        let image = container.get("image").and_then(Node::as_str)?;
        let is_component = c.images.iter().any(|want| image_name(image) == want)
            && (named || image_hub(image).contains("istio"));
        is_component.then(|| CONTAINERS.path().index(i).key("image"))
    })
}

/// The chart field of a GitOps object that installs one of the component's charts (the
/// model's Helm releases of Istio's charts).
fn chart_field(cx: &Context, c: &RemovedComponent, id: ObjectId) -> Option<FieldPath> {
    if c.charts.is_empty() {
        return None;
    }
    cx.inventory
        .mesh
        .chart_releases
        .iter()
        .find(|r| r.object == id && c.charts.contains(&r.chart))
        .map(|r| r.chart_field.clone())
}
