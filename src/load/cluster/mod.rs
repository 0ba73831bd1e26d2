//! Reading a live cluster (SPEC §3): only GET requests, only the kinds the selected rules
//! read, lists paged and run concurrently, every request and the whole read bounded in time.
//!
//! The result is the same `Vec<Object>` the file loader builds, with `Origin::Cluster` and no
//! positions, so the inventory and every rule run unchanged. What could not be read becomes
//! `ReadGap` objects (see `model::read_gap`) and the server's `/version` a `ClusterVersion`
//! object: they travel through snapshots like everything else.

pub mod snapshot;

use std::collections::BTreeSet;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde_json::{Map, Value as Json};
use tokio::time::Instant;

use crate::model::gvk::Gvk;
use crate::model::read_gap::{self, GapReason, ReadGap};
use crate::model::Object;
use crate::rules::Rule;
use crate::settings::ClusterTarget;
pub use crate::settings::Limits;

/// What a read produced.
#[derive(Debug)]
pub struct ClusterRead {
    /// The kube context read (or `in-cluster`).
    pub context: String,
    pub objects: Vec<Object>,
}

/// Kinds every built-in API server serves. One of these missing from discovery means an API
/// group was switched off, and the rules that need it cannot give a true answer; any other
/// missing kind is a custom resource that is simply not installed.
const BUILT_IN_KINDS: &[&str] = &[
    "Pod",
    "Service",
    "Endpoints",
    "ConfigMap",
    "Secret",
    "Namespace",
    "Node",
    "ServiceAccount",
    "ResourceQuota",
    "LimitRange",
    "PersistentVolumeClaim",
    "PersistentVolume",
    "ReplicationController",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ControllerRevision",
    "Job",
    "CronJob",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "CustomResourceDefinition",
    "APIService",
    "Ingress",
    "IngressClass",
    "NetworkPolicy",
    "EndpointSlice",
    "Role",
    "RoleBinding",
    "ClusterRole",
    "ClusterRoleBinding",
    "StorageClass",
    "PriorityClass",
    "RuntimeClass",
    "Lease",
];

/// The kinds the given rules read, sorted and each once; the tool's own record kinds are
/// not listed.
pub fn kinds_for(rules: &[&Rule]) -> Vec<Gvk> {
    let kinds: BTreeSet<Gvk> = rules
        .iter()
        .flat_map(|r| r.reads.listed())
        .filter(|k| k.kind != read_gap::READ_GAP && k.kind != read_gap::CLUSTER_VERSION)
        .collect();
    kinds.into_iter().collect()
}

/// Reads the kinds from the cluster `args` names. `Err` is a one-line reason naming the
/// context: the cluster could not be reached or the kubeconfig is unusable (exit 2).
pub fn read(args: &ClusterTarget, kinds: &[Gvk], limits: &Limits) -> Result<ClusterRead, String> {
    // One thread drives the I/O; JSON decoding of pages goes to two blocking threads, so a
    // read uses both cores of a small machine without a work-stealing pool.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(2)
        .build()
        .map_err(|e| format!("cannot start the I/O runtime: {e}"))?;
    runtime.block_on(async {
        let started = Instant::now();
        let (client, context, server) = connect(args).await?;
        let reader = Reader {
            client,
            limits: limits.clone(),
            deadline: started + args.timeout,
            timeout: args.timeout,
            context: context.clone(),
            server,
            progress: Progress::new(args.progress, &context),
            answered: AtomicBool::new(false),
        };
        let objects = reader.read_all(kinds, &args.namespaces).await;
        reader.progress.finish();
        objects.map(|objects| ClusterRead { context, objects })
    })
}

