//! Pre-merge mode (`check --base REF`): throw-away git repositories whose last commit is the
//! base and whose working tree is the change. Each test skips with a message when `git` is
//! not installed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

mod common;

const ISTIOD_RELEASE: &str = "\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: istiod
  namespace: flux-system
spec:
  interval: 1h
  targetNamespace: istio-system
  chart:
    spec:
      chart: istiod
      version: 1.25.2
      sourceRef:
        kind: HelmRepository
        name: istio
  values:
    pilot:
      env:
        ENABLE_AUTO_SNI: \"false\"
";

/// A meshed single-replica Deployment that stops its only pod on restart: IPF404 before and
/// after any version bump.
const SHOP: &str = "\
apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels:
    istio-injection: enabled
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: cart
  namespace: shop
spec:
  replicas: 1
  strategy:
    type: Recreate
  selector:
    matchLabels:
      app: cart
  template:
    metadata:
      labels:
        app: cart
    spec:
      containers:
      - name: cart
        image: registry.example.com/cart:1.0
";

fn have_git() -> bool {
    let found = Command::new("git")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        eprintln!("skipped: pre-merge tests need git on PATH");
    }
    found
}

/// A scratch directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!(
            "istio-preflight-premerge-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(std::fs::canonicalize(&dir).unwrap())
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// git in `dir`; panics on failure.
fn git(dir: &Path, args: &[&str]) -> String {
    common::git(dir, args).expect("git runs")
}

fn write(dir: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
}

/// A repository whose one commit holds `files`, on branch `main`.
fn repo(scratch: &Scratch, files: &[(&str, &str)]) -> PathBuf {
    let dir = scratch.0.join("repo");
    std::fs::create_dir_all(&dir).unwrap();
    git(&dir, &["init", "-q"]);
    write(&dir, files);
    git(&dir, &["add", "-A"]);
    git(&dir, &["commit", "-q", "-m", "base"]);
    dir
}

fn check(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_istio-preflight"))
        .current_dir(dir)
        .arg("check")
        .args(args)
        .env("ISTIO_PREFLIGHT_TODAY", common::TEST_TODAY)
        .env("GIT_CEILING_DIRECTORIES", dir.parent().unwrap())
        .env_remove("GITHUB_WORKSPACE")
        .stdin(Stdio::null())
        .output()
        .expect("binary runs")
}

fn json(dir: &Path, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["--format", "json", "--fail-on", "never"]);
    let out = check(dir, &all);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json output")
}

/// (code, object name, state) of each finding.
fn states(report: &Value) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_string(),
                d["object"]["name"].as_str().unwrap_or("").to_string(),
                d["baseline_state"].as_str().unwrap_or("(none)").to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

fn has(report: &Value, code: &str, name: &str, state: &str) -> bool {
    states(report)
        .iter()
        .any(|(c, n, s)| c == code && n == name && s == state)
}

/// The base commit installs istiod 1.25.2 with Flux beside the shop; the working tree bumps
/// the chart to 1.26.0 (not committed). `None` when git is missing.
fn chart_bump(name: &str) -> Option<(Scratch, PathBuf)> {
    if !have_git() {
        return None;
    }
    let scratch = Scratch::new(name);
    let dir = repo(
        &scratch,
        &[
            ("istio/istiod.yaml", ISTIOD_RELEASE),
            ("apps/shop.yaml", SHOP),
        ],
    );
    let bumped = ISTIOD_RELEASE.replace("1.25.2", "1.26.0");
    write(&dir, &[("istio/istiod.yaml", &bumped)]);
    Some((scratch, dir))
}

