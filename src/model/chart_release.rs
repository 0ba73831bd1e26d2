//! Helm releases of Istio's charts declared as objects (SPEC §3a): Flux `HelmRelease` (with a
//! `HelmRepository` or `OCIRepository` source) and Argo CD `Application` / `ApplicationSet`
//! Helm sources. In a GitOps repository these are the control plane: the chart version is
//! the component's version and the values set its revision, tags and mesh config. An Istio
//! upgrade there is a one-line chart version bump, so the model has to see them.
//!
//! Which charts and repositories are Istio's is data (`rules/charts.yaml`). A chart named
//! `gateway` or `base` in someone else's repository is never claimed; a repository that also
//! serves an `istiod` chart in the input is taken for a mirror of Istio's.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use serde::Deserialize;

use super::selector::scalar_string;
use super::{FieldPath, Inventory, ObjectId, Version};
use crate::yaml::{self, Node, Tree};

/// What an Istio chart installs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChartComponent {
    /// CRDs and cluster-wide resources.
    Base,
    Istiod,
    IstiodRemote,
    Gateway,
    IstioCni,
    Ztunnel,
}

impl ChartComponent {
    pub fn as_str(self) -> &'static str {
        match self {
            ChartComponent::Base => "base",
            ChartComponent::Istiod => "istiod",
            ChartComponent::IstiodRemote => "istiod-remote",
            ChartComponent::Gateway => "gateway",
            ChartComponent::IstioCni => "istio-cni",
            ChartComponent::Ztunnel => "ztunnel",
        }
    }
}

#[derive(Debug, Deserialize)]
struct ChartsFile {
    charts: Vec<ChartEntry>,
    repositories: Vec<Repository>,
}

#[derive(Debug, Deserialize)]
struct ChartEntry {
    name: String,
    component: ChartComponent,
}

#[derive(Debug, Deserialize)]
struct Repository {
    url: String,
}

fn charts_data() -> &'static ChartsFile {
    static DATA: OnceLock<ChartsFile> = OnceLock::new();
    DATA.get_or_init(|| {
        let text = include_str!("../../rules/charts.yaml");
        let json = yaml::parse_str(text)
            .unwrap_or_else(|e| panic!("rules/charts.yaml: {e}"))
            .unwrap_or_else(|| panic!("rules/charts.yaml is empty"))
            .root()
            .to_json();
        serde_path_to_error::deserialize(json).unwrap_or_else(|e| panic!("rules/charts.yaml: {e}"))
    })
}

/// A repository URL as compared: no scheme, no trailing slash, lower case.
fn normalize_repo(url: &str) -> String {
    let url = url.trim();
    let without_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    without_scheme.trim_end_matches('/').to_ascii_lowercase()
}

/// The repository of a chart whose HelmRepository is not in the input but whose names say
/// it is Istio's.
const ISTIO_BY_NAME: &str = "(istio chart, repository not in the input)";

/// Chart names no one but Istio publishes.
fn unmistakable(chart: &str) -> bool {
    chart.starts_with("istio") || chart == "ztunnel"
}

fn is_istio_repository(url: &str) -> bool {
    if url == ISTIO_BY_NAME {
        return true;
    }
    let url = normalize_repo(url);
    charts_data()
        .repositories
        .iter()
        .any(|r| normalize_repo(&r.url) == url)
}

fn component_of(chart: &str) -> Option<ChartComponent> {
    charts_data()
        .charts
        .iter()
        .find(|c| c.name == chart)
        .map(|c| c.component)
}

/// Who applies the release.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Installer {
    Flux,
    ArgoCd,
}

/// One place that sets values, lowest precedence first in [`ChartRelease::values`].
#[derive(Clone, Debug)]
pub enum ValuesLayer {
    /// A values tree that is part of an object (`spec.values`, `valuesObject`).
    InObject { owner: ObjectId, path: FieldPath },
    /// A values document held in a string of an object (`helm.values`, a ConfigMap's
    /// `values.yaml`), parsed; findings point at `path` and below, into the string.
    InString {
        owner: ObjectId,
        path: FieldPath,
        tree: Arc<Tree>,
    },
    /// `--set`-style parameters (Argo CD `helm.parameters`): dotted name and the path of the
    /// item that sets it.
    Parameters {
        owner: ObjectId,
        items: Vec<(String, FieldPath, String)>,
    },
}

