//! No input may crash, hang or stop a run (SPEC §7): the input limits with their IPF001
//! diagnostics, files that cannot be read, and inputs that once crashed the fuzzer.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::check_args;
use istio_preflight::emit::{self, Format};
use istio_preflight::load::files::MAX_FILE_BYTES;
use istio_preflight::report::Report;
use istio_preflight::yaml::{ALIAS_NODES_PER_BYTE, MAX_ALIAS_NODES, MAX_DEPTH};

/// A fresh directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "istio-preflight-robustness-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn check(paths: &[&Path]) -> Report {
    let mut args: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    args.extend(["--target".into(), "1.29.1".into()]);
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let report = istio_preflight::check(&check_args(&argv)).expect("check runs");
    // Every output format must cope with whatever the input did.
    for format in Format::ALL {
        emit::render(&report, format, false);
    }
    report
}

/// The IPF001 messages, with the line each points at (0 when it has no position).
fn invalid(report: &Report) -> Vec<(u32, String)> {
    report
        .diagnostics
        .iter()
        .filter(|d| d.code == "IPF001")
        .map(|d| {
            let line = report.location(d).map_or(0, |l| l.span.start.line);
            (line, d.message.clone())
        })
        .collect()
}

const VALID: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: still-checked\n  namespace: shop\n";

fn still_checked(report: &Report) -> bool {
    report
        .inventory
        .objects
        .iter()
        .any(|o| o.name() == "still-checked")
}

#[test]
fn a_file_over_the_size_limit_is_reported_and_not_read() {
    let dir = scratch("size");
    let big = dir.join("huge.yaml");
    // Sparse: it takes no disk space, and the loader must not read it to refuse it.
    let f = std::fs::File::create(&big).expect("create");
    f.set_len(MAX_FILE_BYTES + 1).expect("set_len");
    std::fs::write(dir.join("ok.yaml"), VALID).expect("write");
    let report = check(&[&dir]);
    let errors = invalid(&report);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, 1, "{errors:?}");
    assert!(
        errors[0].1.contains("larger than the limit of 256 MiB"),
        "{errors:?}"
    );
    assert!(still_checked(&report));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A custom resource nested `levels` block mappings deep in all (the root mapping
/// included); the innermost starts on line `levels + 4`.
fn nested(levels: usize) -> String {
    let mut text =
        String::from("apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: deep\nspec:\n");
    for i in 1..levels {
        let value = if i == levels - 1 { " 1" } else { "" };
        text.push_str(&format!("{}a:{value}\n", " ".repeat(i)));
    }
    text
}

#[test]
fn nesting_up_to_the_limit_is_read_and_deeper_is_reported() {
    let dir = scratch("depth");
    let at_limit = dir.join("at-limit.yaml");
    std::fs::write(&at_limit, nested(MAX_DEPTH)).expect("write");
    let report = check(&[&at_limit]);
    assert!(invalid(&report).is_empty(), "{:?}", invalid(&report));
    assert_eq!(report.inventory.objects.len(), 1);

    let too_deep = dir.join("too-deep.yaml");
    std::fs::write(&too_deep, format!("{}---\n{VALID}", nested(MAX_DEPTH + 1))).expect("write");
    let report = check(&[&too_deep]);
    let errors = invalid(&report);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0 as usize, MAX_DEPTH + 1 + 4, "{errors:?}");
    assert!(
        errors[0]
            .1
            .contains(&format!("nesting deeper than {MAX_DEPTH} levels")),
        "{errors:?}"
    );
    assert!(still_checked(&report));

    // Flow collections hit the parser's own limit first, with a message as clear.
    let flow = dir.join("flow.yaml");
    let brackets = format!("{}{}", "[".repeat(300), "]".repeat(300));
    std::fs::write(
        &flow,
        format!(
            "{VALID}---
a: {brackets}
"
        ),
    )
    .expect("write");
    let report = check(&[&flow]);
    let errors = invalid(&report);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, 7, "{errors:?}");
    assert!(
        errors[0].1.contains("nesting deeper than 255 flow levels"),
        "{errors:?}"
    );
    assert!(still_checked(&report));

    // A block-style ladder deeper than the limit, far deeper than any stack would take.
    let ladder: String = (0..2_000)
        .map(|i| format!("{}k:\n", " ".repeat(i)))
        .collect();
    let ladder_file = dir.join("ladder.yaml");
    std::fs::write(&ladder_file, format!("{ladder}---\n{VALID}")).expect("write");
    let report = check(&[&ladder_file]);
    assert!(still_checked(&report));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Nine levels of nine aliases each: 9^9 nodes when expanded.
