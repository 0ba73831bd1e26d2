use super::{Context, Sink};
use crate::diagnostic::Fix;
use crate::model::component::{self, Component, ComponentKind};
use crate::model::gvk::{
    ARGO_APPLICATION, ARGO_APPLICATION_SET, CONFIG_MAP, DAEMON_SET, DEPLOYMENT, FLUX_HELM_RELEASE,
    FLUX_HELM_REPOSITORY, FLUX_KUSTOMIZATION, FLUX_OCI_REPOSITORY, POD,
};
use crate::model::version::{image_hub, image_name, normalize_hub};
use crate::model::{Field, Version};

crate::declare_rule! {
    /// ## What it does
    /// Compares the images of the Istio components that belong to one revision with that
    /// revision's istiod (`pilot` image): gateways (workloads running `proxyv2` as
    /// `istio-proxy` in router mode or labelled `istio: *gateway`), the `istio-cni` and
    /// `ztunnel` DaemonSets, and the proxy image the injector puts into new pods (`global.hub`
    /// and `global.tag` in the `istio-sidecar-injector[-<rev>]` ConfigMap). It fires when one
    /// runs another Istio version (patch included when both images name one) or pulls from
    /// another hub (registry and path; `istio` and `docker.io/istio` are the same hub).
    ///
    /// Components installed by Helm releases declared as objects (Flux `HelmRelease`, Argo CD
    /// `Application` / `ApplicationSet` of Istio's charts) are compared by chart version: a
    /// `gateway`, `cni` or `ztunnel` chart at another version than the `istiod` chart of its
    /// revision (the chart's `revision` value), and a `base` chart (the CRDs) behind the newest
    /// istiod. The base chart is judged only when the input holds one.
    ///
    /// A component belongs to the revision of its `istio.io/rev` label. Without one it belongs
    /// to the `default` revision, or to the only control plane when there is one; otherwise it
    /// is not judged. Gateways with `image: auto` get the injector's image, so the injector
    /// check covers them; their running pods' proxies are IPF101's business. Revisions whose istiod is not in the input are not judged, nor
    /// revisions with several istiod Deployments of different images (manifests of several
    /// clusters side by side: which istiod a component goes with cannot be told).
    ///
    /// ## Why it matters during an upgrade
    /// Istio releases are tested as a set. A gateway or ztunnel left on the previous version
    /// after istiod moved on is in version skew (ztunnel must never be newer than istiod, and
    /// trails it by at most one minor), and the next hop makes it worse. A component pulling
    /// from another hub is usually a forgotten mirror: the target version may not be there,
    /// and 1.31 stops publishing to `gcr.io/istio-release` and `registry.istio.io`.
    ///
    /// ## Example that fires
    /// istiod at `docker.io/istio/pilot:1.28.2` and, in the same revision, the DaemonSet
    /// `ztunnel` at `docker.io/istio/ztunnel:1.27.3`.
    ///
    /// A Flux HelmRelease of Istio's `gateway` chart at `version: 1.27.3` while the `istiod`
    /// chart's HelmRelease is at `1.28.2`.
    ///
    /// ## Example that does not fire
    /// istiod `docker.io/istio/pilot:1.28.2` and a gateway `istio/proxyv2:1.28.2-distroless`
    /// (same hub once normalized, same version; the variant does not matter). A chart named
    /// `gateway` from a repository that is not Istio's (and serves no `istiod` chart).
    ///
    /// ## Fix
    /// Upgrade the component to its istiod's version from the same hub (`helm upgrade` of its
    /// chart with the same `--version` and `hub`), before upgrading the control plane again. In
    /// a GitOps repository: bump the chart version in the HelmRelease or Application; the base
    /// chart goes first.
    ///
    /// ## References
    /// - Supported releases and component skew: <https://istio.io/latest/docs/releases/supported-releases/>
    /// - Ambient upgrade order (istiod, then istio-cni, then ztunnel, then gateways): <https://istio.io/latest/docs/ambient/upgrade/helm/>
    /// - Istio 1.31 upgrade notes (image registries): <https://istio.io/latest/news/releases/1.31.x/announcing-1.31/upgrade-notes/>
    code: "IPF104",
    name: "component-version-mismatch",
    severity: Warning,
    summary: "istiod, gateways, istio-cni and ztunnel of one revision run different versions or hubs",
    fix: None,
    reads: [DEPLOYMENT, DAEMON_SET, POD, CONFIG_MAP, FLUX_HELM_RELEASE, FLUX_HELM_REPOSITORY, FLUX_OCI_REPOSITORY, FLUX_KUSTOMIZATION, ARGO_APPLICATION, ARGO_APPLICATION_SET],
}