#[test]
fn a_chart_bump_is_the_upgrade_and_only_its_findings_are_new() {
    let Some((_scratch, dir)) = chart_bump("bump") else {
        return;
    };
    let head = git(&dir, &["rev-parse", "main"]).trim().to_string();
    let status_before = git(&dir, &["status", "--porcelain"]);

    let r = json(&dir, &["--base", "main"]);
    assert_eq!(r["base"]["ref"], "main");
    assert_eq!(r["base"]["commit"], head.as_str());
    assert_eq!(r["estate"]["upgrade"]["current"], "1.25.2");
    assert_eq!(r["estate"]["upgrade"]["target"], "1.26.0");
    // ENABLE_AUTO_SNI is gone in 1.26: a finding only because the change upgrades.
    assert!(has(&r, "IPF307", "istiod", "new"), "{:?}", states(&r));
    // The single-replica Deployment was there before the change.
    assert!(has(&r, "IPF404", "cart", "unchanged"), "{:?}", states(&r));
    let unchanged = states(&r).iter().filter(|s| s.2 == "unchanged").count();
    assert_eq!(r["base"]["unchanged"], unchanged);
    assert!(states(&r).iter().all(|s| s.2 != "(none)"));

    // SARIF carries the same states.
    let sarif = check(&dir, &["--base", "main", "--format", "sarif"]);
    let sarif: Value = serde_json::from_slice(&sarif.stdout).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let state_of = |rule: &str| {
        results
            .iter()
            .find(|x| x["ruleId"] == rule)
            .map(|x| x["baselineState"].clone())
    };
    assert_eq!(state_of("IPF307"), Some(Value::from("new")));
    assert_eq!(state_of("IPF404"), Some(Value::from("unchanged")));

    // Only new findings decide the exit code, unless --fail-on-existing.
    let only_old = [
        "--base",
        "main",
        "--select",
        "IPF404",
        "--fail-on",
        "warning",
    ];
    assert_eq!(check(&dir, &only_old).status.code(), Some(0));
    let mut strict = only_old.to_vec();
    strict.push("--fail-on-existing");
    assert_eq!(check(&dir, &strict).status.code(), Some(1));
    // JUnit failures follow the exit code: the pre-existing finding is a passed case that
    // says so, and a failure with --fail-on-existing.
    let junit = |args: &[&str]| {
        let mut args = args.to_vec();
        args.extend(["--format", "junit"]);
        String::from_utf8(check(&dir, &args).stdout).unwrap()
    };
    let lenient = junit(&only_old);
    assert!(
        lenient.contains("failures=\"0\"")
            && !lenient.contains("<failure")
            && lenient.contains("Pre-existing: the base commit has the same finding."),
        "{lenient}"
    );
    assert!(junit(&strict).contains("<failure type=\"warning\""));
    let new = [
        "--base",
        "main",
        "--select",
        "IPF307",
        "--fail-on",
        "warning",
    ];
    assert_eq!(check(&dir, &new).status.code(), Some(1));
    // Without --base the same finding fails the run.
    assert_eq!(
        check(&dir, &["--select", "IPF404", "--fail-on", "warning"])
            .status
            .code(),
        Some(1)
    );

    // The human report says how many findings were there before.
    let human = check(&dir, &["--base", "main", "--fail-on", "never"]);
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        text.contains(&format!("compared with main ({}): ", &head[..7]))
            && text.contains(&format!("{unchanged} pre-existing")),
        "{text}"
    );
    assert!(text.contains("current 1.25.2 (at the base) and target 1.26.0"));

    // Nothing in the repository changed: working tree, index, refs, stash.
    assert_eq!(git(&dir, &["status", "--porcelain"]), status_before);
    assert_eq!(git(&dir, &["rev-parse", "HEAD"]).trim(), head);
    assert_eq!(git(&dir, &["stash", "list"]), "");
}