fn alias_bomb() -> String {
    let mut text = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: lol\ndata:\n  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for (prev, name) in ["a", "b", "c", "d", "e", "f", "g", "h"]
        .iter()
        .zip(["b", "c", "d", "e", "f", "g", "h", "i"])
    {
        let refs = vec![format!("*{prev}"); 9].join(", ");
        text.push_str(&format!("  {name}: &{name} [{refs}]\n"));
    }
    text
}

#[test]
fn alias_expansion_over_the_limit_is_reported() {
    let dir = scratch("alias");
    let bomb = dir.join("bomb.yaml");
    std::fs::write(&bomb, format!("{}---\n{VALID}", alias_bomb())).expect("write");
    let started = Instant::now();
    let report = check(&[&bomb]);
    assert!(started.elapsed() < Duration::from_secs(30));
    let errors = invalid(&report);
    assert_eq!(errors.len(), 1, "{errors:?}");
    // The budget is four nodes per byte of the bomb; the aliases in `b` and `c` expand to
    // 909 nodes, and those of `c` in `d` (line 9, 820 nodes each) cross it.
    let budget = alias_bomb().len() * ALIAS_NODES_PER_BYTE;
    assert!(budget < MAX_ALIAS_NODES);
    assert!(
        errors[0].1.contains(&format!(
            "aliases expand to more than {budget} nodes ({ALIAS_NODES_PER_BYTE} per byte of the document, at most {MAX_ALIAS_NODES}: a YAML \"billion laughs\" document?); refusing to expand"
        )),
        "{errors:?}"
    );
    assert_eq!(errors[0].0, 9, "{errors:?}");
    assert!(still_checked(&report));

    // A stream of small bombs, each far below the per-document cap: every one is refused
    // by its own budget, so a megabyte of them cannot turn into billions of nodes.
    let small_bomb = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: s}\ndata:\n  a: &a [x, x, x, x, x, x, x, x, x, x, x, x]\n  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n  d: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n";
    let stream = dir.join("stream.yaml");
    std::fs::write(
        &stream,
        format!("{}{VALID}", format!("{small_bomb}---\n").repeat(500)),
    )
    .expect("write");
    let report = check(&[&stream]);
    let errors = invalid(&report);
    assert_eq!(errors.len(), 500);
    assert!(errors.iter().all(|(_, m)| m.contains("billion laughs")));
    assert!(still_checked(&report));

    // Ordinary anchors, well under the budget, still work.
    let anchors = dir.join("anchors.yaml");
    std::fs::write(
        &anchors,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: anchors\n  labels: &l {app: a}\n  annotations: *l\n",
    )
    .expect("write");
    let report = check(&[&anchors]);
    assert!(invalid(&report).is_empty());
    assert_eq!(
        report.inventory.objects[0].annotation("app"),
        Some("a"),
        "the alias took the anchor's value"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs the binary and fails the test instead of hanging when it does not finish.
fn run_bounded(args: &[&str], cwd: &Path) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_istio-preflight"))
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let out = child.wait_with_output().expect("output");
            let text = String::from_utf8_lossy(&out.stdout).to_string()
                + &String::from_utf8_lossy(&out.stderr);
            return (status.code(), text);
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("istio-preflight {args:?} hung");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn mkfifo(path: &Path) -> bool {
    Command::new("mkfifo")
        .arg(path)
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn a_fifo_is_reported_and_never_opened() {
    let dir = scratch("fifo");
    std::fs::create_dir_all(dir.join("repo")).expect("mkdir");
    std::fs::write(dir.join("repo/ok.yaml"), VALID).expect("write");
    if !mkfifo(&dir.join("repo/x.yaml")) {
        eprintln!("skipped: mkfifo is not available");
        return;
    }
    // Inside a directory that is walked, and named on the command line.
    for args in [
        vec!["check", "repo"],
        vec!["check", "repo/x.yaml", "repo/ok.yaml"],
    ] {
        let mut args = args;
        args.extend(["--format", "json"]);
        let (code, out) = run_bounded(&args, &dir);
        assert_eq!(code, Some(1), "{out}");
        assert!(
            out.contains(
                "cannot read repo/x.yaml: not a regular file (a FIFO, socket or device), skipped"
            ),
            "{out}"
        );
        assert!(out.contains("\"objects\": 1"), "{out}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_directory_symlink_loop_is_reported_and_the_rest_is_checked() {
    let dir = scratch("loop");
    std::fs::create_dir_all(dir.join("repo/apps")).expect("mkdir");
    std::fs::write(dir.join("repo/apps/ok.yaml"), VALID).expect("write");
    std::os::unix::fs::symlink("..", dir.join("repo/apps/back")).expect("symlink");
    // A link to itself: stat fails with "too many levels of symbolic links".
    std::os::unix::fs::symlink("self.yaml", dir.join("repo/self.yaml")).expect("symlink");
    let (code, out) = run_bounded(&["check", "repo", "--format", "json"], &dir);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("repo/apps/back: symbolic link loop, not followed"),
        "{out}"
    );
    assert!(out.contains("cannot read repo/self.yaml"), "{out}");
    assert!(out.contains("\"objects\": 1"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn unreadable_files_are_reported_and_the_rest_is_checked() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("unreadable");
    std::fs::create_dir_all(dir.join("repo")).expect("mkdir");
    std::fs::write(dir.join("repo/ok.yaml"), VALID).expect("write");
    // A dangling symlink fails for every user, root included.
    std::os::unix::fs::symlink("gone.yaml", dir.join("repo/dangling.yaml")).expect("symlink");
    let locked = dir.join("repo/locked.yaml");
    std::fs::write(&locked, VALID.replace("still-checked", "locked")).expect("write");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).expect("chmod");
    // Root (as in many containers and CI runners) reads it anyway.
    let privileged = std::fs::File::open(&locked).is_ok();

    let (code, out) = run_bounded(&["check", "repo", "--format", "json"], &dir);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("cannot read repo/dangling.yaml"), "{out}");
    if privileged {
        eprintln!(
            "skipped the permission-denied case: running with privileges that read mode-000 files"
        );
    } else {
        assert!(
            out.contains("cannot read repo/locked.yaml: Permission denied"),
            "{out}"
        );
    }
    let report = check(&[&dir.join("repo")]);
    assert!(still_checked(&report));
    let _ = std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o644));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_generated_estate_is_valid_and_exercises_every_rule() {
    let dir = scratch("generated");
    estate::write_estate(&dir, 2_000, 42).expect("write estate");
    let report = check(&[&dir]);
    assert_eq!(report.inventory.objects.len(), 2_000);
    assert!(invalid(&report).is_empty(), "{:?}", invalid(&report));
    for code in ["IPF101", "IPF203", "IPF405", "IPF406"] {
        assert!(
            report.diagnostics.iter().any(|d| d.code == code),
            "the generated estate should give {code} work to do"
        );
    }
    // Some Deployments silence IPF406 with the ignore annotation on their pod template.
    let silenced = report
        .inventory
        .workloads
        .iter()
        .filter(|w| w.annotation("istio-preflight.io/ignore").is_some())
        .map(|w| w.object)
        .collect::<Vec<_>>();
    assert!(!silenced.is_empty());
    assert!(!report
        .diagnostics
        .iter()
        .any(|d| d.code == "IPF406" && d.object().is_some_and(|o| silenced.contains(&o))));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every manifest under fixtures/, as mutation seeds.
fn seeds() -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    let mut stack = vec![PathBuf::from("fixtures")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("fixtures").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "json") {
                seeds.push(std::fs::read(&path).expect("read seed"));
            }
        }
    }
    seeds.sort();
    seeds
}

