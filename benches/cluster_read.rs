//! Times a live read of a synthetic cluster (10,000 pods, 2,000 Deployments, 500
//! namespaces) from the loopback API server of tests/support, through the real kube client
//! over HTTPS with client-certificate auth. Not a timed test: run `cargo bench --bench
//! cluster_read` and read the numbers. The server runs in the same process and shares the
//! machine's cores, so the times include serving the JSON as well as reading it.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use clap::Parser;
use istio_preflight::cli::Command;
use istio_preflight::load::cluster;
use istio_preflight::settings::{ClusterTarget, Limits};
use support::apiserver::{ApiServer, Auth};

const NAMESPACES: usize = 500;
const DEPLOYMENTS: usize = 2_000;
const PODS: usize = 10_000;
const RUNS: usize = 5;

fn main() {
    let cluster = support::synthetic::cluster(NAMESPACES, DEPLOYMENTS, PODS);
    let served_bytes: usize = cluster
        .objects
        .iter()
        .map(|o| serde_json::to_vec(o).map_or(0, |b| b.len()))
        .sum();
    let server = ApiServer::start(cluster, Auth::ClientCertificate);
    let kubeconfig = server.kubeconfig();
    let args = ClusterTarget {
        context: None,
        kubeconfig: Some(kubeconfig.clone()),
        namespaces: Vec::new(),
        timeout: Duration::from_secs(600),
        progress: false,
    };
    let kinds = cluster::kinds_for(istio_preflight::rules::RULES);

    println!("machine: {}", machine());
    println!(
        "cluster: {PODS} pods, {DEPLOYMENTS} Deployments, {NAMESPACES} namespaces ({:.1} MB of JSON); kinds read: {}",
        served_bytes as f64 / 1e6,
        kinds
            .iter()
            .map(|k| k.kind)
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut reads = Vec::new();
    for run in 0..RUNS {
        let before = server.requests().len();
        let started = Instant::now();
        let read = cluster::read(&args, &kinds, &Limits::default()).expect("read");
        let elapsed = started.elapsed();
        let pods = read.objects.iter().filter(|o| o.kind() == "Pod").count();
        assert_eq!(pods, PODS, "every pod is read");
        println!(
            "read {run}: {:>7.0} ms  {} objects, {} requests",
            elapsed.as_secs_f64() * 1e3,
            read.objects.len(),
            server.requests().len() - before
        );
        reads.push(elapsed);
    }
    reads.sort();
    println!(
        "cluster read: median {:.0} ms, min {:.0} ms over {RUNS} runs",
        reads[RUNS / 2].as_secs_f64() * 1e3,
        reads[0].as_secs_f64() * 1e3
    );

    let cli = istio_preflight::cli::Cli::try_parse_from([
        "istio-preflight",
        "check",
        "--cluster",
        "--kubeconfig",
        kubeconfig.to_str().expect("utf-8 path"),
        "--target",
        "1.27.2",
    ])
    .expect("arguments");
    let Command::Check(check) = cli.command else {
        unreachable!()
    };
    let started = Instant::now();
    let report = istio_preflight::check(&check.settings().expect("settings")).expect("check");
    println!(
        "check --cluster end to end (read, inventory, all rules): {:.0} ms, {} findings",
        started.elapsed().as_secs_f64() * 1e3,
        report.diagnostics.len()
    );
    assert!(server.requests().iter().all(|r| r.method == "GET"));
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cpu}, {cores} cores available, {}", std::env::consts::OS)
}
