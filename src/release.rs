//! Istio release facts, kept as data under `rules/` and embedded at build time: versions and
//! dates, the supported Kubernetes range, the upgrade-hop policy, the CRDs and API versions
//! each release serves with their OpenAPI schemas, and what each release deprecates,
//! removes or changes. Rules ask typed questions here; a new Istio release is a data edit.
//!
//! The files are parsed once, on first use, with the project's own YAML loader. They are
//! checked by the tests below, so a broken edit fails the build's tests rather than a run.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use serde::Deserialize;

use crate::model::date::Date;
use crate::model::Version;
use crate::rules::Strategy;
use crate::yaml;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/schemas.rs"));
}

mod files {
    include!(concat!(env!("OUT_DIR"), "/release_data.rs"));
}

/// One embedded schema file, parsed and compiled on first use.
#[derive(Debug)]
struct SchemaFile {
    text: &'static str,
    parsed: OnceLock<Option<serde_json::Value>>,
    /// Validator for the object's `spec`, with Kubernetes' structural semantics.
    spec_validator: OnceLock<Option<jsonschema::Validator>>,
}

/// Everything in `rules/`, parsed.
#[derive(Debug)]
pub struct ReleaseData {
    pub data_as_of: String,
    pub policy: Policy,
    /// Oldest first.
    pub releases: Vec<Release>,
    crds: BTreeMap<String, CrdRelease>,
    schema_index: SchemaIndex,
    pub removed_apis: RemovedApis,
    pub annotations: Vec<Annotation>,
    pub install_settings: InstallSettings,
    /// Changed defaults, oldest release first.
    pub behavior_changes: Vec<BehaviorChange>,
    /// Schema files, parsed on first use: IPF305 needs a handful, never all of them.
    schemas: HashMap<&'static str, SchemaFile>,
}

#[derive(Debug, Deserialize)]
struct ReleasesFile {
    data_as_of: String,
    policy: Policy,
    releases: Vec<Release>,
}

#[derive(Debug, Deserialize)]
pub struct Policy {
    pub skew: Skew,
    pub upgrade_hops: UpgradeHops,
    pub native_sidecars: NativeSidecarPolicy,
}

/// How istiod chooses between a classic and a native sidecar.
#[derive(Debug, Deserialize)]
pub struct NativeSidecarPolicy {
    /// istiod's switch (`ENABLE_NATIVE_SIDECARS`); its default per release is
    /// [`Release::native_sidecars_default`].
    pub env: String,
    /// The pod annotation that overrides the env (`sidecar.istio.io/nativeSidecar`).
    pub pod_annotation: String,
    /// With the env at `auto`: native only where every kubelet is at least this minor.
    pub auto_min_kubelet_minor: u64,
    #[serde(default)]
    pub sources: Vec<String>,
}

/// How far components may trail (or lead) the control plane, in minor versions.
#[derive(Debug, Deserialize)]
pub struct Skew {
    /// Envoy proxies: sidecars, gateways, waypoints.
    pub proxy: ComponentSkew,
    pub ztunnel: ComponentSkew,
    pub istio_cni: ComponentSkew,
}

#[derive(Debug, Deserialize)]
pub struct ComponentSkew {
    pub max_minors_behind_control_plane: i64,
    pub max_minors_ahead_of_control_plane: i64,
    pub statement: String,
    pub source: String,
}

#[derive(Debug, Deserialize)]
pub struct UpgradeHops {
    pub in_place: HopRule,
    pub canary: HopRule,
    pub any_strategy: Statement,
}

#[derive(Debug, Deserialize)]
pub struct HopRule {
    pub max_minors_per_step: i64,
    pub statement: String,
    pub source: String,
}

#[derive(Debug, Deserialize)]
pub struct Statement {
    pub statement: String,
    pub source: String,
}

impl Policy {
    /// The most minor versions one upgrade step may span with this strategy.
    pub fn hop(&self, strategy: Strategy) -> &HopRule {
        match strategy {
            Strategy::Canary => &self.upgrade_hops.canary,
            Strategy::InPlace => &self.upgrade_hops.in_place,
        }
    }
}