/// Two versions are the same release when they agree as far as both are known.
fn same_version(a: &Version, b: &Version) -> bool {
    if a.patch_known && b.patch_known {
        a.semver.major == b.semver.major
            && a.semver.minor == b.semver.minor
            && a.semver.patch == b.semver.patch
            && a.semver.pre == b.semver.pre
    } else {
        a.minor_string() == b.minor_string()
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let inv = cx.inventory;
    let mesh = &inv.mesh;
    let components = component::components(inv);
    let istiods: Vec<&Component> = components
        .iter()
        .filter(|c| c.kind == ComponentKind::Istiod && c.revision.is_some())
        .collect();
    let owner_of_unlabelled: Option<&str> = if istiods
        .iter()
        .any(|c| c.revision.as_deref() == Some("default"))
    {
        Some("default")
    } else if istiods.len() == 1 {
        istiods[0].revision.as_deref()
    } else {
        None
    };

    for c in components
        .iter()
        .filter(|c| !matches!(c.kind, ComponentKind::Istiod | ComponentKind::Base))
    {
        let Some(revision) = c.revision.as_deref().or(owner_of_unlabelled) else {
            continue;
        };
        let revision = mesh.resolve_revision(revision);
        let Some(istiod) = the_istiod(&istiods, revision) else {
            continue;
        };
        let what = match c.image {
            Some(_) => format!("this {}", c.kind.as_str()),
            None => format!("this {} chart", c.kind.as_str()),
        };
        let Some(message) = compare(&what, c, istiod, revision) else {
            continue;
        };
        let fix = match (&c.image, &istiod.image) {
            (Some(image), Some(istiod_image)) => format!(
                "upgrade it together with istiod so it runs {}/{}:{} (helm upgrade of its chart with istiod's version and hub)",
                image_hub(istiod_image),
                image_name(image),
                Version::from_image(istiod_image)
                    .map_or_else(|| "<tag>".to_string(), |v| v.to_string())
            ),
            _ => format!(
                "set this chart's version to istiod's ({}) in the same change that moves istiod",
                istiod
                    .version
                    .as_ref()
                    .map_or_else(|| "<version>".to_string(), Version::to_string)
            ),
        };
        sink.object(c.object, c.field.clone(), message)
            .with_fix(Fix::display_only(fix));
    }

    // The base chart installs the CRDs every revision reads: it must not trail the newest
    // istiod. Judged only when the input holds one base release (several are several
    // clusters side by side, and which istiod goes with which cannot be told).
    let bases: Vec<&Component> = components
        .iter()
        .filter(|c| c.kind == ComponentKind::Base)
        .collect();
    let newest_istiod = istiods
        .iter()
        .filter(|i| i.version.is_some())
        .max_by(|a, b| {
            a.version
                .as_ref()
                .map(|v| &v.semver)
                .cmp(&b.version.as_ref().map(|v| &v.semver))
        });
    if let ([base], Some(istiod)) = (bases.as_slice(), newest_istiod) {
        if let (Some(bv), Some(iv)) = (&base.version, &istiod.version) {
            if behind(bv, iv) {
                sink.object(
                    base.object,
                    base.field.clone(),
                    format!(
                        "the base chart installs the CRDs of Istio {bv} while istiod (revision `{}`) is at {iv}: istiod and its resources may need CRD versions and fields that only the newer base chart installs",
                        istiod.revision.as_deref().unwrap_or("default")
                    ),
                )
                .with_fix(Fix::display_only(format!(
                    "upgrade the base chart to {iv} first (CRDs before the control plane)"
                )));
            }
        }
    }

    let revisions: std::collections::BTreeSet<&str> = istiods
        .iter()
        .filter_map(|i| i.revision.as_deref())
        .collect();
    for revision in revisions {
        let Some(istiod) = the_istiod(&istiods, revision) else {
            continue;
        };
        let Some((id, hub, tag)) = mesh.injector_image(revision) else {
            continue;
        };
        let image = format!("{hub}/proxyv2:{tag}");
        let name = inv.object(id).name();
        let what = format!("the proxy image the injector sets (ConfigMap {name}: global.hub {hub}, global.tag {tag})");
        let injector = Component {
            kind: ComponentKind::Gateway,
            object: id,
            version: Version::from_image(&image),
            image: Some(image),
            field: Field::new("/data/values").path(),
            revision: Some(revision.to_string()),
        };
        if let Some(message) = compare(&what, &injector, istiod, revision) {
            sink.object(id, injector.field, message)
                .with_fix(Fix::display_only(format!(
                    "render the injector from the same chart version and hub as istiod ({}), e.g. helm upgrade with the same --version and --set global.hub",
                    shown(istiod)
                )));
        }
    }
}

/// The istiod of `revision`. Several istiods of one revision with different images or
/// versions are manifests of several clusters (or environments) side by side: which one a
/// component belongs to cannot be told, so the revision is not judged.
fn the_istiod<'a>(istiods: &[&'a Component], revision: &str) -> Option<&'a Component> {
    let mut of_revision = istiods
        .iter()
        .filter(|i| i.revision.as_deref() == Some(revision));
    let first = *of_revision.next()?;
    of_revision
        .all(|i| i.image == first.image && i.version == first.version)
        .then_some(first)
}

