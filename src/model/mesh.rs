//! Istio facts derived from the inventory: control-plane revisions and their versions,
//! revision tags, mesh config per revision, which workloads are meshed (following Istio's
//! injection precedence) and the proxy settings each one effectively gets.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use super::duration::parse_duration;
use super::membership::Membership;
use super::selector::Labels;
use super::version::{image_hub, image_name, Version};
use super::workload::Workload;
use super::{Field, Inventory, ObjectId, Origin};
use crate::yaml::{self, Node};

/// Where an istio ConfigMap holds the mesh config (YAML text).
pub const MESH_CONFIG: Field = Field::new("/data/mesh");

/// Namespaces the injector never touches (istio/istio `pkg/kube/inject`).
const NEVER_INJECTED: &[&str] = &[
    "kube-system",
    "kube-public",
    "kube-node-lease",
    "local-path-storage",
];

/// `terminationDrainDuration` when nothing sets it (istio/api `mesh/v1alpha1/proxy.proto`).
pub const DEFAULT_DRAIN: Duration = Duration::from_secs(5);

#[derive(Clone, Debug, Default)]
pub struct MeshOptions {
    /// `--current`: overrides the detected control-plane version.
    pub current: Option<Version>,
    /// `--kube-version`: the Kubernetes version when it cannot be read from Nodes.
    pub kube_version: Option<Version>,
}

/// One istiod revision.
#[derive(Clone, Debug)]
pub struct ControlPlane {
    pub revision: String,
    pub namespace: String,
    /// The istiod Deployment; `None` when the control plane is only known from `--current`.
    pub object: Option<ObjectId>,
    pub image: Option<String>,
    pub version: Option<Version>,
    /// istiod's `ENABLE_NATIVE_SIDECARS` env value, when set.
    pub native_sidecars: Option<String>,
    /// For a control plane declared as a Helm release (Flux HelmRelease, Argo CD
    /// Application; `object` is that release), the field that sets its chart version.
    pub chart_version_field: Option<super::FieldPath>,
}

impl ControlPlane {
    pub fn hub(&self) -> Option<&str> {
        self.image.as_deref().map(image_hub)
    }

    /// The field holding istiod's image in its Deployment, or the chart version of the Helm
    /// release that declares it: where version findings point.
    pub fn image_field(&self, inv: &Inventory) -> Option<super::FieldPath> {
        if let Some(field) = &self.chart_version_field {
            return Some(field.clone());
        }
        let o = inv.object(self.object?);
        let containers = o
            .root()
            .at(&["spec", "template", "spec", "containers"])
            .and_then(Node::as_seq)?;
        let i = containers.iter().position(|c| {
            c.str_at(&["name"]) == Some("discovery")
                || c.str_at(&["image"])
                    .is_some_and(|i| image_name(i) == "pilot")
        })?;
        Some(
            super::FieldPath::parse("/spec/template/spec/containers")
                .index(i)
                .key("image"),
        )
    }
}

/// Where an effective setting came from, so messages can say what to change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// Istio's built-in default.
    Default,
    /// `meshConfig.defaultConfig` in the revision's `istio[-<rev>]` ConfigMap.
    MeshConfig { object: ObjectId },
    /// The pod's `proxy.istio.io/config` annotation.
    Annotation,
    /// The deprecated `values.global.proxy.*` in `istio-sidecar-injector[-<rev>]`.
    InjectorValues { object: ObjectId },
}

