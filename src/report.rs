//! A finished check: what was read, what was found, and the facts about the estate that
//! every output format shows.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::diagnostic::{Diagnostic, Severity, Subject};
use crate::load::files::{Note, SourceFile};
use crate::model::{Inventory, Origin, Version};
use crate::rules::{Rule, Upgrade};
use crate::yaml::Span;

pub struct Report {
    pub files: Vec<SourceFile>,
    pub inventory: Inventory,
    pub diagnostics: Vec<Diagnostic>,
    pub notes: Vec<Note>,
    pub upgrade: Upgrade,
    /// The rules that ran.
    pub rules: Vec<&'static Rule>,
    /// The repository root that SARIF URIs, annotations and fingerprints are relative to
    /// (see [`repo_root`]).
    pub root: PathBuf,
    /// The kube context, when the objects were read from a live cluster.
    pub cluster: Option<String>,
    /// The commit pre-merge mode compared with (`--base`).
    pub base: Option<BaseCommit>,
    /// The facts of each estate when the run had several (kustomize overlays, and the files
    /// read as they are), in order; empty when it had one, which [`Report::estate`] shows.
    pub estates: Vec<EstateBlock>,
}

/// One estate of a run with several.
#[derive(Clone, Debug, Serialize)]
pub struct EstateBlock {
    /// The overlay's directory; `None` for the objects read as they are.
    pub overlay: Option<String>,
    #[serde(flatten)]
    pub facts: Estate,
}

/// The directory of the kustomization file `estate` (a file index): how findings and the
/// header name an overlay.
pub fn overlay_name(files: &[SourceFile], estate: u32) -> String {
    match files[estate as usize].path.rsplit_once('/') {
        Some((dir, _)) => dir.to_string(),
        None => ".".to_string(),
    }
}

/// The commit pre-merge mode compared with: findings carry their state against it.
#[derive(Clone, Debug, Serialize)]
pub struct BaseCommit {
    /// The revision as given (`main`, `origin/main`, a commit id).
    #[serde(rename = "ref")]
    pub reference: String,
    pub commit: String,
}

impl BaseCommit {
    /// `main (1a2b3c4)`, or the short commit id when that is what was given.
    pub fn describe(&self) -> String {
        let short: String = self.commit.chars().take(7).collect();
        if self.commit.starts_with(&self.reference) {
            short
        } else {
            format!("{} ({short})", self.reference)
        }
    }
}

/// The root that code scanning and the Actions runner resolve paths against:
/// `$GITHUB_WORKSPACE` when set, else the git top-level above the current directory (the
/// nearest ancestor holding `.git`), else the current directory. Symlinks are resolved,
/// because GitHub cannot show alerts on symlinked paths.
pub fn repo_root() -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_default();
    let root = std::env::var_os("GITHUB_WORKSPACE")
        .filter(|w| !w.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            cwd.ancestors()
                .find(|d| d.join(".git").exists())
                .map(Path::to_path_buf)
        })
        .unwrap_or(cwd);
    std::fs::canonicalize(&root).unwrap_or(root)
}

/// A diagnostic's place in a file.
#[derive(Clone, Debug)]
pub struct Location<'a> {
    pub file: &'a SourceFile,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Counts {
    pub error: usize,
    pub warning: usize,
    pub info: usize,
}

/// What was detected, as `istioctl version` would say it.
#[derive(Clone, Debug, Serialize)]
pub struct Estate {
    pub control_planes: Vec<ControlPlaneFacts>,
    /// Istio charts installed by Helm releases declared as objects (Flux, Argo CD).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub charts: Vec<ChartFacts>,
    pub data_plane: Vec<DataPlaneVersion>,
    pub kubernetes: Option<String>,
    pub upgrade: UpgradeFacts,
}

#[derive(Clone, Debug, Serialize)]
pub struct ControlPlaneFacts {
    pub revision: String,
    pub namespace: String,
    pub version: Option<String>,
    pub hub: Option<String>,
    pub tags: Vec<String>,
}

