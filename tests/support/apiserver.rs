//! A loopback Kubernetes API server for tests and the benchmark: HTTPS with a CA and
//! certificates made at start-up (client-certificate or bearer-token auth), speaking the
//! parts of the REST API istio-preflight uses — `/version`, discovery, list with
//! `limit`/`continue`, single namespace GETs — plus the failures a real cluster gives:
//! 403 for chosen kinds, 5xx that pass or persist, 410 Gone on a continue token, slow
//! answers. It records every request, so a test can assert only GET was ever sent.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::{json, Value as Json};

/// A resource the server serves.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Served {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub namespaced: bool,
}

const BUILT_IN: &[(&str, &str, &str, &str, bool)] = &[
    ("", "v1", "Pod", "pods", true),
    ("", "v1", "Service", "services", true),
    ("", "v1", "Endpoints", "endpoints", true),
    ("", "v1", "ConfigMap", "configmaps", true),
    ("", "v1", "Secret", "secrets", true),
    ("", "v1", "ServiceAccount", "serviceaccounts", true),
    ("", "v1", "ResourceQuota", "resourcequotas", true),
    ("", "v1", "LimitRange", "limitranges", true),
    ("", "v1", "Namespace", "namespaces", false),
    ("", "v1", "Node", "nodes", false),
    ("apps", "v1", "Deployment", "deployments", true),
    ("apps", "v1", "StatefulSet", "statefulsets", true),
    ("apps", "v1", "DaemonSet", "daemonsets", true),
    ("apps", "v1", "ReplicaSet", "replicasets", true),
    ("batch", "v1", "Job", "jobs", true),
    ("batch", "v1", "CronJob", "cronjobs", true),
    (
        "policy",
        "v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        true,
    ),
    (
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        true,
    ),
    (
        "admissionregistration.k8s.io",
        "v1",
        "MutatingWebhookConfiguration",
        "mutatingwebhookconfigurations",
        false,
    ),
    (
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingWebhookConfiguration",
        "validatingwebhookconfigurations",
        false,
    ),
    (
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        false,
    ),
    ("networking.k8s.io", "v1", "Ingress", "ingresses", true),
    (
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        "networkpolicies",
        true,
    ),
];

/// What the server holds and how it misbehaves.
#[derive(Clone, Debug, Default)]
pub struct Cluster {
    pub objects: Vec<Json>,
    pub resources: BTreeSet<Served>,
    /// `/version`'s gitVersion; `None` answers 404.
    pub version: Option<String>,
    /// Kind → the Status message of a 403 on its lists.
    pub forbidden: BTreeMap<String, String>,
    /// Kind → (status, message) on every list.
    pub failing: BTreeMap<String, (u16, String)>,
    /// Kind → how many list requests answer 503 before the real answer.
    pub flaky: BTreeMap<String, usize>,
    /// Kind → delay before each list answer.
    pub slow: BTreeMap<String, Duration>,
    /// Kinds whose first request with a continue token gets 410 Gone.
    pub expire_continue: BTreeSet<String>,
    /// Kinds left out of discovery.
    pub not_served: BTreeSet<String>,
    /// The most items per page the server returns, whatever `limit` asks.
    pub max_page: Option<usize>,
}

impl Cluster {
    pub fn new() -> Cluster {
        let mut c = Cluster::default();
        for (group, version, kind, plural, namespaced) in BUILT_IN {
            c.resources.insert(Served {
                group: group.to_string(),
                version: version.to_string(),
                kind: kind.to_string(),
                plural: plural.to_string(),
                namespaced: *namespaced,
            });
        }
        c
    }