/// A values tree and where it is, for rules that walk values like a `--values` file.
#[derive(Clone, Copy, Debug)]
pub struct ValuesRoot<'a> {
    pub node: Node<'a>,
    pub owner: ObjectId,
    pub path: &'a FieldPath,
}

/// One Helm release of an Istio chart.
#[derive(Clone, Debug)]
pub struct ChartRelease {
    /// The HelmRelease, Application or ApplicationSet.
    pub object: ObjectId,
    pub installer: Installer,
    pub chart: String,
    pub component: ChartComponent,
    /// The chart version as written, after Flux variable substitution.
    pub version_text: Option<String>,
    pub version: Option<Version>,
    /// Where in `object` the version is set (or the chart is named, when no version is).
    pub version_field: FieldPath,
    /// Where in `object` the chart is named (`chartRef` for a Flux OCI chart).
    pub chart_field: FieldPath,
    /// The Helm release name the controller installs under: Flux `spec.releaseName`, else
    /// `<targetNamespace>-<name>` with a target namespace, else the HelmRelease's name;
    /// Argo CD `helm.releaseName`, else the Application's name.
    pub release_name: String,
    /// The namespace the chart is installed into.
    pub namespace: String,
    pub values: Vec<ValuesLayer>,
}

impl ChartRelease {
    /// The values trees, lowest precedence first (parameters are not trees; see
    /// [`ChartRelease::value`]).
    pub fn values<'a>(&'a self, inv: &'a Inventory) -> Vec<ValuesRoot<'a>> {
        self.values
            .iter()
            .filter_map(|layer| match layer {
                ValuesLayer::InObject { owner, path } => Some(ValuesRoot {
                    node: path.resolve(inv.object(*owner).root())?,
                    owner: *owner,
                    path,
                }),
                ValuesLayer::InString { owner, path, tree } => Some(ValuesRoot {
                    node: tree.root(),
                    owner: *owner,
                    path,
                }),
                ValuesLayer::Parameters { .. } => None,
            })
            .collect()
    }

    /// The `--set`-style parameters: (dotted name, field of its value, object).
    pub fn parameters(&self) -> impl Iterator<Item = (&str, &FieldPath, ObjectId)> + '_ {
        self.values.iter().flat_map(|layer| match layer {
            ValuesLayer::Parameters { owner, items } => items
                .iter()
                .map(|(name, path, _)| (name.as_str(), path, *owner))
                .collect::<Vec<_>>(),
            _ => Vec::new(),
        })
    }

    /// The effective scalar value at `keys`, as Helm merges the layers, with the object and
    /// field that set it.
    pub fn value(&self, inv: &Inventory, keys: &[&str]) -> Option<(String, ObjectId, FieldPath)> {
        let dotted = keys.join(".");
        for layer in self.values.iter().rev() {
            match layer {
                ValuesLayer::Parameters { owner, items } => {
                    if let Some((_, path, value)) = items.iter().rev().find(|(n, ..)| *n == dotted)
                    {
                        return Some((value.clone(), *owner, path.clone()));
                    }
                }
                _ => {
                    let root = match layer {
                        ValuesLayer::InObject { owner, path } => path
                            .resolve(inv.object(*owner).root())
                            .map(|n| (n, *owner, path)),
                        ValuesLayer::InString { owner, path, tree } => {
                            Some((tree.root(), *owner, path))
                        }
                        ValuesLayer::Parameters { .. } => None,
                    };
                    let Some((node, owner, path)) = root else {
                        continue;
                    };
                    if let Some(found) = node.at(keys).filter(|n| !n.is_map() && !n.is_seq()) {
                        let field = keys.iter().fold(path.clone(), |p, k| p.key(k));
                        return Some((scalar_string(found), owner, field));
                    }
                }
            }
        }
        None
    }

    /// The list of strings at `keys` in the highest layer that sets it.
    pub fn list(&self, inv: &Inventory, keys: &[&str]) -> Vec<String> {
        self.values(inv)
            .iter()
            .rev()
            .find_map(|v| v.node.at(keys).and_then(Node::as_seq))
            .map(|items| items.iter().map(scalar_string).collect())
            .unwrap_or_default()
    }

    /// The revision this release installs or belongs to (`revision` value; empty is the
    /// default revision).
    pub fn revision(&self, inv: &Inventory) -> String {
        match self.value(inv, &["revision"]) {
            Some((r, ..)) if !r.is_empty() => r,
            _ => "default".to_string(),
        }
    }
}

