//! A synthetic estate of any size, for the benchmark and the scaling tests: namespaces of
//! meshed Deployments with their Services, PodDisruptionBudgets and HorizontalPodAutoscalers,
//! a few running Pods, two istiod revisions with their injection webhooks (one a revision
//! tag) and mesh ConfigMaps. The same seed always gives the same bytes, so numbers from
//! two runs (or two machines) describe the same input.
//!
//! The estate is shaped like a GitOps repository: one control-plane file and one file per
//! namespace, each object a few hundred bytes to a few kilobytes as `helm template` renders
//! them. About one workload in ten carries a real upgrade problem (a short grace period, a
//! proxy pinned to an old version, contradictory injection labels, no hold on proxy start),
//! so every rule has work to do and reports are not empty.

use std::fmt::Write;
use std::path::Path;

/// Deterministic pseudo-random numbers (SplitMix64): good enough to vary an estate, and no
/// dependency.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// One generated file: a path relative to the estate's root, and its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeneratedFile {
    pub path: String,
    pub text: String,
}

/// Objects per namespace file, the Namespace itself included.
const OBJECTS_PER_NAMESPACE: usize = 101;

/// Current control plane and the canary the estate is being moved to.
const STABLE_REVISION: &str = "1-28";
const CANARY_REVISION: &str = "1-29";

/// An estate of exactly `objects` Kubernetes objects (at least the control plane's 9).
pub fn estate(objects: usize, seed: u64) -> Vec<GeneratedFile> {
    let mut rng = Rng::new(seed);
    let mut files = vec![control_plane()];
    let mut remaining = objects.saturating_sub(CONTROL_PLANE_OBJECTS);
    let mut ns_index = 0;
    while remaining > 0 {
        let budget = remaining.min(OBJECTS_PER_NAMESPACE);
        let name = format!("team-{ns_index:05}");
        files.push(GeneratedFile {
            path: format!("apps/{name}.yaml"),
            text: namespace_file(&name, budget, &mut rng),
        });
        remaining -= budget;
        ns_index += 1;
    }
    files
}

/// Writes [`estate`] under `dir` and returns the number of bytes written.
pub fn write_estate(dir: &Path, objects: usize, seed: u64) -> std::io::Result<u64> {
    let mut bytes = 0;
    for f in estate(objects, seed) {
        let path = dir.join(&f.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, &f.text)?;
        bytes += f.text.len() as u64;
    }
    Ok(bytes)
}

const CONTROL_PLANE_OBJECTS: usize = 9;

fn control_plane() -> GeneratedFile {
    let mut text = String::from(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: istio-system\n  labels:\n    topology.istio.io/network: network1\n",
    );
    for (rev, version) in [(STABLE_REVISION, "1.28.2"), (CANARY_REVISION, "1.29.1")] {
        let _ = write!(text, "---\n{}", istiod(rev, version));
        let _ = write!(text, "---\n{}", injector_webhook(rev, None));
        let _ = write!(
            text,
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: istio-{rev}\n  namespace: istio-system\n  labels:\n    istio.io/rev: {rev}\ndata:\n  mesh: |-\n    accessLogFile: /dev/stdout\n    defaultConfig:\n      discoveryAddress: istiod-{rev}.istio-system.svc:15012\n      terminationDrainDuration: {drain}\n      tracing:\n        sampling: 1\n    enablePrometheusMerge: true\n    rootNamespace: istio-system\n    trustDomain: cluster.local\n",
            drain = if rev == STABLE_REVISION { "20s" } else { "5s" },
        );
    }
    // The `prod-stable` tag points at the current revision; namespaces may use either.
    let _ = write!(
        text,
        "---\n{}",
        injector_webhook(STABLE_REVISION, Some("prod-stable"))
    );
    let _ = write!(
        text,
        "---\napiVersion: v1\nkind: Node\nmetadata:\n  name: node-1\nstatus:\n  nodeInfo:\n    kubeletVersion: v1.31.4\n"
    );
    GeneratedFile {
        path: "istio-system/control-plane.yaml".into(),
        text,
    }
}