    /// The objects of a fixture folder, read with the project's own loader. The tool's
    /// `ReadGap` and `ClusterVersion` records become behaviour: a 403 or a failing status
    /// for the kind, a kind missing from discovery, the `/version` answer.
    pub fn from_fixture(dir: &Path) -> Cluster {
        let inputs: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension()
                    .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
            })
            .collect();
        Cluster::from_files(&inputs)
    }

    /// Like [`Cluster::from_fixture`], for some files of a folder.
    pub fn from_files(inputs: &[PathBuf]) -> Cluster {
        let mut c = Cluster::new();
        let loaded = istio_preflight::load::files::load(inputs);
        for o in &loaded.objects {
            use istio_preflight::model::read_gap::{self, GapReason, ReadGap};
            if let Some(gap) = ReadGap::from_object(o) {
                match gap.reason {
                    GapReason::Forbidden => {
                        c.forbidden.insert(gap.kind, gap.message);
                    }
                    GapReason::Failed => {
                        c.failing
                            .insert(gap.kind, (gap.code.unwrap_or(500), gap.message));
                    }
                    GapReason::NotServed | GapReason::NotInstalled => {
                        c.not_served.insert(gap.kind);
                    }
                }
                continue;
            }
            if o.kind() == read_gap::CLUSTER_VERSION && o.api_version() == read_gap::API_VERSION {
                c.version = o.root().str_at(&["gitVersion"]).map(str::to_string);
                continue;
            }
            let api_version =
                if o.kind() == "PodDisruptionBudget" && o.api_version() == "policy/v1beta1" {
                    "policy/v1"
                } else {
                    o.api_version()
                };
            let (group, version) = match api_version.split_once('/') {
                Some((g, v)) => (g.to_string(), v.to_string()),
                None => (String::new(), api_version.to_string()),
            };
            if !c
                .resources
                .iter()
                .any(|r| r.kind == o.kind() && r.group == group)
            {
                c.resources.insert(Served {
                    group,
                    version,
                    kind: o.kind().to_string(),
                    plural: plural(o.kind()),
                    namespaced: !o.is_cluster_scoped(),
                });
            }
            let mut json = o.root().to_json();
            // policy/v1beta1 is no longer served: the API server returns such PDBs as v1, and
            // turns an empty v1beta1 selector (which matched nothing) into the selector that
            // keeps matching nothing (kubernetes pkg/apis/policy/v1beta1/conversion.go).
            if o.kind() == "PodDisruptionBudget" && o.api_version() == "policy/v1beta1" {
                json["apiVersion"] = json!("policy/v1");
                if json["spec"]["selector"] == json!({}) {
                    json["spec"]["selector"] = json!({"matchExpressions": [{
                        "key": "pdb.kubernetes.io/deprecated-v1beta1-empty-selector-match",
                        "operator": "Exists",
                    }]});
                }
            }
            // The API server fills in the namespace `kubectl apply` would have used.
            if !o.is_cluster_scoped() && o.declared_namespace().is_none() {
                if let Some(Json::Object(m)) = json.get_mut("metadata") {
                    m.insert("namespace".into(), json!("default"));
                }
            }
            c.objects.push(json);
        }
        c
    }
}

fn plural(kind: &str) -> String {
    let lower = kind.to_ascii_lowercase();
    if let Some(stem) = lower.strip_suffix('y') {
        format!("{stem}ies")
    } else if lower.ends_with('s') {
        format!("{lower}es")
    } else {
        format!("{lower}s")
    }
}

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Logged {
    pub method: String,
    pub path: String,
    pub status: u16,
}

#[derive(Clone, Debug)]
pub enum Auth {
    ClientCertificate,
    BearerToken(String),
}

