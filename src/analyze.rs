//! Runs the selected rules over the inventory in parallel, applies ignore annotations and
//! sorts the findings so output is the same on every run.

use std::cmp::Ordering;

use rayon::prelude::*;

use crate::diagnostic::{Diagnostic, Subject};
use crate::load::files::SourceFile;
use crate::model::read_gap;
use crate::model::Inventory;
use crate::rules::{code_matches, Context, Rule, Sink};

pub use crate::settings::Selection;

/// The selected rules that can run. Rules that read a kind the read could not see would
/// report a false picture: they do not run, and IPF002 names them. A report that skipped a
/// selected rule must say so even when `--select` did not name IPF002; only an explicit
/// `--ignore` silences it.
pub fn runnable(
    selected: &[&'static Rule],
    inventory: &Inventory,
    selection: &Selection,
) -> Vec<&'static Rule> {
    let blocked: Vec<String> = inventory
        .of_kind(read_gap::READ_GAP)
        .filter_map(|(_, o)| read_gap::ReadGap::from_object(o))
        .filter(|g| g.reason.blocks_rules())
        .map(|g| g.kind)
        .collect();
    let mut runnable: Vec<&'static Rule> = selected
        .iter()
        .copied()
        .filter(|r| {
            !r.reads
                .kinds
                .iter()
                .any(|k| blocked.iter().any(|b| b == k.kind))
        })
        .collect();
    let incomplete = &crate::rules::ipf002_incomplete_read::RULE;
    if runnable.len() < selected.len()
        && !selection.is_ignored(incomplete)
        && !runnable.iter().any(|r| r.code == incomplete.code)
    {
        runnable.push(incomplete);
        runnable.sort_by_key(|r| r.code);
    }
    runnable
}

/// Annotation that silences rules on one object: `"IPF403,IPF404"`, optionally followed by
/// `=reason`. On a workload it may sit on the object or on its pod template.
pub const IGNORE_ANNOTATION: &str = "istio-preflight.io/ignore";

