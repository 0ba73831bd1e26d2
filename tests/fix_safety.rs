//! Fix safety (SPEC §4 "Fix safety") as a tested invariant: applying every safe fix to an
//! estate and checking it again yields no finding that was not there before, and no
//! workload's mesh membership (sidecar, ambient, none), revision or replica count changes.
//! With the unsafe fixes applied too, no StatefulSet is scaled and a workload's membership
//! changes only where an unsafe fix touched it.
//!
//! Estates: every fixture folder, and every repository in `../shared/corpus/apps` when the
//! shared corpus is there (the test says so and skips those when it is not).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::*;
use istio_preflight::diagnostic::{Applicability, Edit, Subject};
use istio_preflight::fix::{self, Status};
use istio_preflight::model::workload::WorkloadKind;
use istio_preflight::report::Report;

/// Target for corpus repositories, whose versions are mixed: a recent release, so that the
/// release rules have something to say.
const CORPUS_TARGET: &str = "1.29.0";

/// An estate to fix: a directory (copied whole, so that kustomizations and relative paths
/// still resolve), the files in it that are read (none: the whole directory) and the
/// `check` arguments it is read with.
struct Estate {
    name: String,
    dir: PathBuf,
    inputs: Vec<String>,
    args: Vec<String>,
}

/// A fixture folder's inputs, relative to it (its snapshots and fixed files are not input).
fn inputs_of(dir: &Path) -> Vec<String> {
    let prefix = format!("{}/", dir.to_string_lossy().replace('\\', "/"));
    fixture_inputs(dir)
        .into_iter()
        .map(|p| p.strip_prefix(prefix.as_str()).unwrap_or(&p).to_string())
        .collect()
}

fn fixture_estates() -> Vec<Estate> {
    let mut estates: Vec<Estate> = rule_fixture_dirs()
        .into_iter()
        .map(|dir| Estate {
            name: dir.file_name().unwrap().to_string_lossy().into_owned(),
            inputs: inputs_of(&dir),
            args: fixture_args(&dir),
            dir,
        })
        .collect();
    // The demo estate and the real files the fixer is tested on.
    estates.push(Estate {
        name: "demo".to_string(),
        dir: PathBuf::from("fixtures/demo"),
        inputs: Vec::new(),
        args: vec!["--target".to_string(), "1.30.3".to_string()],
    });
    let dir = PathBuf::from("fixtures/fix-corpus");
    estates.push(Estate {
        name: "fix-corpus".to_string(),
        inputs: inputs_of(&dir),
        dir,
        args: Vec::new(),
    });
    estates
}

fn corpus_estates() -> Option<Vec<Estate>> {
    let apps = Path::new("../shared/corpus/apps");
    if !apps.is_dir() {
        eprintln!(
            "skipping the corpus repositories: {} is absent (the shared corpus is not checked out beside the repository)",
            apps.display()
        );
        return None;
    }
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(apps)
        .expect("read ../shared/corpus/apps")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    Some(
        dirs.into_iter()
            .map(|dir| Estate {
                name: dir.file_name().unwrap().to_string_lossy().into_owned(),
                inputs: Vec::new(),
                args: vec!["--target".to_string(), CORPUS_TARGET.to_string()],
                dir,
            })
            .collect(),
    )
}

/// Checks the estate as it lies in `dir` (its own folder or a fixed copy).
fn check_in(dir: &Path, estate: &Estate) -> Report {
    let paths: Vec<String> = if estate.inputs.is_empty() {
        vec![dir.to_string_lossy().into_owned()]
    } else {
        estate
            .inputs
            .iter()
            .map(|i| dir.join(i).to_string_lossy().into_owned())
            .collect()
    };
    let mut argv: Vec<&str> = paths.iter().map(String::as_str).collect();
    argv.extend(["--no-config", "--fail-on", "never"]);
    argv.extend(estate.args.iter().map(String::as_str));
    istio_preflight::check(&check_args(&argv)).expect("check runs")
}

/// A finding, independent of lines and of where the estate was copied: code, object and
/// field (or file, for findings about a file).
type Key = (&'static str, String, String);

fn findings(report: &Report, root: &Path) -> BTreeMap<Key, (usize, String)> {
    let root = root.to_string_lossy().replace('\\', "/");
    let mut out: BTreeMap<Key, (usize, String)> = BTreeMap::new();
    for d in &report.diagnostics {
        let (subject, field) = match &d.subject {
            Subject::Object { object, field } => (
                report.inventory.object(*object).display_name(),
                field.to_string(),
            ),
            Subject::File { file, .. } => {
                let path = &report.files[*file].path;
                let path = path.strip_prefix(root.as_str()).unwrap_or(path);
                (format!("file {path}"), String::new())
            }
            // Estate findings name what they count ("applies to 3 workloads"), which a fix
            // may rightly lower: their number per rule is what may not grow.
            Subject::Estate => ("estate".to_string(), String::new()),
        };
        let entry = out
            .entry((d.code, subject, field))
            .or_insert((0, d.message.clone()));
        entry.0 += 1;
    }
    out
}

/// What runs, per workload: membership (with its revision) and replicas.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Running {
    kind: WorkloadKind,
    membership: String,
    replicas: Option<i32>,
}