/// Resolves the kubeconfig the way kubectl does (`--kubeconfig`, `KUBECONFIG`,
/// `~/.kube/config`, then the pod's service account) and builds a client.
async fn connect(args: &ClusterTarget) -> Result<(Client, String, String), String> {
    let kubeconfig = match &args.kubeconfig {
        Some(path) => {
            Some(Kubeconfig::read_from(path).map_err(|e| {
                format!("cannot use kubeconfig {}: {}", path.display(), one_line(&e))
            })?)
        }
        None if std::env::var_os("KUBECONFIG").is_some() || default_kubeconfig_exists() => Some(
            Kubeconfig::read().map_err(|e| format!("cannot use kubeconfig: {}", one_line(&e)))?,
        ),
        None => None,
    };
    let (mut config, context) = match kubeconfig {
        Some(kc) => {
            let context = match args.context.clone().or_else(|| kc.current_context.clone()) {
                Some(c) => c,
                None => {
                    return Err(
                        "the kubeconfig has no current context; pass --context NAME".to_string()
                    )
                }
            };
            if !kc.contexts.iter().any(|c| c.name == context) {
                let known: Vec<&str> = kc.contexts.iter().map(|c| c.name.as_str()).collect();
                return Err(format!(
                    "context {context:?} is not in the kubeconfig (it has: {})",
                    if known.is_empty() {
                        "no contexts".to_string()
                    } else {
                        known.join(", ")
                    }
                ));
            }
            let options = KubeConfigOptions {
                context: Some(context.clone()),
                ..KubeConfigOptions::default()
            };
            let config = Config::from_custom_kubeconfig(kc, &options)
                .await
                .map_err(|e| format!("context {context:?}: {}", one_line(&e)))?;
            (config, context)
        }
        None => {
            if let Some(context) = &args.context {
                return Err(format!(
                    "context {context:?}: no kubeconfig found (KUBECONFIG, ~/.kube/config)"
                ));
            }
            let config = Config::incluster().map_err(|e| {
                format!(
                    "no kubeconfig found (pass --kubeconfig, set KUBECONFIG or create ~/.kube/config), and not running in a pod: {}",
                    one_line(&e)
                )
            })?;
            (config, "in-cluster".to_string())
        }
    };
    // Retries and time limits are ours (they must respect --timeout and show in IPF002).
    config.default_retry = false;
    config.read_timeout = None;
    config.connect_timeout = Some(args.timeout.min(Duration::from_secs(15)));
    let server = config.cluster_url.to_string();
    let client = Client::try_from(config)
        .map_err(|e| format!("context {context:?} ({server}): {}", one_line(&e)))?;
    Ok((client, context, server))
}

fn default_kubeconfig_exists() -> bool {
    std::env::var_os("HOME")
        .map(std::path::PathBuf::from)
        .is_some_and(|home| home.join(".kube").join("config").is_file())
}

/// An error and its causes on one line.
fn one_line(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A resource the server serves, from discovery.
#[derive(Clone, Debug)]
struct Resource {
    kind: String,
    group: String,
    version: String,
    plural: String,
    namespaced: bool,
}

impl Resource {
    fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    fn base(&self) -> String {
        if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        }
    }

    /// Unique among gaps: `configmaps`, `gateways.networking.istio.io`.
    fn gap_name(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }
}

/// Why a GET gave no usable answer.
#[derive(Debug)]
enum GetError {
    /// The server answered with an error status.
    Status { code: u16, message: String },
    /// No answer in time.
    Timeout,
    /// The connection failed or the body was not what the API returns.
    Transport(String),
}

/// One list to run: a resource, cluster-wide or in one namespace.
#[derive(Clone, Debug)]
struct Job {
    resource: Resource,
    namespace: Option<String>,
}

struct Reader {
    client: Client,
    limits: Limits,
    deadline: Instant,
    timeout: Duration,
    context: String,
    server: String,
    progress: Progress,
    /// Whether the server has answered at all. Until it has, a connection or TLS failure
    /// means a wrong address or certificate, and retrying would only delay the exit.
    answered: AtomicBool,
}