struct State {
    cluster: Cluster,
    auth: Auth,
    log: Mutex<Vec<Logged>>,
    flaky_left: Mutex<BTreeMap<String, usize>>,
    expired: Mutex<BTreeSet<String>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

pub struct ApiServer {
    pub addr: SocketAddr,
    pub dir: PathBuf,
    state: Arc<State>,
}

static SERVERS: AtomicUsize = AtomicUsize::new(0);

impl ApiServer {
    pub fn start(cluster: Cluster, auth: Auth) -> ApiServer {
        let n = SERVERS.fetch_add(1, Ordering::Relaxed);
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("apiserver-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pki = Pki::generate(&dir);
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = match auth {
            Auth::ClientCertificate => {
                let mut roots = rustls::RootCertStore::empty();
                roots.add(pki.ca.clone()).unwrap();
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    roots.into(),
                    provider,
                )
                .build()
                .unwrap();
                builder.with_client_cert_verifier(verifier)
            }
            Auth::BearerToken(_) => builder.with_no_client_auth(),
        };
        let tls = builder
            .with_single_cert(vec![pki.server_cert.clone()], pki.server_key.clone_key())
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State {
            flaky_left: Mutex::new(cluster.flaky.clone()),
            cluster,
            auth: auth.clone(),
            log: Mutex::new(Vec::new()),
            expired: Mutex::new(BTreeSet::new()),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
        });
        let served = state.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                loop {
                    let Ok((tcp, _)) = listener.accept().await else { continue };
                    let acceptor = acceptor.clone();
                    let state = served.clone();
                    tokio::spawn(async move {
                        let Ok(stream) = acceptor.accept(tcp).await else { return };
                        let service = hyper::service::service_fn(move |req| {
                            let state = state.clone();
                            async move { Ok::<_, std::convert::Infallible>(handle(&state, req).await) }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            });
        });
        let server = ApiServer { addr, dir, state };
        server.write_kubeconfig(&server.kubeconfig(), &format!("https://{addr}"));
        server
    }

    /// A kubeconfig whose current context `loopback` points at this server.
    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.join("kubeconfig")
    }

    /// A kubeconfig with the same credentials pointing at `url` (an unreachable address).
    pub fn kubeconfig_for(&self, url: &str) -> PathBuf {
        let path = self.dir.join("kubeconfig-elsewhere");
        self.write_kubeconfig(&path, url);
        path
    }

    fn write_kubeconfig(&self, path: &Path, url: &str) {
        let d = self.dir.display();
        let user = match &self.state.auth {
            Auth::ClientCertificate => {
                format!("    client-certificate: {d}/client.crt\n    client-key: {d}/client.key\n")
            }
            Auth::BearerToken(token) => format!("    token: {token}\n"),
        };
        let text = format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: loopback\nclusters:\n- name: loopback\n  cluster:\n    server: {url}\n    certificate-authority: {d}/ca.crt\ncontexts:\n- name: loopback\n  context:\n    cluster: loopback\n    user: tester\nusers:\n- name: tester\n  user:\n{user}"
        );
        std::fs::write(path, text).unwrap();
    }

    pub fn requests(&self) -> Vec<Logged> {
        self.state.log.lock().unwrap().clone()
    }

    /// The most list requests that were being answered at the same time.
    pub fn max_concurrent_lists(&self) -> usize {
        self.state.max_in_flight.load(Ordering::Relaxed)
    }
}

struct Pki {
    ca: CertificateDer<'static>,
    server_cert: CertificateDer<'static>,
    server_key: PrivateKeyDer<'static>,
}

impl Pki {
    fn generate(dir: &Path) -> Pki {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
            KeyPair, KeyUsagePurpose,
        };
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "loopback-ca");
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);

        let server_key = KeyPair::generate().unwrap();
        let mut server_params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_cert = server_params.signed_by(&server_key, &issuer).unwrap();

        let client_key = KeyPair::generate().unwrap();
        let mut client_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        client_params
            .distinguished_name
            .push(DnType::CommonName, "tester");
        client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let client_cert = client_params.signed_by(&client_key, &issuer).unwrap();

        std::fs::write(dir.join("ca.crt"), ca_cert.pem()).unwrap();
        std::fs::write(dir.join("client.crt"), client_cert.pem()).unwrap();
        std::fs::write(dir.join("client.key"), client_key.serialize_pem()).unwrap();
        Pki {
            ca: ca_cert.der().clone(),
            server_cert: server_cert.der().clone(),
            server_key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der())),
        }
    }
}

fn status(code: u16, reason: &str, message: &str) -> Response<Full<Bytes>> {
    respond(
        code,
        &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": message, "reason": reason, "code": code}),
    )
}