/// One Helm release of an Istio chart, as the estate header shows it.
#[derive(Clone, Debug, Serialize)]
pub struct ChartFacts {
    pub chart: String,
    pub component: &'static str,
    pub version: Option<String>,
    pub revision: String,
    pub namespace: String,
    /// The declaring object: `HelmRelease istio-system/istiod`.
    pub release: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct DataPlaneVersion {
    pub version: String,
    pub proxies: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct UpgradeFacts {
    pub current: Option<String>,
    pub target: Option<String>,
    pub strategy: &'static str,
}

impl Report {
    /// A finding's identity, independent of where it sits in the file: rule + object identity
    /// (apiVersion, kind, namespace, name) + field path. Findings about a file rather than an
    /// object (a document that does not parse) use the file's repository path and the message
    /// with its digits removed, since those digits are line numbers. Used for SARIF
    /// `partialFingerprints` and for baselines.
    pub fn fingerprint(&self, d: &Diagnostic) -> String {
        let field = d.field().map(ToString::to_string).unwrap_or_default();
        match d.object() {
            Some(id) => {
                let o = self.inventory.object(id);
                let mut parts = vec![
                    d.code,
                    o.api_version(),
                    o.kind(),
                    o.namespace(),
                    o.name(),
                    &field,
                ];
                // A base under two overlays is one finding per overlay: the overlay is part
                // of the identity (only for built objects, so other fingerprints stay as
                // they were).
                let estate = self.estate_of(d);
                parts.extend(estate.as_deref());
                fnv_fingerprint(&parts)
            }
            None => {
                let path = self
                    .location(d)
                    .map(|l| {
                        self.repo_path(l.file)
                            .unwrap_or_else(|| l.file.path.clone())
                    })
                    .unwrap_or_default();
                let message: String = d.message.chars().filter(|c| !c.is_ascii_digit()).collect();
                fnv_fingerprint(&[d.code, &path, &message])
            }
        }
    }

    pub fn location(&self, d: &Diagnostic) -> Option<Location<'_>> {
        match &d.subject {
            Subject::File { file, span } => Some(Location {
                file: &self.files[*file],
                span: *span,
            }),
            Subject::Object { object, field } => {
                let o = self.inventory.object(*object);
                match o.origin {
                    Origin::File { file, .. } => {
                        let file = &self.files[file as usize];
                        Some(Location {
                            file,
                            span: crate::model::embedded::locate(field, o.root(), &file.text),
                        })
                    }
                    Origin::Built { file, .. } => {
                        let (span, at) = field.locate_in_file(o.root());
                        Some(Location {
                            file: &self.files[at.unwrap_or(file) as usize],
                            span,
                        })
                    }
                    Origin::Cluster => None,
                }
            }
            Subject::Estate => None,
        }
    }

    /// A file's path relative to [`Report::root`], `/`-separated, symlinks resolved; `None`
    /// for standard input and for files outside the root.
    pub fn repo_path(&self, file: &SourceFile) -> Option<String> {
        if file.path == "-" {
            return None;
        }
        let path = Path::new(&file.path);
        let resolved =
            std::fs::canonicalize(path).unwrap_or_else(|_| crate::settings::config::absolute(path));
        resolved
            .strip_prefix(&self.root)
            .ok()
            .map(|p| p.to_string_lossy().replace('\\', "/"))
    }

    /// With `--base`: how many findings are new and how many already exist at the base.
    pub fn base_counts(&self) -> Option<(usize, usize)> {
        self.base.as_ref()?;
        let unchanged = self.diagnostics.iter().filter(|d| d.pre_existing()).count();
        Some((self.diagnostics.len() - unchanged, unchanged))
    }

    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for d in &self.diagnostics {
            match d.severity {
                Severity::Error => c.error += 1,
                Severity::Warning => c.warning += 1,
                Severity::Info => c.info += 1,
            }
        }
        c
    }

    /// Files that were read as text (for "N objects from M files").
    pub fn file_count(&self) -> usize {
        self.files.len()
    }

    /// The estate's facts; with several estates, those of all objects together (each
    /// estate's own are in [`Report::estates`]).
    pub fn estate(&self) -> Estate {
        estate_facts(&self.inventory, &self.upgrade)
    }

    /// `Deployment shop/cart`, or the file for findings about a file.
    pub fn subject_name(&self, d: &Diagnostic) -> Option<String> {
        d.object().map(|id| {
            let name = self.inventory.object(id).display_name();
            match self.estate_of(d) {
                Some(estate) => format!("{name} (kustomize overlay {estate})"),
                None => name,
            }
        })
    }

    /// The kustomize overlay a finding's object was built for: the directory of the
    /// top-level kustomization (a base under two overlays is checked, and reported, once
    /// per overlay). `None` for objects read as they are.
    pub fn estate_of(&self, d: &Diagnostic) -> Option<String> {
        match self.inventory.object(d.object()?).origin {
            Origin::Built { estate, .. } => Some(overlay_name(&self.files, estate)),
            Origin::File { .. } | Origin::Cluster => None,
        }
    }
}

/// FNV-1a, 64 bits: stable across platforms and Rust versions, unlike std's hasher.
fn fnv_fingerprint(parts: &[&str]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(0)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

/// What an inventory holds, as `istioctl version` would say it.
pub fn estate_facts(inventory: &Inventory, upgrade: &Upgrade) -> Estate {
    let mesh = &inventory.mesh;
    let control_planes = mesh
        .control_planes
        .iter()
        .map(|cp| ControlPlaneFacts {
            revision: cp.revision.clone(),
            namespace: cp.namespace.clone(),
            version: cp.version.as_ref().map(Version::to_string),
            hub: cp.hub().map(str::to_string),
            tags: mesh
                .tags
                .iter()
                .filter(|(_, r)| **r == cp.revision)
                .map(|(t, _)| t.clone())
                .collect(),
        })
        .collect();
    let mut versions: BTreeMap<semver::Version, (String, usize)> = BTreeMap::new();
    for w in &inventory.workloads {
        if w.kind != crate::model::workload::WorkloadKind::Pod {
            continue;
        }
        if let Some(v) = w
            .proxy_container()
            .and_then(|(c, _, _)| c.image.as_deref().and_then(Version::from_image))
        {
            versions
                .entry(v.semver.clone())
                .or_insert_with(|| (v.to_string(), 0))
                .1 += 1;
        }
    }
    let charts = mesh
        .chart_releases
        .iter()
        .map(|r| ChartFacts {
            chart: r.chart.clone(),
            component: r.component.as_str(),
            version: r
                .version
                .as_ref()
                .map(Version::to_string)
                .or_else(|| r.version_text.clone()),
            revision: r.revision(inventory),
            namespace: r.namespace.clone(),
            release: inventory.object(r.object).display_name(),
        })
        .collect();
    Estate {
        control_planes,
        charts,
        data_plane: versions
            .into_values()
            .rev()
            .map(|(version, proxies)| DataPlaneVersion { version, proxies })
            .collect(),
        kubernetes: mesh.kube_version.as_ref().map(Version::to_string),
        upgrade: UpgradeFacts {
            current: mesh.current_version().map(Version::to_string),
            target: upgrade.target.as_ref().map(Version::to_string),
            strategy: upgrade.strategy.as_str(),
        },
    }
}