/// Whether `a` is an older release than `b`, as far as both are known.
fn behind(a: &Version, b: &Version) -> bool {
    if a.patch_known && b.patch_known {
        a.semver < b.semver
    } else {
        a.minors_to(b) > 0
    }
}

/// How a component shows in messages: its image, or its chart version.
fn shown(c: &Component) -> String {
    match (&c.image, &c.version) {
        (Some(image), _) => image.clone(),
        (None, Some(v)) => format!("chart {v}"),
        (None, None) => "chart of unknown version".to_string(),
    }
}

/// Describes how the component differs from the revision's istiod, if it does.
fn compare(what: &str, c: &Component, istiod: &Component, revision: &str) -> Option<String> {
    let mut differences = Vec::new();
    if let (Some(v), Some(iv)) = (&c.version, &istiod.version) {
        if !same_version(v, iv) {
            let behind = v.minors_to(iv);
            let support = if behind < 0 {
                ", newer than its control plane, which Istio does not support"
            } else if behind > 1 {
                ", outside the one-minor skew Istio supports"
            } else {
                ""
            };
            let (verb, istiod_verb) = (
                if c.image.is_some() {
                    "runs"
                } else {
                    "installs"
                },
                if istiod.image.is_some() {
                    "istiod runs"
                } else {
                    "istiod's chart installs"
                },
            );
            differences.push(format!("{verb} {v} while {istiod_verb} {iv}{support}"));
        }
    }
    if let (Some(image), Some(istiod_image)) = (&c.image, &istiod.image) {
        let (hub, istiod_hub) = (image_hub(image), image_hub(istiod_image));
        if normalize_hub(hub) != normalize_hub(istiod_hub) {
            differences.push(format!(
                "pulls from {hub} while istiod pulls from {istiod_hub}"
            ));
        }
    }
    if differences.is_empty() {
        return None;
    }
    let images = if c.image.is_some() || istiod.image.is_some() {
        format!(" ({} vs {})", shown(c), shown(istiod))
    } else {
        String::new()
    };
    Some(format!(
        "{what} of revision `{revision}` {}{images}",
        differences.join(" and ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{run_rule, Upgrade};

    fn run(docs: &[&str]) -> Vec<(String, String)> {
        let (inv, diagnostics) = run_rule(&RULE, docs, &Upgrade::default());
        diagnostics
            .iter()
            .map(|d| {
                (
                    inv.object(d.object().expect("object finding"))
                        .name()
                        .to_string(),
                    d.message.clone(),
                )
            })
            .collect()
    }
    const ISTIOD: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: istiod, namespace: istio-system}\nspec:\n  template:\n    spec:\n      containers: [{name: discovery, image: docker.io/istio/pilot:1.28.2}]\n";

    #[test]
    fn injector_values_are_compared_with_istiod() {
        let stale = run(&[
            ISTIOD,
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio-sidecar-injector, namespace: istio-system}\ndata:\n  values: '{\"global\": {\"hub\": \"gcr.io/istio-release\", \"tag\": \"1.27.1\"}}'\n",
        ]);
        assert_eq!(stale.len(), 1);
        assert_eq!(stale[0].0, "istio-sidecar-injector");
        assert!(stale[0].1.contains("runs 1.27.1 while istiod runs 1.28.2"));
        assert!(stale[0].1.contains("pulls from gcr.io/istio-release"));
        let fine = run(&[
            ISTIOD,
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio-sidecar-injector, namespace: istio-system}\ndata:\n  values: '{\"global\": {\"hub\": \"docker.io/istio\", \"tag\": \"1.28.2\"}}'\n",
        ]);
        assert!(fine.is_empty());
    }

    #[test]
    fn several_clusters_side_by_side_are_not_judged() {
        let other_cluster = ISTIOD.replace("1.28.2", "1.29.0");
        let gateway = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: ingress, namespace: istio-ingress}\nspec:\n  template:\n    metadata: {labels: {istio: ingressgateway}}\n    spec:\n      containers: [{name: istio-proxy, image: docker.io/istio/proxyv2:1.27.0}]\n";
        assert_eq!(run(&[ISTIOD, gateway]).len(), 1);
        assert!(run(&[ISTIOD, &other_cluster, gateway]).is_empty());
    }
}
