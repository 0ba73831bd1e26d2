use super::{Context, Sink};
use crate::diagnostic::{Edit, Fix, Severity};
use crate::model::gvk::{
    ARGO_APPLICATION, ARGO_APPLICATION_SET, CONFIG_MAP, DEPLOYMENT, FLUX_HELM_RELEASE,
    FLUX_HELM_REPOSITORY, FLUX_KUSTOMIZATION, FLUX_OCI_REPOSITORY, ISTIO_OPERATOR,
};
use crate::model::install::find_setting;
use crate::model::mesh::MESH_CONFIG;
use crate::model::path::SPEC;
use crate::model::{Field, FieldPath, Version};
use crate::release::{self, reached, RemovedSetting};
use crate::yaml::Node;

crate::declare_rule! {
    /// ## What it does
    /// Looks for install settings that the target release (`--target`, else the current
    /// version) removed, from `rules/install-settings.yaml` (built by diffing Istio's
    /// `values_types.proto` and feature flags across every release):
    /// - IstioOperator resources: `spec.values.*` and other `spec` fields (rejected by
    ///   `istioctl install`, which decodes them strictly), `spec.meshConfig` fields Istio no
    ///   longer implements, and removed feature flags in `spec.values.pilot.env` or
    ///   `spec.meshConfig.defaultConfig.proxyMetadata`;
    /// - Helm values files given with `--values FILE` (repeatable): the same keys, which Helm
    ///   silently ignores;
    /// - the values of Helm releases of Istio's charts declared as objects: Flux
    ///   `HelmRelease` `spec.values` and `valuesFrom` ConfigMaps (`data`) or Secrets
    ///   (`stringData`) in the input, Argo CD `Application` / `ApplicationSet` `helm.values`
    ///   strings (findings point inside the string), `helm.valuesObject` and
    ///   `helm.parameters`;
    /// - the istiod Deployment's environment and the `istio[-<rev>]` mesh ConfigMap, for
    ///   removed feature flags and ignored mesh config.
    ///
    /// A setting `istioctl` rejects is an error; one that is silently ignored (Helm values,
    /// flags, mesh config) is a warning, because the behaviour it selected is lost.
    ///
    /// The data reaches back to Istio 1.5: the Mixer, Citadel, Galley and injector
    /// components (`components.policy`, `components.citadel`, ...) and the values removed
    /// since (`values.mixer`, `values.global.mtls`, `values.telemetry.v1`, ...), so a 1.5-era
    /// IstioOperator is judged in full. When neither `--current` nor an istiod in the input
    /// gives the current version, the oldest IstioOperator `spec.tag` does.
    ///
    /// ## Why it matters during an upgrade
    /// The upgrade either stops (`istioctl install` fails on an unknown field) or, worse,
    /// succeeds and drops an opt-out: a feature flag that kept the old behaviour no longer
    /// exists and the new default applies to every proxy.
    ///
    /// ## Example that fires
    /// An IstioOperator with `spec.values.global.useMCP: false` and `--target 1.24.0`
    /// (removed in 1.23), or `pilot.env.ENABLE_AUTO_SNI: "false"` in a values file, a Flux
    /// HelmRelease's `spec.values` or an Argo CD Application's `helm.values` with
    /// `--target 1.26.0`.
    ///
    /// ## Example that does not fire
    /// `spec.values.pilot.env.ENABLE_AUTO_SNI` with `--target 1.25.2` (still read), or
    /// `spec.values.global.proxy.holdApplicationUntilProxyStarts` (deprecated, still
    /// accepted).
    ///
    /// ## Fix
    /// Remove the setting from the IstioOperator (unsafe fix: check the replacement named in
    /// the message first); in values files and ConfigMaps, edit the line shown.
    ///
    /// ## References
    /// - Upgrade notes per release: <https://istio.io/latest/news/releases/>
    /// - Helm values (`values_types.proto`): istio/istio `operator/pkg/apis/values_types.proto`
    /// - IstioOperator API: <https://istio.io/latest/docs/reference/config/istio.operator.v1alpha1/>
    /// - Release data: `rules/install-settings.yaml` (each entry's `sources`)
    code: "IPF307",
    name: "removed-install-setting",
    severity: Error,
    summary: "An IstioOperator, Helm values file or istiod setting uses a field or flag the target release removed",
    fix: Sometimes,
    reads: [ISTIO_OPERATOR, DEPLOYMENT, CONFIG_MAP, FLUX_HELM_RELEASE, FLUX_HELM_REPOSITORY, FLUX_OCI_REPOSITORY, FLUX_KUSTOMIZATION, ARGO_APPLICATION, ARGO_APPLICATION_SET],
}

/// Where a settings tree came from, for the message and the severity.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Surface {
    IstioOperator,
    HelmValues,
}