/// Flux post-build variables (`spec.postBuild.substitute` and `substituteFrom` ConfigMaps in
/// the input) of every Flux Kustomization, by name. A variable set to different values by
/// different Kustomizations is left out: which one applies to a file would need the
/// repository layout, and a guess would be a wrong version.
fn flux_variables(inv: &Inventory) -> BTreeMap<String, String> {
    let mut seen: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut add = |name: String, value: String| {
        seen.entry(name)
            .and_modify(|v| {
                if v.as_deref() != Some(value.as_str()) {
                    *v = None;
                }
            })
            .or_insert(Some(value));
    };
    for (_, k) in inv.of_kind("Kustomization") {
        if !k.api_version().starts_with("kustomize.toolkit.fluxcd.io/") {
            continue;
        }
        let Some(post_build) = k.root().at(&["spec", "postBuild"]) else {
            continue;
        };
        for e in post_build
            .get("substitute")
            .and_then(Node::as_map)
            .into_iter()
            .flat_map(|m| m.iter())
        {
            add(e.key.to_string(), scalar_string(e.value));
        }
        for from in post_build
            .get("substituteFrom")
            .and_then(Node::as_seq)
            .unwrap_or_default()
            .iter()
        {
            let (Some(kind), Some(name)) = (from.str_at(&["kind"]), from.str_at(&["name"])) else {
                continue;
            };
            if kind != "ConfigMap" {
                continue; // Secret data is base64 and not worth decoding for a version.
            }
            let Some(cm) = inv.get("ConfigMap", k.namespace(), name) else {
                continue;
            };
            for e in cm
                .root()
                .get("data")
                .and_then(Node::as_map)
                .into_iter()
                .flat_map(|m| m.iter())
            {
                add(e.key.to_string(), scalar_string(e.value));
            }
        }
    }
    seen.into_iter()
        .filter_map(|(k, v)| Some((k, v?)))
        .collect()
}

/// Replaces Flux's `${var}` and `${var:=default}` in `text`; `None` when a variable is
/// neither set nor defaulted (the text cannot be known).
fn substitute(text: &str, vars: &BTreeMap<String, String>) -> Option<String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("${") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let end = after.find('}')?;
        let inner = &after[..end];
        let (name, default) = match inner.split_once(":=") {
            Some((n, d)) => (n, Some(d)),
            None => (inner, None),
        };
        out.push_str(vars.get(name.trim()).map(String::as_str).or(default)?);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// A chart version as a version: `1.27.2`, `v1.27.2`, and the ranges that fix a minor
/// (`1.27.x`, `1.27.*`, `~1.27.0`, `1.27`). Other ranges tell no version.
fn chart_version(text: &str) -> Option<Version> {
    let t = text.trim();
    let (t, tilde) = match t.strip_prefix('~') {
        Some(rest) => (rest.trim(), true),
        None => (t, false),
    };
    if let Some(minor) = t.strip_suffix(".x").or_else(|| t.strip_suffix(".*")) {
        return Version::parse(minor).filter(|v| !v.patch_known);
    }
    if !t.starts_with(|c: char| c.is_ascii_digit() || c == 'v')
        || t.contains([' ', ',', '<', '>', '|', '*', 'x'])
    {
        return None;
    }
    // `~1.27.0` is any 1.27 patch: only the minor is known.
    Version::parse(t).map(|v| Version {
        patch_known: v.patch_known && !tilde,
        ..v
    })
}

/// Every Istio chart release in the input, in object order.
pub fn find(inv: &Inventory) -> Vec<ChartRelease> {
    let flux_kinds = ["HelmRelease", "Application", "ApplicationSet"];
    if flux_kinds.iter().all(|k| inv.of_kind(k).next().is_none()) {
        return Vec::new();
    }
    let vars = flux_variables(inv);
    let mut found: Vec<Candidate> = Vec::new();
    for (id, o) in inv.of_kind("HelmRelease") {
        if o.api_version().starts_with("helm.toolkit.fluxcd.io/") {
            found.extend(flux_release(inv, id, &vars));
        }
    }
    for kind in ["Application", "ApplicationSet"] {
        for (id, o) in inv.of_kind(kind) {
            if o.api_version().starts_with("argoproj.io/") {
                found.extend(argo_releases(inv, id));
            }
        }
    }
    // A repository that serves an istiod chart here is Istio's, or a mirror of it.
    let mirrors: Vec<String> = found
        .iter()
        .filter(|c| c.release.component == ChartComponent::Istiod)
        .map(|c| normalize_repo(&c.repository))
        .collect();
    let mut releases: Vec<ChartRelease> = found
        .into_iter()
        .filter(|c| {
            is_istio_repository(&c.repository)
                || mirrors.iter().any(|m| *m == normalize_repo(&c.repository))
        })
        .map(|c| c.release)
        .collect();
    releases.sort_by_key(|r| r.object);
    releases
}

