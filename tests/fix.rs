//! Fixes: every fixable rule's fixture has a `fixed` snapshot, the fixed files parse to the
//! same objects, the fixed findings are gone and a second pass changes nothing; real files
//! keep every byte the fix does not mean to change; writes are safe; SARIF stays valid.

mod common;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use common::*;
use istio_preflight::diagnostic::{Applicability, Diagnostic, Edit, Fix, Severity, Subject};
use istio_preflight::fix::{self, Status};
use istio_preflight::model::FieldPath;
use istio_preflight::report::Report;
use istio_preflight::rules::FixAvailability;
use serde_json::json;

fn temp_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("istio-preflight-fix-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn run_check(inputs: &[String], extra: &[String]) -> Report {
    let mut args: Vec<&str> = inputs.iter().map(String::as_str).collect();
    args.extend(extra.iter().map(String::as_str));
    istio_preflight::check(&check_args(&args)).expect("check runs")
}

fn file_name(path: &str) -> String {
    Path::new(path)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// (code, object) → how many findings.
fn counts(report: &Report) -> HashMap<(&'static str, usize), usize> {
    let mut m = HashMap::new();
    for d in &report.diagnostics {
        if let Some(id) = d.object() {
            *m.entry((d.code, id)).or_insert(0) += 1;
        }
    }
    m
}

#[test]
fn every_fixable_rule_fixture_has_a_fixed_snapshot_that_converges() {
    let mut checked = 0;
    for dir in rule_fixture_dirs() {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let code = name[..6].to_string();
        let rule = istio_preflight::rules::find(&code).unwrap_or_else(|| panic!("{name}: no rule"));
        let inputs = fixture_inputs(&dir);
        let mut extra = vec!["--select".to_string(), code.clone()];
        extra.extend(fixture_args(&dir));
        let report = run_check(&inputs, &extra);
        // Unsafe fixes too: the snapshot shows every fix a rule can make.
        let plan = fix::plan(&report, true);

        let single = inputs.len() == 1 && file_name(&inputs[0]) == "input.yaml";
        for input in &inputs {
            let snapshot = dir.join(if single {
                "fixed.yaml".to_string()
            } else {
                format!("fixed.{}", file_name(input))
            });
            match plan.changes.iter().find(|c| c.path == *input) {
                Some(change) => assert_snapshot(&snapshot, &change.after),
                None if updating() => {
                    let _ = std::fs::remove_file(&snapshot);
                }
                None => assert!(
                    !snapshot.exists(),
                    "{name}: {} is stale: no fix changes {input}",
                    snapshot.display()
                ),
            }
        }
        for o in &plan.outcomes {
            // Refusing to edit through YAML aliases is deliberate; anything else is a bug
            // in the rule's fix or in the fixer.
            let deliberate = |r: &str| {
                ["YAML alias", "YAML anchor", "merge key"]
                    .iter()
                    .any(|k| r.contains(k))
            };
            if let Status::NotApplied(reason) = &o.status {
                if deliberate(reason) {
                    continue;
                }
                panic!(
                    "{name}: a fix was not applied: {} ({reason})",
                    report.diagnostics[o.diagnostic].message
                );
            }
        }
        // A folder may say why none of its rule's fixes can apply (the target predates the
        // release data the fixes need); the reason must not be empty.
        let no_fix = std::fs::read_to_string(dir.join("no-applicable-fix")).ok();
        if let Some(reason) = &no_fix {
            assert!(
                !reason.trim().is_empty(),
                "{name}: no-applicable-fix gives no reason"
            );
            assert_eq!(
                plan.applied(),
                0,
                "{name}: no-applicable-fix, but a fix applies"
            );
        }
        if rule.fix != FixAvailability::None && no_fix.is_none() {
            assert!(
                plan.applied() > 0,
                "{name}: {code} declares fix: {} but no fix in its fixture applies; add a fire-* case whose fix applies",
                rule.fix.as_str()
            );
        }
        // The declared availability is what the findings carry: none never has an edit,
        // always has one on every finding.
        for d in report.diagnostics.iter().filter(|d| d.code == rule.code) {
            let applies = d.fix.as_ref().is_some_and(|f| {
                f.applicability != Applicability::DisplayOnly && !f.edits.is_empty()
            });
            match rule.fix {
                FixAvailability::None => assert!(
                    !applies,
                    "{name}: {code} declares fix: none but this finding carries an applicable fix: {}",
                    d.message
                ),
                FixAvailability::Always => assert!(
                    applies,
                    "{name}: {code} declares fix: always but this finding has no applicable fix: {}",
                    d.message
                ),
                FixAvailability::Sometimes => {}
            }
        }
        if plan.changes.is_empty() {
            continue;
        }
        checked += 1;

        // The fixed files, beside each other as the originals were.
        let tmp = temp_dir(&name);
        let fixed_inputs: Vec<String> = inputs
            .iter()
            .map(|input| {
                let target = tmp.join(file_name(input));
                let text = match plan.changes.iter().find(|c| c.path == *input) {
                    Some(c) => c.after.clone(),
                    None => std::fs::read_to_string(input).unwrap(),
                };
                std::fs::write(&target, text).unwrap();
                target.to_string_lossy().into_owned()
            })
            .collect();
        let fixed = run_check(&fixed_inputs, &extra);

        // Re-parse: the same objects, no new read problems, and every object no fix
        // touched reads back exactly as before.
        let identity = |r: &Report| -> Vec<String> {
            r.inventory
                .objects
                .iter()
                .map(|o| o.display_name())
                .collect()
        };
        assert_eq!(
            identity(&report),
            identity(&fixed),
            "{name}: objects changed"
        );
        let problems = |files: &[String]| {
            run_check(files, &["--select".into(), "IPF001".into()])
                .diagnostics
                .len()
        };
        assert_eq!(
            problems(&inputs),
            problems(&fixed_inputs),
            "{name}: the fixed files read differently"
        );
        let touched: HashSet<usize> = plan
            .outcomes
            .iter()
            .filter(|o| o.status == Status::Applied)
            .filter_map(|o| report.diagnostics[o.diagnostic].object())
            .collect();
        for (id, o) in report.inventory.objects.iter().enumerate() {
            if !touched.contains(&id) {
                assert_eq!(
                    o.root().to_json(),
                    fixed.inventory.objects[id].root().to_json(),
                    "{name}: {} changed but no fix was applied to it",
                    o.display_name()
                );
            }
        }

        // Convergence: each applied fix removes its finding.
        let (before, after) = (counts(&report), counts(&fixed));
        let mut applied: HashMap<(&'static str, usize), usize> = HashMap::new();
        for o in plan.outcomes.iter().filter(|o| o.status == Status::Applied) {
            let d = &report.diagnostics[o.diagnostic];
            *applied.entry((d.code, d.object().unwrap())).or_insert(0) += 1;
        }
        for (key, n) in &applied {
            let left = after.get(key).copied().unwrap_or(0);
            assert!(
                left + n <= before[key],
                "{name}: after fixing, {} still has {left} {} finding(s): {:?}",
                report.inventory.objects[key.1].display_name(),
                key.0,
                fixed
                    .diagnostics
                    .iter()
                    .filter(|d| d.object() == Some(key.1))
                    .map(|d| &d.message)
                    .collect::<Vec<_>>()
            );
        }

        // Idempotence: a second pass has nothing left to change.
        let again = fix::plan(&fixed, true);
        assert!(
            again.changes.is_empty(),
            "{name}: a second --fix changes the files again:\n{}",
            again.changes.iter().map(|c| c.diff()).collect::<String>()
        );
        let _ = std::fs::remove_dir_all(&tmp);
    }
    assert!(checked > 0, "no fixture has an applicable fix");
}

/// A corpus file fixed with the given edits, through the real writer.
struct CorpusCase {
    file: &'static str,
    edits: Vec<(&'static str, &'static str, Edit)>,
    /// Lines removed and added in the diff.
    changed: (usize, usize),
    not_applied: usize,
}

fn set(path: &str, value: serde_json::Value) -> Edit {
    Edit::Set {
        path: FieldPath::parse(path),
        value,
    }
}

fn run_corpus_case(case: &CorpusCase) -> Vec<u8> {
    let source = Path::new("fixtures/fix-corpus").join(case.file);
    let tmp = temp_dir(case.file);
    let copy = tmp.join(case.file);
    let original_bytes = std::fs::read(&source).unwrap();
    std::fs::write(&copy, &original_bytes).unwrap();
    let input = copy.to_string_lossy().into_owned();
    let mut report = run_check(
        std::slice::from_ref(&input),
        &["--select".into(), "IPF001".into()],
    );
    assert!(
        report.diagnostics.is_empty(),
        "{}: does not read cleanly",
        case.file
    );
    let before_objects: Vec<serde_json::Value> = report
        .inventory
        .objects
        .iter()
        .map(|o| o.root().to_json())
        .collect();
    let mut expected = before_objects.clone();
    for (kind, name, edit) in &case.edits {
        let id = report
            .inventory
            .objects
            .iter()
            .position(|o| o.kind() == *kind && o.name() == *name)
            .unwrap_or_else(|| panic!("{}: no {kind} {name}", case.file));
        let path = match edit {
            Edit::Set { path, .. } | Edit::Remove { path } => path.clone(),
        };
        report.diagnostics.push(Diagnostic {
            code: "IPF405",
            name: "test",
            severity: Severity::Warning,
            message: format!("edit {path}"),
            subject: Subject::Object {
                object: id,
                field: path,
            },
            baseline_state: None,
            fix: Some(Fix::safe("test edit", vec![edit.clone()])),
        });
    }
    let plan = fix::plan(&report, false);
    for o in &plan.outcomes {
        let d = &report.diagnostics[o.diagnostic];
        if o.status == Status::Applied {
            let edit = &d.fix.as_ref().unwrap().edits[0];
            fix::apply_json(&mut expected[d.object().unwrap()], edit).unwrap();
        }
    }
    let not_applied = plan
        .outcomes
        .iter()
        .filter(|o| matches!(o.status, Status::NotApplied(_)))
        .count();
    assert_eq!(
        not_applied, case.not_applied,
        "{}: {:?}",
        case.file, plan.outcomes
    );
    assert_eq!(
        plan.changes.len(),
        1,
        "{}: expected one changed file",
        case.file
    );
    let change = &plan.changes[0];
    fix::write(change).unwrap_or_else(|e| panic!("{}: {e}", case.file));
    let written = std::fs::read(&copy).unwrap();

    // The expected file and diff, for a person to read.
    let text = String::from_utf8(written.clone()).expect("utf-8");
    assert_snapshot(
        &Path::new("fixtures/fix-corpus").join(format!("fixed.{}", case.file)),
        &text,
    );
    let diff = fix::diff::unified(case.file, &change.before, &change.after);
    assert_snapshot(
        &Path::new("fixtures/fix-corpus").join(format!("fixed.{}.diff", case.file)),
        &diff,
    );
    let removed = diff
        .lines()
        .filter(|l| l.starts_with('-') && !l.starts_with("---"))
        .count();
    let added = diff
        .lines()
        .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
        .count();
    assert_eq!(
        (removed, added),
        case.changed,
        "{}: unexpected lines changed:\n{diff}",
        case.file
    );

    // Read back: exactly the intended objects.
    let reread = run_check(&[input], &["--select".into(), "IPF001".into()]);
    assert!(
        reread.diagnostics.is_empty(),
        "{}: fixed file does not read cleanly",
        case.file
    );
    let after_objects: Vec<serde_json::Value> = reread
        .inventory
        .objects
        .iter()
        .map(|o| o.root().to_json())
        .collect();
    assert_eq!(
        after_objects, expected,
        "{}: objects differ from the intended edit",
        case.file
    );

    // Line endings and the byte order mark are the file's own.
    assert_eq!(
        written.starts_with(b"\xEF\xBB\xBF"),
        original_bytes.starts_with(b"\xEF\xBB\xBF"),
        "{}: BOM",
        case.file
    );
    let crlf = |b: &[u8]| b.windows(2).filter(|w| w == b"\r\n").count();
    let lf = |b: &[u8]| b.iter().filter(|&&c| c == b'\n').count();
    if crlf(&original_bytes) == lf(&original_bytes) {
        assert_eq!(
            crlf(&written),
            lf(&written),
            "{}: a line lost its CRLF",
            case.file
        );
    } else {
        assert_eq!(crlf(&written), 0, "{}: CRLF appeared", case.file);
    }
    let _ = std::fs::remove_dir_all(&tmp);
    written
}

#[test]
fn corpus_comments_and_multiple_documents() {
    run_corpus_case(&CorpusCase {
        file: "cartservice.yaml",
        edits: vec![
            (
                "Deployment",
                "cartservice",
                set(
                    "/spec/template/spec/terminationGracePeriodSeconds",
                    json!(45),
                ),
            ),
            (
                "Deployment",
                "cartservice",
                set(
                    "/spec/template/metadata/annotations/proxy.istio.io~1config",
                    json!(r#"{"holdApplicationUntilProxyStarts":true}"#),
                ),
            ),
            (
                "Deployment",
                "cartservice",
                set("/spec/strategy/rollingUpdate/maxUnavailable", json!(0)),
            ),
            (
                "Service",
                "cartservice",
                Edit::Remove {
                    path: FieldPath::parse("/metadata/labels/app"),
                },
            ),
        ],
        changed: (3, 7),
        not_applied: 0,
    });
}

#[test]
fn corpus_flow_mapping_in_a_list() {
    run_corpus_case(&CorpusCase {
        file: "mutating-webhook.yaml",
        edits: vec![
            (
                "MutatingWebhookConfiguration",
                "webhook.istio.networking.internal.knative.dev",
                set(
                    "/webhooks/0/objectSelector/matchExpressions/0/operator",
                    json!("In"),
                ),
            ),
            (
                "MutatingWebhookConfiguration",
                "webhook.istio.networking.internal.knative.dev",
                set(
                    "/webhooks/0/objectSelector/matchExpressions/0/values",
                    json!(["a", "true"]),
                ),
            ),
            (
                "MutatingWebhookConfiguration",
                "webhook.istio.networking.internal.knative.dev",
                set("/webhooks/0/timeoutSeconds", json!(10)),
            ),
            (
                "MutatingWebhookConfiguration",
                "webhook.istio.networking.internal.knative.dev",
                Edit::Remove {
                    path: FieldPath::parse("/metadata/labels").key("app.kubernetes.io/version"),
                },
            ),
        ],
        changed: (2, 2),
        not_applied: 0,
    });
}

#[test]
fn corpus_crlf_line_endings() {
    run_corpus_case(&CorpusCase {
        file: "helloworld-crlf.yaml",
        edits: vec![
            (
                "Deployment",
                "helloworld-v2",
                set(
                    "/spec/template/spec/terminationGracePeriodSeconds",
                    json!(45),
                ),
            ),
            (
                "Deployment",
                "helloworld-v1",
                set("/spec/replicas", json!(2)),
            ),
            (
                "Deployment",
                "helloworld-v1",
                Edit::Remove {
                    path: FieldPath::parse("/metadata/labels/version"),
                },
            ),
        ],
        changed: (2, 2),
        not_applied: 0,
    });
}

#[test]
fn corpus_byte_order_mark() {
    run_corpus_case(&CorpusCase {
        file: "httpbin-bom.yaml",
        edits: vec![(
            "Deployment",
            "httpbin",
            set(
                "/spec/template/metadata/annotations/sidecar.istio.io~1inject",
                json!("true"),
            ),
        )],
        changed: (0, 2),
        not_applied: 0,
    });
}

#[test]
fn corpus_anchors_are_never_edited_through() {
    run_corpus_case(&CorpusCase {
        file: "helloworld-anchors.yaml",
        edits: vec![
            // Through the alias: would silently change the selector too. Refused.
            (
                "Deployment",
                "helloworld-v1",
                set("/spec/template/metadata/labels/version", json!("v9")),
            ),
            // Inside the anchored mapping: would change the pod labels too. Refused.
            (
                "Deployment",
                "helloworld-v1",
                set("/spec/selector/matchLabels/version", json!("v9")),
            ),
            // Elsewhere in the same document: fine.
            (
                "Deployment",
                "helloworld-v1",
                set("/spec/replicas", json!(3)),
            ),
            (
                "Deployment",
                "helloworld-v2",
                set("/spec/template/metadata/labels/version", json!("v3")),
            ),
        ],
        changed: (2, 2),
        not_applied: 2,
    });
}

#[test]
fn conflicting_fixes_first_by_rule_order_wins() {
    let tmp = temp_dir("conflict");
    let path = tmp.join("d.yaml");
    std::fs::write(&path, "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  terminationGracePeriodSeconds: 5\n").unwrap();
    let input = path.to_string_lossy().into_owned();
    let mut report = run_check(
        std::slice::from_ref(&input),
        &["--select".into(), "IPF001".into()],
    );
    let field = FieldPath::parse("/spec/terminationGracePeriodSeconds");
    let diag = |code: &'static str, value: i64| Diagnostic {
        code,
        name: "test",
        severity: Severity::Warning,
        message: format!("{code} wants {value}"),
        subject: Subject::Object {
            object: 0,
            field: field.clone(),
        },
        baseline_state: None,
        fix: Some(Fix::safe(
            "set",
            vec![Edit::Set {
                path: field.clone(),
                value: value.into(),
            }],
        )),
    };
    // Reported in the opposite order of the rule registry.
    report.diagnostics.push(diag("IPF406", 60));
    report.diagnostics.push(diag("IPF405", 45));
    report.diagnostics.push(diag("IPF405", 45));
    let plan = fix::plan(&report, false);
    assert_eq!(plan.changes.len(), 1);
    assert!(plan.changes[0]
        .after
        .contains("terminationGracePeriodSeconds: 45\n"));
    assert!(
        matches!(&plan.outcomes[0].status, Status::NotApplied(r) if r.contains("IPF405")),
        "{:?}",
        plan.outcomes
    );
    assert_eq!(plan.outcomes[1].status, Status::Applied);
    assert_eq!(plan.outcomes[2].status, Status::AlreadyApplied);
    let summary = fix::summary(&report, &plan, &[], false);
    assert!(
        summary.starts_with("Would fix 1 finding in 1 file.\n"),
        "{summary}"
    );
    assert!(summary.contains("not fixed: "), "{summary}");
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn only_safe_fixes_without_unsafe_fixes_and_never_display_only() {
    let dir = Path::new("fixtures/IPF203-conflicting-injection-labels");
    let mut inputs = fixture_inputs(dir);
    inputs.extend(["--select".to_string(), "IPF203".to_string()]);
    let report = run_check(&inputs, &[]);
    let safe = fix::plan(&report, false);
    let all = fix::plan(&report, true);
    assert!(safe.unsafe_skipped > 0);
    assert!(
        safe.applied() < all.applied(),
        "unsafe fixes must need --unsafe-fixes"
    );
    for (plan, unsafe_ok) in [(&safe, false), (&all, true)] {
        for o in &plan.outcomes {
            let f = report.diagnostics[o.diagnostic].fix.as_ref().unwrap();
            assert!(
                fix::is_applicable(f, unsafe_ok),
                "{:?} was tried",
                f.applicability
            );
        }
    }
}

#[test]
fn fix_and_diff_through_the_command_line() {
    let fixture = Path::new("fixtures/IPF405-grace-period-shorter-than-drain");
    let tmp = temp_dir("cli");
    let copy = tmp.join("input.yaml");
    std::fs::copy(fixture.join("input.yaml"), &copy).unwrap();
    let original = std::fs::read_to_string(&copy).unwrap();
    let run = |extra: &[&str]| {
        let mut argv = vec![
            "istio-preflight",
            "check",
            copy.to_str().unwrap(),
            "--select",
            "IPF405",
            "--format",
            "json",
            "-o",
        ];
        let out = tmp.join("report.json");
        argv.push(out.to_str().unwrap());
        argv.extend_from_slice(extra);
        let cli = <istio_preflight::cli::Cli as clap::Parser>::try_parse_from(argv).unwrap();
        let outcome = istio_preflight::run(cli);
        (outcome, std::fs::read_to_string(out).unwrap())
    };
    let (_, diff) = run(&["--diff"]);
    assert!(diff.starts_with("--- "), "{diff}");
    assert!(
        diff.contains("+      terminationGracePeriodSeconds: 45\n"),
        "{diff}"
    );
    assert_eq!(
        std::fs::read_to_string(&copy).unwrap(),
        original,
        "--diff changed the file"
    );

    let (outcome, report) = run(&["--fix"]);
    let fixed = std::fs::read_to_string(&copy).unwrap();
    assert_eq!(
        fixed,
        std::fs::read_to_string(fixture.join("fixed.yaml")).unwrap()
    );
    // The report is of the fixed file: no IPF405 finding is left.
    let json: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!(
        json["diagnostics"].as_array().map(Vec::len),
        Some(0),
        "{report}"
    );
    assert_eq!(outcome, istio_preflight::Outcome::Clean);

    let (_, diff) = run(&["--diff"]);
    assert_eq!(diff, "", "nothing is left to fix");
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn a_file_changed_since_it_was_read_is_not_overwritten() {
    let tmp = temp_dir("race");
    let path = tmp.join("d.yaml");
    std::fs::write(&path, "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    }
    let change = fix::FileChange {
        file: 0,
        path: path.to_string_lossy().into_owned(),
        before: "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n".into(),
        after: "apiVersion: v1\nkind: Pod\nmetadata:\n  name: q\n".into(),
    };
    std::fs::write(
        &path,
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: edited\n",
    )
    .unwrap();
    let err = fix::write(&change).unwrap_err();
    assert!(err.contains("changed on disk"), "{err}");
    assert!(std::fs::read_to_string(&path).unwrap().contains("edited"));

    std::fs::write(&path, &change.before).unwrap();
    fix::write(&change).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), change.after);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640, "permissions kept");
    }
    let stdin = fix::FileChange {
        path: "-".into(),
        ..change.clone()
    };
    assert!(fix::write(&stdin).unwrap_err().contains("--diff"));
    let leftovers = std::fs::read_dir(&tmp).unwrap().count();
    assert_eq!(leftovers, 1, "no temporary file left behind");
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn sarif_fixes_are_valid_sarif() {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string("tests/data/sarif-2.1.0.json").unwrap())
            .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let mut with_fixes = 0;
    for dir in rule_fixture_dirs() {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let mut extra = vec!["--select".to_string(), name[..6].to_string()];
        extra.extend(fixture_args(&dir));
        let report = run_check(&fixture_inputs(&dir), &extra);
        let sarif: serde_json::Value = serde_json::from_str(&istio_preflight::emit::render(
            &report,
            istio_preflight::emit::Format::Sarif,
            false,
        ))
        .unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&sarif)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .take(5)
            .collect();
        assert!(errors.is_empty(), "{name}: invalid SARIF: {errors:?}");
        for (r, d) in sarif["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .zip(&report.diagnostics)
        {
            let applicable = d.fix.as_ref().is_some_and(|f| fix::is_applicable(f, true));
            assert_eq!(
                r.get("fixes").is_some(),
                applicable,
                "{name}: {}",
                d.message
            );
            if let Some(fixes) = r.get("fixes") {
                with_fixes += 1;
                let replacement = &fixes[0]["artifactChanges"][0]["replacements"][0];
                assert!(replacement["deletedRegion"]["startLine"].as_u64().unwrap() >= 1);
                assert!(replacement["insertedContent"]["text"].is_string());
            }
        }
    }
    assert!(with_fixes > 0);
}

#[test]
fn objects_inside_a_kind_list_are_fixed_in_place() {
    let tmp = temp_dir("list");
    let path = tmp.join("list.yaml");
    let text = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: a\n- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: b\n  spec:\n    containers: []\n";
    std::fs::write(&path, text).unwrap();
    let input = path.to_string_lossy().into_owned();
    let mut report = run_check(
        std::slice::from_ref(&input),
        &["--select".into(), "IPF001".into()],
    );
    let b = report
        .inventory
        .objects
        .iter()
        .position(|o| o.name() == "b")
        .unwrap();
    let field = FieldPath::parse("/spec/terminationGracePeriodSeconds");
    report.diagnostics.push(Diagnostic {
        code: "IPF405",
        name: "test",
        severity: Severity::Warning,
        message: "test".into(),
        subject: Subject::Object {
            object: b,
            field: field.clone(),
        },
        baseline_state: None,
        fix: Some(Fix::safe(
            "set",
            vec![Edit::Set {
                path: field,
                value: 45.into(),
            }],
        )),
    });
    let plan = fix::plan(&report, false);
    assert_eq!(
        plan.outcomes[0].status,
        Status::Applied,
        "{:?}",
        plan.outcomes
    );
    assert_eq!(
        plan.changes[0].after,
        text.replace(
            "    containers: []\n",
            "    containers: []\n    terminationGracePeriodSeconds: 45\n"
        )
    );
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn cluster_objects_get_a_kubectl_patch_and_are_never_changed() {
    let dir = Path::new("fixtures/IPF405-grace-period-shorter-than-drain");
    let mut report = run_check(&fixture_inputs(dir), &["--select".into(), "IPF405".into()]);
    let fixable: Vec<usize> = report
        .diagnostics
        .iter()
        .filter(|d| d.fix.as_ref().is_some_and(|f| fix::is_applicable(f, false)))
        .filter_map(|d| d.object())
        .collect();
    let first = fixable[0];
    report.inventory.objects[first].origin = istio_preflight::model::Origin::Cluster;
    let plan = fix::plan(&report, false);
    assert_eq!(plan.patches.len(), 1);
    let o = &report.inventory.objects[first];
    let command = &plan.patches[0].command;
    assert!(
        command.starts_with(&format!("kubectl patch deployment.apps/{} -n {} --type merge -p '{{\"spec\":{{\"template\":{{\"spec\":{{\"terminationGracePeriodSeconds\":", o.name(), o.namespace())),
        "{command}"
    );
    // The file fixes still apply to every other object; the cluster one is only shown.
    assert_eq!(plan.applied(), fixable.len() - 1);
    let shown = fix::render_diff(&report, &plan);
    assert!(
        shown.contains("(read from the cluster, never changed here)"),
        "{shown}"
    );
    assert!(fix::summary(&report, &plan, &[], true).contains(command.as_str()));
}

#[test]
fn list_items_are_edited_one_by_one_whatever_their_style() {
    let tmp = temp_dir("list-styles");
    let path = tmp.join("list.yaml");
    let text = "apiVersion: v1\nkind: List\nitems:\n- metadata: {name: a}\n  kind: Pod\n  apiVersion: v1\n- {apiVersion: v1, kind: Pod, metadata: {name: b}}\n-   apiVersion: v1\n    kind: Pod\n    metadata:\n      name: c\nmetadata:\n  resourceVersion: \"\"\n";
    std::fs::write(&path, text).unwrap();
    let input = path.to_string_lossy().into_owned();
    let mut report = run_check(
        std::slice::from_ref(&input),
        &["--select".into(), "IPF001".into()],
    );
    let id = |name: &str| {
        report
            .inventory
            .objects
            .iter()
            .position(|o| o.name() == name)
            .unwrap()
    };
    let edits = [
        (
            id("a"),
            Edit::Remove {
                path: FieldPath::parse("/metadata"),
            },
        ),
        (
            id("b"),
            Edit::Set {
                path: FieldPath::parse("/spec/x"),
                value: 1.into(),
            },
        ),
        (
            id("c"),
            Edit::Set {
                path: FieldPath::parse("/metadata/labels/app"),
                value: "c".into(),
            },
        ),
    ];
    for (object, edit) in edits {
        report.diagnostics.push(Diagnostic {
            code: "IPF405",
            name: "test",
            severity: Severity::Warning,
            message: "test".into(),
            subject: Subject::Object {
                object,
                field: FieldPath::root(),
            },
            baseline_state: None,
            fix: Some(Fix::safe("edit", vec![edit])),
        });
    }
    let plan = fix::plan(&report, false);
    assert!(
        plan.outcomes.iter().all(|o| o.status == Status::Applied),
        "{:?}",
        plan.outcomes
    );
    assert_eq!(
        plan.changes[0].after,
        "apiVersion: v1\nkind: List\nitems:\n- kind: Pod\n  apiVersion: v1\n- {apiVersion: v1, kind: Pod, metadata: {name: b}, spec: {x: 1}}\n-   apiVersion: v1\n    kind: Pod\n    metadata:\n      name: c\n      labels:\n        app: c\nmetadata:\n  resourceVersion: \"\"\n"
    );
    let _ = std::fs::remove_dir_all(&tmp);
}
