//! Roots the builder does not build itself: `kustomize build` or `kubectl kustomize`, when
//! one is on `PATH`. Their output has no positions in the repository's files, so every
//! object points at the root's kustomization file, and a note says so.

use std::path::Path;
use std::process::Command;

use super::build::Resource;
use super::{Files, Output};
use crate::load::files::{display_path, Note};
use crate::yaml::owned::{At, Owned};

/// The objects the installed kustomize builds from `root`, or `None` when none is
/// installed (or it fails: the note says why).
pub(crate) fn build(
    root: &Path,
    estate: usize,
    files: &mut Files<'_>,
    out: &mut Output,
) -> Option<Vec<Resource>> {
    let attempts: [(&str, &[&str]); 2] = [("kustomize", &["build"]), ("kubectl", &["kustomize"])];
    for (program, args) in attempts {
        let Ok(output) = Command::new(program).args(args).arg(root).output() else {
            continue;
        };
        let shown = format!("{program} {}", args.join(" "));
        if !output.status.success() {
            out.notes.push(Note {
                file: Some(estate),
                line: 1,
                message: format!(
                    "kustomize root {} not built: `{shown}` failed: {}; its objects were not checked",
                    display_path(root),
                    String::from_utf8_lossy(&output.stderr).trim()
                ),
            });
            return Some(Vec::new());
        }
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        let whole = files.text(estate).len() as u32;
        let at = Some(At {
            file: estate as u32,
            start: 0,
            end: whole.min(files.text(estate).find('\n').map_or(whole, |i| i as u32)),
        });
        let file = crate::yaml::Text::new(text);
        let split = crate::yaml::split_documents(&file);
        let (tree, roots) = crate::yaml::parse_documents(&file, &split);
        let mut resources = Vec::new();
        for id in roots.into_iter().flatten().flatten() {
            let json = tree.node(id).to_json();
            resources.push(Resource {
                needs_hash: false,
                object: Owned::from_json(&json, at),
                file: estate,
                previous: Vec::new(),
            });
        }
        out.notes.push(Note {
            file: Some(estate),
            line: 1,
            message: format!(
                "kustomize root {} built by `{shown}` (it uses a field istio-preflight does not apply itself); findings point at its kustomization file",
                display_path(root)
            ),
        });
        return Some(resources);
    }
    None
}