fn respond(code: u16, body: &Json) -> Response<Full<Bytes>> {
    Response::builder()
        .status(StatusCode::from_u16(code).unwrap())
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(serde_json::to_vec(body).unwrap())))
        .unwrap()
}

async fn handle(state: &State, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or_default().to_string();
    let response = if req.method() != hyper::Method::GET {
        status(405, "MethodNotAllowed", "this test server only answers GET")
    } else if !authorized(state, &req) {
        status(401, "Unauthorized", "Unauthorized")
    } else {
        route(state, &path, &query).await
    };
    state.log.lock().unwrap().push(Logged {
        method,
        path: if query.is_empty() {
            path
        } else {
            format!("{path}?{query}")
        },
        status: response.status().as_u16(),
    });
    response
}

fn authorized(state: &State, req: &Request<Incoming>) -> bool {
    match &state.auth {
        // The TLS handshake already demanded a certificate signed by the CA.
        Auth::ClientCertificate => true,
        Auth::BearerToken(token) => req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v == format!("Bearer {token}")),
    }
}

fn served(state: &State) -> impl Iterator<Item = &Served> {
    state
        .cluster
        .resources
        .iter()
        .filter(|r| !state.cluster.not_served.contains(&r.kind))
}

fn resource_list(state: &State, group: &str, version: &str) -> Json {
    let mut resources = Vec::new();
    for r in served(state).filter(|r| r.group == group && r.version == version) {
        resources.push(
            json!({"name": r.plural, "singularName": r.kind.to_ascii_lowercase(),
            "namespaced": r.namespaced, "kind": r.kind,
            "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]}),
        );
        resources.push(
            json!({"name": format!("{}/status", r.plural), "singularName": "",
            "namespaced": r.namespaced, "kind": r.kind, "verbs": ["get", "patch", "update"]}),
        );
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources})
}

async fn route(state: &State, path: &str, query: &str) -> Response<Full<Bytes>> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match parts.as_slice() {
        ["version"] => match &state.cluster.version {
            Some(v) => respond(
                200,
                &json!({"major": "1", "minor": "33", "gitVersion": v, "platform": "linux/amd64"}),
            ),
            None => status(
                404,
                "NotFound",
                "the server could not find the requested resource",
            ),
        },
        ["api"] => respond(200, &json!({"kind": "APIVersions", "versions": ["v1"]})),
        ["api", "v1"] => respond(200, &resource_list(state, "", "v1")),
        ["apis"] => {
            // Every version a group's kinds are served at; like the real server, a group
            // prefers `v1` where it has it, so kinds served only at an older version (Istio's
            // EnvoyFilter at v1alpha3) are discoverable only through that version.
            let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
            for r in served(state).filter(|r| !r.group.is_empty()) {
                let versions = groups.entry(r.group.as_str()).or_default();
                if !versions.contains(&r.version.as_str()) {
                    versions.push(r.version.as_str());
                }
            }
            let groups: Vec<Json> = groups
                .iter_mut()
                .map(|(g, versions)| {
                    versions.sort_by_key(|v| (*v != "v1", *v));
                    let gvs: Vec<Json> = versions
                        .iter()
                        .map(|v| json!({"groupVersion": format!("{g}/{v}"), "version": v}))
                        .collect();
                    json!({"name": g, "versions": gvs, "preferredVersion": gvs[0]})
                })
                .collect();
            respond(
                200,
                &json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}),
            )
        }
        ["apis", group, version] => respond(200, &resource_list(state, group, version)),
        ["api", "v1", "namespaces", name] => get_namespace(state, name),
        ["api", "v1", rest @ ..] => list(state, "", "v1", rest, query).await,
        ["apis", group, version, rest @ ..] => list(state, group, version, rest, query).await,
        _ => status(
            404,
            "NotFound",
            "the server could not find the requested resource",
        ),
    }
}

