//! Pre-merge mode (`--base REF`, SPEC §3a): the pull request's base commit is the current
//! state, the working tree the change.
//!
//! The same paths are read at the base (from a copy of its tree, see [`load::git`]) and go
//! through the same load, model and analyze stages as the working tree. Two things come
//! back from there:
//! - the versions: the control plane at the base is what runs now, and a control-plane
//!   version that only the working tree declares is what the change upgrades to. So a
//!   chart or image bump makes the run check that upgrade without `--current`/`--target`
//!   (given ones, on the command line or in the config file, win);
//! - the findings' identities (the fingerprint baselines use: rule, object, field, overlay,
//!   never a line number). A finding of the working tree whose identity is also at the base
//!   is `unchanged`, any other `new`. The base is checked without the inferred target, so a
//!   finding that exists only because the change bumps the version is new: the gate exists
//!   for exactly those.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::load::git::BaseTree;
use crate::load::{self, files::Note};
use crate::model::mesh::MeshOptions;
use crate::model::Version;
use crate::report::{BaseCommit, Report};
use crate::settings::{Base, Input, Settings, Upgrade};
use crate::{diagnostic::BaselineState, rules::Rule, Modelled};

/// What the base commit says: its findings' identities and its control-plane versions.
pub(crate) struct AtBase {
    commit: BaseCommit,
    /// Fingerprint → how many findings at the base have it.
    fingerprints: HashMap<String, usize>,
    /// The version the base runs ([`crate::model::mesh::Mesh::current_version`]).
    current: Option<Version>,
    /// Every control-plane version the base declares.
    versions: Vec<Version>,
    /// Input paths that do not exist at the base, as given.
    absent: Vec<PathBuf>,
}

/// Reads and checks the input paths as they are at the base commit.
pub(crate) fn read_base(
    settings: &Settings,
    base: &Base,
    selected: &[&'static Rule],
) -> Result<AtBase, String> {
    let Input::Files(paths) = &settings.input else {
        return Err(
            "--base compares manifest files with a git commit; it does not read a cluster"
                .to_string(),
        );
    };
    let tree = BaseTree::extract(&base.reference, paths)?;
    let (present, absent) = tree.inputs();
    let config = settings.config.as_ref();
    // The config's excludes name working-tree paths.
    let excluded = |p: &Path| config.is_some_and(|c| c.excludes(&tree.working_path(p)));
    let mut loaded = if present.is_empty() {
        load::files::Loaded::default()
    } else {
        load::files::load_excluding(&present, &excluded)
    };
    let values_at_base: Vec<PathBuf> = settings
        .values
        .iter()
        .map(|v| tree.at_base(v).unwrap_or_else(|| v.clone()))
        .collect();
    let values = crate::load_values(&values_at_base, &mut loaded.files)
        .map_err(|e| format!("at --base {}: {e}", base.reference))?;
    for f in &mut loaded.files {
        f.path = tree.working_display(&f.path);
    }
    let estate = Modelled::build(loaded, values, &settings.mesh);
    let mesh = &estate.inventory.mesh;
    let current = mesh.current_version().cloned();
    let versions = mesh.declared_versions().into_iter().cloned().collect();
    let report = crate::analyze_estate(settings, estate, selected, &settings.upgrade);
    let mut fingerprints = HashMap::new();
    for d in &report.diagnostics {
        *fingerprints.entry(report.fingerprint(d)).or_insert(0) += 1;
    }
    Ok(AtBase {
        commit: BaseCommit {
            reference: tree.reference.clone(),
            commit: tree.commit.clone(),
        },
        fingerprints,
        current,
        versions,
        absent,
    })
}

/// The upgrade the working tree is checked for, and what the run should say about where
/// its versions came from.
pub(crate) struct Resolved {
    pub upgrade: Upgrade,
    pub note: Option<String>,
}

/// Takes the current version from the base and the target from the working tree when the
/// change declares a control-plane version the base does not (an image or chart bump, a
/// canary revision). Re-derives the working tree's mesh with that current version, as
/// `--current` would.
pub(crate) fn upgrade(settings: &Settings, base: &AtBase, estate: &mut Modelled) -> Resolved {
    let mut upgrade = settings.upgrade.clone();
    let mesh = &estate.inventory.mesh;
    let introduced = mesh
        .declared_versions()
        .into_iter()
        .rfind(|v| !base.versions.iter().any(|b| b.semver == v.semver))
        .cloned();
    let Some(introduced) = introduced else {
        return Resolved {
            upgrade,
            note: None,
        };
    };
    let mut said = Vec::new();
    if settings.mesh.current.is_none() {
        if let Some(current) = &base.current {
            if mesh.current_version() != Some(current) {
                let options = MeshOptions {
                    current: Some(current.clone()),
                    ..estate.options.clone()
                };
                estate.inventory.derive_mesh(&options);
            }
            said.push(format!("current {current} (at the base)"));
        }
    }
    if upgrade.target.is_none() {
        said.push(format!("target {introduced} (in the working tree)"));
        upgrade.target = Some(introduced);
    }
    let note = (!said.is_empty()).then(|| {
        format!(
            "--base {}: the change declares Istio {}; checking the upgrade with {} (--current/--target override)",
            base.commit.describe(),
            upgrade
                .target
                .as_ref()
                .map(Version::to_string)
                .unwrap_or_default(),
            said.join(" and ")
        )
    });
    Resolved { upgrade, note }
}

/// Marks each finding `unchanged` when the base has one of the same identity (counted: a
/// second finding of one identity where the base had one is new), else `new`.
pub(crate) fn mark(report: &mut Report, base: &AtBase, note: Option<String>) {
    let mut budget = base.fingerprints.clone();
    let states: Vec<BaselineState> = report
        .diagnostics
        .iter()
        .map(|d| match budget.get_mut(&report.fingerprint(d)) {
            Some(n) if *n > 0 => {
                *n -= 1;
                BaselineState::Unchanged
            }
            _ => BaselineState::New,
        })
        .collect();
    for (d, state) in report.diagnostics.iter_mut().zip(states) {
        d.baseline_state = Some(state);
    }
    report.base = Some(base.commit.clone());
    let said = |message: String| Note {
        file: None,
        line: 0,
        message,
    };
    if let Some(note) = note {
        report.notes.push(said(note));
    }
    for path in &base.absent {
        report.notes.push(said(format!(
            "--base {}: {} does not exist there, so everything in it is new",
            base.commit.describe(),
            load::files::display_path(path)
        )));
    }
}
