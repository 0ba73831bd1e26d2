//! `deploy/`, the in-cluster CronJob: it grants nothing but get and list (the README's
//! role, exactly), the tool checks it cleanly, and `kubectl kustomize deploy/` builds it.

use std::process::{Command, Stdio};

use istio_preflight::yaml::parse_str;
use serde_json::Value;

fn yaml(text: &str, what: &str) -> Value {
    parse_str(text)
        .unwrap_or_else(|e| panic!("{what}: {e}"))
        .unwrap_or_else(|| panic!("{what}: empty document"))
        .root()
        .to_json()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The README's ClusterRole: the ```yaml block that defines `istio-preflight-reader`.
fn readme_role() -> Value {
    let readme = read("README.md");
    let block = readme
        .split("```yaml\n")
        .skip(1)
        .filter_map(|rest| rest.split("```").next())
        .find(|b| b.contains("kind: ClusterRole\n") && b.contains("name: istio-preflight-reader"))
        .expect("README has the istio-preflight-reader ClusterRole");
    yaml(block, "README role")
}

/// Every rule of every Role and ClusterRole in `objects` uses only get and list, and no
/// rule names secrets.
fn assert_only_get_and_list(objects: &[Value], what: &str) {
    let mut roles = 0;
    for o in objects {
        if !matches!(o["kind"].as_str(), Some("Role" | "ClusterRole")) {
            continue;
        }
        roles += 1;
        let rules = o["rules"].as_array().expect("rules is a list");
        assert!(!rules.is_empty(), "{what}: a role without rules");
        for rule in rules {
            let verbs: Vec<&str> = rule["verbs"]
                .as_array()
                .expect("verbs is a list")
                .iter()
                .map(|v| v.as_str().expect("verb is a string"))
                .collect();
            assert_eq!(verbs, ["get", "list"], "{what}: {rule}");
            let resources = rule["resources"].as_array().expect("resources is a list");
            assert!(
                !resources.iter().any(|r| r == "secrets"),
                "{what}: secrets are granted: {rule}"
            );
        }
    }
    assert_eq!(roles, 1, "{what}: exactly one role");
}

#[test]
fn the_cluster_role_is_the_readmes_and_grants_only_get_and_list() {
    let role = yaml(&read("deploy/clusterrole.yaml"), "deploy/clusterrole.yaml");
    assert_eq!(
        role,
        readme_role(),
        "deploy/clusterrole.yaml differs from the README's role"
    );
    assert_only_get_and_list(&[role], "deploy/clusterrole.yaml");
}

fn kubectl_available() -> bool {
    Command::new("kubectl")
        .args(["version", "--client"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn kubectl_kustomize_builds_deploy_and_binds_only_the_reader_role() {
    if !kubectl_available() {
        eprintln!("skipped: kubectl is not installed (.ci/run installs it)");
        return;
    }
    let out = Command::new("kubectl")
        .args(["kustomize", "deploy"])
        .output()
        .expect("kubectl runs");
    assert!(
        out.status.success(),
        "kubectl kustomize deploy: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let objects: Vec<Value> = text
        .split("\n---\n")
        .map(|doc| yaml(doc, "kubectl kustomize deploy"))
        .collect();
    let kinds: Vec<&str> = objects.iter().filter_map(|o| o["kind"].as_str()).collect();
    assert_eq!(
        kinds,
        [
            "Namespace",
            "ServiceAccount",
            "ClusterRole",
            "ClusterRoleBinding",
            "ConfigMap",
            "CronJob"
        ]
    );
    assert_only_get_and_list(&objects, "kubectl kustomize deploy");

    let binding = objects
        .iter()
        .find(|o| o["kind"] == "ClusterRoleBinding")
        .unwrap();
    assert_eq!(binding["roleRef"]["name"], "istio-preflight-reader");
    let cronjob = objects.iter().find(|o| o["kind"] == "CronJob").unwrap();
    let pod = &cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], binding["subjects"][0]["name"]);
    assert_eq!(
        cronjob["metadata"]["namespace"],
        binding["subjects"][0]["namespace"]
    );
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    let container = &pod["containers"][0];
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(
        container["securityContext"]["allowPrivilegeEscalation"],
        false
    );
    let args: Vec<&str> = container["args"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(&args[..4], ["check", "--cluster", "--format", "json"]);
    // The config the CronJob passes is the one the ConfigMap generator mounts.
    let config = objects.iter().find(|o| o["kind"] == "ConfigMap").unwrap();
    let key = args[5].rsplit('/').next().unwrap();
    assert!(
        config["data"][key].is_string(),
        "the ConfigMap has no {key}"
    );
}

#[test]
fn the_tool_checks_deploy_without_warnings() {
    let out = Command::new(env!("CARGO_BIN_EXE_istio-preflight"))
        .args([
            "check",
            "deploy",
            "--config",
            "deploy/istio-preflight.config",
            "--format",
            "json",
            "--fail-on",
            "warning",
        ])
        .stdin(Stdio::null())
        .output()
        .expect("binary runs");
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(
        out.status.code(),
        Some(0),
        "findings at or above warning in deploy/: {:#}",
        report["diagnostics"]
    );
    assert!(
        report["estate"].is_object(),
        "the report describes the estate"
    );
}
