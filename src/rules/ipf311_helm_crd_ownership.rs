use super::{Context, Sink};
use crate::diagnostic::Fix;
use crate::model::crd::is_istio_group;
use crate::model::gvk::{
    ARGO_APPLICATION, CUSTOM_RESOURCE_DEFINITION, DEPLOYMENT, FLUX_HELM_RELEASE, SERVICE_ACCOUNT,
};
use crate::model::path::{ANNOTATIONS, LABELS};
use crate::model::{Field, FieldPath, Object, Version};
use crate::release::reached;

crate::declare_rule! {
    /// ## What it does
    /// Fires when an estate that installs Istio's `base` chart with Helm (a Flux HelmRelease
    /// or Argo CD Application of the chart, or objects a `base` Helm release owns) is
    /// upgraded across the release that began templating the CRDs (1.24,
    /// `rules/install-settings.yaml` `chart_changes`, `kind: crd_helm_ownership`), and the
    /// Istio CRDs lack Helm's ownership metadata: the `app.kubernetes.io/managed-by: Helm`
    /// label and the `meta.helm.sh/release-name` / `meta.helm.sh/release-namespace`
    /// annotations.
    ///
    /// When the CRDs are in the input (a cluster read, a snapshot, a dump), each Istio CRD
    /// that lacks the metadata is reported. When they are not (a GitOps repository where the
    /// chart installs them), the base chart's release is reported: a base chart up to 1.23
    /// kept the CRDs in `crds/` (`base.enableCRDTemplates: false` by default), which Helm
    /// installs without ever labelling them. A release whose values set
    /// `base.enableCRDTemplates` explicitly is not reported: `true` on an older chart already
    /// templated the CRDs under Helm's ownership, `false` on a newer one keeps the old form. The current version is the running control plane's, else the base
    /// release's own chart version.
    ///
    /// ## Why it matters during an upgrade
    /// From 1.24 the base chart renders the CRDs as ordinary templates, so `helm upgrade`
    /// adopts them only if they already belong to that release. CRDs created from `crds/` or
    /// with `kubectl apply` do not, and the upgrade stops: "rendered manifests contain a
    /// resource that already exists ... invalid ownership metadata". A GitOps controller
    /// retries the failing release until someone relabels the CRDs by hand.
    ///
    /// ## Example that fires
    /// A HelmRelease of chart `base` at `1.23.2` and `--target 1.24.0`, with no CRDs in the
    /// input or with `virtualservices.networking.istio.io` carrying only the old `chart:
    /// istio` labels.
    ///
    /// ## Example that does not fire
    /// The same release with `--target 1.23.6`, with `values.base.enableCRDTemplates` set,
    /// or CRDs already labelled `app.kubernetes.io/managed-by: Helm` and annotated with the
    /// release's name and namespace; an estate without a Helm-installed base chart (CRDs
    /// applied with `kubectl apply` can keep being applied that way).
    ///
    /// ## Fix
    /// Once, before the upgrade, run the `kubectl label` / `kubectl annotate` commands the
    /// message prints (Istio's 1.24 upgrade notes give them; they select the CRDs by their
    /// `chart=istio` / `app.kubernetes.io/part-of=istio` labels and are harmless to repeat),
    /// with the base chart's release name and namespace.
    ///
    /// ## References
    /// - Istio 1.24 upgrade notes, "Istio CRDs are templated by default": <https://istio.io/latest/news/releases/1.24.x/announcing-1.24/upgrade-notes/>
    /// - Helm, resource adoption and ownership metadata: <https://helm.sh/docs/topics/charts/#limitations-on-crds>
    /// - Release data: `rules/install-settings.yaml` (`chart_changes`)
    code: "IPF311",
    name: "helm-crd-ownership",
    severity: Error,
    summary: "Istio CRDs lack the Helm ownership metadata that the base chart from 1.24 needs to upgrade them",
    fix: None,
    reads: [CUSTOM_RESOURCE_DEFINITION, FLUX_HELM_RELEASE, ARGO_APPLICATION, SERVICE_ACCOUNT, DEPLOYMENT],
}

/// The base chart's value that templates the CRDs (and makes Helm own them).
const ENABLE_CRD_TEMPLATES: Field = Field::new("/base/enableCRDTemplates");
const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
const RELEASE_NAME: &str = "meta.helm.sh/release-name";
const RELEASE_NAMESPACE: &str = "meta.helm.sh/release-namespace";

/// A Helm release of Istio's base chart, as the input shows it.
struct BaseRelease {
    name: String,
    namespace: String,
    /// The chart version the release declares (GitOps objects only).
    version: Option<Version>,
    /// Where to report when the CRDs are not in the input.
    anchor: Option<(usize, FieldPath)>,
    opted_out: bool,
}