/// One random edit of the kind that breaks YAML in interesting ways.
fn mutate(input: &mut Vec<u8>, other: &[u8], rng: &mut estate::Rng) {
    const BYTES: &[u8] = b":- \n\t[]{}&*!'\"#|>?,%@`\\0x\xff\x00\r~";
    let len = input.len().max(1) as u64;
    let at = rng.below(len) as usize;
    let at = at.min(input.len());
    match rng.below(7) {
        0 => {
            if let Some(b) = input.get_mut(at) {
                *b ^= 1 << rng.below(8);
            }
        }
        1 => input.insert(at, BYTES[rng.below(BYTES.len() as u64) as usize]),
        2 => {
            let end = (at + 1 + rng.below(64) as usize).min(input.len());
            input.drain(at..end);
        }
        3 => {
            let end = (at + 1 + rng.below(256) as usize).min(input.len());
            let copy = input[at..end].to_vec();
            let to = rng.below(len) as usize;
            input.splice(to.min(input.len())..to.min(input.len()), copy);
        }
        4 => {
            let from = rng.below(other.len().max(1) as u64) as usize;
            let end = (from + rng.below(512) as usize).min(other.len());
            input.splice(at..at, other[from.min(end)..end].iter().copied());
        }
        5 => input.truncate(at),
        _ => {
            // Re-indent a line: YAML's structure lives in its indentation.
            let line_start = input[..at]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1);
            for _ in 0..1 + rng.below(4) {
                input.insert(line_start, b' ');
            }
        }
    }
}