pub fn run(rules: &[&'static Rule], cx: &Context) -> Vec<Diagnostic> {
    let mut diagnostics: Vec<Diagnostic> = rules
        .par_iter()
        .flat_map_iter(|rule| {
            let mut sink = Sink::new(rule);
            (rule.check)(cx, &mut sink);
            sink.diagnostics
        })
        .collect();
    diagnostics.retain(|d| !ignored(cx.inventory, d));
    diagnostics
}

fn ignored(inv: &Inventory, d: &Diagnostic) -> bool {
    let Some(id) = d.object() else { return false };
    // Through the object → workload index: a scan of every workload per diagnostic made
    // large estates quadratic.
    let on_object = inv.object(id).annotation(IGNORE_ANNOTATION);
    let on_template = inv
        .workload_of(id)
        .and_then(|w| w.annotation(IGNORE_ANNOTATION));
    [on_object, on_template].into_iter().flatten().any(|v| {
        let codes = v.split_once('=').map_or(v, |(c, _)| c);
        codes
            .split(',')
            .map(str::trim)
            .any(|c| code_matches(d.code, c))
    })
}

/// Sorts by file, position and code; objects from a cluster by kind, namespace and name.
pub fn sort(diagnostics: &mut Vec<Diagnostic>, inv: &Inventory, files: &[SourceFile]) {
    // Each file's place in path order, so that keys need no copy of the path.
    let mut by_path: Vec<usize> = (0..files.len()).collect();
    by_path.sort_by(|&a, &b| files[a].path.cmp(&files[b].path));
    let mut rank = vec![0u32; files.len()];
    let mut place = 0;
    for (i, &file) in by_path.iter().enumerate() {
        // Files with one path (read twice) share a place, as their paths compared equal.
        if i > 0 && files[by_path[i - 1]].path != files[file].path {
            place += 1;
        }
        rank[file] = place;
    }
    let key = |d: &Diagnostic| -> (u8, u32, u32, u32, String) {
        match &d.subject {
            Subject::Estate => (0, 0, 0, 0, String::new()),
            Subject::File { file, span } => (
                1,
                rank[*file],
                span.start.line,
                span.start.col,
                String::new(),
            ),
            Subject::Object { object, field } => {
                let o = inv.object(*object);
                match o.origin {
                    crate::model::Origin::File { file, .. } => {
                        let span = crate::model::embedded::locate(
                            field,
                            o.root(),
                            &files[file as usize].text,
                        );
                        (
                            1,
                            rank[file as usize],
                            span.start.line,
                            span.start.col,
                            String::new(),
                        )
                    }
                    crate::model::Origin::Built { file, .. } => {
                        let (span, at) = field.locate_in_file(o.root());
                        (
                            1,
                            rank[at.unwrap_or(file) as usize],
                            span.start.line,
                            span.start.col,
                            String::new(),
                        )
                    }
                    crate::model::Origin::Cluster => {
                        (2, 0, 0, 0, format!("{}\0{field}", o.display_name()))
                    }
                }
            }
        }
    };
    let mut keyed: Vec<_> = diagnostics.drain(..).map(|d| (key(&d), d)).collect();
    keyed.sort_by(|(ka, a), (kb, b)| {
        ka.cmp(kb)
            .then_with(|| a.code.cmp(b.code))
            .then_with(|| a.message.cmp(&b.message))
            .then(Ordering::Equal)
    });
    keyed.dedup_by(|(ka, a), (kb, b)| ka == kb && a == b);
    diagnostics.extend(keyed.into_iter().map(|(_, d)| d));
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::diagnostic::Severity;

    /// A meshed Deployment whose grace period (10s) does not exceed the drain (20s), with
    /// `object` and `template` as its ignore annotations.
    fn deployment(name: &str, object: &str, template: &str) -> String {
        let annotations = |value: &str, indent: &str| {
            if value.is_empty() {
                String::new()
            } else {
                format!("{indent}annotations:\n{indent}  istio-preflight.io/ignore: \"{value}\"\n")
            }
        };
        format!(
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  namespace: shop\n{}spec:\n  template:\n    metadata:\n{}      labels: {{app: {name}}}\n    spec:\n      terminationGracePeriodSeconds: 10\n      containers: [{{name: app, image: app:1}}]\n",
            annotations(object, "  "),
            annotations(template, "      "),
        )
    }

    #[test]
    fn ignore_annotations_on_the_object_or_its_template_silence_matching_codes() {
        let mut text = String::from("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels: {istio-injection: enabled}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\ndata:\n  mesh: 'defaultConfig: {terminationDrainDuration: 20s}'\n");
        text.push_str(&deployment("on-object", "IPF405", ""));
        text.push_str(&deployment(
            "on-template",
            "",
            "IPF406, IPF405=drain handled by the app",
        ));
        text.push_str(&deployment("by-prefix", "IPF4", ""));
        text.push_str(&deployment("other-code", "IPF101", "IPF203"));
        text.push_str(&deployment("none", "", ""));
        let dir =
            std::env::temp_dir().join(format!("istio-preflight-engine-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("input.yaml");
        std::fs::write(&file, text).expect("write");
        let cli = crate::cli::Cli::try_parse_from([
            "istio-preflight",
            "check",
            file.to_str().expect("utf-8 path"),
            "--select",
            "IPF405",
        ])
        .expect("arguments");
        let crate::cli::Command::Check(args) = cli.command else {
            unreachable!("a check command")
        };
        let report = crate::check(&args.settings().expect("settings")).expect("check");
        let mut reported: Vec<&str> = report
            .diagnostics
            .iter()
            .filter_map(|d| d.object())
            .map(|id| report.inventory.object(id).name())
            .collect();
        reported.sort();
        assert_eq!(reported, ["none", "other-code"]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn sorts_by_path_then_position_and_drops_repeats() {
        let files = [
            SourceFile::new("b.yaml".into(), String::new()),
            SourceFile::new("a.yaml".into(), String::new()),
            SourceFile::new("a/z.yaml".into(), String::new()),
        ];
        let at = |file: usize, line: u32, message: &str| Diagnostic {
            code: "IPF001",
            name: "test",
            severity: Severity::Error,
            message: message.into(),
            subject: Subject::File {
                file,
                span: crate::yaml::Span {
                    start: crate::yaml::Pos { line, col: 0 },
                    end: crate::yaml::Pos { line, col: 1 },
                },
            },
            fix: None,
            baseline_state: None,
        };
        let mut diagnostics = vec![
            at(0, 1, "b1"),
            at(2, 9, "z9"),
            at(1, 7, "a7"),
            at(1, 3, "a3"),
            Diagnostic {
                subject: Subject::Estate,
                ..at(0, 0, "estate")
            },
            at(1, 3, "a3"),
            at(1, 3, "a3 again"),
        ];
        sort(&mut diagnostics, &Inventory::default(), &files);
        let order: Vec<&str> = diagnostics.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(order, ["estate", "a3", "a3 again", "a7", "z9", "b1"]);
    }
}