impl Reader {
    async fn read_all(&self, kinds: &[Gvk], namespaces: &[String]) -> Result<Vec<Object>, String> {
        let mut records: Vec<Json> = Vec::new();
        // `/version` first: it is cheap, every authenticated user may read it, and it tells
        // an unreachable cluster or rejected credentials apart before any real work.
        match self.get("/version").await {
            Ok(text) => {
                let version: Json = serde_json::from_str(&text).unwrap_or(Json::Null);
                if let Some(v) = version.get("gitVersion").and_then(Json::as_str) {
                    records.push(read_gap::cluster_version_json(v));
                }
            }
            Err(e) => self.fatal(&e, "/version")?,
        }
        let resources = self.discover().await?;
        let mut jobs = Vec::new();
        let mut gaps: Vec<(String, ReadGap)> = Vec::new();
        for gvk in kinds {
            let served: Vec<&Resource> = resources
                .iter()
                .filter(|r| r.kind == gvk.kind && r.group == gvk.group)
                .collect();
            if served.is_empty() {
                let kind = gvk.kind;
                let built_in = BUILT_IN_KINDS.contains(&kind);
                // Named by the kind; by kind and group where two groups share the kind
                // (Istio's and the Gateway API's Gateway).
                let mut name = kind.to_ascii_lowercase();
                if gaps.iter().any(|(n, _)| *n == name) {
                    name = format!("{name}.{}", gvk.group);
                }
                gaps.push((
                    name,
                    ReadGap {
                        kind: kind.to_string(),
                        namespace: None,
                        reason: if built_in {
                            GapReason::NotServed
                        } else {
                            GapReason::NotInstalled
                        },
                        code: None,
                        message: if built_in {
                            format!("the API server does not serve {kind}")
                        } else {
                            format!("no installed CustomResourceDefinition serves {kind}")
                        },
                    },
                ));
                continue;
            }
            for r in served {
                if r.namespaced && !namespaces.is_empty() {
                    for ns in namespaces {
                        jobs.push(Job {
                            resource: r.clone(),
                            namespace: Some(ns.clone()),
                        });
                    }
                } else {
                    jobs.push(Job {
                        resource: r.clone(),
                        namespace: None,
                    });
                }
            }
        }
        self.progress
            .lists_total
            .store(jobs.len(), Ordering::Relaxed);
        let mut results: Vec<(usize, Job, Result<Vec<Object>, GetError>)> =
            stream::iter(jobs.into_iter().enumerate())
                .map(|(i, job)| async move {
                    let result = self.run(&job, namespaces).await;
                    self.progress.list_done();
                    (i, job, result)
                })
                .buffer_unordered(self.limits.concurrency.max(1))
                .collect()
                .await;
        results.sort_by_key(|(i, _, _)| *i);
        let mut objects = Vec::new();
        for (_, job, result) in results {
            match result {
                Ok(listed) => objects.extend(listed),
                Err(e) => {
                    let r = &job.resource;
                    let name = match &job.namespace {
                        Some(ns) => format!("{}-in-{ns}", r.gap_name()),
                        None => r.gap_name(),
                    };
                    let (reason, code, message) = match e {
                        GetError::Status { code: 403, message } => {
                            (GapReason::Forbidden, Some(403), message)
                        }
                        GetError::Status { code, message } => {
                            (GapReason::Failed, Some(code), message)
                        }
                        GetError::Timeout => (
                            GapReason::Failed,
                            None,
                            format!(
                                "no complete answer within --timeout {}",
                                crate::model::duration::format_duration(self.timeout)
                            ),
                        ),
                        GetError::Transport(message) => (GapReason::Failed, None, message),
                    };
                    gaps.push((
                        name,
                        ReadGap {
                            kind: r.kind.clone(),
                            namespace: job.namespace.clone(),
                            reason,
                            code,
                            message,
                        },
                    ));
                }
            }
        }
        records.extend(gaps.iter().map(|(name, gap)| gap.to_json(name)));
        objects.extend(
            records
                .iter()
                .filter_map(|r| object_from_json(r.clone(), None)),
        );
        Ok(objects)
    }