impl Source {
    /// Where a proxy setting came from, in words; `field` names the setting (`terminationDrainDuration`).
    pub fn describe(&self, inv: &super::Inventory, field: &str) -> String {
        match self {
            Source::Default => "Istio's default".to_string(),
            Source::MeshConfig { object } => {
                let o = inv.object(*object);
                let (ns, name) = (o.namespace(), o.name());
                format!("meshConfig.defaultConfig.{field} in ConfigMap {ns}/{name}")
            }
            Source::Annotation => "the pod's proxy.istio.io/config annotation".to_string(),
            Source::InjectorValues { object } => {
                let o = inv.object(*object);
                let (ns, name) = (o.namespace(), o.name());
                format!("values.global.proxy.{field} in ConfigMap {ns}/{name}")
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setting<T> {
    pub value: T,
    pub source: Source,
}

/// The proxy settings a workload's sidecar gets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxySettings {
    pub termination_drain: Setting<Duration>,
    pub hold_application: Setting<bool>,
    /// `EXIT_ON_ZERO_ACTIVE_CONNECTIONS` in proxyMetadata: the agent then ignores the drain
    /// duration and exits when connections reach zero.
    pub exit_on_zero_active_connections: bool,
}

/// `meshConfig.defaultConfig` of one revision.
#[derive(Clone, Debug)]
struct MeshDefaults {
    object: ObjectId,
    /// The parsed `mesh` text; its `defaultConfig` is what applies.
    mesh_config: Option<std::sync::Arc<yaml::Tree>>,
}

impl MeshDefaults {
    fn default_config(&self) -> Option<Node<'_>> {
        self.mesh_config.as_ref()?.root().get("defaultConfig")
    }
}

#[derive(Debug, Default)]
pub struct Mesh {
    pub control_planes: Vec<ControlPlane>,
    /// Revision tag → revision, from tag webhooks (`istio.io/tag`).
    pub tags: BTreeMap<String, String>,
    mesh_defaults: HashMap<String, MeshDefaults>,
    /// Revision → (ConfigMap, parsed `values` JSON) of `istio-sidecar-injector[-<rev>]`.
    injector_values: HashMap<String, (ObjectId, serde_json::Value)>,
    pub kube_version: Option<Version>,
    current_override: Option<Version>,
    /// Istio charts installed by Flux HelmReleases and Argo CD Applications.
    pub chart_releases: Vec<super::chart_release::ChartRelease>,
    /// The oldest IstioOperator `spec.tag` in the input: what an istioctl-installed estate
    /// runs when nothing else says (no istiod in the input, no `--current`).
    install_tag: Option<Version>,
}

impl Mesh {
    /// Control planes, revision tags and the default revision declared by Helm releases of
    /// Istio's charts. A revision whose istiod Deployment is also in the input (rendered
    /// beside its release) keeps the Deployment: it says what runs.
    fn add_chart_releases(&mut self, inv: &Inventory) {
        use super::chart_release::ChartComponent;
        for r in &self.chart_releases {
            match r.component {
                ChartComponent::Istiod | ChartComponent::IstiodRemote => {
                    let revision = r.revision(inv);
                    let rendered = self.control_planes.iter().any(|cp| {
                        cp.revision == revision
                            && cp.chart_version_field.is_none()
                            && cp.namespace == r.namespace
                    });
                    if !rendered {
                        self.control_planes.push(ControlPlane {
                            revision: revision.clone(),
                            namespace: r.namespace.clone(),
                            object: Some(r.object),
                            image: None,
                            version: r.version.clone(),
                            native_sidecars: r
                                .value(inv, &["pilot", "env", native_sidecars_env()])
                                .map(|(v, ..)| v),
                            chart_version_field: Some(r.version_field.clone()),
                        });
                    }
                    for tag in r.list(inv, &["revisionTags"]) {
                        self.tags.entry(tag).or_insert_with(|| revision.clone());
                    }
                }
                ChartComponent::Base => {
                    if let Some((rev, ..)) = r.value(inv, &["defaultRevision"]) {
                        if !rev.is_empty() && rev != "default" {
                            self.tags.entry("default".to_string()).or_insert(rev);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    pub fn derive(inv: &Inventory, options: &MeshOptions) -> Mesh {
        let mut mesh = Mesh {
            current_override: options.current.clone(),
            ..Mesh::default()
        };
        for (id, o) in inv.of_kind("Deployment") {
            let Some(containers) = o
                .root()
                .at(&["spec", "template", "spec", "containers"])
                .and_then(Node::as_seq)
            else {
                continue;
            };
            let discovery = containers.iter().find(|c| {
                c.str_at(&["name"]) == Some("discovery")
                    || c.str_at(&["image"])
                        .is_some_and(|i| image_name(i) == "pilot")
            });
            let Some(discovery) = discovery else { continue };
            let env = |name: &str| {
                discovery
                    .get("env")
                    .and_then(Node::as_seq)
                    .unwrap_or_default()
                    .iter()
                    .find(|e| e.str_at(&["name"]) == Some(name))
                    .and_then(|e| e.str_at(&["value"]))
                    .map(str::to_string)
            };
            let revision = o
                .label("istio.io/rev")
                .map(str::to_string)
                .or_else(|| env("REVISION"))
                .unwrap_or_else(|| "default".to_string());
            let image = discovery.str_at(&["image"]).map(str::to_string);
            mesh.control_planes.push(ControlPlane {
                version: image.as_deref().and_then(Version::from_image),
                image,
                revision,
                namespace: o.namespace().to_string(),
                object: Some(id),
                native_sidecars: env(native_sidecars_env()),
                chart_version_field: None,
            });
        }
        mesh.chart_releases = super::chart_release::find(inv);
        mesh.add_chart_releases(inv);
        if let Some(current) = &options.current {
            let default = mesh
                .control_planes
                .iter()
                .position(|cp| cp.revision == "default");
            match default {
                Some(i) => mesh.control_planes[i].version = Some(current.clone()),
                None if mesh.control_planes.is_empty() => mesh.control_planes.push(ControlPlane {
                    revision: "default".into(),
                    namespace: "istio-system".into(),
                    object: None,
                    image: None,
                    version: Some(current.clone()),
                    native_sidecars: None,
                    chart_version_field: None,
                }),
                None => {
                    for cp in &mut mesh.control_planes {
                        cp.version = Some(current.clone());
                    }
                }
            }
        }
        mesh.control_planes
            .sort_by(|a, b| a.revision.cmp(&b.revision));

        for (_, o) in inv.of_kind("MutatingWebhookConfiguration") {
            if let (Some(tag), Some(rev)) = (o.label("istio.io/tag"), o.label("istio.io/rev")) {
                mesh.tags.insert(tag.to_string(), rev.to_string());
            }
        }
        // Since 1.28 every tag also gets a Service `istiod-revision-tag-<tag>`
        // (istio/istio `manifests/charts/istio-control/istio-discovery/templates/revision-tags-svc.yaml`).
        for (_, o) in inv.of_kind("Service") {
            if !o.name().starts_with("istiod-revision-tag-") {
                continue;
            }
            if let (Some(tag), Some(rev)) = (o.label("istio.io/tag"), o.label("istio.io/rev")) {
                mesh.tags
                    .entry(tag.to_string())
                    .or_insert_with(|| rev.to_string());
            }
        }

        let istio_namespaces: Vec<String> = if mesh.control_planes.is_empty() {
            vec!["istio-system".to_string()]
        } else {
            mesh.control_planes
                .iter()
                .map(|cp| cp.namespace.clone())
                .collect()
        };
        for (id, o) in inv.of_kind("ConfigMap") {
            if !istio_namespaces.iter().any(|ns| ns == o.namespace()) {
                continue;
            }
            let revision_of = |prefix: &str| -> Option<String> {
                if o.name() == prefix {
                    Some("default".to_string())
                } else {
                    o.name()
                        .strip_prefix(prefix)
                        .and_then(|r| r.strip_prefix('-'))
                        .map(str::to_string)
                }
            };
            if let Some(rev) = revision_of("istio") {
                if MESH_CONFIG.read_str(o.root()).is_some() {
                    let mesh_config = mesh_config_of(o).map(std::sync::Arc::new);
                    mesh.mesh_defaults.insert(
                        rev,
                        MeshDefaults {
                            object: id,
                            mesh_config,
                        },
                    );
                }
            }
            if let Some(rev) = revision_of("istio-sidecar-injector") {
                if let Some(values) = o
                    .root()
                    .str_at(&["data", "values"])
                    .and_then(|t| serde_json::from_str(t).ok())
                {
                    mesh.injector_values.insert(rev, (id, values));
                }
            }
        }

        mesh.kube_version = options.kube_version.clone().or_else(|| {
            inv.of_kind("Node")
                .filter_map(|(_, n)| {
                    n.root()
                        .str_at(&["status", "nodeInfo", "kubeletVersion"])
                        .and_then(Version::parse)
                })
                .min_by(|a, b| a.semver.cmp(&b.semver))
        });
        // A tag written unquoted as `1.20` is a number to YAML; only text tags are versions.
        mesh.install_tag = inv
            .of_kind("IstioOperator")
            .filter_map(|(_, o)| o.root().str_at(&["spec", "tag"]).and_then(Version::parse))
            .min_by(|a, b| a.semver.cmp(&b.semver));
        mesh
    }

    /// A revision name or tag, resolved to the revision it serves.
    pub fn resolve_revision<'a>(&'a self, name: &'a str) -> &'a str {
        self.tags.get(name).map(String::as_str).unwrap_or(name)
    }

    pub fn control_plane(&self, revision: &str) -> Option<&ControlPlane> {
        let revision = self.resolve_revision(revision);
        self.control_planes
            .iter()
            .find(|cp| cp.revision == revision)
    }

    /// The control plane that serves a workload's sidecar. When the input holds several
    /// installs of the same revision (one repository describing several clusters or
    /// environments), the one defined in the workload's own file is taken; if that does not
    /// decide and their versions differ, there is no answer rather than a wrong one.
    pub fn control_plane_for(&self, inv: &Inventory, w: &Workload) -> Option<&ControlPlane> {
        let revision = self.resolve_revision(w.membership.sidecar_revision()?);
        let candidates: Vec<&ControlPlane> = self
            .control_planes
            .iter()
            .filter(|cp| cp.revision == revision)
            .collect();
        match candidates.as_slice() {
            [] => None,
            [only] => Some(only),
            several => {
                let origin = inv.object(w.object).origin;
                let same_file = several
                    .iter()
                    .filter(|cp| cp.object.is_some_and(|id| matches!((inv.object(id).origin, origin), (Origin::File { file: a, .. }, Origin::File { file: b, .. }) if a == b)))
                    .collect::<Vec<_>>();
                if let [only] = same_file.as_slice() {
                    return Some(only);
                }
                let first = several[0];
                several
                    .iter()
                    .all(|cp| cp.version == first.version)
                    .then_some(first)
            }
        }
    }

    /// The version being upgraded from: `--current`, else the default revision's, else the
    /// oldest running control plane's, else the oldest IstioOperator `spec.tag`.
    pub fn current_version(&self) -> Option<&Version> {
        if let Some(v) = &self.current_override {
            return Some(v);
        }
        self.control_plane("default")
            .and_then(|cp| cp.version.as_ref())
            .or_else(|| {
                self.control_planes
                    .iter()
                    .filter_map(|cp| cp.version.as_ref())
                    .min_by(|a, b| a.semver.cmp(&b.semver))
            })
            .or(self.install_tag.as_ref())
    }

    /// Every control-plane version the input declares (istiod images, Istio chart
    /// releases, IstioOperator tags), oldest first, each once. Pre-merge mode compares the
    /// base commit's with the working tree's to find the version a change upgrades to.
    pub fn declared_versions(&self) -> Vec<&Version> {
        let mut versions: Vec<&Version> = self
            .control_planes
            .iter()
            .filter_map(|cp| cp.version.as_ref())
            .chain(self.install_tag.as_ref())
            .collect();
        versions.sort_by(|a, b| a.semver.cmp(&b.semver));
        versions.dedup();
        versions
    }

    /// The proxy image the injector of `revision` puts into pods, from the `values` of its
    /// `istio-sidecar-injector[-<rev>]` ConfigMap: (ConfigMap, hub, tag). `None` when the
    /// ConfigMap is not in the input or pins a full image in `global.proxy.image`.
    pub fn injector_image(&self, revision: &str) -> Option<(ObjectId, String, String)> {
        let (id, values) = self.injector_values.get(revision)?;
        let text = |p: &str| values.pointer(p).and_then(serde_json::Value::as_str);
        let image = text("/global/proxy/image").unwrap_or("proxyv2");
        if image.contains('/') || image.contains(':') {
            return None;
        }
        let tag = match values.pointer("/global/tag")? {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        Some((*id, text("/global/hub")?.to_string(), tag))
    }

    /// The control plane whose version [`Mesh::current_version`] reports, when that version
    /// comes from a control plane of the input (not from `--current` alone).
    pub fn current_control_plane(&self) -> Option<&ControlPlane> {
        let current = self.current_version()?;
        let with_current =
            |cp: &&ControlPlane| cp.object.is_some() && cp.version.as_ref() == Some(current);
        self.control_plane("default")
            .filter(with_current)
            .or_else(|| self.control_planes.iter().find(with_current))
    }

    fn enable_namespaces_by_default(&self) -> bool {
        self.injector_values
            .get("default")
            .and_then(|(_, v)| v.pointer("/sidecarInjectorWebhook/enableNamespacesByDefault"))
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false)
    }

    /// Whether the workload is meshed, following the injection webhooks' selectors and the
    /// injector's own label-over-annotation precedence.
    pub fn membership(&self, inv: &Inventory, w: &Workload) -> Membership {
        self.membership_with(inv, w, &w.pod_labels, &w.pod_annotations)
    }

    /// [`Mesh::membership`] as it would be with these pod labels and annotations instead of
    /// the workload's own: what a fix that moves a value between them would leave running.
    pub fn membership_with(
        &self,
        inv: &Inventory,
        w: &Workload,
        pod_labels: &Labels,
        pod_annotations: &Labels,
    ) -> Membership {
        let o = inv.object(w.object);
        // `image: auto` is the gateway chart's placeholder for the injector to fill in, not an
        // injected proxy: whether it gets one depends on the labels, as for any pod.
        let injected = w
            .proxy_container()
            .is_some_and(|(c, _, _)| c.image.as_deref() != Some("auto"));
        if injected {
            // Already injected (a pod read from a cluster): the revision that injected it.
            let requested = pod_labels
                .get("istio.io/rev")
                .map(str::to_string)
                .or_else(|| injected_revision(w))
                .unwrap_or_else(|| "default".to_string());
            return Membership::Sidecar {
                revision: self.resolve_revision(&requested).to_string(),
                requested,
            };
        }
        let ns_labels = inv.namespace_labels(o.namespace()).unwrap_or_default();
        match requested_injection(
            o.namespace(),
            &ns_labels,
            pod_labels,
            pod_annotations,
            w.spec.host_network,
            self.enable_namespaces_by_default(),
        ) {
            Requested::None => Membership::None,
            Requested::Ambient => Membership::Ambient,
            Requested::Sidecar(requested) => Membership::Sidecar {
                revision: self.resolve_revision(&requested).to_string(),
                requested,
            },
        }
    }

    /// The proxy settings a sidecar workload gets: Istio's defaults, overridden by the
    /// revision's mesh config, overridden by the pod's `proxy.istio.io/config` annotation.
    pub fn proxy_settings(&self, w: &Workload) -> ProxySettings {
        let mut settings = ProxySettings {
            termination_drain: Setting {
                value: DEFAULT_DRAIN,
                source: Source::Default,
            },
            hold_application: Setting {
                value: false,
                source: Source::Default,
            },
            exit_on_zero_active_connections: false,
        };
        let revision = w.membership.sidecar_revision().unwrap_or("default");
        if let Some(defaults) = self.mesh_defaults.get(revision) {
            if let Some(config) = defaults.default_config() {
                apply_proxy_config(
                    &mut settings,
                    config,
                    Source::MeshConfig {
                        object: defaults.object,
                    },
                );
            }
        }
        if let Some(config) = w
            .annotation("proxy.istio.io/config")
            .and_then(|t| yaml::parse_str(t).ok().flatten())
        {
            apply_proxy_config(&mut settings, config.root(), Source::Annotation);
        }
        // The injection template ORs ProxyConfig's value with the deprecated Helm value, so
        // the latter holds even where ProxyConfig says false.
        if let Some((id, values)) = self.injector_values.get(revision) {
            if values
                .pointer("/global/proxy/holdApplicationUntilProxyStarts")
                .and_then(serde_json::Value::as_bool)
                == Some(true)
            {
                settings.hold_application = Setting {
                    value: true,
                    source: Source::InjectorValues { object: *id },
                };
            }
        }
        settings
    }
}

fn apply_proxy_config(settings: &mut ProxySettings, config: Node, source: Source) {
    if let Some(d) = config
        .str_at(&["terminationDrainDuration"])
        .and_then(parse_duration)
    {
        settings.termination_drain = Setting {
            value: d,
            source: source.clone(),
        };
    }
    if let Some(crate::yaml::Value::Bool(b)) = config
        .get("holdApplicationUntilProxyStarts")
        .map(|n| n.value())
    {
        settings.hold_application = Setting {
            value: b,
            source: source.clone(),
        };
    }
    if let Some(v) = config.at(&["proxyMetadata", "EXIT_ON_ZERO_ACTIVE_CONNECTIONS"]) {
        settings.exit_on_zero_active_connections = matches!(
            crate::model::selector::scalar_string(v).as_str(),
            "true" | "1"
        );
    }
}

/// The `revision` recorded in `sidecar.istio.io/status` by the injector.
pub fn injected_revision(w: &Workload) -> Option<String> {
    let status: serde_json::Value =
        serde_json::from_str(w.annotation("sidecar.istio.io/status")?).ok()?;
    status.get("revision")?.as_str().map(str::to_string)
}

/// What a pod's labels ask of the injection webhooks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Requested {
    None,
    Sidecar(String),
    Ambient,
}

/// Istio's injection precedence, as the webhooks' selectors and the injector apply it
/// (istio/istio `manifests/charts/istio-control/istio-discovery/templates/mutatingwebhook.yaml`,
/// `pkg/kube/inject/inject.go` injectRequired):
/// - the namespace label `istio-injection` wins over `istio.io/rev`; any value but `enabled`
///   turns injection off for the namespace;
/// - then the namespace's `istio.io/rev`, then the pod's `istio.io/rev`, then the pod label
///   `sidecar.istio.io/inject=true` (default revision);
/// - the pod label (or, without it, the deprecated annotation) `sidecar.istio.io/inject=false`
///   opts a pod out; `hostNetwork` pods and system namespaces are never injected;
/// - without a sidecar, `istio.io/dataplane-mode=ambient` on the pod or namespace (unless the
///   pod says `none`) enrols it in ambient.
pub fn requested_injection(
    namespace: &str,
    ns_labels: &Labels,
    pod_labels: &Labels,
    pod_annotations: &Labels,
    host_network: bool,
    enable_namespaces_by_default: bool,
) -> Requested {
    fn get<'a>(m: &'a Labels, k: &str) -> Option<&'a str> {
        m.get(k)
    }
    let pod_inject_label = get(pod_labels, "sidecar.istio.io/inject");
    let pod_inject = pod_inject_label.or_else(|| get(pod_annotations, "sidecar.istio.io/inject"));
    let label_opt_out = pod_inject_label == Some("false");
    let webhook = if NEVER_INJECTED.contains(&namespace) || host_network || label_opt_out {
        None
    } else if let Some(v) = get(ns_labels, "istio-injection") {
        (v == "enabled").then_some("default")
    } else if let Some(rev) = get(ns_labels, "istio.io/rev") {
        Some(rev)
    } else if let Some(rev) = get(pod_labels, "istio.io/rev") {
        Some(rev)
    } else if pod_inject_label == Some("true") || enable_namespaces_by_default {
        Some("default")
    } else {
        None
    };
    if let Some(rev) = webhook {
        if pod_inject != Some("false") {
            return Requested::Sidecar(rev.to_string());
        }
    }
    let pod_mode = get(pod_labels, "istio.io/dataplane-mode");
    let ns_mode = get(ns_labels, "istio.io/dataplane-mode");
    if !NEVER_INJECTED.contains(&namespace)
        && (pod_mode == Some("ambient") || (ns_mode == Some("ambient") && pod_mode != Some("none")))
    {
        return Requested::Ambient;
    }
    Requested::None
}

/// The mesh configuration an `istio[-<revision>]` ConfigMap holds as YAML text under
/// `data.mesh`, parsed; `None` when absent or not YAML.
pub fn mesh_config_of(o: &super::Object) -> Option<yaml::Tree> {
    yaml::parse_str(MESH_CONFIG.read_str(o.root())?)
        .ok()
        .flatten()
}

/// istiod's switch for native sidecars (`ENABLE_NATIVE_SIDECARS`), named by the release data
/// (`rules/releases.yaml` `policy.native_sidecars.env`).
fn native_sidecars_env() -> &'static str {
    &crate::release::data().policy.native_sidecars.env
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn req(ns: &[(&str, &str)], pod: &[(&str, &str)], ann: &[(&str, &str)]) -> Requested {
        requested_injection("shop", &l(ns), &l(pod), &l(ann), false, false)
    }

    #[test]
    fn injection_precedence() {
        let sidecar = |r: &str| Requested::Sidecar(r.to_string());
        assert_eq!(
            req(&[("istio-injection", "enabled")], &[], &[]),
            sidecar("default")
        );
        assert_eq!(
            req(
                &[("istio-injection", "enabled"), ("istio.io/rev", "canary")],
                &[],
                &[]
            ),
            sidecar("default")
        );
        assert_eq!(
            req(
                &[("istio-injection", "disabled"), ("istio.io/rev", "canary")],
                &[],
                &[]
            ),
            Requested::None
        );
        assert_eq!(
            req(&[("istio.io/rev", "canary")], &[], &[]),
            sidecar("canary")
        );
        assert_eq!(
            req(
                &[("istio.io/rev", "stable")],
                &[("istio.io/rev", "canary")],
                &[]
            ),
            sidecar("stable")
        );
        assert_eq!(
            req(&[], &[("istio.io/rev", "canary")], &[]),
            sidecar("canary")
        );
        assert_eq!(
            req(&[], &[("sidecar.istio.io/inject", "true")], &[]),
            sidecar("default")
        );
        // The annotation alone does not make a webhook call the injector.
        assert_eq!(
            req(&[], &[], &[("sidecar.istio.io/inject", "true")]),
            Requested::None
        );
        assert_eq!(
            req(
                &[("istio-injection", "enabled")],
                &[("sidecar.istio.io/inject", "false")],
                &[]
            ),
            Requested::None
        );
        assert_eq!(
            req(
                &[("istio-injection", "enabled")],
                &[],
                &[("sidecar.istio.io/inject", "false")]
            ),
            Requested::None
        );
        // The label wins over the annotation.
        assert_eq!(
            req(
                &[("istio-injection", "enabled")],
                &[("sidecar.istio.io/inject", "true")],
                &[("sidecar.istio.io/inject", "false")]
            ),
            sidecar("default")
        );
        assert_eq!(
            req(&[("istio.io/dataplane-mode", "ambient")], &[], &[]),
            Requested::Ambient
        );
        assert_eq!(
            req(
                &[("istio.io/dataplane-mode", "ambient")],
                &[("istio.io/dataplane-mode", "none")],
                &[]
            ),
            Requested::None
        );
        assert_eq!(
            requested_injection(
                "kube-system",
                &l(&[("istio-injection", "enabled")]),
                &l(&[]),
                &l(&[]),
                false,
                false
            ),
            Requested::None
        );
        assert_eq!(
            requested_injection(
                "shop",
                &l(&[("istio-injection", "enabled")]),
                &l(&[]),
                &l(&[]),
                true,
                false
            ),
            Requested::None
        );
        assert_eq!(
            requested_injection("shop", &l(&[]), &l(&[]), &l(&[]), false, true),
            sidecar("default")
        );
    }
}
