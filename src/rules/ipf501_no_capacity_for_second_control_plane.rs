use super::{Context, Sink, Strategy};
use crate::diagnostic::{Edit, Fix};
use crate::model::capacity::{node_rooms, pod_requests, Resources};
use crate::model::disruption::{resolve_fenceposts, DeploymentStrategy};
use crate::model::gvk::{
    DAEMON_SET, DEPLOYMENT, HORIZONTAL_POD_AUTOSCALER, LIMIT_RANGE, NODE, POD, REPLICA_SET,
    RESOURCE_QUOTA, STATEFUL_SET,
};
use crate::model::quantity::Quantity;
use crate::model::workload::{Workload, WorkloadKind};
use crate::model::{Field, Inventory, Object};
use crate::yaml::Node;

crate::declare_rule! {
    /// ## What it does
    /// Takes the running istiod (the `default` revision's, else the first detected) and works
    /// out what the upgrade adds next to it: with the canary strategy a second revision with
    /// the same pod requests × replicas (the HPA's `minReplicas`, else `spec.replicas`), with
    /// `--strategy in-place` the surge pods of its rolling update (`maxSurge`, rounded up).
    /// A pod's requests are added up as the scheduler does (a missing request takes the
    /// limit). Then it checks, in istiod's namespace:
    ///
    /// - every ResourceQuota's `spec.hard` for `requests.cpu`, `cpu`, `requests.memory`,
    ///   `memory`, `pods` and `count/deployments.apps`, against `status.used` when the export
    ///   has it, else against what the workloads in the input request;
    /// - every LimitRange's `max` for a Container or a Pod;
    ///
    /// and, when Node objects are in the input, how many of the new pods fit on the
    /// schedulable Nodes whose taints istiod tolerates, with each Node's `status.allocatable`
    /// minus the requests of the running Pods in the input bound to it. Quantities are exact
    /// (`500m`, `2Gi`, `2048Mi`, `1.5`, `1e3`). Every finding says how much is missing.
    ///
    /// ## Why it matters during an upgrade
    /// A canary upgrade runs both control planes side by side until every workload has moved.
    /// If the namespace's quota or the cluster cannot hold the second istiod, its pods stay
    /// Pending (or are rejected at admission), the new revision never becomes ready, and the
    /// injection webhook for it fails, in the middle of the upgrade.
    ///
    /// ## Example that fires
    /// istiod requesting `500m` / `2048Mi` with HPA `minReplicas: 2`, and a ResourceQuota in
    /// `istio-system` with `requests.cpu: "1500m"` of which `1` is used: the second revision
    /// needs `1` more and only `500m` is left.
    ///
    /// ## Example that does not fire
    /// The same quota with `requests.cpu: "4"`, or no quota, no LimitRange and Nodes with room.
    ///
    /// ## Fix
    /// Raise the quota (the fix sets `spec.hard` to what is used plus what the new revision
    /// needs; unsafe: quotas are a budget someone chose), relax the LimitRange, add Node
    /// capacity, or lower istiod's requests for the duration of the upgrade.
    ///
    /// ## References
    /// - Canary upgrades: <https://istio.io/latest/docs/setup/upgrade/canary/>
    /// - Resource quotas: <https://kubernetes.io/docs/concepts/policy/resource-quotas/>
    /// - Limit ranges: <https://kubernetes.io/docs/concepts/policy/limit-range/>
    /// - Quantities: <https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/quantity/>
    code: "IPF501",
    name: "no-capacity-for-second-control-plane",
    severity: Error,
    summary: "ResourceQuota, LimitRange or node allocatable cannot fit a second istiod with the current requests and replicas",
    fix: Sometimes,
    reads: [DEPLOYMENT, HORIZONTAL_POD_AUTOSCALER, RESOURCE_QUOTA, LIMIT_RANGE, NODE, POD, STATEFUL_SET, REPLICA_SET, DAEMON_SET],
}

/// What the upgrade adds in istiod's namespace.
struct Addition<'a> {
    istiod: &'a Workload,
    per_pod: Resources,
    pods: i128,
    deployments: i128,
    /// `a second istiod (2 replicas × 500m CPU, 2Gi memory, like revision default)`
    what: String,
}