fn check(cx: &Context, sink: &mut Sink) {
    let Some(target) = cx.upgrade.target.as_ref() else {
        return;
    };
    let Some(change) = cx
        .release
        .install_settings
        .crd_templates_change()
        .filter(|c| reached(target, Some(&c.release)))
    else {
        return;
    };
    let inv = cx.inventory;
    // The version a release is upgraded from: the chart version a GitOps release declares,
    // else the running control plane's (the control plane may itself be another release
    // of the input, one that says nothing about this base chart).
    let from = |r: &BaseRelease| -> Option<Version> {
        r.version
            .as_ref()
            .or(inv.mesh.current_version())
            .filter(|v| !reached(v, Some(&change.release)))
            .cloned()
    };
    let releases: Vec<(BaseRelease, Version)> = base_releases(cx)
        .into_iter()
        .filter(|r| !r.opted_out)
        .filter_map(|r| from(&r).map(|v| (r, v)))
        .collect();
    let Some((first, current)) = releases.first() else {
        return;
    };
    let source = change
        .sources
        .last()
        .map(String::as_str)
        .unwrap_or("rules/install-settings.yaml");
    let crds: Vec<(usize, &Object)> = inv
        .of_kind("CustomResourceDefinition")
        .filter(|(_, o)| {
            Field::new("/spec/group")
                .read_str(o.root())
                .is_some_and(is_istio_group)
        })
        .collect();
    let fix = Fix::display_only(commands(&first.name, &first.namespace));
    if crds.is_empty() {
        for (r, current) in &releases {
            let Some((object, field)) = r.anchor.clone() else {
                continue;
            };
            let message = format!(
                "the base chart release `{}` is upgraded from {current} to {target}: from Istio {} the chart templates the CRDs, and CRDs installed from an older chart's `crds/` folder lack Helm's ownership metadata, so `helm upgrade` fails with \"invalid ownership metadata\" until they are relabelled ({source})",
                r.name, change.release
            );
            sink.object(object, field, message)
                .with_fix(Fix::display_only(commands(&r.name, &r.namespace)));
        }
        return;
    }
    for (id, crd) in crds {
        let missing = missing_metadata(crd, first);
        if missing.is_empty() {
            continue;
        }
        let field = if missing.iter().any(|m| m.starts_with("label")) {
            LABELS
        } else {
            ANNOTATIONS
        };
        let message = format!(
            "this CRD lacks {} while the base chart release `{}` is upgraded from {current} to {target}: from Istio {} the chart templates the CRDs and `helm upgrade` refuses to adopt them (\"invalid ownership metadata\") ({source})",
            missing.join(", "),
            first.name,
            change.release
        );
        sink.object(id, field, message).with_fix(fix.clone());
    }
}

/// What of Helm's ownership metadata a CRD lacks, for release `r`.
fn missing_metadata(crd: &Object, r: &BaseRelease) -> Vec<String> {
    let mut missing = Vec::new();
    if crd.label(MANAGED_BY) != Some("Helm") {
        missing.push(format!("label {MANAGED_BY}=Helm"));
    }
    if crd.annotation(RELEASE_NAME) != Some(r.name.as_str()) {
        missing.push(format!("annotation {RELEASE_NAME}={}", r.name));
    }
    if crd.annotation(RELEASE_NAMESPACE) != Some(r.namespace.as_str()) {
        missing.push(format!("annotation {RELEASE_NAMESPACE}={}", r.namespace));
    }
    missing
}

/// Istio's one-time migration (1.24 upgrade notes), with the release's real name and namespace.
fn commands(name: &str, namespace: &str) -> String {
    let select = "$(kubectl get crds -l chart=istio -o name && kubectl get crds -l app.kubernetes.io/part-of=istio -o name)";
    format!(
        "run once before the upgrade: kubectl label {select} \"{MANAGED_BY}=Helm\"; kubectl annotate {select} \"{RELEASE_NAME}={name}\"; kubectl annotate {select} \"{RELEASE_NAMESPACE}={namespace}\""
    )
}

/// The base chart's Helm releases: GitOps objects installing it, and releases named by the
/// ownership annotations of objects the chart rendered (`helm.sh/chart: base-<version>`).
fn base_releases(cx: &Context) -> Vec<BaseRelease> {
    let inv = cx.inventory;
    let mut out: Vec<BaseRelease> = Vec::new();
    for (id, o) in inv.objects.iter().enumerate() {
        let declared: Vec<_> = inv
            .mesh
            .chart_releases
            .iter()
            .filter(|r| r.object == id)
            .collect();
        if !declared.is_empty() {
            for r in declared.into_iter().filter(|r| r.chart == "base") {
                // `base.enableCRDTemplates` set either way decides it: `true` on an older
                // chart already templated (and Helm-owned) the CRDs, `false` on a newer one
                // keeps them in the old form.
                let opted_out = r
                    .value(inv, &["base", "enableCRDTemplates"])
                    .is_some_and(|(v, ..)| matches!(v.as_str(), "true" | "false"));
                out.push(BaseRelease {
                    name: r.release_name.clone(),
                    namespace: r.namespace.clone(),
                    version: r.version.clone(),
                    anchor: Some((id, r.version_field.clone())),
                    opted_out,
                });
            }
            continue;
        }
        // Helm annotates what a release installs from `templates/` (never `crds/`): the base
        // chart's own objects name its release. Charts up to 1.23 set no `helm.sh/chart`
        // label, but always rendered the reader ServiceAccount.
        let from_base_chart = o.label("helm.sh/chart").is_some_and(|c| {
            c.strip_prefix("base-")
                .is_some_and(|v| Version::parse(v).is_some())
        }) || o.kind() == "ServiceAccount"
            && o.name() == "istio-reader-service-account";
        if !from_base_chart {
            continue;
        }
        if let (Some(name), Some(namespace)) =
            (o.annotation(RELEASE_NAME), o.annotation(RELEASE_NAMESPACE))
        {
            if !out
                .iter()
                .any(|r| r.name == name && r.namespace == namespace)
            {
                out.push(BaseRelease {
                    name: name.to_string(),
                    namespace: namespace.to_string(),
                    version: None,
                    anchor: None,
                    opted_out: false,
                });
            }
        }
    }
    // `--values` files decide it for every release they are given for.
    let files_opt_out = cx.values.iter().any(|v| {
        ENABLE_CRD_TEMPLATES
            .read(v.tree.root())
            .and_then(|n| n.as_bool())
            .is_some()
    });
    if files_opt_out {
        for r in &mut out {
            r.opted_out = true;
        }
    }
    out
}
