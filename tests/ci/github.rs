//! `--format github`: annotations as the runner parses them, the per-step budget and the
//! step summary.

use super::common::check_args;
use super::*;
use istio_preflight::emit::github;

/// The demo with `DEMO_RULES`: 3 errors and 3 warnings.
fn demo_report() -> istio_preflight::report::Report {
    istio_preflight::check(&check_args(&[
        "fixtures/demo",
        "--target",
        "1.30.3",
        "--no-config",
        "--select",
        DEMO_RULES,
    ]))
    .unwrap()
}

/// The demo with every rule, for checks that must hold for whatever a rule reports.
fn full_demo_report() -> istio_preflight::report::Report {
    istio_preflight::check(&check_args(&[
        "fixtures/demo",
        "--target",
        "1.30.3",
        "--no-config",
    ]))
    .unwrap()
}

/// A workflow command: its name, properties and message.
type Parsed = (String, Vec<(String, String)>, String);

/// The command and properties of a workflow command line.
fn parse(line: &str) -> Parsed {
    let rest = line.strip_prefix("::").expect("a workflow command");
    let (head, message) = rest.split_once("::").expect("a message");
    let (command, props) = head.split_once(' ').unwrap_or((head, ""));
    let props = props
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').expect("key=value");
            (k.to_string(), v.to_string())
        })
        .collect();
    (command.to_string(), props, message.to_string())
}

fn prop<'a>(props: &'a [(String, String)], key: &str) -> Option<&'a str> {
    props
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

#[test]
fn each_finding_is_one_annotation_on_its_field() {
    let out = github::render(&demo_report());
    assert_eq!(out.lines().count(), 6, "{out}");
    assert!(
        out.lines().all(|l| prop(&parse(l).1, "file").is_some()),
        "every one of these findings has a place: {out}"
    );
    assert_annotations_well_formed(&out);
    // Every rule's findings, with no budget in the way.
    let report = full_demo_report();
    let out = github::render_with_budget(&report, usize::MAX);
    assert_eq!(out.lines().count(), report.diagnostics.len(), "{out}");
    assert_annotations_well_formed(&out);
}

/// Each line is an annotation of one finding, on its field when it has a place; errors
/// before warnings.
fn assert_annotations_well_formed(out: &str) {
    let lines: Vec<&str> = out.lines().collect();
    for line in &lines {
        let (command, props, message) = parse(line);
        assert!(["error", "warning", "notice"].contains(&command.as_str()));
        assert!(prop(&props, "title").unwrap().starts_with("IPF"));
        assert!(!message.contains('\n') && !message.contains('\r'));
        let Some(file) = prop(&props, "file") else {
            assert!(prop(&props, "line").is_none(), "{line}");
            continue;
        };
        assert!(file.starts_with("fixtures/demo/"), "{file}");
        let (l, el) = (
            prop(&props, "line").unwrap(),
            prop(&props, "endLine").unwrap(),
        );
        // Columns only on single-line annotations (the runner drops them otherwise).
        if prop(&props, "col").is_some() {
            assert_eq!(l, el);
            let (c, ec): (u32, u32) = (
                prop(&props, "col").unwrap().parse().unwrap(),
                prop(&props, "endColumn").unwrap().parse().unwrap(),
            );
            assert!(ec >= c);
        }
    }
    // Errors before warnings.
    let kinds: Vec<String> = lines.iter().map(|l| parse(l).0).collect();
    let mut sorted = kinds.clone();
    sorted.sort_by_key(|k| ["error", "warning", "notice"].iter().position(|x| x == k));
    assert_eq!(kinds, sorted);
}

#[test]
fn the_budget_keeps_errors_first_and_counts_what_was_left_out() {
    let report = demo_report();
    let out = github::render_with_budget(&report, 2);
    let lines: Vec<Parsed> = out.lines().map(parse).collect();
    let kinds: Vec<&str> = lines.iter().map(|(c, _, _)| c.as_str()).collect();
    assert_eq!(
        kinds,
        ["error", "error", "warning", "warning", "notice"],
        "{out}"
    );
    let (_, props, message) = lines.last().unwrap();
    assert_eq!(prop(props, "title"), Some("istio-preflight"));
    assert!(
        message.starts_with("1 error, 1 warning not shown as annotations: GitHub keeps at most 2 of each kind per step."),
        "{message}"
    );
    assert_eq!(github::PER_KIND, 10);
}

#[test]
fn annotations_escape_properties_and_messages() {
    let s = Scratch::new("escape");
    s.git_root();
    s.write(
        "odd,name:100%.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels: {istio-injection: enabled, istio.io/rev: canary}\n",
    );
    let r = run(
        &s.dir,
        &["check", ".", "--format", "github", "--select", "IPF203"],
        &[],
    );
    let line = r.stdout.lines().next().expect("one annotation");
    assert!(
        line.starts_with("::error file=odd%2Cname%3A100%25.yaml,line=5,"),
        "{line}"
    );
    // The fix goes on its own line in the annotation: an escaped line feed.
    assert!(line.contains("%0Afix: "), "{line}");
    assert_eq!(r.stdout.lines().count(), 1);
}

#[test]
fn a_step_summary_is_appended_when_the_runner_asks_for_one() {
    let s = Scratch::new("summary");
    s.git_root();
    s.demo("estate");
    let summary = s.write("summary.md", "previous step\n");
    let r = run(
        &s.dir,
        &[
            "check", "estate", "--target", "1.30.3", "--format", "github", "--select", DEMO_RULES,
        ],
        &[("GITHUB_STEP_SUMMARY", summary.to_str().unwrap())],
    );
    assert_eq!(r.code, 1);
    let text = s.read("summary.md");
    assert!(
        text.starts_with("previous step\n## istio-preflight\n"),
        "{text}"
    );
    assert!(text.contains("**3 errors**, **3 warnings**"), "{text}");
    assert!(
        text.contains("| error | IPF405 grace-period-shorter-than-drain | Deployment shop/cart | estate/apps/shop/cart.yaml:"),
        "{text}"
    );
    // Other formats leave it alone.
    run(
        &s.dir,
        &["check", "estate", "--format", "json"],
        &[("GITHUB_STEP_SUMMARY", summary.to_str().unwrap())],
    );
    assert_eq!(s.read("summary.md"), text);
}

#[test]
fn the_step_summary_stays_under_its_limit() {
    let report = demo_report();
    let full = github::step_summary(&report);
    assert!(!full.contains("not listed"));
    let cut = github::step_summary_limited(&report, 700);
    assert!(cut.len() <= 700, "{}", cut.len());
    assert!(cut.contains("more findings are not listed"), "{cut}");
}

#[test]
fn notes_about_a_place_are_annotated_there() {
    let s = Scratch::new("note-place");
    s.git_root();
    s.write(
        "deploy/mixed.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: plain\n---\njust: data\n",
    );
    let r = run(&s.dir, &["check", "deploy", "--format", "github"], &[]);
    assert_eq!(
        r.stdout,
        "::notice file=deploy/mixed.yaml,line=6,title=istio-preflight::document has no apiVersion/kind; not a Kubernetes object, skipped\n"
    );
}
