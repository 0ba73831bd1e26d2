//! The GitHub Action: action.yml against the saved SchemaStore schema and the rules of
//! ../shared/research/sarif-gha.md §5.3, and its scripts run offline — the installer against
//! a fake local release, the check step against the demo estate.

use super::*;
use serde_json::Value;

fn yaml_json(path: &str) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    istio_preflight::yaml::parse_str(&text)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .expect("a document")
        .root()
        .to_json()
}

#[test]
fn action_yml_is_valid_against_the_action_schema() {
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string("tests/data/github-action.json").unwrap())
            .unwrap();
    let validator = jsonschema::draft7::new(&schema).expect("schema compiles");
    let action = yaml_json("action.yml");
    let errors: Vec<String> = validator
        .iter_errors(&action)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    // The schema is not a rubber stamp.
    assert!(!validator.is_valid(
        &serde_json::json!({"name": "x", "description": "y", "runs": {"using": "composite"}})
    ));
}

#[test]
fn action_yml_follows_the_security_rules() {
    let action = yaml_json("action.yml");
    assert_eq!(action["runs"]["using"], "composite");
    let steps = action["runs"]["steps"].as_array().unwrap();
    for step in steps {
        if let Some(run) = step["run"].as_str() {
            assert_eq!(step["shell"], "bash", "{step}");
            // Inputs reach scripts only through env: never `${{ }}` inside a script.
            assert!(!run.contains("${{"), "expression in a run script: {run}");
            assert!(run.contains("$GITHUB_ACTION_PATH/action/"), "{run}");
        }
        if let Some(uses) = step["uses"].as_str() {
            let (_, rev) = uses.split_once('@').unwrap();
            assert!(
                rev.len() == 40 && rev.chars().all(|c| c.is_ascii_hexdigit()),
                "{uses} is not pinned to a full commit SHA"
            );
            assert_eq!(step["continue-on-error"], true, "an upload must fail soft");
        }
    }
    for (name, output) in action["outputs"].as_object().unwrap() {
        assert!(output["value"].is_string(), "output {name} needs a value");
    }
    for name in ["sarif-file", "findings", "exit-code"] {
        assert!(action["outputs"].get(name).is_some(), "output {name}");
    }
    // Every input is used, through a step's env or with:.
    let text = std::fs::read_to_string("action.yml").unwrap();
    for name in action["inputs"].as_object().unwrap().keys() {
        assert!(
            text.contains(&format!("inputs.{name} ")),
            "input {name} is unused"
        );
    }
}

fn sha256(path: &Path) -> String {
    let out = Command::new("sha256sum")
        .arg(path)
        .output()
        .or_else(|_| {
            Command::new("shasum")
                .args(["-a", "256"])
                .arg(path)
                .output()
        })
        .expect("sha256sum or shasum");
    String::from_utf8(out.stdout).unwrap()[..64].to_string()
}

/// A fake release of version 9.9.9 for x86_64 Linux, served from the file system, and a
/// fake `cargo` that records how it was called.
struct FakeRelease {
    s: Scratch,
}

impl FakeRelease {
    fn new(name: &str) -> FakeRelease {
        let s = Scratch::new(name);
        s.write(
            "pkg/istio-preflight-v9.9.9-x86_64-unknown-linux-musl/istio-preflight",
            "#!/bin/sh\necho 'istio-preflight 9.9.9'\n",
        );
        let status = Command::new("tar")
            .args([
                "-czf",
                "release/v9.9.9/istio-preflight-v9.9.9-x86_64-unknown-linux-musl.tar.gz",
                "-C",
                "pkg",
                ".",
            ])
            .current_dir({
                std::fs::create_dir_all(s.path("release/v9.9.9")).unwrap();
                &s.dir
            })
            .status()
            .unwrap();
        assert!(status.success());
        s.write(
            "fakebin/cargo",
            &format!(
                "#!/bin/sh\necho \"$@\" > {}\n",
                s.path("cargo-called").display()
            ),
        );
        make_executable(&s.path("fakebin/cargo"));
        make_executable(
            &s.path("pkg/istio-preflight-v9.9.9-x86_64-unknown-linux-musl/istio-preflight"),
        );
        FakeRelease { s }
    }

    fn archive_sha(&self) -> String {
        sha256(
            &self
                .s
                .path("release/v9.9.9/istio-preflight-v9.9.9-x86_64-unknown-linux-musl.tar.gz"),
        )
    }