#[test]
fn explicit_versions_win_and_apply_to_both_sides() {
    let Some((_scratch, dir)) = chart_bump("explicit") else {
        return;
    };
    let r = json(
        &dir,
        &[
            "--base",
            "main",
            "--current",
            "1.24.3",
            "--target",
            "1.26.1",
        ],
    );
    assert_eq!(r["estate"]["upgrade"]["current"], "1.24.3");
    assert_eq!(r["estate"]["upgrade"]["target"], "1.26.1");
    // With the target given, the base is checked for the same upgrade: the removed
    // setting was already a problem for it.
    assert!(has(&r, "IPF307", "istiod", "unchanged"), "{:?}", states(&r));

    // Only --target given: the current version still comes from the base.
    let r = json(&dir, &["--base", "main", "--target", "1.26.1"]);
    assert_eq!(r["estate"]["upgrade"]["current"], "1.25.2");
    assert_eq!(r["estate"]["upgrade"]["target"], "1.26.1");

    // No version change at all: nothing is inferred and every finding is pre-existing.
    write(&dir, &[("istio/istiod.yaml", ISTIOD_RELEASE)]);
    let r = json(&dir, &["--base", "main"]);
    assert_eq!(r["estate"]["upgrade"]["target"], Value::Null);
    assert_eq!(r["base"]["new"], 0);
    assert!(!states(&r).is_empty());
}

#[test]
fn a_canary_revision_the_change_adds_is_the_target() {
    let Some((_scratch, dir)) = chart_bump("canary") else {
        return;
    };
    // Instead of bumping istiod in place, the change installs a canary revision beside it.
    let canary = ISTIOD_RELEASE
        .replace("name: istiod\n", "name: istiod-canary\n")
        .replace("1.25.2", "1.26.0")
        .replace("  values:\n", "  values:\n    revision: canary\n");
    write(
        &dir,
        &[
            ("istio/istiod.yaml", ISTIOD_RELEASE),
            ("istio/istiod-canary.yaml", &canary),
        ],
    );
    let r = json(&dir, &["--base", "main"]);
    assert_eq!(r["estate"]["upgrade"]["current"], "1.25.2");
    assert_eq!(r["estate"]["upgrade"]["target"], "1.26.0");
    // Each revision keeps the version it declares: the base's version is not forced on the
    // new revision.
    let planes: Vec<(String, String)> = r["estate"]["control_planes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|cp| {
            (
                cp["revision"].as_str().unwrap().to_string(),
                cp["version"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert!(
        planes.contains(&("canary".into(), "1.26.0".into()))
            && planes.contains(&("default".into(), "1.25.2".into())),
        "{planes:?}"
    );
}

#[test]
fn a_kustomize_overlay_at_the_base_builds_from_the_base_files() {
    if !have_git() {
        return;
    }
    let scratch = Scratch::new("kustomize");
    let deployment = |name: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app: {name}\n  template:\n    metadata:\n      labels:\n        app: {name}\n    spec:\n      containers:\n      - name: {name}\n        image: registry.example.com/{name}:1.0\n"
        )
    };
    let (cart, web) = (deployment("cart"), deployment("web"));
    let recreate = |name: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  strategy:\n    type: Recreate\n"
        )
    };
    let namespace = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels:\n    istio-injection: enabled\n";
    let dir = repo(
        &scratch,
        &[
            ("base/kustomization.yaml", "resources:\n- cart.yaml\n- web.yaml\n"),
            ("base/cart.yaml", &cart),
            ("base/web.yaml", &web),
            (
                "overlays/prod/kustomization.yaml",
                "namespace: shop\nresources:\n- ../../base\n- namespace.yaml\npatches:\n- path: recreate.yaml\n",
            ),
            ("overlays/prod/namespace.yaml", namespace),
            ("overlays/prod/recreate.yaml", &recreate("cart")),
        ],
    );
    // The change moves the Recreate patch from cart to web.
    write(&dir, &[("overlays/prod/recreate.yaml", &recreate("web"))]);

    // The IPF404 findings of one overlay, against main.
    let overlay = |path: &str| json(&dir, &[path, "--base", "main", "--select", "IPF404"]);
    let only = |name: &str, state: &str| vec![("IPF404".to_string(), name.into(), state.into())];
    let r = overlay("overlays/prod");
    assert_eq!(
        states(&r),
        only("web", "new"),
        "at the base the patch recreated cart, not web"
    );
    assert_eq!(r["diagnostics"][0]["overlay"], "overlays/prod");

    // Unchanged overlay: the finding keeps its identity (overlay included) at the base.
    write(&dir, &[("overlays/prod/recreate.yaml", &recreate("cart"))]);
    assert_eq!(states(&overlay("overlays/prod")), only("cart", "unchanged"));

    // A directory the change adds does not exist at the base: all of it is new.
    write(
        &dir,
        &[
            (
                "overlays/dev/kustomization.yaml",
                "namespace: shop\nresources:\n- ../../base\n- namespace.yaml\npatches:\n- path: recreate.yaml\n",
            ),
            ("overlays/dev/namespace.yaml", namespace),
            ("overlays/dev/recreate.yaml", &recreate("cart")),
        ],
    );
    let r = overlay("overlays/dev");
    assert_eq!(states(&r), only("cart", "new"));
    let notes = r["notes"].to_string();
    assert!(
        notes.contains("overlays/dev does not exist there"),
        "{notes}"
    );
}