/// The loader parses runs of documents into one tree and rolls back whatever a broken
/// document stored: on mutated multi-document input, every document must read in a run
/// exactly as it reads alone (the `yaml` fuzz target checks the same on arbitrary bytes).
#[test]
fn mutated_documents_read_the_same_in_a_run_as_alone() {
    use istio_preflight::yaml;
    let seeds = seeds();
    let mut rng = estate::Rng::new(21);
    let mut compared = 0;
    for round in 0..300 {
        // Several seeds joined, so that runs hold many documents, some of them broken.
        let mut input = Vec::new();
        for _ in 0..3 {
            input.extend_from_slice(&seeds[rng.below(seeds.len() as u64) as usize]);
            input.extend_from_slice(b"\n---\n");
        }
        let other = &seeds[round % seeds.len()];
        for _ in 0..1 + rng.below(6) {
            mutate(&mut input, other, &mut rng);
        }
        let Ok(text) = String::from_utf8(input) else {
            continue;
        };
        let file = yaml::Text::new(text);
        let docs = yaml::split_documents(&file);
        let (tree, roots) = yaml::parse_documents(&file, &docs);
        for ((line, range), in_run) in docs.into_iter().zip(&roots) {
            let alone = yaml::parse_document(&file, line, range).map(|d| d.root);
            match (in_run, &alone) {
                (Ok(Some(id)), Ok(Some(alone))) => {
                    let root = tree.node(*id);
                    assert_eq!(root.to_json(), alone.root().to_json(), "round {round}");
                    assert_eq!(root.span(), alone.root().span(), "round {round}");
                }
                (Ok(None), Ok(None)) => {}
                (Err(a), Err(b)) => assert_eq!(a, b, "round {round}"),
                _ => panic!("round {round}: in a run {in_run:?}, alone {alone:?}"),
            }
            compared += 1;
        }
    }
    assert!(compared > 300, "only {compared} documents compared");
}

/// A bounded, deterministic stand-in for the cargo-fuzz targets that runs on stable Rust
/// in every `cargo test`: mutated fixtures through the whole check and every output format.
/// `MUTATION_ROUNDS` raises the count for a longer local run.
#[test]
fn mutated_fixtures_never_crash_the_check() {
    let rounds: usize = std::env::var("MUTATION_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let seeds = seeds();
    assert!(seeds.len() > 5, "fixtures/ holds the seeds");
    let dir = scratch("mutation");
    let file = dir.join("input.yaml");
    let mut rng = estate::Rng::new(8);
    for round in 0..rounds {
        let mut input = seeds[round % seeds.len()].clone();
        let other = &seeds[rng.below(seeds.len() as u64) as usize];
        for _ in 0..1 + rng.below(8) {
            mutate(&mut input, other, &mut rng);
        }
        std::fs::write(&file, &input).expect("write");
        let outcome = std::panic::catch_unwind(|| check(&[&file]));
        if outcome.is_err() {
            let kept = dir.with_extension(format!("crash-{round}.yaml"));
            let _ = std::fs::write(&kept, &input);
            panic!("round {round} crashed; input kept at {}", kept.display());
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
