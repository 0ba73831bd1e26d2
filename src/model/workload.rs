//! Workloads: every object that runs pods (Deployment, StatefulSet, DaemonSet, ReplicaSet,
//! Pod), read through k8s-openapi's typed structs so that a field of the wrong shape is caught
//! with its path, and with Kubernetes' defaults applied where a field is absent. The typed
//! object lives only while it is read: a workload keeps the few pod spec facts rules use.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{self as k8s, Pod};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;
use serde::de::DeserializeOwned;

use super::membership::Membership;
use super::path::{FieldPath, Segment};
use super::quantity::Quantity;
use super::selector::{labels_of, Labels};
use super::{Object, ObjectId};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkloadKind {
    Deployment,
    StatefulSet,
    DaemonSet,
    ReplicaSet,
    Job,
    CronJob,
    Pod,
}

impl WorkloadKind {
    /// Path of the pod template (`/spec/template`), or the root for a bare Pod. Worked out
    /// when a rule asks rather than kept per workload.
    pub fn template_path(self) -> FieldPath {
        match self {
            WorkloadKind::Deployment
            | WorkloadKind::StatefulSet
            | WorkloadKind::DaemonSet
            | WorkloadKind::ReplicaSet
            | WorkloadKind::Job => FieldPath::parse("/spec/template"),
            WorkloadKind::CronJob => FieldPath::parse("/spec/jobTemplate/spec/template"),
            WorkloadKind::Pod => FieldPath::root(),
        }
    }
}

/// A pod-running object with its pod template.
#[derive(Debug)]
pub struct Workload {
    pub object: ObjectId,
    pub kind: WorkloadKind,
    pub pod_labels: Labels,
    pub pod_annotations: Labels,
    pub spec: PodSpecFacts,
    /// `spec.replicas` as written; `None` where absent (Kubernetes defaults it to 1) or where
    /// the kind has no replicas (DaemonSet).
    pub declared_replicas: Option<i32>,
    /// A Pod or ReplicaSet whose controller is also in the inventory: findings about its
    /// template belong to the controller, not to each of its copies.
    pub has_controller_in_inventory: bool,
    pub membership: Membership,
}

/// What rules read of a pod spec. A whole typed `PodSpec` per workload (every env var, probe
/// and volume, copied) costs more memory than the YAML it came from; a rule that needs another
/// field adds it here.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodSpecFacts {
    pub containers: Box<[ContainerFacts]>,
    /// Empty where absent.
    pub init_containers: Box<[ContainerFacts]>,
    /// As written: IPF405 says whether the 30 s it falls back to is the Kubernetes default.
    pub termination_grace_period_seconds: Option<i64>,
    pub host_network: bool,
    /// The node a running pod is bound to.
    pub node_name: Option<Box<str>>,
    pub tolerations: Box<[Toleration]>,
}

/// The registered ports of database servers (IANA Service Name and Transport Protocol Port
/// Number Registry: postgresql 5432, mysql 3306, mongodb 27017, redis 6379, memcache 11211),
/// for [`Workload::is_datastore_server`].
pub const DATASTORE_PORTS: [i32; 5] = [5432, 3306, 27017, 6379, 11211];

/// What rules read of one container or init container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerFacts {
    pub name: Box<str>,
    pub image: Option<Box<str>>,
    /// `restartPolicy: Always`: on an init container, a native sidecar.
    pub restart_always: bool,
    /// `args` include `router` (`proxy router`): the proxy of a gateway, not a sidecar.
    pub router_mode: bool,
    /// Some port sets `hostPort`.
    pub host_port: bool,
    /// The `containerPort` of each declared port.
    pub container_ports: Box<[i32]>,
    /// `None` where `resources` is absent.
    pub resources: Option<DeclaredResources>,
}

/// A container's `resources`, for the two resources capacity rules weigh.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeclaredResources {
    pub requests: ResourceAmounts,
    pub limits: ResourceAmounts,
}

/// The `cpu` and `memory` entries of `requests` or `limits`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ResourceAmounts {
    pub cpu: Amount,
    pub memory: Amount,
}

/// One entry of a resource list. An entry that does not parse is kept apart from a missing
/// one: only a missing request falls back to the limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Amount {
    #[default]
    Absent,
    NotAQuantity,
    Quantity(Quantity),
}

/// A toleration, as the scheduler matches it against taints.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Toleration {
    pub key: Option<Box<str>>,
    pub operator: Option<Box<str>>,
    pub value: Option<Box<str>>,
    pub effect: Option<Box<str>>,
}