    /// Turns an error on a request the whole read depends on into the exit-2 reason.
    fn fatal(&self, e: &GetError, what: &str) -> Result<(), String> {
        let ctx = &self.context;
        let server = self.server.trim_end_matches('/');
        match e {
            // Some servers hide /version; the read goes on without it.
            GetError::Status { code: 403 | 404, .. } if what == "/version" => Ok(()),
            GetError::Status { code: 401, message } => Err(format!(
                "context {ctx:?} ({server}): the API server rejected the credentials (HTTP 401: {message})"
            )),
            GetError::Status { code, message } => Err(format!(
                "context {ctx:?} ({server}): {what} answered HTTP {code}: {message}"
            )),
            GetError::Timeout => Err(format!(
                "context {ctx:?} ({server}): no answer to {what} within --timeout {}",
                crate::model::duration::format_duration(self.timeout)
            )),
            GetError::Transport(m) => {
                Err(format!("cannot reach the cluster of context {ctx:?} ({server}): {m}"))
            }
        }
    }

    /// Discovery: the core group, the group list, and each group's preferred version.
    async fn discover(&self) -> Result<Vec<Resource>, String> {
        let core = match self.get("/api/v1").await {
            Ok(text) => text,
            Err(e) => {
                self.fatal(&e, "/api/v1")?;
                String::new()
            }
        };
        let mut resources = parse_resources(&core, "", "v1");
        let groups = match self.get("/apis").await {
            Ok(text) => text,
            Err(e) => {
                self.fatal(&e, "/apis")?;
                String::new()
            }
        };
        let groups: Json = serde_json::from_str(&groups).unwrap_or(Json::Null);
        // Every version of every group, the preferred one first: a kind served only at an
        // older version (EnvoyFilter at networking.istio.io/v1alpha3 while the group prefers
        // v1) exists only in that version's list.
        let group_versions: Vec<(String, String)> = groups
            .get("groups")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .flat_map(|g| {
                let name = g.get("name").and_then(Json::as_str).unwrap_or_default();
                let preferred = g
                    .pointer("/preferredVersion/version")
                    .and_then(Json::as_str);
                let mut versions: Vec<&str> = g
                    .get("versions")
                    .and_then(Json::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.get("version").and_then(Json::as_str))
                    .collect();
                versions.sort_by_key(|v| Some(*v) != preferred);
                versions
                    .into_iter()
                    .filter(|_| !name.is_empty())
                    .map(|v| (name.to_string(), v.to_string()))
                    .collect::<Vec<_>>()
            })
            .collect();
        // A broken aggregated API (metrics-server down) fails its own discovery; that only
        // matters if a kind we need lived there, which then shows up as not served.
        let lists: Vec<Vec<Resource>> = stream::iter(group_versions)
            .map(|(group, version)| async move {
                match self.get(&format!("/apis/{group}/{version}")).await {
                    Ok(text) => parse_resources(&text, &group, &version),
                    Err(_) => Vec::new(),
                }
            })
            .buffered(self.limits.concurrency.max(1))
            .collect()
            .await;
        // Each kind once, at the most preferred version that serves it (lists come back in
        // request order: preferred versions first).
        for r in lists.into_iter().flatten() {
            if !resources
                .iter()
                .any(|x| x.group == r.group && x.kind == r.kind)
            {
                resources.push(r);
            }
        }
        resources.sort_by(|a, b| (&a.group, &a.plural).cmp(&(&b.group, &b.plural)));
        Ok(resources)
    }