    fn install(&self, table: &str, env: &[(&str, &str)]) -> Run {
        let table_path = self.s.write("checksums.txt", table);
        let path = format!("{}:/usr/bin:/bin", self.s.path("fakebin").display());
        let out = Command::new("bash")
            .arg("action/install.sh")
            .env_clear()
            .env("PATH", path)
            .env("INPUT_VERSION", "9.9.9")
            .env("RUNNER_OS", "Linux")
            .env("RUNNER_ARCH", "X64")
            .env(
                "ISTIO_PREFLIGHT_RELEASE_URL",
                format!("file://{}", self.s.path("release").display()),
            )
            .env("ISTIO_PREFLIGHT_CHECKSUMS", table_path)
            .env("INSTALL_DIR", self.s.path("installed"))
            .env("GITHUB_PATH", self.s.path("github-path"))
            .env("GITHUB_OUTPUT", self.s.path("github-output"))
            .envs(env.iter().copied())
            .output()
            .unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn cargo_called(&self) -> Option<String> {
        std::fs::read_to_string(self.s.path("cargo-called")).ok()
    }
}

fn make_executable(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

#[cfg(unix)]
#[test]
fn install_accepts_a_release_whose_checksum_is_in_the_table() {
    let f = FakeRelease::new("install-good");
    let table = format!(
        "# comment\n9.9.8 x86_64-unknown-linux-musl {}\n9.9.9 x86_64-unknown-linux-musl {}\n",
        "0".repeat(64),
        f.archive_sha()
    );
    let r = f.install(&table, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let installed = f.s.path("installed/istio-preflight");
    let version = Command::new(&installed).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&version.stdout),
        "istio-preflight 9.9.9\n"
    );
    assert_eq!(r.stdout.trim(), f.s.path("installed").to_str().unwrap());
    assert_eq!(
        f.s.read("github-path").trim(),
        f.s.path("installed").to_str().unwrap()
    );
    assert!(f.s.read("github-output").contains("version=9.9.9\n"));
    assert_eq!(f.cargo_called(), None);

    // Installed and on PATH at that version: used as is, nothing downloaded.
    let path = format!("{}:/usr/bin:/bin", f.s.path("installed").display());
    let r = f.install(
        &table,
        &[
            ("PATH", &path),
            ("ISTIO_PREFLIGHT_RELEASE_URL", "https://invalid.invalid"),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("already on PATH"), "{}", r.stderr);
}

#[cfg(unix)]
#[test]
fn install_refuses_a_release_whose_checksum_differs() {
    let f = FakeRelease::new("install-bad");
    let mut wrong = f.archive_sha();
    wrong.replace_range(0..1, if wrong.starts_with('0') { "1" } else { "0" });
    let r = f.install(&format!("9.9.9 x86_64-unknown-linux-musl {wrong}\n"), &[]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("checksum mismatch"), "{}", r.stderr);
    assert!(!f.s.path("installed/istio-preflight").exists());
    assert_eq!(
        f.cargo_called(),
        None,
        "a bad checksum must not fall back to building"
    );
    assert!(!f.s.path("github-path").exists());
}

#[cfg(unix)]
#[test]
fn install_builds_from_source_on_an_unknown_platform() {
    let f = FakeRelease::new("install-unknown");
    let table = format!("9.9.9 x86_64-unknown-linux-musl {}\n", f.archive_sha());
    let r = f.install(&table, &[("RUNNER_OS", "Plan9"), ("RUNNER_ARCH", "MIPS")]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("no prebuilt binary for Plan9/MIPS"),
        "{}",
        r.stderr
    );
    // 9.9.9 is not the action's own version, so it comes from crates.io.
    let called = f.cargo_called().expect("cargo install ran");
    assert!(
        called.starts_with("install --locked istio-preflight --version =9.9.9 --root "),
        "{called}"
    );
    assert_eq!(
        f.s.read("github-path").trim(),
        f.s.path("installed/bin").to_str().unwrap()
    );

    // The action's own version builds the action's own source.
    std::fs::remove_file(f.s.path("cargo-called")).unwrap();
    let own = env!("CARGO_PKG_VERSION");
    let cwd = std::env::current_dir().unwrap();
    let r = f.install(
        &table,
        &[
            ("RUNNER_OS", "Plan9"),
            ("INPUT_VERSION", own),
            ("ACTION_DIR", cwd.to_str().unwrap()),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let called = f.cargo_called().unwrap();
    assert!(
        called.starts_with(&format!("install --locked --path {} ", cwd.display())),
        "{called}"
    );

    // Without cargo there is nothing to fall back to.
    std::fs::remove_file(f.s.path("fakebin/cargo")).unwrap();
    let r = f.install(&table, &[("RUNNER_OS", "Plan9")]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("cargo is not installed"), "{}", r.stderr);
}

#[cfg(unix)]
#[test]
fn install_rejects_a_malformed_version() {
    let f = FakeRelease::new("install-version");
    let r = f.install("", &[("INPUT_VERSION", "1.0; rm -rf /")]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("is not a release version"),
        "{}",
        r.stderr
    );
}

/// Runs action/run.sh (the check step) the way the composite action does, with the `args`
/// input selecting `DEMO_RULES`.
fn check_step(s: &Scratch, paths: &str, fail_on: &str) -> (Run, String) {
    check_step_in(&s.dir, s, paths, fail_on, &[])
}

/// [`check_step`] in `dir`, with more environment (`INPUT_BASE`, `PULL_REQUEST_BASE_SHA`).
fn check_step_in(
    dir: &Path,
    s: &Scratch,
    paths: &str,
    fail_on: &str,
    env: &[(&str, &str)],
) -> (Run, String) {
    let output = s.path("github-output");
    let _ = std::fs::remove_file(&output);
    let out = Command::new("bash")
        .arg(std::env::current_dir().unwrap().join("action/run.sh"))
        .current_dir(dir)
        .env_remove("GITHUB_WORKSPACE")
        .env_remove("INPUT_BASE")
        .env_remove("PULL_REQUEST_BASE_SHA")
        .envs(env.iter().copied())
        .env("ISTIO_PREFLIGHT", BIN)
        .env("INPUT_PATHS", paths)
        .env("INPUT_TARGET", "1.30.3")
        .env("INPUT_FAIL_ON", fail_on)
        .env("INPUT_ANNOTATIONS", "true")
        .env("INPUT_ARGS", format!("--no-config --select {DEMO_RULES}"))
        .env("INPUT_SARIF_FILE", s.path("out/report.sarif"))
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_STEP_SUMMARY", s.path("summary.md"))
        .output()
        .unwrap();
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    (run, std::fs::read_to_string(&output).unwrap_or_default())
}

fn fail_step(exit_code: &str) -> i32 {
    Command::new("bash")
        .arg("action/fail.sh")
        .env("EXIT_CODE", exit_code)
        .env("FINDINGS", "6")
        .env("FAIL_ON", "error")
        .output()
        .unwrap()
        .status
        .code()
        .unwrap()
}

#[cfg(unix)]
#[test]
fn the_check_step_writes_sarif_annotations_and_outputs() {
    let s = Scratch::new("check-step");
    s.git_root();
    s.demo("estate");
    s.write(
        "clean/namespaces.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: plain\n",
    );

    let (r, outputs) = check_step(&s, "estate\nclean", "error");
    assert_eq!(r.code, 0, "findings do not fail this step: {}", r.stderr);
    let sarif = s.path("out/report.sarif");
    assert!(
        outputs.contains(&format!("sarif-file={}\n", sarif.display())),
        "{outputs}"
    );
    assert!(outputs.contains("findings=6\n"), "{outputs}");
    assert!(outputs.contains("exit-code=1\n"), "{outputs}");
    let log: Value = serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    assert_eq!(log["runs"][0]["results"].as_array().unwrap().len(), 6);
    assert_eq!(
        r.stdout
            .lines()
            .filter(|l| l.starts_with("::error file=estate/"))
            .count(),
        3
    );
    assert!(s.read("summary.md").contains("## istio-preflight"));
    assert_eq!(fail_step("1"), 1, "the last step fails the job");

    let (r, outputs) = check_step(&s, "clean", "error");
    assert_eq!(r.code, 0);
    assert!(
        outputs.contains("findings=0\n") && outputs.contains("exit-code=0\n"),
        "{outputs}"
    );
    assert_eq!(fail_step("0"), 0);

    // fail-on never: findings are reported, the job passes.
    let (_, outputs) = check_step(&s, "estate", "never");
    assert!(
        outputs.contains("findings=6\n") && outputs.contains("exit-code=0\n"),
        "{outputs}"
    );

    // A usage error fails the step itself.
    let (r, outputs) = check_step(&s, "does-not-exist", "error");
    assert_eq!(r.code, 2);
    assert!(outputs.contains("exit-code=2\n"), "{outputs}");
    assert_eq!(fail_step("2"), 1);
    assert_eq!(
        fail_step(""),
        1,
        "a check step that never ran fails the job"
    );
}

#[cfg(unix)]
#[test]
fn on_pull_requests_only_the_findings_the_change_brings_fail() {
    let s = Scratch::new("check-step-base");
    if common::git(&s.dir, &["init", "-q"]).is_none() {
        eprintln!("skipped: needs git on PATH");
        return;
    }
    s.demo("estate");
    let git = |dir: &Path, args: &[&str]| common::git(dir, args).expect("git runs");
    git(&s.dir, &["add", "-A"]);
    git(&s.dir, &["commit", "-q", "-m", "base"]);
    let base = git(&s.dir, &["rev-parse", "HEAD"]).trim().to_string();
    let pr = [("PULL_REQUEST_BASE_SHA", base.as_str())];
    let value = |outputs: &str, name: &str| {
        outputs
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .map(str::to_string)
            .unwrap_or_else(|| panic!("no output {name}: {outputs}"))
    };

    // The demo's errors were all there at the base: the pull request passes.
    let (r, outputs) = check_step_in(&s.dir, &s, "estate", "error", &pr);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(value(&outputs, "findings"), "6");
    assert_eq!(value(&outputs, "new-findings"), "0");
    assert_eq!(value(&outputs, "exit-code"), "0");

    // The change adds a Deployment with the cart's problems: IPF405 (error), IPF406.
    let cart = s.read("estate/apps/shop/cart.yaml");
    s.write(
        "estate/apps/shop/basket.yaml",
        &cart.replace("cart", "basket"),
    );
    let (_, outputs) = check_step_in(&s.dir, &s, "estate", "error", &pr);
    assert_eq!(value(&outputs, "findings"), "8");
    assert_eq!(value(&outputs, "new-findings"), "2");
    assert_eq!(value(&outputs, "exit-code"), "1");
    let log: Value = serde_json::from_str(&s.read("out/report.sarif")).unwrap();
    let new: Vec<&Value> = log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["baselineState"] == "new")
        .collect();
    assert_eq!(new.len(), 2);
    assert!(new
        .iter()
        .all(|r| r["message"]["text"].as_str().unwrap().contains("basket")));

    // `base: none` turns it off: every finding counts.
    let off = [pr[0], ("INPUT_BASE", "none")];
    let (_, outputs) = check_step_in(&s.dir, &s, "estate", "error", &off);
    assert_eq!(value(&outputs, "new-findings"), "8");
    assert_eq!(value(&outputs, "exit-code"), "1");

    // actions/checkout's default shallow clone: the step fetches the base commit itself.
    git(&s.dir, &["add", "-A"]);
    git(&s.dir, &["commit", "-q", "-m", "basket"]);
    let url = format!("file://{}", s.dir.display());
    git(&s.dir, &["clone", "-q", "--depth", "1", &url, "shallow"]);
    let shallow = s.path("shallow");
    let (r, outputs) = check_step_in(&shallow, &s, "estate", "error", &pr);
    assert!(
        r.stderr.contains("fetching the base commit"),
        "{}",
        r.stderr
    );
    assert_eq!(value(&outputs, "new-findings"), "2", "{}", r.stderr);
    assert_eq!(value(&outputs, "exit-code"), "1");
}

#[test]
fn pre_commit_hook_checks_the_repository() {
    let text = std::fs::read_to_string(".pre-commit-hooks.yaml").unwrap();
    let hooks = istio_preflight::yaml::parse_str(&text)
        .unwrap()
        .unwrap()
        .root()
        .to_json();
    let hook = &hooks[0];
    assert_eq!(hook["id"], "istio-preflight");
    assert_eq!(hook["language"], "rust");
    assert_eq!(hook["pass_filenames"], false);
    let entry: Vec<&str> = hook["entry"].as_str().unwrap().split_whitespace().collect();
    assert_eq!(entry[..2], ["istio-preflight", "check"]);
    // The entry is a valid command line (with the default path `.`).
    super::common::check_args(&entry[2..]);
    let files = hook["files"].as_str().unwrap();
    assert_eq!(files, "\\.(ya?ml|json)$");
}