fn check(cx: &Context, sink: &mut Sink) {
    let Some(version) = cx.target_or_current() else {
        return;
    };
    let data = &cx.release.install_settings;
    let removed = |s: &&RemovedSetting| reached(version, s.removed_in.as_deref());
    let inv = cx.inventory;

    for (id, o) in inv.of_kind("IstioOperator") {
        let Some(spec) = o.root().get("spec") else {
            continue;
        };
        let mut hits: Vec<(FieldPath, String, Severity)> = Vec::new();
        if let Some(values) = spec.get("values") {
            let base = SPEC.path().key("values");
            for s in data.removed_values.iter().filter(removed) {
                for p in spellings(s).flat_map(|p| find_setting(values, p)) {
                    hits.push((
                        base.clone().join(&p),
                        setting_message(s, "spec.values.", Surface::IstioOperator),
                        Severity::Error,
                    ));
                }
            }
            for (p, msg) in removed_env(
                data,
                values,
                &["pilot", "env"],
                version,
                "spec.values.pilot.env",
            ) {
                hits.push((base.clone().join(&p), msg, Severity::Warning));
            }
        }
        for s in data.removed_iop_spec_fields.iter().filter(removed) {
            for p in find_setting(spec, &s.path) {
                hits.push((
                    SPEC.path().join(&p),
                    setting_message(s, "spec.", Surface::IstioOperator),
                    Severity::Error,
                ));
            }
        }
        if let Some(mesh) = spec.get("meshConfig") {
            let base = SPEC.path().key("meshConfig");
            for (p, msg) in mesh_config(data, mesh, version, "spec.meshConfig.") {
                hits.push((base.clone().join(&p), msg, Severity::Warning));
            }
        }
        for (path, message, severity) in hits {
            sink.object(id, path.clone(), message)
                .with_severity(severity)
                .with_fix(Fix::unsafe_(
                    "remove the setting (check the replacement first)",
                    vec![Edit::Remove { path }],
                ));
        }
    }

    for vf in cx.values {
        for (path, message) in values_hits(data, vf.tree.root(), version) {
            sink.file(vf.file, path.locate(vf.tree.root()), message)
                .with_severity(Severity::Warning)
                .with_fix(Fix::display_only(
                    "delete this key from the values file (check the replacement first)",
                ));
        }
    }

    // Values of Helm releases declared as objects (Flux HelmRelease, Argo CD Application):
    // inline, in a `helm.values` string, or in a ConfigMap the release reads.
    for r in &inv.mesh.chart_releases {
        let fix = || {
            Fix::display_only(format!(
                "delete this key from the values of {} (check the replacement first)",
                inv.object(r.object).display_name()
            ))
        };
        for v in r.values(inv) {
            // Values written as YAML in the object can lose the key; inside a string the
            // line is shown for a person to edit.
            let in_object = v
                .path
                .resolve(inv.object(v.owner).root())
                .is_some_and(|n| n.is_map());
            for (path, message) in values_hits(data, v.node, version) {
                let field = v.path.clone().join(&path);
                let fix = if in_object {
                    Fix::unsafe_(
                        "remove the setting from the release's values (check the replacement first)",
                        vec![Edit::Remove {
                            path: field.clone(),
                        }],
                    )
                } else {
                    fix()
                };
                sink.object(v.owner, field, message)
                    .with_severity(Severity::Warning)
                    .with_fix(fix);
            }
        }
        for (name, path, owner) in r.parameters() {
            let hit =
                data.removed_values.iter().filter(removed).find(|s| {
                    spellings(s).any(|p| name == p || name.starts_with(&format!("{p}.")))
                });
            if let Some(s) = hit {
                sink.object(
                    owner,
                    path.clone(),
                    setting_message(s, "", Surface::HelmValues),
                )
                .with_severity(Severity::Warning)
                .with_fix(fix());
            }
        }
    }

    // istiod's own environment and the mesh ConfigMaps, as they run.
    for cp in &inv.mesh.control_planes {
        let Some(object) = cp.object else { continue };
        let Some(image) = cp.image_field(inv) else {
            continue;
        };
        let Some(container_path) = image.parent() else {
            continue;
        };
        let Some(env) = container_path
            .clone()
            .key("env")
            .resolve(inv.object(object).root())
            .and_then(Node::as_seq)
        else {
            continue;
        };
        for (i, e) in env.iter().enumerate() {
            let Some(name) = e.get("name").and_then(Node::as_str) else {
                continue;
            };
            if let Some(flag) = data
                .removed_env
                .iter()
                .find(|f| f.name == name && reached(version, Some(&f.removed_in)))
            {
                let path = container_path.clone().key("env").index(i);
                sink.object(
                    object,
                    path.clone(),
                    env_message(flag, "istiod's environment"),
                )
                .with_severity(Severity::Warning)
                .with_fix(Fix::unsafe_(
                    "remove the variable (it has no effect)",
                    vec![Edit::Remove { path }],
                ));
            }
        }
    }
    for (id, o) in inv.of_kind("ConfigMap") {
        let is_mesh = o.name() == "istio"
            || o.name().starts_with("istio-")
                && inv
                    .mesh
                    .control_planes
                    .iter()
                    .any(|cp| o.name() == format!("istio-{}", cp.revision));
        if !is_mesh {
            continue;
        }
        let Some(mesh) = crate::model::mesh::mesh_config_of(o) else {
            continue;
        };
        let mut messages: Vec<String> = mesh_config(data, mesh.root(), version, "")
            .into_iter()
            .map(|(_, m)| m)
            .collect();
        messages.extend(
            removed_env(
                data,
                mesh.root(),
                &["defaultConfig", "proxyMetadata"],
                version,
                "defaultConfig.proxyMetadata",
            )
            .into_iter()
            .map(|(_, m)| m),
        );
        for m in messages {
            sink.object(id, MESH_CONFIG, m)
                .with_severity(Severity::Warning)
                .with_fix(Fix::display_only(
                    "edit the mesh config (in the Helm values or IstioOperator that renders it)",
                ));
        }
    }
}