fn check(cx: &Context, sink: &mut Sink) {
    let inv = cx.inventory;
    let Some(cp) = inv
        .mesh
        .control_plane("default")
        .filter(|cp| cp.object.is_some())
        .or_else(|| {
            inv.mesh
                .control_planes
                .iter()
                .find(|cp| cp.object.is_some())
        })
    else {
        return;
    };
    let Some(istiod) = inv.workloads.iter().find(|w| Some(w.object) == cp.object) else {
        return;
    };
    let hpas = inv.autoscalers();
    let replicas = hpas.replicas(inv, istiod);
    let per_pod = pod_requests(&istiod.spec);
    let requests = format!(
        "{} CPU, {} memory",
        per_pod.cpu.cpu(),
        per_pod.memory.bytes()
    );
    let (pods, deployments, what) = match cx.upgrade.strategy {
        Strategy::Canary => (
            i128::from(replicas.min),
            1,
            format!(
                "a second istiod ({replicas} × {requests}, like revision {})",
                cp.revision
            ),
        ),
        Strategy::InPlace => {
            let o = inv.object(istiod.object);
            let Some(DeploymentStrategy::RollingUpdate {
                max_surge,
                max_unavailable,
            }) = DeploymentStrategy::of(o.root())
            else {
                return;
            };
            let surge = resolve_fenceposts(max_surge, max_unavailable, replicas.min).surge;
            (
                i128::from(surge),
                0,
                format!(
                    "the in-place rollout's surge ({surge} pod{} for maxSurge {max_surge} of {replicas}, × {requests})",
                    if surge == 1 { "" } else { "s" }
                ),
            )
        }
    };
    if pods <= 0 {
        return;
    }
    let add = Addition {
        istiod,
        per_pod,
        pods,
        deployments,
        what,
    };
    quotas(inv, cp.namespace.as_str(), &add, sink);
    limit_ranges(inv, cp.namespace.as_str(), &add, sink);
    nodes(inv, &add, sink);
}

#[derive(Clone, Copy)]
enum Kind {
    Cpu,
    Memory,
    Count,
}

impl Kind {
    fn show(self, q: Quantity) -> String {
        match self {
            Kind::Cpu => q.cpu(),
            Kind::Memory => q.bytes(),
            Kind::Count => q.count(),
        }
    }
}

/// A ResourceQuota's limits and what it counts as used.
const HARD: Field = Field::new("/spec/hard");
const USED: Field = Field::new("/status/used");
/// A LimitRange's limits.
const LIMITS: Field = Field::new("/spec/limits");

fn quotas(inv: &Inventory, namespace: &str, add: &Addition, sink: &mut Sink) {
    for (id, quota) in inv.of_kind("ResourceQuota") {
        if quota.namespace() != namespace {
            continue;
        }
        let Some(hard) = HARD.read(quota.root()).and_then(Node::as_map) else {
            continue;
        };
        for entry in hard {
            let (kind, need) = match entry.key {
                "requests.cpu" | "cpu" => (Kind::Cpu, add.per_pod.cpu.checked_mul(add.pods)),
                "requests.memory" | "memory" => {
                    (Kind::Memory, add.per_pod.memory.checked_mul(add.pods))
                }
                "pods" => (Kind::Count, Some(Quantity::from_units(add.pods))),
                "count/deployments.apps" => {
                    (Kind::Count, Some(Quantity::from_units(add.deployments)))
                }
                _ => continue,
            };
            let (Some(need), Some(limit)) = (need, Quantity::from_node(entry.value)) else {
                continue;
            };
            if need == Quantity::ZERO {
                continue;
            }
            let (used, used_from) = match USED
                .read(quota.root())
                .and_then(|u| u.get(entry.key))
                .and_then(Quantity::from_node)
            {
                Some(u) => (u, "status.used"),
                None => (
                    used_in_input(inv, namespace, entry.key),
                    "requested by the workloads in the input",
                ),
            };
            let free = limit.saturating_sub(used);
            if need <= free {
                continue;
            }
            let missing = need.saturating_sub(free);
            let total = used.saturating_add(need);
            let field = HARD.key(entry.key);
            sink.object(
                id,
                field.clone(),
                format!(
                    "{}: hard {}, used {} ({used_from}); {} needs {}: only {} is left, {} missing",
                    entry.key,
                    kind.show(limit),
                    kind.show(used),
                    add.what,
                    kind.show(need),
                    kind.show(free),
                    kind.show(missing),
                ),
            )
            .with_fix(Fix::unsafe_(
                format!("raise {} to {}", entry.key, kind.show(total)),
                vec![Edit::Set {
                    path: field,
                    value: kind.show(total).into(),
                }],
            ));
        }
    }
}

/// What the controllers and bare Pods in the input use against a quota key, when the export
/// has no `status.used`.
fn used_in_input(inv: &Inventory, namespace: &str, key: &str) -> Quantity {
    let hpas = inv.autoscalers();
    let mut total = Quantity::ZERO;
    for w in &inv.workloads {
        let o: &Object = inv.object(w.object);
        if o.namespace() != namespace || w.has_controller_in_inventory {
            continue;
        }
        if key == "count/deployments.apps" {
            if w.kind == WorkloadKind::Deployment {
                total = total.saturating_add(Quantity::from_units(1));
            }
            continue;
        }
        let pods = match w.kind {
            WorkloadKind::Deployment | WorkloadKind::StatefulSet | WorkloadKind::ReplicaSet => {
                i128::from(hpas.replicas(inv, w).min)
            }
            WorkloadKind::Pod => 1,
            // DaemonSet pods and Jobs come and go with nodes and runs; not counted.
            _ => 0,
        };
        let per_pod = pod_requests(&w.spec);
        let each = match key {
            "pods" => Some(Quantity::from_units(1)),
            "requests.cpu" | "cpu" => Some(per_pod.cpu),
            _ => Some(per_pod.memory),
        };
        if let Some(q) = each.and_then(|e| e.checked_mul(pods)) {
            total = total.saturating_add(q);
        }
    }
    total
}

