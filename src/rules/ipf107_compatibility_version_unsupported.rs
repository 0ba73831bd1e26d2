use super::{Context, Sink};
use crate::diagnostic::Fix;
use crate::model::gvk::{ARGO_APPLICATION, FLUX_HELM_RELEASE, ISTIO_OPERATOR};
use crate::model::install::{install_values, rendered_scalar, ValuesAt};
use crate::model::Field;
use crate::yaml::{Node, Value};

crate::declare_rule! {
    /// ## What it does
    /// Reads `compatibilityVersion` wherever the estate sets Istio's install values:
    /// IstioOperator `spec.compatibilityVersion` and `spec.values.compatibilityVersion`, Helm
    /// values files given with `--values`, Flux HelmRelease `spec.values` and Argo CD
    /// Application `helm.valuesObject` of Istio's charts, and Sail operator `spec.values`.
    /// It fires when the target release (`--target`) does not ship a compatibility profile
    /// for that version (`rules/releases.yaml`, `compatibility_versions`, read from each
    /// release's `manifests/charts/*/files/profile-compatibility-version-*.yaml`).
    /// Targets older than 1.21, which had no compatibility versions, are not judged.
    ///
    /// ## Why it matters during an upgrade
    /// A compatibility version pins the defaults of an older release. Each release ships
    /// profiles for only a few releases back, and the charts load
    /// `profile-compatibility-version-<value>.yaml` for the value given: with a value the
    /// target no longer ships, `helm upgrade` and `istioctl install` stop with "unknown
    /// compatibility version" before anything is applied. A value that is accepted but
    /// unquoted (`compatibilityVersion: 1.20`) is the number 1.2 to YAML and fails the same
    /// way.
    ///
    /// ## Example that fires
    /// A values file with `compatibilityVersion: "1.22"` and `--target 1.27.0` (1.27 ships
    /// 1.24, 1.25 and 1.26).
    ///
    /// ## Example that does not fire
    /// `compatibilityVersion: "1.25"` with `--target 1.27.0`, or any value with `--target
    /// 1.19.0`.
    ///
    /// ## Fix
    /// Review the behaviour changes the pin was holding back (IPF309 lists those the upgrade
    /// crosses), then either remove `compatibilityVersion` or raise it to the oldest version
    /// the target ships (named in the message), and upgrade in smaller steps if the old
    /// behaviour is still needed.
    ///
    /// ## References
    /// - Compatibility versions: <https://istio.io/latest/docs/setup/additional-setup/compatibility-versions/>
    /// - The chart's profile lookup: istio/istio `manifests/charts/istio-control/istio-discovery/templates/zzz_profile.yaml` ("unknown compatibility version")
    /// - Release data: `rules/releases.yaml` (`compatibility_versions`, with sources per release)
    code: "IPF107",
    name: "compatibility-version-unsupported",
    severity: Error,
    summary: "compatibilityVersion names a version the target release no longer ships a profile for",
    fix: None,
    reads: [ISTIO_OPERATOR, FLUX_HELM_RELEASE, ARGO_APPLICATION],
}

/// Where an IstioOperator sets it.
/// Where Helm values set it.
const VALUE: Field = Field::new("/compatibilityVersion");
const COMPATIBILITY_VERSION: Field = Field::new("/spec/compatibilityVersion");

fn check(cx: &Context, sink: &mut Sink) {
    let Some(target) = cx.upgrade.target.as_ref() else {
        return;
    };
    let Some(release) = cx.release.release(target) else {
        return;
    };
    let shipped = &release.compatibility_versions;
    if shipped.is_empty() {
        return;
    }
    let mut settings: Vec<(ValuesAt, Node, String)> = Vec::new();
    for values in install_values(cx.inventory, cx.values) {
        if let Some(node) = VALUE.read(values.root) {
            let path = VALUE.path();
            settings.push((
                values.field(&path),
                node,
                format!("{} compatibilityVersion", values.described_as),
            ));
        }
    }
    for (id, o) in cx.inventory.of_kind("IstioOperator") {
        if let Some(node) = COMPATIBILITY_VERSION.read(o.root()) {
            settings.push((
                ValuesAt::Object {
                    object: id,
                    path: COMPATIBILITY_VERSION.path(),
                },
                node,
                "IstioOperator spec.compatibilityVersion".to_string(),
            ));
        }
    }
    for (at, node, what) in settings {
        let Some(value) = rendered_scalar(node) else {
            continue;
        };
        if value.is_empty() || shipped.contains(&value) {
            continue;
        }
        let unquoted = if matches!(node.value(), Value::Float(_)) {
            format!(" (unquoted, YAML reads it as the number {value}; quote it)")
        } else {
            String::new()
        };
        let message = format!(
            "{what} is {value}{unquoted}, but Istio {} ships compatibility profiles only for {}: the install fails with \"unknown compatibility version\" ({})",
            target.minor_string(),
            shipped.join(", "),
            release
                .sources
                .iter()
                .find(|s| s.contains("profile"))
                .or(release.sources.first())
                .map(String::as_str)
                .unwrap_or("rules/releases.yaml"),
        );
        let fix = Fix::display_only(format!(
            "remove compatibilityVersion, or set it to \"{}\" (the oldest the target ships) after reviewing the behaviour changes it was holding back",
            shipped[0]
        ));
        match at {
            ValuesAt::Object { object, path } => sink.object(object, path, message),
            ValuesAt::File { file } => {
                let span = node.span();
                sink.file(file, span, message)
            }
        }
        .with_fix(fix);
    }
}