#[test]
fn the_config_excludes_apply_at_the_base_too() {
    if !have_git() {
        return;
    }
    let scratch = Scratch::new("excludes");
    let dir = repo(
        &scratch,
        &[
            (".istio-preflight.yaml", "exclude:\n  - legacy/**\n"),
            ("legacy/shop.yaml", SHOP),
        ],
    );
    // The change moves the shop out of the excluded directory: its findings were not
    // checked at the base, so they are new.
    std::fs::remove_dir_all(dir.join("legacy")).unwrap();
    write(&dir, &[("apps/shop.yaml", SHOP)]);
    let r = json(&dir, &["--base", "main", "--select", "IPF404"]);
    assert_eq!(
        states(&r),
        [("IPF404".to_string(), "cart".to_string(), "new".to_string())]
    );
}

/// Runs a check that must be a usage error (exit 2) and returns its message.
fn usage_error(dir: &Path, args: &[&str]) -> String {
    let out = check(dir, args);
    let message = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {message}");
    message
}

#[test]
fn bad_bases_are_usage_errors_that_say_what_to_do() {
    if !have_git() {
        return;
    }
    let scratch = Scratch::new("errors");

    // Not a git repository.
    let plain = scratch.0.join("plain");
    write(&plain, &[("apps/shop.yaml", SHOP)]);
    let message = usage_error(&plain, &["--base", "main"]);
    assert!(message.contains("not inside a git repository"), "{message}");

    // An unknown revision.
    let dir = repo(&scratch, &[("apps/shop.yaml", SHOP)]);
    let message = usage_error(&dir, &["--base", "no-such-branch"]);
    assert!(
        message.contains("--base no-such-branch: no branch, tag or commit"),
        "{message}"
    );

    // Standard input has no version at a commit.
    let message = usage_error(&dir, &["-", "--base", "main"]);
    assert!(message.contains("standard input"), "{message}");

    // A shallow clone without the base commit: the fix is named.
    write(&dir, &[("apps/shop.yaml", &SHOP.replace("cart", "basket"))]);
    git(&dir, &["commit", "-q", "-am", "change"]);
    let base = git(&dir, &["rev-parse", "HEAD~1"]).trim().to_string();
    let url = format!("file://{}", dir.display());
    git(
        &scratch.0,
        &["clone", "-q", "--depth", "1", &url, "shallow"],
    );
    let shallow = scratch.0.join("shallow");
    let message = usage_error(&shallow, &["--base", &base]);
    assert!(
        message.contains("shallow clone")
            && message.contains("fetch-depth: 0")
            && message.contains(&format!("git fetch --depth=1 origin {base}")),
        "{message}"
    );
    // ... and the fix works.
    git(&shallow, &["fetch", "-q", "--depth=1", "origin", &base]);
    let r = json(&shallow, &["--base", &base]);
    assert!(has(&r, "IPF404", "basket", "new"), "{:?}", states(&r));
}
