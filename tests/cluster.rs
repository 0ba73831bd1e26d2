//! Live-cluster mode through the real kube client and the real binary, against the loopback
//! API server of tests/support: same findings as the YAML, read-only, paged, concurrent, and
//! degrading to IPF002 instead of failing.

mod common;
mod support;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use common::*;
use serde_json::Value as Json;
use support::apiserver::{ApiServer, Auth, Cluster};

fn fast_limits() -> istio_preflight::settings::Limits {
    istio_preflight::settings::Limits {
        backoff: Duration::from_millis(5),
        ..Default::default()
    }
}

fn run(args: &[&str]) -> Output {
    let home = Path::new(env!("CARGO_TARGET_TMPDIR")).join("no-home");
    // ISTIO_PREFLIGHT_BIN: a copy of the binary, for machines where several worktrees share
    // one target directory and another build can replace it mid-run.
    let binary = std::env::var_os("ISTIO_PREFLIGHT_BIN")
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_istio-preflight").into());
    Command::new(binary)
        .args(args)
        .env_remove("KUBECONFIG")
        .env("HOME", home)
        .output()
        .expect("run istio-preflight")
}

fn json_of(out: &Output) -> Json {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn assert_only_get(server: &ApiServer) {
    let requests = server.requests();
    assert!(!requests.is_empty());
    let other: Vec<_> = requests.iter().filter(|r| r.method != "GET").collect();
    assert!(other.is_empty(), "non-GET requests were sent: {other:?}");
}

/// A diagnostic without its location. The tool's ReadGap records are named by the reader
/// (`configmaps`) and by hand in fixtures (`fire-configmaps-forbidden`); they are the same
/// record when they are about the same kind.
/// `Kind ns/name` of objects whose apiVersion differs between the files and the cluster read.
fn converted_objects(
    files: &istio_preflight::report::Report,
    cluster: &istio_preflight::report::Report,
) -> Vec<String> {
    files
        .inventory
        .objects
        .iter()
        .filter(|f| {
            cluster.inventory.objects.iter().any(|c| {
                c.kind() == f.kind()
                    && c.namespace() == f.namespace()
                    && c.name() == f.name()
                    && c.api_version() != f.api_version()
            })
        })
        .map(|o| format!(" {}\")", o.display_name()))
        .collect()
}

fn comparable(report: &istio_preflight::report::Report) -> Vec<String> {
    let mut found: Vec<String> = report
        .diagnostics
        .iter()
        .map(|d| {
            let object = d.object().map(|id| {
                let o = report.inventory.object(id);
                if o.kind() == "ReadGap" {
                    format!(
                        "ReadGap for {}",
                        o.root().str_at(&["spec", "kind"]).unwrap_or("?")
                    )
                } else {
                    format!("{} {}", o.api_version(), o.display_name())
                }
            });
            format!(
                "{} {} {:?} {:?} {} fix={}",
                d.code,
                d.severity.as_str(),
                object,
                d.field().map(|f| f.to_string()),
                d.message,
                serde_json::to_string(&d.fix).unwrap()
            )
        })
        .collect();
    found.sort();
    found
}

/// The fixture's input files as clusters: the whole folder, or each file alone when the
/// folder describes several clusters (the same object identity in two files, which one API
/// server cannot hold).
fn clusters_of(dir: &Path) -> Vec<Vec<String>> {
    let inputs = fixture_inputs(dir);
    let paths: Vec<std::path::PathBuf> = inputs.iter().map(Into::into).collect();
    let loaded = istio_preflight::load::files::load(&paths);
    let mut seen = std::collections::HashSet::new();
    let several = loaded
        .objects
        .iter()
        .any(|o| !seen.insert((o.kind(), o.namespace(), o.name())));
    if several {
        inputs.into_iter().map(|f| vec![f]).collect()
    } else {
        vec![inputs]
    }
}

#[test]
fn every_rule_fixture_gives_the_same_findings_through_the_cluster() {
    let mut failures = Vec::new();
    let mut compared = 0;
    for dir in rule_fixture_dirs() {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let code = &name[..6];
        // Parse errors exist only in files, and so do API versions a cluster no longer
        // serves (it answers every read at a served version, so IPF312 reads nothing live).
        if code == "IPF001" || code == "IPF312" {
            continue;
        }
        let mut extra = vec!["--select".to_string(), code.to_string()];
        extra.extend(fixture_args(&dir));
        let mut reported = false;
        for files in clusters_of(&dir) {
            let mut file_args = files.clone();
            file_args.extend(extra.clone());
            let argv: Vec<&str> = file_args.iter().map(String::as_str).collect();
            let from_files = istio_preflight::check(&check_args(&argv)).unwrap();

            let paths: Vec<std::path::PathBuf> = files.iter().map(Into::into).collect();
            let server = ApiServer::start(Cluster::from_files(&paths), Auth::ClientCertificate);
            let kubeconfig = server.kubeconfig().to_string_lossy().to_string();
            let mut cluster_args = vec!["--cluster".to_string(), "--kubeconfig".into(), kubeconfig];
            cluster_args.extend(extra.clone());
            let argv: Vec<&str> = cluster_args.iter().map(String::as_str).collect();
            let settings = istio_preflight::settings::Settings {
                limits: fast_limits(),
                ..check_args(&argv)
            };
            let from_cluster =
                istio_preflight::check(&settings).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_only_get(&server);

            // An API server returns every object at the version it is listed with, so the
            // apiVersion a manifest was written with (a policy/v1beta1 PDB, a v1alpha3
            // BackendTLSPolicy) cannot be seen through a cluster: findings on objects the
            // server converted are compared from neither side.
            let converted = converted_objects(&from_files, &from_cluster);
            let keep = |r: &istio_preflight::report::Report| {
                let mut r = comparable(r);
                r.retain(|line| !converted.iter().any(|c| line.contains(c.as_str())));
                r
            };
            let (a, b) = (keep(&from_files), keep(&from_cluster));
            reported |= !a.is_empty();
            if a != b {
                failures.push(format!(
                    "{name} {files:?}:\n  only from files:\n    {}\n  only from the cluster:\n    {}",
                    a.iter().filter(|d| !b.contains(d)).cloned().collect::<Vec<_>>().join("\n    "),
                    b.iter().filter(|d| !a.contains(d)).cloned().collect::<Vec<_>>().join("\n    "),
                ));
            }
            // No file positions for cluster objects (a `--values` file is still a file).
            assert!(from_cluster
                .diagnostics
                .iter()
                .filter(|d| d.object().is_some())
                .all(|d| from_cluster.location(d).is_none()));
        }
        assert!(reported, "{name}: the fixture reports nothing");
        compared += 1;
    }
    assert!(compared >= 5);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new("fixtures").join(name)
}

#[test]
fn client_certificate_kubeconfig_drives_the_binary_with_get_only_and_no_locations() {
    let server = ApiServer::start(
        Cluster::from_fixture(&fixture("IPF405-grace-period-shorter-than-drain")),
        Auth::ClientCertificate,
    );
    let kubeconfig = server.kubeconfig();
    let out = run(&[
        "check",
        "--cluster",
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "--select",
        "IPF405",
        "--format",
        "json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Progress only on a terminal, and never with --format json.
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json_of(&out);
    let diagnostics = report["diagnostics"].as_array().unwrap();
    assert!(!diagnostics.is_empty());
    for d in diagnostics {
        assert!(d["location"].is_null(), "{d}");
        assert!(
            d["object"]["name"].is_string() && d["field"].is_string(),
            "{d}"
        );
    }
    assert_only_get(&server);
    let lists: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.path.contains("limit="))
        .collect();
    assert!(
        lists.iter().all(|r| r.path.contains("limit=500")),
        "{lists:?}"
    );
    // Only the kinds IPF405 reads were listed.
    assert!(!server
        .requests()
        .iter()
        .any(|r| r.path.contains("/secrets") || r.path.contains("/services")));

    let sarif = run(&[
        "check",
        "--cluster",
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "--select",
        "IPF405",
        "--format",
        "sarif",
    ]);
    let sarif = json_of(&sarif);
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for r in results {
        let location = &r["locations"][0];
        assert!(location.get("physicalLocation").is_none(), "{r}");
        assert!(
            location["logicalLocations"][0]["fullyQualifiedName"].is_string(),
            "{r}"
        );
    }

    let human = run(&[
        "check",
        "--cluster",
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "--select",
        "IPF405",
    ]);
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        text.contains("Deployment ") && text.contains("field /spec/"),
        "{text}"
    );
    assert!(text.contains("from cluster context loopback"), "{text}");
    assert!(human.stderr.is_empty());
}

#[test]
fn bearer_token_is_sent_and_a_wrong_one_exits_2_naming_the_context() {
    let server = ApiServer::start(
        Cluster::from_fixture(&fixture("IPF203-conflicting-injection-labels")),
        Auth::BearerToken("s3cret-token".into()),
    );
    let kubeconfig = server.kubeconfig();
    let out = run(&[
        "check",
        "--cluster",
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "--select",
        "IPF203",
        "--format",
        "json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!json_of(&out)["diagnostics"].as_array().unwrap().is_empty());

    let text = std::fs::read_to_string(&kubeconfig)
        .unwrap()
        .replace("s3cret-token", "wrong");
    let wrong = server.dir.join("kubeconfig-wrong-token");
    std::fs::write(&wrong, text).unwrap();
    let out = run(&[
        "check",
        "--cluster",
        "--kubeconfig",
        wrong.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("\"loopback\"") && err.contains("401"), "{err}");
    assert!(out.stdout.is_empty());
    assert_only_get(&server);
}

#[test]
fn unreachable_cluster_and_bad_kubeconfigs_exit_2_with_one_line() {
    let server = ApiServer::start(Cluster::new(), Auth::ClientCertificate);
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let elsewhere = server.kubeconfig_for(&format!("https://127.0.0.1:{port}"));
    let out = run(&[
        "check",
        "--cluster",
        "--kubeconfig",
        elsewhere.to_str().unwrap(),
        "--timeout",
        "5s",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("cannot reach the cluster of context \"loopback\""),
        "{err}"
    );

    let garbage = server.dir.join("garbage-kubeconfig");
    std::fs::write(&garbage, "clusters: [this is: not: a kubeconfig").unwrap();
    let out = run(&[
        "check",
        "--cluster",
        "--kubeconfig",
        garbage.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("garbage-kubeconfig"), "{err}");

    let out = run(&[
        "check",
        "--cluster",
        "--kubeconfig",
        server.kubeconfig().to_str().unwrap(),
        "--context",
        "prod",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("context \"prod\" is not in the kubeconfig (it has: loopback)"),
        "{err}"
    );

    let out = run(&["check", "--cluster"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no kubeconfig found"));
}

fn snapshot_of(server: &ApiServer, extra: &[&str]) -> String {
    let file = server.dir.join("snapshot.yaml");
    let kubeconfig = server.kubeconfig();
    let mut args = vec![
        "snapshot",
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "-o",
        file.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = run(&args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(file).unwrap()
}

#[test]
fn lists_are_paged_and_an_expired_continue_token_restarts_the_list() {
    let mut cluster = support::synthetic::cluster(3, 6, 1234);
    cluster.expire_continue.insert("Pod".into());
    let server = ApiServer::start(cluster, Auth::ClientCertificate);
    let text = snapshot_of(&server, &[]);
    assert_eq!(text.matches("\nkind: Pod\n").count(), 1234);
    assert_eq!(text.matches("\nkind: Deployment\n").count(), 7);
    assert!(!text.contains("managedFields"));

    let pod_lists: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/api/v1/pods?"))
        .collect();
    let statuses: Vec<u16> = pod_lists.iter().map(|r| r.status).collect();
    // page 1, 410 on the first continue, then a fresh list of 3 pages.
    assert_eq!(statuses, [200, 410, 200, 200, 200], "{pod_lists:?}");
    assert!(
        !pod_lists[2].path.contains("continue="),
        "the list must restart from the beginning"
    );
    assert!(
        pod_lists[3].path.contains("continue=offset%3D500"),
        "{:?}",
        pod_lists[3]
    );
    assert_only_get(&server);
}

#[test]
fn lists_run_concurrently() {
    let mut cluster = support::synthetic::cluster(2, 2, 4);
    for kind in [
        "Pod",
        "Deployment",
        "Namespace",
        "ConfigMap",
        "ReplicaSet",
        "StatefulSet",
    ] {
        cluster.slow.insert(kind.into(), Duration::from_millis(300));
    }
    let server = ApiServer::start(cluster, Auth::ClientCertificate);
    let started = std::time::Instant::now();
    let out = run(&[
        "check",
        "--cluster",
        "--kubeconfig",
        server.kubeconfig().to_str().unwrap(),
        "--select",
        "IPF405",
        "--format",
        "json",
    ]);
    assert!(
        out.status.code().is_some_and(|c| c < 2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The Kubernetes version comes from the server's /version.
    assert_eq!(json_of(&out)["estate"]["kubernetes"], "1.33.1");
    assert!(
        server.max_concurrent_lists() >= 4,
        "at most {} lists at once",
        server.max_concurrent_lists()
    );
    // Six slow lists one after another would take 1.8s.
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn forbidden_kind_gives_ipf002_naming_the_skipped_rules_and_the_rest_still_runs() {
    let mut cluster = Cluster::from_fixture(&fixture("IPF203-conflicting-injection-labels"));
    cluster.forbidden.insert(
        "ConfigMap".into(),
        "configmaps is forbidden: User \"tester\" cannot list resource \"configmaps\"".into(),
    );
    let server = ApiServer::start(cluster, Auth::ClientCertificate);
    let out = run(&[
        "check",
        "--cluster",
        "--kubeconfig",
        server.kubeconfig().to_str().unwrap(),
        "--select",
        "IPF002,IPF203,IPF405",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let report = json_of(&out);
    let diagnostics = report["diagnostics"].as_array().unwrap();
    let gaps: Vec<&Json> = diagnostics
        .iter()
        .filter(|d| d["code"] == "IPF002")
        .collect();
    assert_eq!(gaps.len(), 1, "{diagnostics:?}");
    let message = gaps[0]["message"].as_str().unwrap();
    assert!(
        message.contains("cannot read ConfigMap") && message.contains("HTTP 403"),
        "{message}"
    );
    assert!(
        message.contains("did not run: IPF405 grace-period-shorter-than-drain"),
        "{message}"
    );
    assert!(!message.contains("IPF203"), "{message}");
    assert!(
        diagnostics.iter().any(|d| d["code"] == "IPF203"),
        "IPF203 must still run"
    );
    assert!(!diagnostics.iter().any(|d| d["code"] == "IPF405"));

    // Skipping a rule is said even when --select did not name IPF002; --ignore silences it.
    let kubeconfig = server.kubeconfig();
    let kubeconfig = kubeconfig.to_str().unwrap();
    let out = run(&[
        "check",
        "--cluster",
        "--kubeconfig",
        kubeconfig,
        "--select",
        "IPF405",
        "--format",
        "json",
    ]);
    let codes: Vec<Json> = json_of(&out)["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].clone())
        .collect();
    assert_eq!(codes, ["IPF002"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "a warning does not fail the default --fail-on error"
    );
    let out = run(&[
        "check",
        "--cluster",
        "--kubeconfig",
        kubeconfig,
        "--select",
        "IPF405",
        "--ignore",
        "IPF002",
        "--format",
        "json",
    ]);
    assert!(json_of(&out)["diagnostics"].as_array().unwrap().is_empty());
    assert_only_get(&server);
}

#[test]
fn transient_errors_are_retried_and_a_slow_kind_becomes_ipf002_at_the_timeout() {
    let mut cluster = support::synthetic::cluster(2, 2, 4);
    cluster.flaky.insert("Pod".into(), 2);
    cluster
        .slow
        .insert("ConfigMap".into(), Duration::from_secs(5));
    let server = ApiServer::start(cluster, Auth::ClientCertificate);
    let started = std::time::Instant::now();
    let out = run(&[
        "check",
        "--cluster",
        "--kubeconfig",
        server.kubeconfig().to_str().unwrap(),
        "--select",
        "IPF002,IPF203,IPF405",
        "--timeout",
        "2s",
        "--format",
        "json",
    ]);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert!(
        out.status.code().is_some_and(|c| c < 2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json_of(&out);
    let pods: Vec<u16> = server
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/api/v1/pods?"))
        .map(|r| r.status)
        .collect();
    assert_eq!(pods, [503, 503, 200]);
    let gaps: Vec<&str> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "IPF002")
        .map(|d| d["message"].as_str().unwrap())
        .collect();
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert!(
        gaps[0].contains(
            "cannot read ConfigMap: the list failed (no complete answer within --timeout 2s)"
        ),
        "{}",
        gaps[0]
    );
    assert_only_get(&server);
}

#[test]
fn snapshot_round_trips_to_the_same_findings_and_never_writes_secret_data() {
    let mut cluster = Cluster::from_fixture(&fixture("IPF406-proxy-start-not-held"));
    cluster
        .objects
        .push(serde_json::json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "cacerts", "namespace": "istio-system"}, "type": "Opaque",
        "data": {"ca-key.pem": "UFJJVkFURSBLRVk="}}));
    let server = ApiServer::start(cluster, Auth::ClientCertificate);
    let text = snapshot_of(&server, &[]);
    // No rule reads Secrets yet, so none is read; when one does, render() strips the data
    // (unit-tested in cluster::snapshot).
    assert!(!text.contains("UFJJVkFURSBLRVk="));
    assert!(text.starts_with("# istio-preflight snapshot of kube context \"loopback\""));
    let file = server.dir.join("snapshot.yaml");

    let live = run(&[
        "check",
        "--cluster",
        "--kubeconfig",
        server.kubeconfig().to_str().unwrap(),
        "--format",
        "json",
    ]);
    let offline = run(&["check", file.to_str().unwrap(), "--format", "json"]);
    assert_eq!(live.status.code(), offline.status.code());
    let strip = |out: &Output| -> Vec<Json> {
        json_of(out)["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                let mut d = d.clone();
                d["location"] = Json::Null;
                d
            })
            .collect()
    };
    // The same findings; the order differs (files sort by position, clusters by object).
    let (mut a, mut b) = (strip(&live), strip(&offline));
    a.sort_by_key(|d| d.to_string());
    b.sort_by_key(|d| d.to_string());
    assert!(a.iter().any(|d| d["code"] == "IPF406"), "{a:?}");
    assert_eq!(a, b);
    // Offline findings point into the snapshot file.
    assert!(json_of(&offline)["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["location"]["path"].is_string()));
    assert_only_get(&server);
}

#[test]
fn namespaces_limit_namespaced_lists_and_are_fetched_one_by_one() {
    let server = ApiServer::start(
        support::synthetic::cluster(4, 8, 40),
        Auth::ClientCertificate,
    );
    let text = snapshot_of(&server, &["-n", "team-001,istio-system"]);
    assert_eq!(text.matches("\nkind: Pod\n").count(), 10);
    assert_eq!(text.matches("\nkind: Namespace\n").count(), 2);
    assert!(text.contains("name: istiod"));
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert!(paths
        .iter()
        .any(|p| p.starts_with("/api/v1/namespaces/team-001/pods?limit=500")));
    assert!(paths.iter().any(|p| p == "/api/v1/namespaces/team-001"));
    assert!(
        !paths.iter().any(|p| p.starts_with("/api/v1/pods")),
        "{paths:?}"
    );
    assert!(
        !paths.iter().any(|p| p.starts_with("/api/v1/namespaces?")),
        "{paths:?}"
    );
    // Cluster-scoped kinds are still read cluster-wide.
    assert!(paths
        .iter()
        .any(|p| p
            .starts_with("/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations?")));
    assert_only_get(&server);
}

#[test]
fn a_built_in_kind_the_server_does_not_serve_is_a_gap_too() {
    let mut cluster = support::synthetic::cluster(2, 2, 4);
    cluster.not_served.insert("CronJob".into());
    let server = ApiServer::start(cluster, Auth::ClientCertificate);
    let kubeconfig = server.kubeconfig();
    let out = run(&[
        "check",
        "--cluster",
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "--select",
        "IPF203",
        "--format",
        "json",
    ]);
    let report = json_of(&out);
    let gaps: Vec<&Json> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "IPF002")
        .collect();
    assert_eq!(gaps.len(), 1, "{report}");
    assert_eq!(
        gaps[0]["message"],
        "cannot read CronJob: the API server does not serve CronJob; did not run: IPF203 conflicting-injection-labels"
    );
    assert!(gaps[0]["location"].is_null());
    // The gap travels through a snapshot: checking the file says the same.
    let text = snapshot_of(&server, &[]);
    assert!(
        text.contains("kind: ReadGap") && text.contains("reason: NotServed"),
        "{text}"
    );
    let file = server.dir.join("snapshot.yaml");
    let offline = run(&[
        "check",
        file.to_str().unwrap(),
        "--select",
        "IPF203",
        "--format",
        "json",
    ]);
    let offline = json_of(&offline);
    let offline_gaps: Vec<&Json> = offline["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "IPF002")
        .collect();
    assert_eq!(offline_gaps.len(), 1);
    assert_eq!(offline_gaps[0]["message"], gaps[0]["message"]);
    assert_only_get(&server);
}

#[test]
fn kinds_served_only_at_an_older_version_of_their_group_are_read() {
    // networking.istio.io prefers v1, but EnvoyFilter is served only at v1alpha3: discovery
    // must look beyond the preferred version or EnvoyFilters are never read.
    let extra = std::env::temp_dir().join(format!("ipf-vs-{}.yaml", std::process::id()));
    std::fs::write(
        &extra,
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: reviews, namespace: shop}\nspec:\n  hosts: [reviews]\n  http:\n  - route:\n    - destination: {host: reviews}\n",
    )
    .unwrap();
    let cluster = Cluster::from_files(&[
        fixture("IPF308-envoyfilter-needs-review").join("input.yaml"),
        extra.clone(),
    ]);
    let _ = std::fs::remove_file(&extra);
    let server = ApiServer::start(cluster, Auth::ClientCertificate);
    let text = snapshot_of(&server, &[]);
    assert!(
        text.contains("\nkind: EnvoyFilter\n"),
        "no EnvoyFilter was read"
    );
    assert!(text.contains("apiVersion: networking.istio.io/v1alpha3\nkind: EnvoyFilter"));
    assert!(text.contains("apiVersion: networking.istio.io/v1\nkind: VirtualService"));
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert!(
        paths
            .iter()
            .any(|p| p == "/apis/networking.istio.io/v1alpha3"),
        "{paths:?}"
    );
}