impl Amount {
    pub fn quantity(self) -> Option<Quantity> {
        match self {
            Amount::Quantity(q) => Some(q),
            Amount::Absent | Amount::NotAQuantity => None,
        }
    }
}

impl ResourceAmounts {
    /// The entry for a resource name; `Absent` for resources other than `cpu` and `memory`.
    pub fn get(&self, resource: &str) -> Amount {
        match resource {
            "cpu" => self.cpu,
            "memory" => self.memory,
            _ => Amount::Absent,
        }
    }

    fn read(list: Option<&BTreeMap<String, K8sQuantity>>) -> Self {
        let amount = |resource: &str| match list.and_then(|l| l.get(resource)) {
            None => Amount::Absent,
            Some(q) => Quantity::parse(&q.0).map_or(Amount::NotAQuantity, Amount::Quantity),
        };
        ResourceAmounts {
            cpu: amount("cpu"),
            memory: amount("memory"),
        }
    }
}

impl From<k8s::PodSpec> for PodSpecFacts {
    fn from(spec: k8s::PodSpec) -> Self {
        let containers = |list: Vec<k8s::Container>| -> Box<[ContainerFacts]> {
            list.into_iter().map(ContainerFacts::from).collect()
        };
        PodSpecFacts {
            containers: containers(spec.containers),
            init_containers: containers(spec.init_containers.unwrap_or_default()),
            termination_grace_period_seconds: spec.termination_grace_period_seconds,
            host_network: spec.host_network.unwrap_or(false),
            node_name: spec.node_name.map(String::into_boxed_str),
            tolerations: spec
                .tolerations
                .unwrap_or_default()
                .into_iter()
                .map(Toleration::from)
                .collect(),
        }
    }
}

impl From<k8s::Container> for ContainerFacts {
    fn from(c: k8s::Container) -> Self {
        ContainerFacts {
            name: c.name.into_boxed_str(),
            image: c.image.map(String::into_boxed_str),
            restart_always: c.restart_policy.as_deref() == Some("Always"),
            router_mode: c.args.unwrap_or_default().iter().any(|a| a == "router"),
            host_port: c.ports.iter().flatten().any(|p| p.host_port.is_some()),
            container_ports: c.ports.iter().flatten().map(|p| p.container_port).collect(),
            resources: c.resources.map(|r| DeclaredResources {
                requests: ResourceAmounts::read(r.requests.as_ref()),
                limits: ResourceAmounts::read(r.limits.as_ref()),
            }),
        }
    }
}

impl From<k8s::Toleration> for Toleration {
    fn from(t: k8s::Toleration) -> Self {
        Toleration {
            key: t.key.map(String::into_boxed_str),
            operator: t.operator.map(String::into_boxed_str),
            value: t.value.map(String::into_boxed_str),
            effect: t.effect.map(String::into_boxed_str),
        }
    }
}

/// A known field with the wrong shape (`spec: 3` on a Deployment).
#[derive(Debug)]
pub struct ShapeError {
    pub object: ObjectId,
    pub path: FieldPath,
    pub message: String,
}

impl Workload {
    /// The pod spec path (`/spec/template/spec`, or `/spec` for a Pod).
    pub fn pod_spec_path(&self) -> FieldPath {
        self.kind.template_path().key("spec")
    }

    pub fn pod_metadata_path(&self) -> FieldPath {
        self.kind.template_path().key("metadata")
    }

    /// Effective replicas: as declared, else the Kubernetes default of 1.
    pub fn replicas(&self) -> i32 {
        match self.kind {
            WorkloadKind::Pod | WorkloadKind::Job | WorkloadKind::CronJob => 1,
            _ => self.declared_replicas.unwrap_or(1),
        }
    }

    /// `terminationGracePeriodSeconds`, defaulted to 30 as the API server does.
    pub fn grace_period_seconds(&self) -> i64 {
        self.spec.termination_grace_period_seconds.unwrap_or(30)
    }