fn running(report: &Report) -> BTreeMap<String, Vec<Running>> {
    let mut out: BTreeMap<String, Vec<Running>> = BTreeMap::new();
    for w in &report.inventory.workloads {
        out.entry(report.inventory.object(w.object).display_name())
            .or_default()
            .push(Running {
                kind: w.kind,
                membership: format!("{:?}", w.membership),
                replicas: w.declared_replicas,
            });
    }
    out
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create copy");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("dir entry");
        let kind = entry.file_type().expect("file type");
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            copy_tree(&entry.path(), &target);
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

/// The estate with the planned fixes written into a copy of it.
struct Fixed {
    dir: PathBuf,
    report: Report,
}

fn apply(estate: &Estate, plan: &fix::Plan, label: &str) -> Fixed {
    let dir = std::env::temp_dir().join(format!(
        "istio-preflight-fix-safety-{}-{label}-{}",
        std::process::id(),
        estate.name
    ));
    let _ = std::fs::remove_dir_all(&dir);
    copy_tree(&estate.dir, &dir);
    let prefix = estate.dir.to_string_lossy().replace('\\', "/");
    for change in &plan.changes {
        let relative = change
            .path
            .strip_prefix(prefix.as_str())
            .unwrap_or_else(|| panic!("{}: fixed file {} is outside it", estate.name, change.path))
            .trim_start_matches('/');
        std::fs::write(dir.join(relative), &change.after).expect("write fixed file");
    }
    let report = check_in(&dir, estate);
    Fixed { dir, report }
}

/// One way a fix did more than it said, and the rules it is put down to: for a new finding
/// the rule that reports it, for a changed workload the rules whose fixes touched it.
struct Violation {
    codes: BTreeSet<&'static str>,
    text: String,
}

/// Violations that work in flight removes, each with the rule it is put down to, a piece of
/// the violation's text and why it is still here. The test fails when one of them no
/// longer happens, so the list can only shrink.
const KNOWN: &[(&str, &str, &str)] = &[];

fn is_known(v: &Violation) -> Option<usize> {
    KNOWN
        .iter()
        .position(|(code, text, _)| v.codes.contains(code) && v.text.contains(text))
}

/// The applied fixes, as (object name, rule, applicability, edits).
fn applied<'r>(
    report: &'r Report,
    plan: &fix::Plan,
) -> Vec<(String, &'static str, Applicability, &'r [Edit])> {
    plan.outcomes
        .iter()
        .filter(|o| o.status == Status::Applied)
        .map(|o| &report.diagnostics[o.diagnostic])
        .filter_map(|d| {
            let f = d.fix.as_ref()?;
            Some((
                report.subject_name(d)?,
                d.code,
                f.applicability,
                f.edits.as_slice(),
            ))
        })
        .collect()
}

/// Whether a fix on `fixed` (an object's display name) can change how `workload` (in
/// `namespace`) is injected: a fix on the workload itself, on its namespace, or on what
/// injection reads mesh-wide (webhooks, the injector's and the mesh's ConfigMaps).
fn reaches(fixed: &str, workload: &str, namespace: &str) -> bool {
    fixed == workload
        || fixed == format!("Namespace {namespace}")
        || fixed.starts_with("MutatingWebhookConfiguration ")
        || fixed.starts_with("ConfigMap ")
}

/// Everything the safe fixes of one estate may not do.
fn safe_fix_violations(estate: &Estate) -> Vec<Violation> {
    let before = check_in(&estate.dir, estate);
    let plan = fix::plan(&before, false);
    if plan.changes.is_empty() {
        return Vec::new();
    }
    let fixes = applied(&before, &plan);
    let fixed = apply(estate, &plan, "safe");
    let mut problems = Vec::new();
    let (old, new) = (
        findings(&before, &estate.dir),
        findings(&fixed.report, &fixed.dir),
    );
    for (key, (n, message)) in &new {
        let had = old.get(key).map_or(0, |(n, _)| *n);
        if *n > had {
            problems.push(Violation {
                codes: BTreeSet::from([key.0]),
                text: format!(
                    "{}: a new {} finding on {} at {} after the safe fixes: {message}",
                    estate.name, key.0, key.1, key.2
                ),
            });
        }
    }
    let (old, new) = (running(&before), running(&fixed.report));
    for (object, was) in &old {
        let now = new.get(object);
        if now != Some(was) {
            problems.push(Violation {
                codes: fixes
                    .iter()
                    .filter(|f| f.0 == *object)
                    .map(|f| f.1)
                    .collect(),
                text: format!(
                    "{}: the safe fixes changed what runs in {object}: {was:?} → {now:?}",
                    estate.name
                ),
            });
        }
    }
    let _ = std::fs::remove_dir_all(&fixed.dir);
    problems
}