    /// Runs one list (or, for namespaces named with `-n`, gets them one by one: listing
    /// every namespace needs a cluster-wide grant the user may not have).
    async fn run(&self, job: &Job, namespaces: &[String]) -> Result<Vec<Object>, GetError> {
        let r = &job.resource;
        if r.kind == "Namespace" && r.group.is_empty() && !namespaces.is_empty() {
            let mut objects = Vec::new();
            for ns in namespaces {
                match self.get(&format!("{}/namespaces/{ns}", r.base())).await {
                    Ok(text) => {
                        let api_version = r.api_version();
                        let kind = r.kind.clone();
                        let parsed = tokio::task::spawn_blocking(move || {
                            serde_json::from_str::<Json>(&text)
                                .ok()
                                .and_then(|j| object_from_json(j, Some((&api_version, &kind))))
                        })
                        .await
                        .map_err(|e| GetError::Transport(e.to_string()))?;
                        objects.extend(parsed);
                    }
                    Err(GetError::Status { code: 404, .. }) => {}
                    Err(e) => return Err(e),
                }
            }
            return Ok(objects);
        }
        let path = match &job.namespace {
            Some(ns) => format!("{}/namespaces/{ns}/{}", r.base(), r.plural),
            None => format!("{}/{}", r.base(), r.plural),
        };
        self.list(&path, r).await
    }

    /// Lists all pages. An expired continue token (410 Gone) restarts the list: the pages
    /// already read may be from an older snapshot of the collection than the rest would be.
    async fn list(&self, path: &str, r: &Resource) -> Result<Vec<Object>, GetError> {
        let mut relists = 0;
        'relist: loop {
            let mut objects = Vec::new();
            let mut token: Option<String> = None;
            loop {
                let mut url = format!("{path}?limit={}", self.limits.page_size);
                if let Some(t) = &token {
                    url.push_str("&continue=");
                    url.push_str(&percent_encode(t));
                }
                let text = match self.get(&url).await {
                    Ok(text) => text,
                    Err(GetError::Status { code: 410, .. })
                        if token.is_some() && relists < self.limits.relists =>
                    {
                        relists += 1;
                        continue 'relist;
                    }
                    Err(e) => return Err(e),
                };
                let api_version = r.api_version();
                let kind = r.kind.clone();
                let page =
                    tokio::task::spawn_blocking(move || parse_page(&text, &api_version, &kind))
                        .await
                        .map_err(|e| GetError::Transport(e.to_string()))??;
                self.progress.objects(page.objects.len());
                objects.extend(page.objects);
                match page.next {
                    Some(next) => token = Some(next),
                    None => return Ok(objects),
                }
            }
        }
    }

    /// One GET with the per-request time limit, retried with backoff on 429, 5xx and
    /// connection failures, never past the read's deadline. The only request this tool
    /// ever sends.
    async fn get(&self, path: &str) -> Result<String, GetError> {
        let mut attempt = 0;
        loop {
            let left = self.deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(GetError::Timeout);
            }
            let request = http::Request::get(path)
                .body(Vec::new())
                .map_err(|e| GetError::Transport(e.to_string()))?;
            let answer = tokio::time::timeout(
                self.limits.request_timeout.min(left),
                self.client.request_text(request),
            )
            .await;
            let error = match answer {
                Ok(Ok(text)) => {
                    self.answered.store(true, Ordering::Relaxed);
                    return Ok(text);
                }
                Ok(Err(kube::Error::Api(status))) => {
                    self.answered.store(true, Ordering::Relaxed);
                    GetError::Status {
                        code: status.code,
                        message: status.message.clone(),
                    }
                }
                Ok(Err(e)) => GetError::Transport(one_line(&e)),
                Err(_) => GetError::Timeout,
            };
            let transient = match &error {
                GetError::Status { code, .. } => *code == 429 || *code >= 500,
                GetError::Timeout | GetError::Transport(_) => self.answered.load(Ordering::Relaxed),
            };
            if !transient || attempt >= self.limits.retries {
                return Err(error);
            }
            let pause = self.limits.backoff * 2u32.saturating_pow(attempt);
            if Instant::now() + pause >= self.deadline {
                return Err(error);
            }
            tokio::time::sleep(pause).await;
            attempt += 1;
        }
    }
}