fn istiod(rev: &str, version: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: istiod-{rev}
  namespace: istio-system
  labels:
    app: istiod
    istio.io/rev: {rev}
    app.kubernetes.io/version: {version}
spec:
  replicas: 2
  selector:
    matchLabels:
      app: istiod
      istio.io/rev: {rev}
  template:
    metadata:
      annotations:
        sidecar.istio.io/inject: "false"
      labels:
        app: istiod
        istio.io/rev: {rev}
    spec:
      serviceAccountName: istiod-{rev}
      containers:
      - name: discovery
        image: docker.io/istio/pilot:{version}
        args: [discovery, --monitoringAddr=:15014, --log_output_level=default:info]
        env:
        - name: REVISION
          value: {rev}
        - name: PILOT_TRACE_SAMPLING
          value: "1"
        ports:
        - containerPort: 15010
          name: grpc-xds
        - containerPort: 15017
          name: https-webhooks
        resources:
          requests:
            cpu: 500m
            memory: 2048Mi
"#
    )
}

fn injector_webhook(rev: &str, tag: Option<&str>) -> String {
    let (name, tag_label, selector) = match tag {
        Some(tag) => (
            format!("istio-revision-tag-{tag}"),
            format!("\n    istio.io/tag: {tag}"),
            tag.to_string(),
        ),
        None => (
            format!("istio-sidecar-injector-{rev}"),
            String::new(),
            rev.to_string(),
        ),
    };
    format!(
        r#"apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata:
  name: {name}
  labels:
    istio.io/rev: {rev}{tag_label}
webhooks:
- name: rev.namespace.sidecar-injector.istio.io
  admissionReviewVersions: [v1]
  sideEffects: None
  failurePolicy: Fail
  clientConfig:
    service:
      name: istiod-{rev}
      namespace: istio-system
      path: /inject
      port: 443
  namespaceSelector:
    matchExpressions:
    - key: istio.io/rev
      operator: In
      values: [{selector}]
    - key: istio-injection
      operator: DoesNotExist
  rules:
  - apiGroups: [""]
    apiVersions: [v1]
    operations: [CREATE]
    resources: [pods]
"#
    )
}

/// A namespace and as many applications (Deployment, Service, PDB, HPA, sometimes a Pod)
/// as fit in `budget` objects.
fn namespace_file(ns: &str, budget: usize, rng: &mut Rng) -> String {
    let labels = match rng.below(20) {
        0 => "    istio-injection: enabled\n    istio.io/rev: 1-29\n".to_string(),
        1..=6 => "    istio-injection: enabled\n".to_string(),
        7..=11 => format!("    istio.io/rev: {STABLE_REVISION}\n"),
        12..=15 => "    istio.io/rev: prod-stable\n".to_string(),
        16..=17 => format!("    istio.io/rev: {CANARY_REVISION}\n"),
        _ => "    istio.io/dataplane-mode: ambient\n".to_string(),
    };
    let mut text = format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n  labels:\n    team: {ns}\n{labels}"
    );
    let mut left = budget - 1;
    let mut app = 0;
    while left > 0 {
        let name = format!("svc-{app:03}");
        // Deployment, Service, PDB, HPA, and a running pod of it, as far as the budget goes.
        let parts = left.min(if rng.chance(10) { 5 } else { 4 });
        for part in 0..parts {
            text.push_str("---\n");
            match part {
                0 => deployment(&mut text, ns, &name, rng),
                1 => service(&mut text, ns, &name),
                2 => pdb(&mut text, ns, &name),
                3 => hpa(&mut text, ns, &name),
                _ => pod(&mut text, ns, &name, rng),
            }
        }
        left -= parts;
        app += 1;
    }
    text
}