/// A release of a chart with an Istio chart's name, and the repository it comes from.
struct Candidate {
    release: ChartRelease,
    repository: String,
}

fn flux_release(
    inv: &Inventory,
    id: ObjectId,
    vars: &BTreeMap<String, String>,
) -> Option<Candidate> {
    let o = inv.object(id);
    let spec = o.root().get("spec")?;
    let namespace = spec
        .str_at(&["targetNamespace"])
        .unwrap_or(o.namespace())
        .to_string();
    let source_namespace = |node: Node<'_>| {
        node.str_at(&["namespace"])
            .unwrap_or(o.namespace())
            .to_string()
    };
    let (chart, repository, version_text, version_field, chart_field) =
        if let Some(chart_spec) = spec.at(&["chart", "spec"]) {
            let chart = chart_spec.str_at(&["chart"])?;
            let source = chart_spec.get("sourceRef")?;
            let kind = source.str_at(&["kind"])?;
            if kind != "HelmRepository" {
                return None; // A chart from a Git repository or bucket: not a published chart.
            }
            let source_name = source.str_at(&["name"])?;
            // The HelmRepository may be outside the paths checked: then the chart and
            // source names have to tell (`istiod`, or `base` from a source named `istio`).
            let url = match inv.get("HelmRepository", &source_namespace(source), source_name) {
                Some(repo) => repo.root().str_at(&["spec", "url"])?.to_string(),
                None if unmistakable(chart) || source_name.contains("istio") => {
                    ISTIO_BY_NAME.to_string()
                }
                None => return None,
            };
            let version = chart_spec.get("version").map(scalar_string);
            let field = FieldPath::parse(if version.is_some() {
                "/spec/chart/spec/version"
            } else {
                "/spec/chart/spec/chart"
            });
            (
                chart.to_string(),
                url,
                version,
                field,
                FieldPath::parse("/spec/chart/spec/chart"),
            )
        } else if let Some(chart_ref) = spec.get("chartRef") {
            if chart_ref.str_at(&["kind"])? != "OCIRepository" {
                return None;
            }
            let repo = inv.get(
                "OCIRepository",
                &source_namespace(chart_ref),
                chart_ref.str_at(&["name"])?,
            )?;
            let url = repo.root().str_at(&["spec", "url"])?;
            let (repository, chart) = url.trim_end_matches('/').rsplit_once('/')?;
            let version = repo
                .root()
                .at(&["spec", "ref", "tag"])
                .or_else(|| repo.root().at(&["spec", "ref", "semver"]))
                .map(scalar_string);
            (
                chart.to_string(),
                repository.to_string(),
                version,
                FieldPath::parse("/spec/chartRef"),
                FieldPath::parse("/spec/chartRef"),
            )
        } else {
            return None;
        };
    let component = component_of(&chart)?;
    let version_text = version_text.and_then(|v| substitute(&v, vars));
    let mut values = Vec::new();
    // valuesFrom in order, then spec.values on top (Flux's merge order).
    for from in spec
        .get("valuesFrom")
        .and_then(Node::as_seq)
        .unwrap_or_default()
        .iter()
    {
        let (Some(kind), Some(name)) = (from.str_at(&["kind"]), from.str_at(&["name"])) else {
            continue;
        };
        let key = from.str_at(&["valuesKey"]).unwrap_or("values.yaml");
        // Not in the input: nothing to read (Flux fails the release unless it is optional).
        let Some(owner) = inv.all(kind, o.namespace(), name).next() else {
            continue;
        };
        let Some((field, text)) = data_entry(inv.object(owner).root(), kind, key) else {
            continue;
        };
        if let Some(target) = from.str_at(&["targetPath"]) {
            // One value placed at a path, like a `--set`.
            values.push(ValuesLayer::Parameters {
                owner,
                items: vec![(target.to_string(), field, text)],
            });
        } else if let Some(tree) = parse_values(&text) {
            values.push(ValuesLayer::InString {
                owner,
                path: field,
                tree,
            });
        }
    }
    if spec.get("values").is_some_and(Node::is_map) {
        values.push(ValuesLayer::InObject {
            owner: id,
            path: FieldPath::parse("/spec/values"),
        });
    }
    Some(Candidate {
        release: ChartRelease {
            object: id,
            installer: Installer::Flux,
            chart,
            component,
            version: version_text.as_deref().and_then(chart_version),
            version_text,
            version_field,
            chart_field,
            release_name: spec
                .str_at(&["releaseName"])
                .map(str::to_string)
                .unwrap_or_else(|| match spec.str_at(&["targetNamespace"]) {
                    Some(ns) => format!("{ns}-{}", o.name()),
                    None => o.name().to_string(),
                }),
            namespace,
            values,
        },
        repository,
    })
}