struct Page {
    objects: Vec<Object>,
    next: Option<String>,
}

fn parse_page(text: &str, api_version: &str, kind: &str) -> Result<Page, GetError> {
    let list: Json = serde_json::from_str(text)
        .map_err(|e| GetError::Transport(format!("the list answer is not JSON: {e}")))?;
    let Json::Object(mut list) = list else {
        return Err(GetError::Transport(
            "the list answer is not a JSON object".into(),
        ));
    };
    let next = list
        .get("metadata")
        .and_then(|m| m.get("continue"))
        .and_then(Json::as_str)
        .filter(|t| !t.is_empty())
        .map(str::to_string);
    let items = match list.remove("items") {
        Some(Json::Array(items)) => items,
        Some(Json::Null) | None => Vec::new(),
        Some(_) => {
            return Err(GetError::Transport(
                "the list's items are not a list".into(),
            ))
        }
    };
    let objects = items
        .into_iter()
        .filter_map(|item| object_from_json(item, Some((api_version, kind))))
        .collect();
    Ok(Page { objects, next })
}

/// An object as the loader would build it: apiVersion and kind first (list items lack
/// them), `managedFields` dropped (bulky, and no rule reads server-side apply history).
fn object_from_json(json: Json, list_kind: Option<(&str, &str)>) -> Option<Object> {
    let Json::Object(fields) = json else {
        return None;
    };
    let mut ordered = Map::new();
    let api_version = fields
        .get("apiVersion")
        .and_then(Json::as_str)
        .map(str::to_string)
        .or_else(|| list_kind.map(|(a, _)| a.to_string()))?;
    let kind = fields
        .get("kind")
        .and_then(Json::as_str)
        .map(str::to_string)
        .or_else(|| list_kind.map(|(_, k)| k.to_string()))?;
    ordered.insert("apiVersion".into(), Json::String(api_version));
    ordered.insert("kind".into(), Json::String(kind));
    for (key, mut value) in fields {
        if key == "apiVersion" || key == "kind" {
            continue;
        }
        if key == "metadata" {
            if let Json::Object(m) = &mut value {
                m.remove("managedFields");
            }
        }
        ordered.insert(key, value);
    }
    Some(Object::from_cluster(&Json::Object(ordered)))
}

fn parse_resources(text: &str, group: &str, version: &str) -> Vec<Resource> {
    let list: Json = serde_json::from_str(text).unwrap_or(Json::Null);
    list.get("resources")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| {
            let plural = r.get("name")?.as_str()?;
            // Subresources (`pods/status`) are not lists of objects.
            if plural.contains('/') {
                return None;
            }
            let listable = r
                .get("verbs")
                .and_then(Json::as_array)
                .is_none_or(|verbs| verbs.iter().any(|v| v == "list"));
            if !listable {
                return None;
            }
            Some(Resource {
                kind: r.get("kind")?.as_str()?.to_string(),
                group: group.to_string(),
                version: version.to_string(),
                plural: plural.to_string(),
                namespaced: r.get("namespaced").and_then(Json::as_bool).unwrap_or(true),
            })
        })
        .collect()
}

/// Continue tokens are base64 and may hold `+`, `/` and `=`.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A one-line progress indicator on standard error, redrawn in place.
struct Progress {
    enabled: bool,
    context: String,
    lists_total: AtomicUsize,
    lists_done: AtomicUsize,
    objects: AtomicUsize,
}

impl Progress {
    fn new(enabled: bool, context: &str) -> Progress {
        Progress {
            enabled: enabled && std::io::stderr().is_terminal(),
            context: context.to_string(),
            lists_total: AtomicUsize::new(0),
            lists_done: AtomicUsize::new(0),
            objects: AtomicUsize::new(0),
        }
    }

    fn objects(&self, n: usize) {
        self.objects.fetch_add(n, Ordering::Relaxed);
        self.draw();
    }

