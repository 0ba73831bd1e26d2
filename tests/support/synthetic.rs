//! A synthetic meshed cluster of any size: istiod, the injector webhook and mesh config,
//! then namespaces with Deployments and their sidecar-injected pods, shaped like what
//! `kubectl get -o json` returns (a few kilobytes per pod).

use serde_json::{json, Value as Json};

use super::apiserver::Cluster;

pub fn cluster(namespaces: usize, deployments: usize, pods: usize) -> Cluster {
    let mut c = Cluster::new();
    c.version = Some("v1.33.1".into());
    let o = &mut c.objects;
    o.push(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system"}}));
    o.push(json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "istiod", "namespace": "istio-system", "labels": {"app": "istiod", "istio.io/rev": "default"}},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "istiod"}},
            "template": {"metadata": {"labels": {"app": "istiod", "istio.io/rev": "default", "sidecar.istio.io/inject": "false"}},
                "spec": {"containers": [{"name": "discovery", "image": "docker.io/istio/pilot:1.26.2"}]}}}}));
    o.push(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "istio", "namespace": "istio-system"},
        "data": {"mesh": "defaultConfig:\n  terminationDrainDuration: 20s\n"}}));
    o.push(json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": "istio-sidecar-injector", "labels": {"istio.io/rev": "default"}},
        "webhooks": [{"name": "namespace.sidecar-injector.istio.io",
            "clientConfig": {"service": {"name": "istiod", "namespace": "istio-system", "path": "/inject"}},
            "namespaceSelector": {"matchLabels": {"istio-injection": "enabled"}}}]}));
    for n in 0..namespaces {
        o.push(json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": format!("team-{n:03}"), "labels": {"istio-injection": "enabled"}}}));
    }
    for d in 0..deployments {
        let ns = format!("team-{:03}", d % namespaces.max(1));
        o.push(json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": format!("app-{d:04}"), "namespace": ns, "uid": format!("uid-d-{d}"),
                "labels": {"app": format!("app-{d:04}")},
                "managedFields": [{"manager": "kubectl", "operation": "Update", "fieldsV1": {"f:spec": {}}}]},
            "spec": {"replicas": 5, "selector": {"matchLabels": {"app": format!("app-{d:04}")}},
                "template": {"metadata": {"labels": {"app": format!("app-{d:04}")}},
                    "spec": {"terminationGracePeriodSeconds": 30,
                        "containers": [{"name": "app", "image": format!("registry.example.com/app-{d:04}:1.0"),
                            "ports": [{"containerPort": 8080, "name": "http"}],
                            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}]}}},
            "status": {"replicas": 5, "readyReplicas": 5}}));
    }
    for p in 0..pods {
        let d = p % deployments.max(1);
        let ns = format!("team-{:03}", d % namespaces.max(1));
        o.push(pod(p, d, &ns));
    }
    c
}

fn pod(p: usize, d: usize, ns: &str) -> Json {
    let app = format!("app-{d:04}");
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": format!("{app}-7d9f8c-{p:05}"), "namespace": ns, "uid": format!("uid-p-{p}"),
            "labels": {"app": app, "pod-template-hash": "7d9f8c", "security.istio.io/tlsMode": "istio",
                "service.istio.io/canonical-name": app, "service.istio.io/canonical-revision": "latest"},
            "annotations": {"istio.io/rev": "default", "prometheus.io/port": "15020",
                "sidecar.istio.io/status": "{\"initContainers\":[\"istio-init\"],\"containers\":[\"istio-proxy\"],\"volumes\":[\"workload-socket\",\"istio-envoy\",\"istio-data\",\"istio-podinfo\",\"istio-token\",\"istiod-ca-cert\"],\"imagePullSecrets\":null,\"revision\":\"default\"}"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": format!("{app}-7d9f8c"), "uid": "x", "controller": true}],
            "managedFields": [{"manager": "kube-controller-manager", "operation": "Update", "fieldsV1": {"f:metadata": {"f:labels": {}}}}]},
        "spec": {"terminationGracePeriodSeconds": 30, "serviceAccountName": "default", "nodeName": format!("node-{}", p % 50),
            "initContainers": [{"name": "istio-init", "image": "docker.io/istio/proxyv2:1.26.2",
                "args": ["istio-iptables", "-p", "15001", "-z", "15006", "-u", "1337", "-m", "REDIRECT", "-i", "*", "-x", "", "-b", "*", "-d", "15090,15021,15020"]}],
            "containers": [
                {"name": "app", "image": format!("registry.example.com/{app}:1.0"),
                    "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}],
                    "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}},
                {"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.26.2",
                    "args": ["proxy", "sidecar", "--domain", format!("{ns}.svc.cluster.local"), "--proxyLogLevel=warning", "--log_output_level=default:info"],
                    "env": [{"name": "PILOT_CERT_PROVIDER", "value": "istiod"}, {"name": "CA_ADDR", "value": "istiod.istio-system.svc:15012"},
                        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                        {"name": "ISTIO_META_WORKLOAD_NAME", "value": app}],
                    "ports": [{"containerPort": 15090, "name": "http-envoy-prom", "protocol": "TCP"}],
                    "readinessProbe": {"httpGet": {"path": "/healthz/ready", "port": 15021}, "periodSeconds": 15},
                    "resources": {"limits": {"cpu": "2", "memory": "1Gi"}, "requests": {"cpu": "100m", "memory": "128Mi"}}}]},
        "status": {"phase": "Running", "podIP": format!("10.{}.{}.{}", p / 65536 % 256, p / 256 % 256, p % 256),
            "containerStatuses": [{"name": "app", "ready": true, "restartCount": 0}, {"name": "istio-proxy", "ready": true, "restartCount": 0}]}})
}
