//! Room for more pods: what a pod requests (as the scheduler adds it up) and what is left on
//! Nodes after the pods in the input.

use super::quantity::Quantity;
use super::workload::{Amount, ContainerFacts, PodSpecFacts, Toleration, WorkloadKind};
use super::{Inventory, ObjectId};
use crate::yaml::Node;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Resources {
    pub cpu: Quantity,
    pub memory: Quantity,
}

/// A container's request for a resource: `requests`, else `limits` (the API server copies
/// a limit into a missing request), else nothing.
fn container_request(c: &ContainerFacts, resource: &str) -> Quantity {
    let Some(r) = &c.resources else {
        return Quantity::ZERO;
    };
    match r.requests.get(resource) {
        Amount::Absent => r.limits.get(resource),
        written => written,
    }
    .quantity()
    .unwrap_or(Quantity::ZERO)
}

fn container_resources(c: &ContainerFacts) -> Resources {
    Resources {
        cpu: container_request(c, "cpu"),
        memory: container_request(c, "memory"),
    }
}

/// What the scheduler reserves for a pod: the app containers plus restartable (native
/// sidecar) init containers, or the largest one-shot init container if that is more.
pub fn pod_requests(spec: &PodSpecFacts) -> Resources {
    let mut sum = Resources::default();
    let add = |sum: &mut Resources, r: Resources| {
        sum.cpu = sum.cpu.saturating_add(r.cpu);
        sum.memory = sum.memory.saturating_add(r.memory);
    };
    for c in &spec.containers {
        add(&mut sum, container_resources(c));
    }
    let mut init_max = Resources::default();
    for c in &spec.init_containers {
        let r = container_resources(c);
        if c.restart_always {
            add(&mut sum, r);
        } else {
            init_max.cpu = init_max.cpu.max(r.cpu);
            init_max.memory = init_max.memory.max(r.memory);
        }
    }
    Resources {
        cpu: sum.cpu.max(init_max.cpu),
        memory: sum.memory.max(init_max.memory),
    }
}

/// What is left on one Node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeRoom {
    pub object: ObjectId,
    pub name: String,
    pub free: Resources,
    pub free_pods: i128,
}

impl NodeRoom {
    /// How many pods requesting `per_pod` fit.
    pub fn fits(&self, per_pod: Resources) -> i128 {
        self.free
            .cpu
            .fits(per_pod.cpu)
            .min(self.free.memory.fits(per_pod.memory))
            .min(self.free_pods)
            .max(0)
    }
}

/// Nodes that would accept a pod with `tolerations`: schedulable, with every NoSchedule /
/// NoExecute taint tolerated, with their `status.allocatable` minus the requests of the
/// running pods in the input bound to them (`spec.nodeName`). Also returns how many Nodes
/// were left out.
pub fn node_rooms(inv: &Inventory, tolerations: &[Toleration]) -> (Vec<NodeRoom>, usize) {
    let mut rooms = Vec::new();
    let mut skipped = 0;
    for (id, n) in inv.of_kind("Node") {
        let Some(allocatable) = n.root().at(&["status", "allocatable"]) else {
            skipped += 1;
            continue;
        };
        let unschedulable = matches!(
            n.root().at(&["spec", "unschedulable"]).map(|v| v.value()),
            Some(crate::yaml::Value::Bool(true))
        );
        let taints = n
            .root()
            .at(&["spec", "taints"])
            .and_then(Node::as_seq)
            .unwrap_or_default();
        let repelled = taints.iter().any(|t| {
            matches!(
                t.str_at(&["effect"]),
                Some("NoSchedule") | Some("NoExecute")
            ) && !tolerations.iter().any(|tol| tolerates(tol, t))
        });
        if unschedulable || repelled {
            skipped += 1;
            continue;
        }
        let get = |key: &str| {
            allocatable
                .get(key)
                .and_then(Quantity::from_node)
                .unwrap_or(Quantity::ZERO)
        };
        rooms.push(NodeRoom {
            object: id,
            name: n.name().to_string(),
            free: Resources {
                cpu: get("cpu"),
                memory: get("memory"),
            },
            free_pods: get("pods").nanos / 1_000_000_000,
        });
    }
    for w in &inv.workloads {
        if w.kind != WorkloadKind::Pod {
            continue;
        }
        let o = inv.object(w.object);
        if matches!(
            o.root().str_at(&["status", "phase"]),
            Some("Succeeded") | Some("Failed")
        ) {
            continue;
        }
        let Some(node) = w.spec.node_name.as_deref() else {
            continue;
        };
        if let Some(room) = rooms.iter_mut().find(|r| r.name == node) {
            let used = pod_requests(&w.spec);
            room.free.cpu = room.free.cpu.saturating_sub(used.cpu);
            room.free.memory = room.free.memory.saturating_sub(used.memory);
            room.free_pods -= 1;
        }
    }
    (rooms, skipped)
}