fn limit_ranges(inv: &Inventory, namespace: &str, add: &Addition, sink: &mut Sink) {
    for (id, lr) in inv.of_kind("LimitRange") {
        if lr.namespace() != namespace {
            continue;
        }
        let Some(limits) = LIMITS.read(lr.root()).and_then(Node::as_seq) else {
            continue;
        };
        for (i, item) in limits.iter().enumerate() {
            let scope = item.get("type").and_then(Node::as_str).unwrap_or_default();
            let Some(max) = item.get("max") else {
                continue;
            };
            for (resource, kind) in [("cpu", Kind::Cpu), ("memory", Kind::Memory)] {
                let Some(cap) = max.get(resource).and_then(Quantity::from_node) else {
                    continue;
                };
                // What the new pods ask for: each container (requests and limits), or the pod.
                let asked: Vec<(String, Quantity)> = match scope {
                    "Container" => add
                        .istiod
                        .spec
                        .containers
                        .iter()
                        .flat_map(|c| {
                            let r = c.resources.unwrap_or_default();
                            [("requests", r.requests), ("limits", r.limits)]
                                .into_iter()
                                .filter_map(move |(which, amounts)| {
                                    let q = amounts.get(resource).quantity()?;
                                    Some((
                                        format!("container {} {which} {}", c.name, kind.show(q)),
                                        q,
                                    ))
                                })
                        })
                        .collect(),
                    "Pod" => {
                        let q = match kind {
                            Kind::Cpu => add.per_pod.cpu,
                            _ => add.per_pod.memory,
                        };
                        vec![(format!("the pod requests {}", kind.show(q)), q)]
                    }
                    _ => continue,
                };
                let Some((text, q)) = asked.into_iter().find(|(_, q)| *q > cap) else {
                    continue;
                };
                sink.object(
                    id,
                    LIMITS
                        .path()
                        .index(i)
                        .key("max")
                        .key(resource),
                    format!(
                        "LimitRange allows at most {} {resource} per {scope}, but istiod's {text}: the new revision's pods are rejected at admission ({} over)",
                        kind.show(cap),
                        kind.show(q.saturating_sub(cap)),
                    ),
                )
                .with_fix(Fix::display_only(format!(
                    "raise max.{resource} to {} for istiod's namespace, or lower istiod's {resource} for the upgrade",
                    kind.show(q)
                )));
            }
        }
    }
}

fn nodes(inv: &Inventory, add: &Addition, sink: &mut Sink) {
    if inv.of_kind("Node").next().is_none() {
        return;
    }
    let (rooms, skipped) = node_rooms(inv, &add.istiod.spec.tolerations);
    let fit: i128 = rooms.iter().map(|r| r.fits(add.per_pod)).sum();
    if fit >= add.pods {
        return;
    }
    let free_cpu = rooms
        .iter()
        .fold(Quantity::ZERO, |a, r| a.saturating_add(r.free.cpu));
    let free_memory = rooms
        .iter()
        .fold(Quantity::ZERO, |a, r| a.saturating_add(r.free.memory));
    let need_cpu = add
        .per_pod
        .cpu
        .checked_mul(add.pods)
        .unwrap_or(Quantity::ZERO);
    let need_memory = add
        .per_pod
        .memory
        .checked_mul(add.pods)
        .unwrap_or(Quantity::ZERO);
    let mut short = Vec::new();
    if need_cpu > free_cpu {
        short.push(format!("{} CPU", need_cpu.saturating_sub(free_cpu).cpu()));
    }
    if need_memory > free_memory {
        short.push(format!(
            "{} memory",
            need_memory.saturating_sub(free_memory).bytes()
        ));
    }
    let missing = if short.is_empty() {
        format!(
            "the {} CPU and {} memory left are split across nodes, none of which has room for another {} CPU, {} memory pod",
            free_cpu.cpu(),
            free_memory.bytes(),
            add.per_pod.cpu.cpu(),
            add.per_pod.memory.bytes()
        )
    } else {
        format!("{} missing", short.join(" and "))
    };
    let skipped_text = match skipped {
        0 => String::new(),
        n => format!(
            " ({n} unschedulable or tainted node{} not counted)",
            if n == 1 { "" } else { "s" }
        ),
    };
    let field = add
        .istiod
        .spec
        .containers
        .iter()
        .position(|c| c.resources.is_some())
        .map(|i| {
            add.istiod
                .pod_spec_path()
                .key("containers")
                .index(i)
                .key("resources")
        })
        .unwrap_or_else(|| add.istiod.pod_spec_path());
    sink.object(
        add.istiod.object,
        field,
        format!(
            "{} needs {} pods, but the {} schedulable nodes have room for {fit} after the running pods in the input{skipped_text}: {missing}",
            add.what,
            add.pods,
            rooms.len(),
        ),
    )
    .with_fix(Fix::display_only(
        "add node capacity before installing the new revision, or lower istiod's requests (values.pilot.resources) for the upgrade",
    ));
}