/// The text of a ConfigMap's `data.<key>`, or of a Secret's `stringData.<key>` (Secret
/// `data` is base64 and not decoded), with its field path.
fn data_entry(root: Node, kind: &str, key: &str) -> Option<(FieldPath, String)> {
    let section = match kind {
        "ConfigMap" => "data",
        "Secret" => "stringData",
        _ => return None,
    };
    let text = root.get(section)?.get(key)?.as_str()?;
    Some((FieldPath::root().key(section).key(key), text.to_string()))
}

/// A values document held in a string; `None` when it is not a mapping (a template, or
/// broken YAML, which Helm would reject too).
fn parse_values(text: &str) -> Option<Arc<Tree>> {
    let tree = yaml::parse_str(text).ok()??;
    tree.root().is_map().then(|| Arc::new(tree))
}

/// A `helm.valueFiles` entry of an Argo CD multi-source Application that reads a file from
/// another source's repository (`$values/path`, where a source says `ref: values`).
#[derive(Clone, Debug)]
pub struct ValuesRef {
    /// Index of the declaring object in the list given.
    pub object: usize,
    /// The entry as written, and the line it is on.
    pub entry: String,
    pub line: u32,
    /// The path inside the referenced repository.
    pub path: String,
}

/// The `$ref/path` value files of the Istio chart sources of Argo CD Applications and
/// ApplicationSets in `objects`.
pub fn argo_values_refs(objects: &[crate::model::Object]) -> Vec<ValuesRef> {
    let mut out = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        let spec = match (o.group(), o.kind()) {
            ("argoproj.io", "Application") => o.root().get("spec"),
            ("argoproj.io", "ApplicationSet") => o.root().at(&["spec", "template", "spec"]),
            _ => None,
        };
        let Some(sources) = spec.and_then(|s| s.get("sources")).and_then(Node::as_seq) else {
            continue;
        };
        let refs: Vec<&str> = sources.iter().filter_map(|s| s.str_at(&["ref"])).collect();
        for source in sources.iter() {
            if source.str_at(&["chart"]).and_then(component_of).is_none() {
                continue;
            }
            for item in source
                .at(&["helm", "valueFiles"])
                .and_then(Node::as_seq)
                .unwrap_or_default()
                .iter()
            {
                let Some(entry) = item.as_str() else { continue };
                let Some((name, path)) = entry.strip_prefix('$').and_then(|e| e.split_once('/'))
                else {
                    continue;
                };
                if refs.contains(&name) {
                    out.push(ValuesRef {
                        object: i,
                        entry: entry.to_string(),
                        line: item.span().start.line,
                        path: path.to_string(),
                    });
                }
            }
        }
    }
    out
}