/// The scheduler's toleration match (`v1.Toleration.ToleratesTaint`).
fn tolerates(tol: &Toleration, taint: Node) -> bool {
    let key = taint.str_at(&["key"]).unwrap_or_default();
    let value = taint.str_at(&["value"]).unwrap_or_default();
    let effect = taint.str_at(&["effect"]).unwrap_or_default();
    if let Some(e) = tol.effect.as_deref().filter(|e| !e.is_empty()) {
        if e != effect {
            return false;
        }
    }
    let tol_key = tol.key.as_deref().unwrap_or_default();
    if !tol_key.is_empty() && tol_key != key {
        return false;
    }
    match tol.operator.as_deref() {
        Some("Exists") => true,
        None | Some("") | Some("Equal") => {
            !tol_key.is_empty() && tol.value.as_deref().unwrap_or_default() == value
        }
        Some(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(yaml: &str) -> PodSpecFacts {
        let node = crate::yaml::parse_str(yaml).unwrap().unwrap();
        serde_json::from_value::<k8s_openapi::api::core::v1::PodSpec>(node.root().to_json())
            .unwrap()
            .into()
    }

    #[test]
    fn pod_requests_add_up_like_the_scheduler() {
        let s = spec(
            "containers:\n- {name: a, resources: {requests: {cpu: 500m, memory: 2048Mi}}}\n- {name: b, resources: {limits: {cpu: '1', memory: 1Gi}}}\ninitContainers:\n- {name: setup, resources: {requests: {cpu: '2'}}}\n- {name: proxy, restartPolicy: Always, resources: {requests: {cpu: 100m, memory: 128Mi}}}\n",
        );
        let r = pod_requests(&s);
        // 500m + 1 (limit copied into the request) + 100m native sidecar = 1600m, below the
        // 2-CPU one-shot init container, which therefore sets the CPU.
        assert_eq!(r.cpu.cpu(), "2");
        assert_eq!(r.memory.bytes(), "3200Mi");
    }

    #[test]
    fn tolerations_match_taints() {
        let taint = crate::yaml::parse_str("{key: dedicated, value: infra, effect: NoSchedule}")
            .unwrap()
            .unwrap();
        let tol = |y: &str| -> Toleration {
            serde_json::from_str::<k8s_openapi::api::core::v1::Toleration>(y)
                .unwrap()
                .into()
        };
        assert!(tolerates(&tol(r#"{"operator":"Exists"}"#), taint.root()));
        assert!(tolerates(
            &tol(r#"{"key":"dedicated","operator":"Equal","value":"infra"}"#),
            taint.root()
        ));
        assert!(!tolerates(
            &tol(r#"{"key":"dedicated","value":"apps"}"#),
            taint.root()
        ));
        assert!(!tolerates(
            &tol(r#"{"key":"dedicated","operator":"Exists","effect":"NoExecute"}"#),
            taint.root()
        ));
    }
}