/// Removed settings, flags and mesh config in a Helm values tree, with the message for each.
fn values_hits(
    data: &release::InstallSettings,
    root: Node,
    version: &Version,
) -> Vec<(FieldPath, String)> {
    let mut hits: Vec<(FieldPath, String)> = Vec::new();
    for s in data
        .removed_values
        .iter()
        .filter(|s| reached(version, s.removed_in.as_deref()))
    {
        for p in spellings(s).flat_map(|p| find_setting(root, p)) {
            hits.push((p, setting_message(s, "", Surface::HelmValues)));
        }
    }
    hits.extend(removed_env(
        data,
        root,
        &["pilot", "env"],
        version,
        "pilot.env",
    ));
    if let Some(mesh) = root.get("meshConfig") {
        for (p, msg) in mesh_config(data, mesh, version, "meshConfig.") {
            hits.push((Field::new("/meshConfig").path().join(&p), msg));
        }
    }
    hits
}

fn spellings(s: &RemovedSetting) -> impl Iterator<Item = &str> {
    std::iter::once(s.path.as_str()).chain(s.aliases.iter().map(String::as_str))
}

fn setting_message(s: &RemovedSetting, prefix: &str, surface: Surface) -> String {
    let removed = s.removed_in.as_deref().unwrap_or("?");
    let effect = match surface {
        Surface::IstioOperator => "istioctl install rejects it as an unknown field",
        Surface::HelmValues => "Helm ignores it silently, so whatever it configured is lost",
    };
    let replacement = use_instead(&s.replacement);
    let note = s
        .note
        .as_ref()
        .map(|n| format!(" ({})", n.trim()))
        .unwrap_or_default();
    let source = first_source(&s.sources);
    format!(
        "`{prefix}{}` was removed in Istio {removed}: {effect}{replacement}{note} ({source})",
        s.path
    )
}

/// `; use X` when the data names a replacement.
fn use_instead(replacement: &Option<String>) -> String {
    replacement
        .as_ref()
        .map(|r| format!("; use {r}"))
        .unwrap_or_default()
}

/// The first source the data gives for a fact, or the data file itself.
fn first_source(sources: &[String]) -> &str {
    sources
        .first()
        .map(String::as_str)
        .unwrap_or("rules/install-settings.yaml")
}

fn env_message(flag: &release::RemovedEnv, place: &str) -> String {
    let note = flag
        .note
        .as_ref()
        .map(|n| format!(": {}", n.trim()))
        .unwrap_or_default();
    let replacement = use_instead(&flag.replacement);
    let source = first_source(&flag.sources);
    format!(
        "feature flag {} in {place} no longer exists from Istio {}, so it is silently ignored and the new default applies{note}{replacement} ({source})",
        flag.name, flag.removed_in
    )
}

/// Removed feature flags set under `keys` (a map of NAME: value).
fn removed_env(
    data: &release::InstallSettings,
    root: Node,
    keys: &[&str],
    version: &Version,
    place: &str,
) -> Vec<(FieldPath, String)> {
    let Some(env) = root.at(keys).and_then(Node::as_map) else {
        return Vec::new();
    };
    let base = keys.iter().fold(FieldPath::root(), |p, k| p.key(k));
    env.iter()
        .filter_map(|e| {
            let flag = data
                .removed_env
                .iter()
                .find(|f| f.name == e.key && reached(version, Some(&f.removed_in)))?;
            Some((base.clone().key(e.key), env_message(flag, place)))
        })
        .collect()
}

/// MeshConfig fields that the release no longer implements.
fn mesh_config(
    data: &release::InstallSettings,
    mesh: Node,
    version: &Version,
    prefix: &str,
) -> Vec<(FieldPath, String)> {
    let mut out = Vec::new();
    for s in &data.mesh_config {
        let from = s.ignored_from.as_deref().or(s.removed_in.as_deref());
        if !reached(version, from) {
            continue;
        }
        for p in find_setting(mesh, &s.path) {
            let replacement = use_instead(&s.replacement);
            let source = first_source(&s.sources);
            out.push((
                p,
                format!(
                    "mesh config `{prefix}{}` is accepted but ignored from Istio {}{replacement} ({source})",
                    s.path,
                    from.unwrap_or("?")
                ),
            ));
        }
    }
    out
}