fn get_namespace(state: &State, name: &str) -> Response<Full<Bytes>> {
    if let Some(message) = state.cluster.forbidden.get("Namespace") {
        return status(403, "Forbidden", message);
    }
    let found = state
        .cluster
        .objects
        .iter()
        .find(|o| o["kind"] == "Namespace" && o["metadata"]["name"] == name);
    match found {
        Some(o) => respond(200, o),
        None => status(404, "NotFound", &format!("namespaces \"{name}\" not found")),
    }
}

struct InFlight<'a>(&'a State);

impl<'a> InFlight<'a> {
    fn enter(state: &'a State) -> InFlight<'a> {
        let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        state.max_in_flight.fetch_max(now, Ordering::SeqCst);
        InFlight(state)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn list(
    state: &State,
    group: &str,
    version: &str,
    rest: &[&str],
    query: &str,
) -> Response<Full<Bytes>> {
    let (namespace, plural) = match rest {
        ["namespaces", ns, plural] => (Some(*ns), *plural),
        [plural] => (None, *plural),
        _ => {
            return status(
                404,
                "NotFound",
                "the server could not find the requested resource",
            )
        }
    };
    let Some(resource) = served(state)
        .find(|r| r.group == group && r.version == version && r.plural == plural)
        .cloned()
    else {
        return status(
            404,
            "NotFound",
            "the server could not find the requested resource",
        );
    };
    let _guard = InFlight::enter(state);
    let kind = resource.kind.as_str();
    if let Some(delay) = state.cluster.slow.get(kind) {
        tokio::time::sleep(*delay).await;
    }
    if let Some(message) = state.cluster.forbidden.get(kind) {
        return status(403, "Forbidden", message);
    }
    if let Some((code, message)) = state.cluster.failing.get(kind) {
        return status(*code, "InternalError", message);
    }
    {
        let mut flaky = state.flaky_left.lock().unwrap();
        if let Some(left) = flaky.get_mut(kind).filter(|n| **n > 0) {
            *left -= 1;
            return status(
                503,
                "ServiceUnavailable",
                "the server is currently unable to handle the request",
            );
        }
    }
    let params: BTreeMap<&str, String> = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k, percent_decode(v)))
        .collect();
    let start: usize = match params.get("continue") {
        Some(token) => {
            if state.cluster.expire_continue.contains(kind)
                && state.expired.lock().unwrap().insert(kind.to_string())
            {
                return status(410, "Expired", "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.");
            }
            match token.strip_prefix("offset=").and_then(|n| n.parse().ok()) {
                Some(n) => n,
                None => return status(400, "BadRequest", "invalid continue token"),
            }
        }
        None => 0,
    };
    let limit = params
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0)
        .unwrap_or(usize::MAX)
        .min(state.cluster.max_page.unwrap_or(usize::MAX));
    let api_version = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    let matching: Vec<&Json> = state
        .cluster
        .objects
        .iter()
        .filter(|o| {
            o["kind"] == kind
                && o["apiVersion"]
                    .as_str()
                    .is_some_and(|a| a.split_once('/').map_or("", |(g, _)| g) == group)
                && namespace.is_none_or(|ns| o["metadata"]["namespace"] == ns)
        })
        .collect();
    let page: Vec<Json> = matching
        .iter()
        .skip(start)
        .take(limit)
        .map(|o| {
            // Built-in lists leave apiVersion and kind off their items, as the real server does.
            let mut item = (*o).clone();
            if let Json::Object(m) = &mut item {
                if !group.contains('.') || group.ends_with(".k8s.io") {
                    m.remove("apiVersion");
                    m.remove("kind");
                }
            }
            item
        })
        .collect();
    let end = start + page.len();
    let mut metadata = json!({"resourceVersion": "12345"});
    if end < matching.len() {
        metadata["continue"] = json!(format!("offset={end}"));
        metadata["remainingItemCount"] = json!(matching.len() - end);
    }
    respond(
        200,
        &json!({"kind": format!("{kind}List"), "apiVersion": api_version, "metadata": metadata, "items": page}),
    )
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&text[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