fn deployment(out: &mut String, ns: &str, name: &str, rng: &mut Rng) {
    let replicas = 1 + rng.below(4);
    let mut annotations = String::from(
        "        prometheus.io/scrape: \"true\"\n        prometheus.io/port: \"8080\"\n",
    );
    if rng.chance(30) {
        annotations.push_str(
            "        proxy.istio.io/config: '{\"holdApplicationUntilProxyStarts\": true}'\n",
        );
    }
    if rng.chance(3) {
        annotations
            .push_str("        sidecar.istio.io/proxyImage: docker.io/istio/proxyv2:1.26.3\n");
    }
    if rng.chance(5) {
        annotations
            .push_str("        istio-preflight.io/ignore: \"IPF406=started by an init script\"\n");
    }
    let mut labels = format!("        app: {name}\n        version: v1\n");
    if rng.chance(2) {
        labels.push_str("        istio.io/dataplane-mode: ambient\n");
    }
    let grace = match rng.below(10) {
        0 => "      terminationGracePeriodSeconds: 10\n",
        1..=3 => "",
        _ => "      terminationGracePeriodSeconds: 60\n",
    };
    let _ = write!(
        out,
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: {ns}
  labels:
    app: {name}
    app.kubernetes.io/part-of: {ns}
    app.kubernetes.io/managed-by: Helm
spec:
  replicas: {replicas}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      app: {name}
  strategy:
    rollingUpdate:
      maxSurge: 25%
      maxUnavailable: 0
  template:
    metadata:
      annotations:
{annotations}      labels:
{labels}    spec:
      serviceAccountName: {name}
{grace}      containers:
      - name: app
        image: registry.example.com/{ns}/{name}:2.{minor}.0
        args: ["--port=8080", "--log-level=info"]
        env:
        - name: POD_NAME
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        - name: DATABASE_URL
          value: "postgres://{name}.{ns}.svc.cluster.local:5432/app"
        ports:
        - containerPort: 8080
          name: http
          protocol: TCP
        readinessProbe:
          httpGet:
            path: /healthz
            port: 8080
          periodSeconds: 5
        resources:
          requests:
            cpu: 100m
            memory: 128Mi
          limits:
            memory: 256Mi
        securityContext:
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
"#,
        minor = rng.below(20),
    );
}

fn service(out: &mut String, ns: &str, name: &str) {
    let _ = write!(
        out,
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: {ns}\n  labels:\n    app: {name}\nspec:\n  selector:\n    app: {name}\n  ports:\n  - name: http\n    port: 80\n    targetPort: 8080\n    protocol: TCP\n"
    );
}

fn pdb(out: &mut String, ns: &str, name: &str) {
    let _ = write!(
        out,
        "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  minAvailable: 1\n  selector:\n    matchLabels:\n      app: {name}\n"
    );
}

fn hpa(out: &mut String, ns: &str, name: &str) {
    let _ = write!(
        out,
        "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  scaleTargetRef:\n    apiVersion: apps/v1\n    kind: Deployment\n    name: {name}\n  minReplicas: 2\n  maxReplicas: 10\n  metrics:\n  - type: Resource\n    resource:\n      name: cpu\n      target:\n        type: Utilization\n        averageUtilization: 70\n"
    );
}

/// A running pod of the Deployment, as `kubectl get pods -o yaml` exports it: already
/// injected, sometimes with a proxy two minors behind its control plane.
fn pod(out: &mut String, ns: &str, name: &str, rng: &mut Rng) {
    let proxy = if rng.chance(20) { "1.26.3" } else { "1.28.2" };
    let hash = rng.next_u64() & 0xff_ffff;
    let _ = write!(
        out,
        r#"apiVersion: v1
kind: Pod
metadata:
  name: {name}-{hash:06x}-x7k2p
  namespace: {ns}
  labels:
    app: {name}
    istio.io/rev: {STABLE_REVISION}
  annotations:
    sidecar.istio.io/status: '{{"initContainers":["istio-init"],"containers":["istio-proxy"],"revision":"{STABLE_REVISION}"}}'
spec:
  containers:
  - name: app
    image: registry.example.com/{ns}/{name}:2.0.0
  - name: istio-proxy
    image: docker.io/istio/proxyv2:{proxy}
    args: [proxy, sidecar, --domain, $(POD_NAMESPACE).svc.cluster.local]
status:
  phase: Running
"#
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object_count(files: &[GeneratedFile]) -> usize {
        files
            .iter()
            .map(|f| istio_preflight::yaml::split_documents(&f.text).len())
            .sum()
    }

    #[test]
    fn same_seed_same_estate_and_exact_size() {
        for n in [9, 10, 101, 1000, 2345] {
            let a = estate(n, 7);
            assert_eq!(a, estate(n, 7));
            assert_eq!(object_count(&a), n, "{n}");
        }
        assert_ne!(estate(1000, 7), estate(1000, 8));
    }

    #[test]
    fn every_document_parses() {
        for f in estate(3000, 1) {
            let text = istio_preflight::yaml::Text::new(f.text.clone());
            for (line, range) in istio_preflight::yaml::split_documents(&text) {
                let parsed = istio_preflight::yaml::parse_document(&text, line, range);
                assert!(parsed.is_ok(), "{}:{line}: {:?}", f.path, parsed.err());
            }
        }
    }
}