/// One Istio minor release.
#[derive(Debug, Deserialize)]
pub struct Release {
    pub minor: String,
    released: String,
    eol: Option<String>,
    pub eol_estimated: bool,
    /// When the end of life is not scheduled yet: how it will be set.
    #[serde(default)]
    pub eol_expected: Option<String>,
    pub latest_patch: String,
    pub kubernetes: Kubernetes,
    #[serde(default)]
    pub compatibility_versions: Vec<String>,
    /// Default of `ENABLE_NATIVE_SIDECARS` (`"false"`, `"auto"`); `None` before the flag.
    #[serde(default)]
    pub native_sidecars_default: Option<String>,
    #[serde(default)]
    pub sources: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct Kubernetes {
    pub supported: Range,
    pub minimum_enforced: String,
    #[serde(default)]
    pub minimum_enforced_by_patch: Vec<PatchMinimum>,
}

#[derive(Debug, Deserialize)]
pub struct Range {
    pub min: String,
    pub max: String,
}

#[derive(Debug, Deserialize)]
pub struct PatchMinimum {
    pub from_patch: String,
    pub min: String,
}

impl Release {
    pub fn released(&self) -> Date {
        Date::parse(&self.released).expect("release dates are checked by tests")
    }

    /// End of life; `None` while the release is supported and no date is announced.
    pub fn eol(&self) -> Option<Date> {
        self.eol
            .as_deref()
            .map(|d| Date::parse(d).expect("eol dates are checked by tests"))
    }

    /// The supported Kubernetes minors, inclusive.
    pub fn kubernetes_supported(&self) -> (Version, Version) {
        let v = |t: &str| Version::parse(t).expect("versions are checked by tests");
        (
            v(&self.kubernetes.supported.min),
            v(&self.kubernetes.supported.max),
        )
    }

    /// The minimum Kubernetes version `istioctl` enforces for this release (at `patch`
    /// when known: the minimum changed inside some minors).
    pub fn minimum_enforced(&self, istio: Option<&Version>) -> Version {
        let v = |t: &str| Version::parse(t).expect("versions are checked by tests");
        if let Some(istio) = istio.filter(|i| i.patch_known) {
            if let Some(m) = self
                .kubernetes
                .minimum_enforced_by_patch
                .iter()
                .filter(|m| v(&m.from_patch).semver <= istio.semver)
                .max_by(|a, b| v(&a.from_patch).semver.cmp(&v(&b.from_patch).semver))
            {
                return v(&m.min);
            }
        }
        v(&self.kubernetes.minimum_enforced)
    }

    /// The page that states this release's support status: the first `https://` source.
    pub fn web_source(&self) -> Option<&str> {
        self.sources
            .iter()
            .map(|s| s.split(' ').next().unwrap_or(s))
            .find(|s| s.starts_with("https://"))
    }
}

/// The CRDs one release ships.
#[derive(Debug, Deserialize)]
pub struct CrdRelease {
    pub minor: String,
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub source: String,
    pub crds: Vec<Crd>,
}

#[derive(Debug, Deserialize)]
pub struct Crd {
    pub name: String,
    pub group: String,
    pub kind: String,
    pub plural: String,
    pub served: Vec<String>,
    #[serde(default)]
    pub not_served: Vec<String>,
    pub storage: String,
    #[serde(default)]
    pub deprecated: Vec<String>,
}

impl Crd {
    pub fn serves(&self, version: &str) -> bool {
        self.served.iter().any(|v| v == version)
    }
}

#[derive(Debug, Deserialize)]
struct CrdsFile {
    releases: Vec<CrdRelease>,
}

/// `schemas/index.yaml`: per release, per CRD, per API version, the schema file.
#[derive(Debug, Deserialize)]
struct SchemaIndexFile {
    releases: BTreeMap<String, SchemaRelease>,
}

#[derive(Debug, Deserialize)]
struct SchemaRelease {
    crds: BTreeMap<String, BTreeMap<String, String>>,
}

/// The schema index flattened: one entry per (minor, CRD, API version), the three joined
/// by NUL, sorted, naming an embedded file. Nested maps of one or two entries each took
/// about five times the memory, on every run.
#[derive(Debug)]
struct SchemaIndex {
    entries: Vec<(Box<str>, &'static str)>,
}

impl SchemaIndex {
    /// Panics when the index names a file that is not embedded: a bug in the data, which
    /// the tests parse.
    fn new(file: SchemaIndexFile, schemas: &HashMap<&'static str, SchemaFile>) -> SchemaIndex {
        let mut entries: Vec<(Box<str>, &'static str)> = Vec::new();
        for (minor, release) in file.releases {
            for (crd, versions) in release.crds {
                for (api_version, path) in versions {
                    let (&path, _) = schemas.get_key_value(path.as_str()).unwrap_or_else(|| {
                        panic!("rules/schemas/index.yaml names missing file {path}")
                    });
                    entries.push((format!("{minor}\0{crd}\0{api_version}").into(), path));
                }
            }
        }
        entries.sort_unstable_by(|(a, _), (b, _)| Self::parts(a).cmp(Self::parts(b)));
        SchemaIndex { entries }
    }

    fn parts(key: &str) -> std::str::Split<'_, char> {
        key.split('\0')
    }