    /// The injected `istio-proxy` container, if the pod already has one: in `containers`
    /// (classic sidecar) or in `initContainers` with `restartPolicy: Always` (native sidecar).
    /// Returns the container, its path and whether it is native.
    pub fn proxy_container(&self) -> Option<(&ContainerFacts, FieldPath, bool)> {
        let spec_path = self.pod_spec_path();
        // ztunnel's DaemonSet names its container `istio-proxy` too; it is a node proxy, not
        // a sidecar.
        let is_proxy = |c: &ContainerFacts| {
            &*c.name == "istio-proxy"
                && !c
                    .image
                    .as_deref()
                    .is_some_and(|i| super::version::image_name(i).contains("ztunnel"))
        };
        if let Some((i, c)) = self
            .spec
            .containers
            .iter()
            .enumerate()
            .find(|(_, c)| is_proxy(c))
        {
            return Some((c, spec_path.key("containers").index(i), false));
        }
        self.spec
            .init_containers
            .iter()
            .enumerate()
            .find(|(_, c)| is_proxy(c))
            .map(|(i, c)| {
                (
                    c,
                    spec_path.key("initContainers").index(i),
                    c.restart_always,
                )
            })
    }

    /// An Istio gateway: the pod is the proxy itself (its only container is `istio-proxy`, or
    /// it is injected with the `gateway` template, as the gateway chart and Gateway API
    /// deployments are). It has no application to start before or after the proxy.
    pub fn is_gateway(&self) -> bool {
        let only_proxy = matches!(&*self.spec.containers, [c] if &*c.name == "istio-proxy");
        let gateway_template = self
            .annotation("inject.istio.io/templates")
            .is_some_and(|t| t.split(',').any(|t| t.trim() == "gateway"));
        only_proxy || gateway_template || self.label("gateway.istio.io/managed").is_some()
    }

    /// A database server: every application container (an injected `istio-proxy` aside)
    /// declares ports, all of them well-known database server ports ([`DATASTORE_PORTS`]).
    /// Running alone, such a server makes no outbound connection when it starts: it has no
    /// primary or peer to join, and its clients reach it only once the pod is ready.
    pub fn is_datastore_server(&self) -> bool {
        let mut apps = self
            .spec
            .containers
            .iter()
            .filter(|c| &*c.name != "istio-proxy")
            .peekable();
        apps.peek().is_some()
            && apps.all(|c| {
                !c.container_ports.is_empty()
                    && c.container_ports
                        .iter()
                        .all(|p| DATASTORE_PORTS.contains(p))
            })
    }

    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.pod_annotations.get(key)
    }

    pub fn label(&self, key: &str) -> Option<&str> {
        self.pod_labels.get(key)
    }
}

/// Reads every workload and checks the shape of the other kinds rules read.
pub fn extract(objects: &[Object]) -> (Vec<Workload>, Vec<ShapeError>) {
    use rayon::prelude::*;
    // Only workloads and errors are collected: a slot per object would hold a whole typed
    // pod spec for every Service and ConfigMap too.
    let results: Vec<Result<Workload, ShapeError>> = objects
        .par_iter()
        .enumerate()
        .filter_map(|(id, o)| read_workload(id, o).transpose())
        .collect();
    let mut workloads = Vec::with_capacity(results.len());
    let mut problems = Vec::new();
    for r in results {
        match r {
            Ok(w) => workloads.push(w),
            Err(e) => problems.push(e),
        }
    }
    let names: std::collections::HashSet<(&str, &str, &str)> = objects
        .iter()
        .map(|o| (o.kind(), o.namespace(), o.name()))
        .collect();
    for w in &mut workloads {
        let o = &objects[w.object];
        w.has_controller_in_inventory = controller_present(o, &names);
    }
    (workloads, problems)
}

fn controller_present(o: &Object, names: &std::collections::HashSet<(&str, &str, &str)>) -> bool {
    let Some(owners) = o
        .root()
        .at(&["metadata", "ownerReferences"])
        .and_then(|n| n.as_seq())
    else {
        return false;
    };
    owners.iter().any(|owner| {
        let (Some(kind), Some(name)) = (owner.str_at(&["kind"]), owner.str_at(&["name"])) else {
            return false;
        };
        if names.contains(&(kind, o.namespace(), name)) {
            return true;
        }
        // A Deployment's pods belong to `<deployment>-<template hash>`; the ReplicaSet is often
        // not exported, the Deployment is.
        kind == "ReplicaSet"
            && name.rsplit_once('-').is_some_and(|(deployment, _)| {
                names.contains(&("Deployment", o.namespace(), deployment))
            })
    })
}

