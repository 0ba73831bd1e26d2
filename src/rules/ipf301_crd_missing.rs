use super::{Context, Sink};
use crate::diagnostic::Fix;
use crate::model::crd::{self, is_istio_group};
use crate::model::gvk::{CUSTOM_RESOURCE_DEFINITION, DEPLOYMENT};
use crate::model::Field;

crate::declare_rule! {
    /// ## What it does
    /// Only when the input holds the cluster's CustomResourceDefinitions (a `kubectl get crd`
    /// export or a live read) and Istio in some form (an Istio CRD or an istiod), it fires:
    /// - on every Istio resource (VirtualService, AuthorizationPolicy, ...) whose CRD is not
    ///   among the input's Istio CRDs, when it holds some: the API server rejects it;
    /// - on the estate, with `--target`, listing the CRDs the target release ships
    ///   (`rules/crds.yaml`, generated from Istio's `crd-all.gen.yaml`) that the input lacks.
    ///
    /// A GitOps repository usually holds no CRDs at all: then the rule says nothing, since an
    /// absent CRD there means nothing. Retired API groups (`rbac.istio.io`, ...) are IPF304's.
    ///
    /// ## Why it matters during an upgrade
    /// istiod watches every Istio kind it knows; resources of a kind without a CRD cannot be
    /// applied, and a new release's kinds (e.g. `TrafficExtension` in 1.31) must exist before
    /// the new istiod starts.
    ///
    /// ## Example that fires
    /// An export with the CRDs of Istio 1.22 (no `proxyconfigs.networking.istio.io`) and a
    /// `ProxyConfig` resource; or `--target 1.31.0` with no `trafficextensions` CRD.
    ///
    /// ## Example that does not fire
    /// A repository of application manifests with VirtualServices and no CRDs.
    ///
    /// ## Fix
    /// Install or upgrade the CRDs with the `istio-base` chart of the target release (or
    /// `kubectl apply` its `crd-all.gen.yaml`) before installing the new istiod.
    ///
    /// ## References
    /// - Helm upgrade order (istio-base first): <https://istio.io/latest/docs/setup/upgrade/helm/>
    /// - Istio's CRD bundle: istio/istio `manifests/charts/base/files/crd-all.gen.yaml`
    /// - Kubernetes: <https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/>
    /// - Release data: `rules/crds.yaml`
    code: "IPF301",
    name: "crd-missing",
    severity: Error,
    summary: "An Istio CRD that the target release or a resource in the input needs is absent",
    fix: None,
    reads: [CUSTOM_RESOURCE_DEFINITION, DEPLOYMENT] + EVERY_CHECKED_KIND,
}

fn check(cx: &Context, sink: &mut Sink) {
    let inv = cx.inventory;
    let installed = crd::installed(inv);
    if installed.is_empty() {
        return;
    }
    let istio_crds: Vec<_> = installed
        .iter()
        .filter(|c| is_istio_group(c.group))
        .collect();
    let has_istiod = inv.mesh.control_planes.iter().any(|cp| cp.object.is_some());
    if istio_crds.is_empty() && !has_istiod {
        return;
    }
    let data = cx.release;
    let base_fix = |version: &str| {
        Fix::display_only(format!(
            "install the Istio {version} CRDs first: helm upgrade --install istio-base istio/base -n istio-system --version {version}"
        ))
    };
    let fix_version = cx
        .target_or_current()
        .map(|v| v.to_string())
        .unwrap_or_else(|| data.newest().latest_patch.clone());

    // Without any Istio CRD in the input, the export simply did not include them.
    let resources_checkable = !istio_crds.is_empty();
    for (id, o) in inv.objects.iter().enumerate() {
        if !resources_checkable {
            break;
        }
        let group = o.group();
        if !is_istio_group(group) || o.kind() == "CustomResourceDefinition" {
            continue;
        }
        let Some((rel, known)) = data.crd_any_release(group, o.kind()) else {
            continue;
        };
        if installed
            .iter()
            .any(|c| c.group == group && c.kind == o.kind())
        {
            continue;
        }
        sink.object(
            id,
            Field::new("/kind"),
            format!(
                "{} needs the CRD {}, which is not among the {} Istio CRDs in the input (Istio {} ships it: {})",
                o.kind(),
                known.name,
                istio_crds.len(),
                rel.minor,
                rel.source
            ),
        )
        .with_fix(base_fix(&fix_version));
    }

    let Some(target) = cx.upgrade.target.as_ref() else {
        return;
    };
    let Some(wanted) = data.crds(target) else {
        return;
    };
    let missing: Vec<&str> = wanted
        .crds
        .iter()
        .filter(|w| {
            !installed
                .iter()
                .any(|c| c.group == w.group && c.kind == w.kind)
        })
        .map(|w| w.name.as_str())
        .collect();
    if !missing.is_empty() {
        sink.estate(format!(
            "Istio {} ships {} CRDs; the input lacks {}: {} ({})",
            wanted.minor,
            wanted.crds.len(),
            missing.len(),
            missing.join(", "),
            wanted.source
        ))
        .with_fix(base_fix(&target.to_string()));
    }
}