/// With the unsafe fixes too: no StatefulSet scaled, and membership changes only where an
/// unsafe fix could have changed it.
fn all_fix_violations(estate: &Estate) -> Vec<Violation> {
    let before = check_in(&estate.dir, estate);
    let plan = fix::plan(&before, true);
    if plan.changes.is_empty() {
        return Vec::new();
    }
    let fixes = applied(&before, &plan);
    let fixed = apply(estate, &plan, "all");
    let mut problems = Vec::new();
    let new = running(&fixed.report);
    for (object, was) in running(&before) {
        let Some(now) = new.get(&object) else {
            problems.push(Violation {
                codes: BTreeSet::new(),
                text: format!("{}: {object} is gone after the fixes", estate.name),
            });
            continue;
        };
        let namespace = object
            .split_once(' ')
            .and_then(|(_, n)| n.split_once('/'))
            .map_or("", |(ns, _)| ns);
        for (w, n) in was.iter().zip(now) {
            if w.kind == WorkloadKind::StatefulSet && w.replicas != n.replicas {
                let scaling = fixes.iter().filter(|f| {
                    f.0 == object
                        && f.3.iter().any(|e| match e {
                            Edit::Set { path, .. } | Edit::Remove { path } => {
                                path.to_string() == "/spec/replicas"
                            }
                        })
                });
                problems.push(Violation {
                    codes: scaling.map(|f| f.1).collect(),
                    text: format!(
                        "{}: a fix scales the StatefulSet {object} from {:?} to {:?} replicas",
                        estate.name, w.replicas, n.replicas
                    ),
                });
            }
            let by_unsafe = fixes
                .iter()
                .any(|f| f.2 == Applicability::Unsafe && reaches(&f.0, &object, namespace));
            if w.membership != n.membership && !by_unsafe {
                problems.push(Violation {
                    codes: fixes
                        .iter()
                        .filter(|f| reaches(&f.0, &object, namespace))
                        .map(|f| f.1)
                        .collect(),
                    text: format!(
                        "{}: a fix marked safe changes the mesh membership of {object}: {} → {}",
                        estate.name, w.membership, n.membership
                    ),
                });
            }
        }
    }
    let _ = std::fs::remove_dir_all(&fixed.dir);
    problems
}

/// Fails on every violation that is not known, and on every known one that no longer
/// happens in these estates (`known_here` says which of `KNOWN` these estates show).
fn assert_no_violations(
    estates: &[Estate],
    check: fn(&Estate) -> Vec<Violation>,
    known_here: &[usize],
) {
    let mut seen = BTreeSet::new();
    let mut problems: Vec<String> = Vec::new();
    for v in estates.iter().flat_map(check) {
        match is_known(&v) {
            Some(i) => {
                seen.insert(i);
            }
            None => problems.push(format!(
                "[{}] {}",
                v.codes.iter().copied().collect::<Vec<_>>().join(","),
                v.text
            )),
        }
    }
    for &i in known_here {
        if !seen.contains(&i) {
            let (code, text, _) = KNOWN[i];
            problems.push(format!(
                "known violation ({code}, {text:?}) no longer happens: remove it from KNOWN in tests/fix_safety.rs"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} fix-safety problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn safe_fixes_change_nothing_else_in_fixture_estates() {
    assert_no_violations(&fixture_estates(), safe_fix_violations, &[]);
}

#[test]
fn safe_fixes_change_nothing_else_in_corpus_repositories() {
    let Some(estates) = corpus_estates() else {
        return;
    };
    assert_no_violations(&estates, safe_fix_violations, &[]);
}

#[test]
fn no_fix_scales_a_statefulset_or_changes_membership_unless_unsafe_in_fixture_estates() {
    assert_no_violations(&fixture_estates(), all_fix_violations, &[]);
}

#[test]
fn no_fix_scales_a_statefulset_or_changes_membership_unless_unsafe_in_corpus_repositories() {
    let Some(estates) = corpus_estates() else {
        return;
    };
    assert_no_violations(&estates, all_fix_violations, &[]);
}