fn typed<T: DeserializeOwned>(id: ObjectId, o: &Object) -> Result<T, ShapeError> {
    // Tracking the path copies every key read; only a failure needs it, so that is read
    // again to find where.
    if let Ok(value) = T::deserialize(o.root()) {
        return Ok(value);
    }
    serde_path_to_error::deserialize::<_, T>(o.root()).map_err(|e| {
        let path = FieldPath(
            e.path()
                .iter()
                .filter_map(|seg| match seg {
                    serde_path_to_error::Segment::Map { key } => Some(Segment::Key(key.clone())),
                    serde_path_to_error::Segment::Seq { index } => Some(Segment::Index(*index)),
                    _ => None,
                })
                .collect(),
        );
        let found = path.resolve(o.root()).map(|n| n.type_name());
        let inner = e.into_inner().to_string();
        let message = match found {
            Some(found) if inner.contains("invalid type") => {
                let expected = inner.rsplit("expected ").next().unwrap_or("another type");
                format!("{path}: expected {expected}, found {found}")
            }
            _ => format!("{path}: {inner}"),
        };
        ShapeError {
            object: id,
            path,
            message,
        }
    })
}

fn read_workload(id: ObjectId, o: &Object) -> Result<Option<Workload>, ShapeError> {
    let (kind, spec, replicas) = match (o.api_version(), o.kind()) {
        ("apps/v1", "Deployment") => {
            let d: Deployment = typed(id, o)?;
            let s = d.spec.unwrap_or_default();
            (WorkloadKind::Deployment, s.template.spec, s.replicas)
        }
        ("apps/v1", "StatefulSet") => {
            let d: StatefulSet = typed(id, o)?;
            let s = d.spec.unwrap_or_default();
            (WorkloadKind::StatefulSet, s.template.spec, s.replicas)
        }
        ("apps/v1", "DaemonSet") => {
            let d: DaemonSet = typed(id, o)?;
            let s = d.spec.unwrap_or_default();
            (WorkloadKind::DaemonSet, s.template.spec, None)
        }
        ("apps/v1", "ReplicaSet") => {
            let d: ReplicaSet = typed(id, o)?;
            let s = d.spec.unwrap_or_default();
            let t = s.template.unwrap_or_default();
            (WorkloadKind::ReplicaSet, t.spec, s.replicas)
        }
        ("batch/v1", "Job") => {
            let d: Job = typed(id, o)?;
            let s = d.spec.unwrap_or_default();
            (WorkloadKind::Job, s.template.spec, None)
        }
        ("batch/v1", "CronJob") => {
            let d: CronJob = typed(id, o)?;
            let t = d
                .spec
                .unwrap_or_default()
                .job_template
                .spec
                .unwrap_or_default()
                .template;
            (WorkloadKind::CronJob, t.spec, None)
        }
        ("v1", "Pod") => {
            let p: Pod = typed(id, o)?;
            (WorkloadKind::Pod, p.spec, None)
        }
        _ => {
            check_shape(id, o)?;
            return Ok(None);
        }
    };
    let meta_node = kind.template_path().key("metadata").resolve(o.root());
    Ok(Some(Workload {
        object: id,
        kind,
        pod_labels: labels_of(meta_node.and_then(|m| m.get("labels"))),
        pod_annotations: labels_of(meta_node.and_then(|m| m.get("annotations"))),
        spec: spec.map(PodSpecFacts::from).unwrap_or_default(),
        declared_replicas: replicas,
        has_controller_in_inventory: false,
        membership: Membership::None,
    }))
}

/// The other kinds rules read get the same shape check as workloads.
fn check_shape(id: ObjectId, o: &Object) -> Result<(), ShapeError> {
    use k8s_openapi::api::admissionregistration::v1 as admission;
    use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
    use k8s_openapi::api::core::v1 as core;
    use k8s_openapi::api::policy::v1::PodDisruptionBudget;
    match (o.api_version(), o.kind()) {
        ("v1", "Service") => typed::<core::Service>(id, o).map(drop),
        ("v1", "Namespace") => typed::<core::Namespace>(id, o).map(drop),
        ("v1", "ConfigMap") => typed::<core::ConfigMap>(id, o).map(drop),
        ("v1", "Node") => typed::<core::Node>(id, o).map(drop),
        ("v1", "ResourceQuota") => typed::<core::ResourceQuota>(id, o).map(drop),
        ("v1", "LimitRange") => typed::<core::LimitRange>(id, o).map(drop),
        ("policy/v1", "PodDisruptionBudget") => typed::<PodDisruptionBudget>(id, o).map(drop),
        ("autoscaling/v2", "HorizontalPodAutoscaler") => {
            typed::<HorizontalPodAutoscaler>(id, o).map(drop)
        }
        ("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration") => {
            typed::<admission::MutatingWebhookConfiguration>(id, o).map(drop)
        }
        ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration") => {
            typed::<admission::ValidatingWebhookConfiguration>(id, o).map(drop)
        }
        _ => Ok(()),
    }
}