    fn list_done(&self) {
        self.lists_done.fetch_add(1, Ordering::Relaxed);
        self.draw();
    }

    fn draw(&self) {
        if !self.enabled {
            return;
        }
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[Kreading {}: {}/{} lists, {} objects",
            self.context,
            self.lists_done.load(Ordering::Relaxed),
            self.lists_total.load(Ordering::Relaxed),
            self.objects.load(Ordering::Relaxed)
        );
        let _ = err.flush();
    }

    fn finish(&self) {
        if self.enabled {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[K");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_items_get_api_version_and_kind_first_and_lose_managed_fields() {
        let page = r#"{"kind":"PodList","apiVersion":"v1","metadata":{"continue":"abc"},
            "items":[{"metadata":{"name":"a","namespace":"shop","managedFields":[{}]},"spec":{}}]}"#;
        let page = parse_page(page, "v1", "Pod").unwrap();
        assert_eq!(page.next.as_deref(), Some("abc"));
        let o = &page.objects[0];
        assert_eq!((o.kind(), o.namespace(), o.name()), ("Pod", "shop", "a"));
        assert_eq!(o.origin, crate::model::Origin::Cluster);
        let json = o.root().to_json();
        let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["apiVersion", "kind", "metadata", "spec"]);
        assert!(json["metadata"].get("managedFields").is_none());
    }

    #[test]
    fn list_items_without_api_version_and_kind_report_those_of_the_list() {
        let page = r#"{"kind":"DeploymentList","apiVersion":"apps/v1","metadata":{},
            "items":[{"metadata":{"name":"a","namespace":"shop"}},
                {"apiVersion":"extensions/v1beta1","kind":"Deployment","metadata":{"name":"b"}}]}"#;
        let page = parse_page(page, "apps/v1", "Deployment").unwrap();
        let names: Vec<_> = page
            .objects
            .iter()
            .map(|o| (o.api_version(), o.kind(), o.name(), o.declared_namespace()))
            .collect();
        assert_eq!(
            names,
            [
                ("apps/v1", "Deployment", "a", Some("shop")),
                ("extensions/v1beta1", "Deployment", "b", None)
            ]
        );
    }

    #[test]
    fn an_empty_continue_token_ends_the_list() {
        let page = parse_page(r#"{"metadata":{"continue":""},"items":null}"#, "v1", "Pod").unwrap();
        assert!(page.next.is_none() && page.objects.is_empty());
        assert!(parse_page("[1]", "v1", "Pod").is_err());
    }

    #[test]
    fn discovery_skips_subresources_and_unlistable_resources() {
        let text = r#"{"resources":[
            {"name":"pods","kind":"Pod","namespaced":true,"verbs":["get","list"]},
            {"name":"pods/status","kind":"Pod","namespaced":true,"verbs":["get"]},
            {"name":"bindings","kind":"Binding","namespaced":true,"verbs":["create"]},
            {"name":"nodes","kind":"Node","namespaced":false,"verbs":["list"]}]}"#;
        let found: Vec<(String, bool)> = parse_resources(text, "", "v1")
            .into_iter()
            .map(|r| (r.plural, r.namespaced))
            .collect();
        assert_eq!(
            found,
            [("pods".to_string(), true), ("nodes".to_string(), false)]
        );
    }

    #[test]
    fn continue_tokens_are_escaped() {
        assert_eq!(percent_encode("a+b/c=="), "a%2Bb%2Fc%3D%3D");
    }

    #[test]
    fn kinds_come_from_the_rules_without_the_tools_own_records() {
        let kinds = kinds_for(crate::rules::RULES);
        assert!(kinds.contains(&crate::model::gvk::POD));
        assert!(!kinds.iter().any(|k| k.kind == read_gap::READ_GAP));
        let mut sorted = kinds.clone();
        sorted.sort();
        assert_eq!(kinds, sorted);
    }
}