    /// The schema file the release of `version` applies to `crd` at `api_version`.
    fn file(&self, version: &Version, crd: &str, api_version: &str) -> Option<&'static str> {
        let minor = version.minor_string();
        let wanted = [minor.as_str(), crd, api_version];
        let i = self
            .entries
            .binary_search_by(|(key, _)| Self::parts(key).cmp(wanted))
            .ok()?;
        Some(self.entries[i].1)
    }
}

/// Istio API groups and kinds that no longer exist, and API versions Istio stopped reading.
#[derive(Debug, Deserialize)]
pub struct RemovedApis {
    pub removed_groups: Vec<RemovedGroup>,
    #[serde(default)]
    pub no_longer_processed: Vec<NoLongerProcessed>,
    /// Kubernetes API versions the API server stops serving (IPF312).
    #[serde(default)]
    pub kubernetes_apis_removed: Vec<KubernetesApiRemoved>,
    /// Components (Deployments, charts) Istio stopped shipping (IPF310).
    #[serde(default)]
    pub removed_components: Vec<RemovedComponent>,
}

/// A component Istio no longer ships: workloads matched by kind, name and image, or a chart.
#[derive(Debug, Deserialize)]
pub struct RemovedComponent {
    pub id: String,
    pub component: String,
    #[serde(default)]
    pub kinds: Vec<String>,
    #[serde(default)]
    pub names: Vec<String>,
    /// Also `<name>-<revision>`.
    #[serde(default)]
    pub revision_suffix: bool,
    #[serde(default)]
    pub images: Vec<String>,
    /// Matches only under one of `names` (the image alone also runs something Istio ships).
    #[serde(default)]
    pub require_name: bool,
    #[serde(default)]
    pub charts: Vec<String>,
    pub last_in: String,
    pub removed_in: String,
    pub replacement: String,
    #[serde(default)]
    pub note: Option<String>,
    pub sources: Vec<String>,
}

impl RemovedComponent {
    /// Whether the release `version` no longer ships it.
    pub fn removed_by(&self, version: &Version) -> bool {
        Version::parse(&self.removed_in).is_some_and(|v| v.minors_to(version) >= 0)
    }
}

impl RemovedApis {
    /// The removed component with this `id` (`in-cluster-operator`).
    pub fn component(&self, id: &str) -> Option<&RemovedComponent> {
        self.removed_components.iter().find(|c| c.id == id)
    }
}

/// A Kubernetes API version that the API server no longer serves from `removed_in`.
#[derive(Debug, Deserialize)]
pub struct KubernetesApiRemoved {
    pub api_version: String,
    pub kinds: Vec<String>,
    pub removed_in: String,
    /// The API version to write instead; `None` when the API is gone without a successor.
    pub replacement: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    pub sources: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct RemovedGroup {
    pub group: String,
    pub kinds: Vec<RemovedKind>,
    pub last_shipped_in: String,
    pub removed_in: String,
    pub replacement: String,
    #[serde(default)]
    pub sources: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct RemovedKind {
    pub kind: String,
    pub versions: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct NoLongerProcessed {
    pub group: String,
    pub kind: String,
    pub versions: Vec<String>,
    pub since: String,
    pub replacement: String,
    pub statement: String,
    #[serde(default)]
    pub sources: Vec<String>,
}

impl RemovedApis {
    pub fn group(&self, group: &str) -> Option<&RemovedGroup> {
        self.removed_groups.iter().find(|g| g.group == group)
    }
}

#[derive(Debug, Deserialize)]
struct AnnotationsFile {
    annotations: Vec<Annotation>,
}

/// An Istio annotation that is deprecated, ignored or removed in some release.
#[derive(Debug, Deserialize)]
pub struct Annotation {
    pub name: String,
    /// Kinds it is defined for; `Pod` includes pod templates, `Any` every kind.
    pub resources: Vec<String>,
    pub deprecated_in: Option<String>,
    pub ignored_from: Option<String>,
    pub removed_in: Option<String>,
    pub replacement: Option<Replacement>,
    #[serde(default)]
    pub replacement_derived: bool,
    /// Not reported when the object also carries this label (the label wins).
    #[serde(default)]
    pub skip_when_label_present: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    /// Written by Istio's tooling, not by users.
    #[serde(default)]
    pub set_by_istio: bool,
    #[serde(default)]
    pub never_effective: bool,
    #[serde(default)]
    pub sources: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct Replacement {
    pub kind: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub field: Option<String>,
    #[serde(default)]
    pub via: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
}

impl Replacement {
    /// In words, for messages: "the label `sidecar.istio.io/inject`".
    pub fn describe(&self) -> String {
        match (self.kind.as_str(), &self.name, &self.field, &self.text) {
            ("label", Some(name), _, _) => format!("the label `{name}`"),
            ("annotation", Some(name), _, _) => format!("the annotation `{name}`"),
            ("proxy_config", _, Some(field), _) => format!(
                "ProxyConfig `{field}`{}",
                self.via
                    .as_deref()
                    .map(|v| format!(" (in the {v})"))
                    .unwrap_or_default()
            ),
            (_, _, _, Some(text)) => text.clone(),
            (_, Some(name), _, _) => format!("`{name}`"),
            (_, _, Some(field), _) => format!("`{field}`"),
            _ => "its replacement".to_string(),
        }
    }
}

/// Where in the release order `version` sits relative to a release named in the data.
pub fn reached(version: &Version, minor: Option<&str>) -> bool {
    minor.and_then(Version::parse).is_some_and(|m| {
        version.semver.minor >= m.semver.minor && version.semver.major == m.semver.major
    })
}

/// Install-time settings (Helm values, IstioOperator fields, feature flags) that a release
/// removed or deprecated.
#[derive(Debug, Deserialize)]
pub struct InstallSettings {
    pub removed_values: Vec<RemovedSetting>,
    #[serde(default)]
    pub deprecated_values: Vec<RemovedSetting>,
    #[serde(default)]
    pub removed_iop_spec_fields: Vec<RemovedSetting>,
    #[serde(default)]
    pub removed_env: Vec<RemovedEnv>,
    /// MeshConfig fields still accepted but no longer implemented.
    #[serde(default)]
    pub mesh_config: Vec<RemovedSetting>,
    #[serde(default)]
    pub chart_changes: Vec<ChartChange>,
}

impl InstallSettings {
    /// The chart change from which the istio-base chart templates its CRDs (`kind:
    /// crd_helm_ownership`, 1.24): from that release `helm upgrade` of the base chart
    /// upgrades the CRDs; before it they sit in the chart's `crds/` directory, which Helm
    /// installs once and never upgrades.
    pub fn crd_templates_change(&self) -> Option<&ChartChange> {
        self.chart_changes
            .iter()
            .find(|c| c.kind.as_deref() == Some("crd_helm_ownership"))
    }
}

/// A chart-level change that breaks an upgrade run with the same commands as before.
#[derive(Debug, Deserialize)]
pub struct ChartChange {
    pub release: String,
    pub chart: String,
    /// What a rule keys on (`crd_helm_ownership`: IPF311), when one does.
    #[serde(default)]
    pub kind: Option<String>,
    pub change: String,
    pub sources: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct RemovedSetting {
    /// Dotted path; `*` matches any one key, `[]` any list item.
    pub path: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub removed_in: Option<String>,
    #[serde(default)]
    pub deprecated_in: Option<String>,
    #[serde(default)]
    pub ignored_from: Option<String>,
    #[serde(default)]
    pub effect: Option<String>,
    #[serde(default)]
    pub replacement: Option<String>,
    #[serde(default)]
    pub statement: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub sources: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct RemovedEnv {
    pub name: String,
    pub removed_in: String,
    #[serde(default)]
    pub set_via: Vec<String>,
    #[serde(default)]
    pub replacement: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub sources: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct BehaviorChangesFile {
    changes: Vec<BehaviorChange>,
}

/// A default that changed in one release.
#[derive(Debug, Deserialize)]
pub struct BehaviorChange {
    pub id: String,
    pub release: String,
    pub setting: ChangeSetting,
    pub old_default: String,
    pub new_default: String,
    pub summary: String,
    /// `pods`, `gateways`, `ambient_pods`, `istio-cni`, `MeshConfig`, `debug_clients` or a kind.
    pub affects: Vec<String>,
    pub affects_when: String,
    /// Structured conditions on objects; see rules/behavior-changes.yaml.
    #[serde(default)]
    pub match_hints: Vec<serde_json::Value>,
    pub compatibility_version: Option<CompatibilityPin>,
    pub opt_out: Option<String>,
    /// For a change that Istio applies only where every kubelet is at least this minor
    /// (1.`N`): pods on older kubelets are not affected.
    #[serde(default)]
    pub kubelet_min_minor_for_auto: Option<u64>,
    #[serde(default)]
    pub sources: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct ChangeSetting {
    pub kind: String,
    pub name: Option<String>,
    #[serde(default)]
    pub iop_path: Option<String>,
    #[serde(default)]
    pub removed_in: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct CompatibilityPin {
    pub pinned_by: Vec<String>,
}

impl ReleaseData {
    /// The changes an upgrade from `current` to `target` crosses (current < release <= target).
    pub fn changes_between<'a>(
        &'a self,
        current: &'a Version,
        target: &'a Version,
    ) -> impl Iterator<Item = &'a BehaviorChange> + 'a {
        self.behavior_changes.iter().filter(move |c| {
            Version::parse(&c.release).is_some_and(|r| {
                r.semver.minor > current.semver.minor && r.semver.minor <= target.semver.minor
            })
        })
    }
}

/// One release data file, from its JSON form when the build found it fresh, else from the
/// YAML (see `build.rs`).
fn parse<T: serde::de::DeserializeOwned>(name: &str) -> T {
    let (_, yaml, json) = files::RELEASE_DATA
        .iter()
        .find(|(n, _, _)| *n == name)
        .unwrap_or_else(|| panic!("rules/{name} is not embedded"));
    if let Some(json) = json {
        let mut de = serde_json::Deserializer::from_str(json);
        return serde_path_to_error::deserialize(&mut de)
            .unwrap_or_else(|e| panic!("rules/{name} (as JSON): {e}"));
    }
    serde_path_to_error::deserialize(yaml_as_json(name, yaml))
        .unwrap_or_else(|e| panic!("rules/{name}: {e}"))
}

fn yaml_as_json(name: &str, yaml: &str) -> serde_json::Value {
    yaml::parse_str(yaml)
        .unwrap_or_else(|e| panic!("rules/{name}: {e}"))
        .unwrap_or_else(|| panic!("rules/{name} is empty"))
        .root()
        .to_json()
}

/// The embedded release data, parsed on first use.
pub fn data() -> &'static ReleaseData {
    static DATA: OnceLock<ReleaseData> = OnceLock::new();
    DATA.get_or_init(|| {
        let releases: ReleasesFile = parse("releases.yaml");
        let crds: CrdsFile = parse("crds.yaml");
        let schemas: HashMap<&'static str, SchemaFile> = embedded::SCHEMA_FILES
            .iter()
            .map(|(path, text)| {
                (
                    *path,
                    SchemaFile {
                        text,
                        parsed: OnceLock::new(),
                        spec_validator: OnceLock::new(),
                    },
                )
            })
            .collect();
        let schema_index = SchemaIndex::new(parse("schemas/index.yaml"), &schemas);
        ReleaseData {
            data_as_of: releases.data_as_of,
            policy: releases.policy,
            releases: releases.releases,
            crds: crds
                .releases
                .into_iter()
                .map(|r| (r.minor.clone(), r))
                .collect(),
            schema_index,
            removed_apis: parse("removed-apis.yaml"),
            annotations: parse::<AnnotationsFile>("annotations.yaml").annotations,
            install_settings: parse("install-settings.yaml"),
            behavior_changes: parse::<BehaviorChangesFile>("behavior-changes.yaml").changes,
            schemas,
        }
    })
}

impl ReleaseData {
    /// The release of a version's minor (`1.28.2` → 1.28).
    pub fn release(&self, version: &Version) -> Option<&Release> {
        let minor = version.minor_string();
        self.releases.iter().find(|r| r.minor == minor)
    }

    pub fn oldest(&self) -> &Release {
        self.releases.first().expect("the data lists releases")
    }

    pub fn newest(&self) -> &Release {
        self.releases.last().expect("the data lists releases")
    }

    /// The CRDs the release of `version` ships.
    pub fn crds(&self, version: &Version) -> Option<&CrdRelease> {
        self.crds.get(&version.minor_string())
    }

    /// The CRD of `group`/`kind` in the release of `version`.
    pub fn crd(&self, version: &Version, group: &str, kind: &str) -> Option<&Crd> {
        self.crds(version)?
            .crds
            .iter()
            .find(|c| c.group == group && c.kind == kind)
    }

    /// Whether any release in the data ever shipped this group (the Istio API groups).
    pub fn is_istio_group(&self, group: &str) -> bool {
        group.ends_with(".istio.io")
    }

    /// A CRD by group and kind in any release, newest first (to name a CRD the input
    /// lacks even when no target is given).
    pub fn crd_any_release(&self, group: &str, kind: &str) -> Option<(&CrdRelease, &Crd)> {
        self.crds.values().rev().find_map(|r| {
            r.crds
                .iter()
                .find(|c| c.group == group && c.kind == kind)
                .map(|c| (r, c))
        })
    }

    /// The OpenAPI v3 schema the release of `version` applies to `crd` at `api_version`,
    /// as Istio ships it (without the implicit `apiVersion`, `kind`, `metadata`).
    pub fn schema(
        &self,
        version: &Version,
        crd: &str,
        api_version: &str,
    ) -> Option<&serde_json::Value> {
        self.schema_file(self.schema_index.file(version, crd, api_version)?)
    }

    fn schema_file(&self, file: &str) -> Option<&serde_json::Value> {
        let f = self.schemas.get(file)?;
        f.parsed
            .get_or_init(|| serde_json::from_str(f.text).ok())
            .as_ref()
    }

    /// A validator of `spec` for `crd` at `api_version` in the release of `version`, as
    /// `kubectl apply --validate=strict` would apply the CRD's schema (see
    /// [`crate::model::schema::strict`]). Compiled once per schema file.
    pub fn spec_validator(
        &self,
        version: &Version,
        crd: &str,
        api_version: &str,
    ) -> Option<&jsonschema::Validator> {
        let file = self.schema_index.file(version, crd, api_version)?;
        let f = self.schemas.get(file)?;
        f.spec_validator
            .get_or_init(|| {
                let spec = self.schema_file(file)?.pointer("/properties/spec")?;
                jsonschema::options()
                    .should_validate_formats(false)
                    .build(&crate::model::schema::strict(spec))
                    .ok()
            })
            .as_ref()
    }

    /// Whether two (release, CRD, version) triples validate with the same schema file.
    pub fn same_schema(&self, a: (&Version, &str, &str), b: (&Version, &str, &str)) -> bool {
        let file = |(v, crd, api): (&Version, &str, &str)| self.schema_index.file(v, crd, api);
        matches!((file(a), file(b)), (Some(x), Some(y)) if x == y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(t: &str) -> Version {
        Version::parse(t).unwrap()
    }

    /// `rules/generated/` holds the JSON form of every release data file and the hash of
    /// the YAML it came from; `build.rs` embeds the JSON only while the hash matches.
    /// `UPDATE_SNAPSHOTS=1 cargo test` rewrites them.
    #[test]
    fn generated_json_matches_the_yaml() {
        use crate::fingerprint::{hash_line, json_name};
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/generated");
        let mut hashes = String::new();
        let mut stale = Vec::new();
        for (name, yaml, embedded) in files::RELEASE_DATA {
            let json = serde_json::to_string(&yaml_as_json(name, yaml)).unwrap() + "\n";
            hashes.push_str(&hash_line(name, yaml.as_bytes()));
            hashes.push('\n');
            let path = dir.join(json_name(name));
            if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, &json).unwrap();
            } else if std::fs::read_to_string(&path).ok().as_deref() != Some(json.as_str())
                || embedded.is_none()
            {
                stale.push(name);
            }
        }
        if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
            std::fs::write(dir.join("hashes.txt"), &hashes).unwrap();
        }
        assert!(
            stale.is_empty(),
            "rules/generated/ is stale for {stale:?}; run `UPDATE_SNAPSHOTS=1 cargo test` and review the diff"
        );
    }

    /// Every listed release has everything the rules ask about, so adding a release to
    /// the data (and nothing else) makes every rule work for it.
    #[test]
    fn data_is_complete_for_every_release() {
        let d = data();
        assert!(Date::parse(&d.data_as_of).is_ok(), "data_as_of");
        assert!(!d.releases.is_empty());
        let mut previous: Option<u64> = None;
        for r in &d.releases {
            let minor = v(&r.minor);
            assert!(!minor.patch_known, "{}: minor must be like 1.28", r.minor);
            if let Some(p) = previous {
                assert_eq!(
                    minor.minor(),
                    p + 1,
                    "{}: releases must be consecutive",
                    r.minor
                );
            }
            previous = Some(minor.minor());
            let released =
                Date::parse(&r.released).unwrap_or_else(|e| panic!("{}: released {e}", r.minor));
            if let Some(eol) = &r.eol {
                let eol = Date::parse(eol).unwrap_or_else(|e| panic!("{}: eol {e}", r.minor));
                assert!(eol > released, "{}: eol before release", r.minor);
            } else {
                assert!(
                    r.eol_expected.is_some(),
                    "{}: without eol, say when it is expected",
                    r.minor
                );
            }
            let latest = v(&r.latest_patch);
            assert_eq!(latest.minor_string(), r.minor, "{}: latest_patch", r.minor);
            let (min, max) = r.kubernetes_supported();
            assert!(min.semver <= max.semver, "{}: kubernetes range", r.minor);
            assert!(Version::parse(&r.kubernetes.minimum_enforced).is_some());
            for m in &r.kubernetes.minimum_enforced_by_patch {
                assert_eq!(v(&m.from_patch).minor_string(), r.minor);
                assert!(Version::parse(&m.min).is_some());
            }
            for c in &r.compatibility_versions {
                assert!(v(c).semver < minor.semver, "{}: compatibility {c}", r.minor);
            }
            assert!(!r.sources.is_empty(), "{}: sources", r.minor);

            let crds = d
                .crds(&minor)
                .unwrap_or_else(|| panic!("{}: no CRD set in crds.yaml", r.minor));
            assert!(!crds.crds.is_empty(), "{}: empty CRD set", r.minor);
            for crd in &crds.crds {
                assert!(
                    crd.serves(&crd.storage),
                    "{} {}: storage not served",
                    r.minor,
                    crd.name
                );
                assert_eq!(crd.name, format!("{}.{}", crd.plural, crd.group));
                for served in &crd.served {
                    assert!(
                        d.schema(&minor, &crd.name, served).is_some(),
                        "{} {} {served}: no schema",
                        r.minor,
                        crd.name
                    );
                    assert!(
                        d.spec_validator(&minor, &crd.name, served).is_some(),
                        "{} {} {served}: the spec schema does not compile",
                        r.minor,
                        crd.name
                    );
                }
            }
        }
        assert_eq!(d.oldest().minor, "1.18");
        for c in &d.behavior_changes {
            assert!(
                d.release(&v(&c.release)).is_some(),
                "behaviour change {} names unknown release {}",
                c.id,
                c.release
            );
            for pin in c.compatibility_version.iter().flat_map(|p| &p.pinned_by) {
                assert!(v(pin).semver < v(&c.release).semver, "{}: pin {pin}", c.id);
            }
        }
        for a in &d.annotations {
            for r in [&a.deprecated_in, &a.ignored_from, &a.removed_in]
                .into_iter()
                .flatten()
            {
                assert!(Version::parse(r).is_some(), "{}: {r}", a.name);
            }
        }
    }

    /// The removal data IPF310 and IPF312 read: versions parse, every entry has a source,
    /// and an entry can match something.
    #[test]
    fn removals_are_sourced_and_usable() {
        let d = data();
        let apis = &d.removed_apis.kubernetes_apis_removed;
        assert!(!apis.is_empty());
        for a in apis {
            assert!(v(&a.removed_in).semver.minor > 0, "{}", a.api_version);
            assert!(
                a.api_version.contains('/'),
                "{}: group/version",
                a.api_version
            );
            assert!(!a.kinds.is_empty(), "{}: kinds", a.api_version);
            assert!(!a.sources.is_empty(), "{}: sources", a.api_version);
            if let Some(r) = &a.replacement {
                assert_ne!(r, &a.api_version, "{}: replaced by itself", a.api_version);
            }
        }
        let components = &d.removed_apis.removed_components;
        assert!(!components.is_empty());
        let mut ids = std::collections::HashSet::new();
        for c in components {
            assert!(ids.insert(&c.id), "duplicate component {}", c.id);
            assert_eq!(
                v(&c.last_in).minors_to(&v(&c.removed_in)),
                1,
                "{}: removed_in follows last_in",
                c.id
            );
            assert!(!c.sources.is_empty(), "{}: sources", c.id);
            let workload = !c.kinds.is_empty() && !c.images.is_empty() && !c.names.is_empty();
            assert!(
                workload || !c.charts.is_empty(),
                "{}: needs kinds, names and images, or charts",
                c.id
            );
        }
    }

    #[test]
    fn every_schema_file_parses_and_is_indexed() {
        let d = data();
        // Building the index already refused files that are not embedded.
        let indexed: std::collections::HashSet<&str> = d
            .schema_index
            .entries
            .iter()
            .map(|(_, path)| *path)
            .collect();
        for (path, f) in &d.schemas {
            assert!(indexed.contains(path), "{path} is not in the index");
            let json: serde_json::Value = serde_json::from_str(f.text).expect(path);
            assert!(json.is_object(), "{path}");
        }
    }

    #[test]
    fn answers_typed_questions() {
        let d = data();
        let r128 = d.release(&v("1.28.2")).unwrap();
        assert_eq!(r128.eol(), Date::parse("2026-07-01").ok());
        assert_eq!(
            r128.minimum_enforced(Some(&v("1.28.0"))).to_string(),
            "1.29"
        );
        assert_eq!(
            r128.minimum_enforced(Some(&v("1.28.3"))).to_string(),
            "1.30"
        );
        assert_eq!(r128.minimum_enforced(None).to_string(), "1.30");
        assert!(d.release(&v("1.17")).is_none());
        assert_eq!(d.policy.hop(Strategy::Canary).max_minors_per_step, 2);
        assert_eq!(d.policy.hop(Strategy::InPlace).max_minors_per_step, 1);
        assert_eq!(d.policy.skew.proxy.max_minors_behind_control_plane, 1);
        assert_eq!(d.policy.skew.proxy.max_minors_ahead_of_control_plane, 0);
        let vs = d
            .crd(&v("1.30"), "networking.istio.io", "VirtualService")
            .unwrap();
        assert!(vs.serves("v1alpha3") && vs.serves("v1"));
        assert!(d
            .schema(&v("1.30.3"), "virtualservices.networking.istio.io", "v1")
            .is_some());
        // Every part of the key must match, not a prefix of it.
        for (minor, crd, api) in [
            ("1.30.3", "virtualservices.networking.istio.io", "v2"),
            ("1.30.3", "virtualservices.networking.istio.i", "v1"),
            ("1.30.3", "virtualservices.networking.istio.io", "v"),
            ("1.3.0", "virtualservices.networking.istio.io", "v1"),
            ("1.99.0", "virtualservices.networking.istio.io", "v1"),
        ] {
            assert!(
                d.schema(&v(minor), crd, api).is_none(),
                "{minor} {crd} {api}"
            );
        }
        let vs = "virtualservices.networking.istio.io";
        assert!(d.same_schema((&v("1.30.0"), vs, "v1beta1"), (&v("1.30.1"), vs, "v1beta1")));
        assert!(!d.same_schema((&v("1.30.0"), vs, "v1beta1"), (&v("1.30.1"), vs, "v9")));
    }
}
