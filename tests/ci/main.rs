//! CI integration: the config file, suppressions and baselines, SARIF for code scanning,
//! GitHub annotations and step summary, the Action and its scripts, and the README examples
//! for all of them. Tests that depend on the working directory or the environment run the
//! real binary in a scratch directory.

#[path = "../common/mod.rs"]
mod common;

mod action;
mod github;
mod gitlab;
mod junit;
mod policy;
mod readme;
mod sarif;
mod scaffold;

use std::path::{Path, PathBuf};
use std::process::Command;

/// A scratch directory, removed when dropped.
pub struct Scratch {
    pub dir: PathBuf,
}

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("ipf-ci-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        // Canonical, so that paths compare equal to what the tool resolves.
        let dir = std::fs::canonicalize(&dir).expect("canonical scratch dir");
        Scratch { dir }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    /// Copies the demo estate to `rel`.
    pub fn demo(&self, rel: &str) -> PathBuf {
        let to = self.path(rel);
        copy_tree(Path::new("fixtures/demo"), &to);
        to
    }

    /// Makes the scratch directory the git top-level.
    pub fn git_root(&self) {
        std::fs::create_dir_all(self.path(".git")).unwrap();
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The demo estate checked with every rule, as the formats' tests read it.
pub fn full_demo_report() -> istio_preflight::report::Report {
    istio_preflight::check(&common::check_args(&[
        "fixtures/demo",
        "--target",
        "1.30.3",
        "--no-config",
    ]))
    .unwrap()
}

pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\nstderr: {}", self.stdout, self.stderr))
    }
}

pub const BIN: &str = env!("CARGO_BIN_EXE_istio-preflight");

/// Runs the binary in `cwd` with a clean GitHub environment plus `env`.
pub fn run(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(cwd)
        .env_remove("GITHUB_WORKSPACE")
        .env_remove("GITHUB_STEP_SUMMARY")
        .envs(env.iter().copied())
        .output()
        .expect("run istio-preflight");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `(code, object)` of each diagnostic in a JSON report, e.g. `("IPF406", "Deployment shop/cart")`.
pub fn findings(report: &serde_json::Value) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let o = &d["object"];
            let object = match o["namespace"].as_str() {
                Some(ns) => format!(
                    "{} {ns}/{}",
                    o["kind"].as_str().unwrap_or(""),
                    o["name"].as_str().unwrap_or("")
                ),
                None => format!(
                    "{} {}",
                    o["kind"].as_str().unwrap_or(""),
                    o["name"].as_str().unwrap_or("")
                ),
            };
            (d["code"].as_str().unwrap().to_string(), object)
        })
        .collect();
    v.sort();
    v
}

pub fn notes(report: &serde_json::Value) -> Vec<String> {
    report["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["message"].as_str().unwrap().to_string())
        .collect()
}

/// The rules these tests run on the demo estate when they are not about which rules run.
/// The demo gains findings whenever a rule is added, so a test that counts findings, fills
/// an annotation budget or writes a baseline pins the rules it ran; these four give errors
/// and warnings, a Pod, Namespaces and Deployments, and findings in four files.
pub const DEMO_RULES: &str = "IPF101,IPF203,IPF405,IPF406";

/// `DEMO_RULES` as a config file's `select:` line.
pub const DEMO_RULES_CONFIG: &str = "select: [IPF101, IPF203, IPF405, IPF406]\n";

/// The demo's findings with `--target 1.30.3 --select DEMO_RULES`.
pub fn demo_findings() -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = [
        ("IPF101", "Pod shop/cart-6b8f7c9d54-q7x2m"),
        ("IPF203", "Namespace payments"),
        ("IPF405", "Deployment shop/cart"),
        ("IPF406", "Deployment payments/checkout"),
        ("IPF406", "Deployment shop/cart"),
        ("IPF406", "Deployment shop/catalog"),
    ]
    .iter()
    .map(|(c, o)| (c.to_string(), o.to_string()))
    .collect();
    v.sort();
    v
}

pub fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = v
        .iter()
        .map(|(c, o)| (c.to_string(), o.to_string()))
        .collect();
    v.sort();
    v
}