fn argo_releases(inv: &Inventory, id: ObjectId) -> Vec<Candidate> {
    let o = inv.object(id);
    let spec_path = if o.kind() == "ApplicationSet" {
        FieldPath::parse("/spec/template/spec")
    } else {
        FieldPath::parse("/spec")
    };
    let Some(spec) = spec_path.resolve(o.root()) else {
        return Vec::new();
    };
    let namespace = spec
        .str_at(&["destination", "namespace"])
        .unwrap_or(o.namespace())
        .to_string();
    let mut sources: Vec<(FieldPath, Node)> = Vec::new();
    if let Some(s) = spec.get("source") {
        sources.push((spec_path.clone().key("source"), s));
    }
    for (i, s) in spec
        .get("sources")
        .and_then(Node::as_seq)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        sources.push((spec_path.clone().key("sources").index(i), s));
    }
    let mut out = Vec::new();
    for (path, source) in sources {
        let (Some(chart), Some(repo)) = (source.str_at(&["chart"]), source.str_at(&["repoURL"]))
        else {
            continue;
        };
        let Some(component) = component_of(chart) else {
            continue;
        };
        let version_text = source.get("targetRevision").map(scalar_string);
        let version_field = path.clone().key(if version_text.is_some() {
            "targetRevision"
        } else {
            "chart"
        });
        let mut values = Vec::new();
        if let Some(helm) = source.get("helm") {
            let helm_path = path.clone().key("helm");
            // Argo CD: valuesObject wins over values; parameters over both.
            if let Some(text) = helm.get("values").and_then(Node::as_str) {
                if let Some(tree) = parse_values(text) {
                    values.push(ValuesLayer::InString {
                        owner: id,
                        path: helm_path.clone().key("values"),
                        tree,
                    });
                }
            } else if helm.get("values").is_some_and(Node::is_map) {
                // Older Argo CD accepted an object under `values`.
                values.push(ValuesLayer::InObject {
                    owner: id,
                    path: helm_path.clone().key("values"),
                });
            }
            if helm.get("valuesObject").is_some_and(Node::is_map) {
                values.push(ValuesLayer::InObject {
                    owner: id,
                    path: helm_path.clone().key("valuesObject"),
                });
            }
            let items: Vec<(String, FieldPath, String)> = helm
                .get("parameters")
                .and_then(Node::as_seq)
                .unwrap_or_default()
                .iter()
                .enumerate()
                .filter_map(|(i, p)| {
                    let name = p.str_at(&["name"])?;
                    let value = p.get("value").map(scalar_string).unwrap_or_default();
                    Some((
                        name.to_string(),
                        helm_path.clone().key("parameters").index(i).key("value"),
                        value,
                    ))
                })
                .collect();
            if !items.is_empty() {
                values.push(ValuesLayer::Parameters { owner: id, items });
            }
        }
        out.push(Candidate {
            release: ChartRelease {
                object: id,
                installer: Installer::ArgoCd,
                chart: chart.to_string(),
                component,
                version: version_text.as_deref().and_then(chart_version),
                version_text,
                version_field,
                chart_field: path.clone().key("chart"),
                release_name: source
                    .str_at(&["helm", "releaseName"])
                    .unwrap_or(o.name())
                    .to_string(),
                namespace: namespace.clone(),
                values,
            },
            repository: repo.to_string(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_data_parses() {
        assert_eq!(component_of("istiod"), Some(ChartComponent::Istiod));
        assert_eq!(component_of("istio-ingress"), Some(ChartComponent::Gateway));
        assert!(is_istio_repository(
            "https://istio-release.storage.googleapis.com/charts/"
        ));
        assert!(is_istio_repository("oci://gcr.io/istio-release/charts"));
        assert!(!is_istio_repository("https://charts.example.com"));
    }

    #[test]
    fn versions_and_ranges() {
        let v = |t: &str| chart_version(t).map(|v| v.to_string());
        assert_eq!(v("1.27.2").as_deref(), Some("1.27.2"));
        assert_eq!(v("v1.27.2").as_deref(), Some("1.27.2"));
        assert_eq!(v("1.27.x").as_deref(), Some("1.27"));
        assert_eq!(v("~1.27.0").as_deref(), Some("1.27"));
        assert_eq!(v(">=1.20.0 <1.28.0"), None);
        assert_eq!(v("*"), None);
        assert_eq!(v("${version}"), None);
    }

    #[test]
    fn flux_substitution() {
        let vars: BTreeMap<String, String> = [("version".to_string(), "1.19.3".to_string())].into();
        assert_eq!(substitute("${version}", &vars).as_deref(), Some("1.19.3"));
        assert_eq!(
            substitute("${other:=1.20.0}", &vars).as_deref(),
            Some("1.20.0")
        );
        assert_eq!(substitute("${other}", &vars), None);
        assert_eq!(substitute("1.2.3", &vars).as_deref(), Some("1.2.3"));
    }
}
