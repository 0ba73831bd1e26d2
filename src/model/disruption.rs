//! How many pods a workload runs and how many of them Kubernetes takes down at once: effective
//! replicas (with HorizontalPodAutoscalers), the rollout strategies of Deployments,
//! StatefulSets and DaemonSets with their defaults, and PodDisruptionBudget arithmetic as the
//! disruption controller does it.

use std::collections::HashMap;
use std::fmt;

use super::intstr::{IntOrPercent, Rounding};
use super::path::{Field, SPEC};
use super::workload::{Workload, WorkloadKind};
use super::{FieldPath, Inventory, ObjectId, Selector};
use crate::yaml::{Node, Value};

/// A HorizontalPodAutoscaler (any `autoscaling/*` version: v1 and v2 share these fields).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Autoscaler {
    pub object: ObjectId,
    /// `spec.minReplicas`, defaulted to 1 as the API server does.
    pub min_replicas: i64,
    pub max_replicas: Option<i64>,
    /// `status.currentReplicas`: what it runs now (objects read from a cluster).
    pub current_replicas: Option<i64>,
}

/// HPAs indexed by the objects their `scaleTargetRef` names (every copy of the target).
#[derive(Debug, Default)]
pub struct Autoscalers {
    by_target: HashMap<ObjectId, Autoscaler>,
}

impl Autoscalers {
    pub fn build(inv: &Inventory) -> Autoscalers {
        let mut by_target = HashMap::new();
        for (id, o) in inv.of_kind("HorizontalPodAutoscaler") {
            if !o.api_version().starts_with("autoscaling/") {
                continue;
            }
            let Some(spec) = o.root().get("spec") else {
                continue;
            };
            let (Some(kind), Some(name)) = (
                spec.str_at(&["scaleTargetRef", "kind"]),
                spec.str_at(&["scaleTargetRef", "name"]),
            ) else {
                continue;
            };
            let int = |key: &str| match spec.get(key).map(|n| n.value()) {
                Some(Value::Int(i)) => Some(i),
                _ => None,
            };
            let current_replicas = match o
                .root()
                .at(&["status", "currentReplicas"])
                .map(|n| n.value())
            {
                Some(Value::Int(i)) => Some(i),
                _ => None,
            };
            let hpa = Autoscaler {
                object: id,
                min_replicas: int("minReplicas").unwrap_or(1),
                max_replicas: int("maxReplicas"),
                current_replicas,
            };
            // The first HPA in input order that names a workload scales it.
            for target in inv.all(kind, o.namespace(), name) {
                by_target.entry(target).or_insert_with(|| hpa.clone());
            }
        }
        Autoscalers { by_target }
    }

    /// The HPA that scales this workload, if any.
    pub fn for_workload(&self, w: &Workload) -> Option<&Autoscaler> {
        self.by_target.get(&w.object)
    }

    /// How many replicas the workload runs, at the least and at the most.
    pub fn replicas(&self, inv: &Inventory, w: &Workload) -> Replicas {
        if let Some(hpa) = self.for_workload(w) {
            return Replicas {
                min: hpa.min_replicas,
                max: hpa
                    .max_replicas
                    .unwrap_or(hpa.min_replicas)
                    .max(hpa.min_replicas),
                source: ReplicaSource::Autoscaler {
                    object: hpa.object,
                    name: inv.object(hpa.object).name().to_string(),
                    current: hpa.current_replicas,
                },
            };
        }
        let (n, source) = match w.declared_replicas {
            Some(n) => (i64::from(n), ReplicaSource::Declared),
            None => (1, ReplicaSource::Default),
        };
        Replicas {
            min: n,
            max: n,
            source,
        }
    }
}

/// Where a replica count comes from, so messages can say it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplicaSource {
    Declared,
    /// `spec.replicas` absent: Kubernetes defaults it to 1.
    Default,
    /// An HPA owns the count; `min`/`max` are its bounds, `current` what its status says
    /// it runs now (read from a cluster).
    Autoscaler {
        object: ObjectId,
        name: String,
        current: Option<i64>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replicas {
    pub min: i64,
    pub max: i64,
    pub source: ReplicaSource,
}

impl Replicas {
    /// The replicas the workload runs, as rules judge a restart at: the declared count, or
    /// for an HPA its current count when the input shows it (a cluster read), else its
    /// `minReplicas` (the fewest it runs; more pods go at once when it has scaled up).
    /// Returns the count and how to say it (`3 replicas (the current count of
    /// HorizontalPodAutoscaler web)`).
    pub fn running(&self) -> (i64, String) {
        let plural = |n: i64| if n == 1 { "replica" } else { "replicas" };
        match &self.source {
            ReplicaSource::Autoscaler {
                name,
                current: Some(n),
                ..
            } if (self.min..=self.max).contains(n) => (
                *n,
                format!(
                    "{n} {} (the current count of HorizontalPodAutoscaler {name})",
                    plural(*n)
                ),
            ),
            ReplicaSource::Autoscaler { name, .. } => (
                self.min,
                format!(
                    "{} {} (minReplicas of HorizontalPodAutoscaler {name}, the fewest it runs)",
                    self.min,
                    plural(self.min)
                ),
            ),
            _ => (self.min, self.to_string()),
        }
    }
}

impl fmt::Display for Replicas {
    /// `3 replicas`, `1 replica (spec.replicas defaults to 1)`,
    /// `1 replica (HPA cart minReplicas)`.
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let plural = |n: i64| if n == 1 { "replica" } else { "replicas" };
        match &self.source {
            ReplicaSource::Declared => write!(f, "{} {}", self.min, plural(self.min)),
            ReplicaSource::Default => write!(
                f,
                "{} {} (spec.replicas defaults to 1)",
                self.min,
                plural(self.min)
            ),
            ReplicaSource::Autoscaler { name, .. } => write!(
                f,
                "{} {} (minReplicas of HorizontalPodAutoscaler {name})",
                self.min,
                plural(self.min)
            ),
        }
    }
}

/// A Deployment's `spec.strategy` with Kubernetes' defaults applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeploymentStrategy {
    Recreate,
    RollingUpdate {
        max_surge: IntOrPercent,
        max_unavailable: IntOrPercent,
    },
}

/// The default for both `maxSurge` and `maxUnavailable`.
const DEPLOYMENT_DEFAULT: IntOrPercent = IntOrPercent::Percent(25);

/// Where a workload's replica count is.
pub const REPLICAS: Field = Field::new("/spec/replicas");

/// Where a Deployment's rollout strategy is.
pub const DEPLOYMENT_STRATEGY: Field = Field::new("/spec/strategy");

/// Where a DaemonSet's or StatefulSet's rollout strategy is.
pub const UPDATE_STRATEGY: Field = Field::new("/spec/updateStrategy");

impl DeploymentStrategy {
    /// The strategy of the Deployment `object`, as [`DeploymentStrategy::from_node`] reads it.
    pub fn of(object: Node) -> Option<DeploymentStrategy> {
        DeploymentStrategy::from_node(DEPLOYMENT_STRATEGY.read(object))
    }

    /// Reads `spec.strategy` (the node may be absent). `None` when a value is one the API
    /// server rejects (unknown type, bad int-or-percent, both fields zero): such a
    /// Deployment is never admitted, so it has no rollout to judge.
    pub fn from_node(strategy: Option<Node>) -> Option<DeploymentStrategy> {
        match strategy.and_then(|s| s.str_at(&["type"])) {
            Some("Recreate") => return Some(DeploymentStrategy::Recreate),
            None | Some("RollingUpdate") => {}
            Some(_) => return None,
        }
        let field = |key: &str| match strategy.and_then(|s| s.at(&["rollingUpdate", key])) {
            None => Some(DEPLOYMENT_DEFAULT),
            Some(n) if n.is_null() => Some(DEPLOYMENT_DEFAULT),
            Some(n) => IntOrPercent::from_node(n),
        };
        let max_surge = field("maxSurge")?;
        let max_unavailable = field("maxUnavailable")?;
        if max_surge.is_zero() && max_unavailable.is_zero() {
            return None;
        }
        Some(DeploymentStrategy::RollingUpdate {
            max_surge,
            max_unavailable,
        })
    }
}

/// How many pods a rolling update may add and take away at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fenceposts {
    pub surge: i64,
    pub unavailable: i64,
}

/// The Deployment controller's `ResolveFenceposts`: `maxSurge` rounds up, `maxUnavailable`
/// rounds down, and when both come out 0 (a percentage rounded away), one pod may be
/// unavailable so the rollout can progress.
pub fn resolve_fenceposts(
    max_surge: IntOrPercent,
    max_unavailable: IntOrPercent,
    desired: i64,
) -> Fenceposts {
    let surge = max_surge.scaled(desired, Rounding::Up);
    let mut unavailable = max_unavailable.scaled(desired, Rounding::Down);
    if surge == 0 && unavailable == 0 {
        unavailable = 1;
    }
    Fenceposts { surge, unavailable }
}

/// How restarting a single-replica workload stops its only pod before a replacement is
/// ready.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SoleReplicaStop {
    /// A Deployment with `strategy: Recreate`.
    Recreate,
    /// A RollingUpdate Deployment whose fenceposts at one replica give no surge.
    NoSurge {
        max_surge: IntOrPercent,
        max_unavailable: IntOrPercent,
    },
    /// A StatefulSet: it deletes the pod and only then creates the new one.
    StatefulSet,
    /// A ReplicaSet without a Deployment: its pod is replaced only by deleting it.
    ReplicaSet,
}

/// A workload whose restart (the one that picks up a new proxy) is an outage by itself: it
/// runs one pod and stops it before a replacement is ready.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SoleReplicaRestart {
    pub replicas: Replicas,
    pub stop: SoleReplicaStop,
}

/// Whether restarting the workload leaves nothing serving: a Deployment, StatefulSet or bare
/// ReplicaSet that runs one replica (see [`Replicas::running`]) and cannot start the new pod
/// first. A Deployment with a rolling update that surges (the default), a workload owned by
/// another one in the input, a Deployment the API server would reject, and every other kind
/// give `None`. IPF404 reports these restarts; rules about what a restart cuts (IPF407) leave
/// them alone, since the restart stops everything anyway.
pub fn sole_replica_restart(inv: &Inventory, w: &Workload) -> Option<SoleReplicaRestart> {
    if w.has_controller_in_inventory {
        return None;
    }
    let stop = match w.kind {
        WorkloadKind::StatefulSet => SoleReplicaStop::StatefulSet,
        WorkloadKind::ReplicaSet => SoleReplicaStop::ReplicaSet,
        WorkloadKind::Deployment => {
            let strategy = inv.object(w.object).root().at(&["spec", "strategy"]);
            match DeploymentStrategy::from_node(strategy)? {
                DeploymentStrategy::Recreate => SoleReplicaStop::Recreate,
                DeploymentStrategy::RollingUpdate {
                    max_surge,
                    max_unavailable,
                } => {
                    if resolve_fenceposts(max_surge, max_unavailable, 1).surge > 0 {
                        return None;
                    }
                    SoleReplicaStop::NoSurge {
                        max_surge,
                        max_unavailable,
                    }
                }
            }
        }
        _ => return None,
    };
    let replicas = inv.autoscalers().replicas(inv, w);
    (replicas.running().0 == 1).then_some(SoleReplicaRestart { replicas, stop })
}

/// A StatefulSet's `spec.updateStrategy` with defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatefulSetStrategy {
    /// Pods pick up a new template only when someone deletes them.
    OnDelete,
    /// Pods are replaced in reverse ordinal order, each stopped before its replacement starts
    /// (a StatefulSet cannot surge). Ordinals below `partition` are never updated.
    /// `max_unavailable` (default 1) is honoured only with the `MaxUnavailableStatefulSet`
    /// feature gate; without it one pod at a time.
    RollingUpdate {
        max_unavailable: IntOrPercent,
        partition: i64,
    },
}

impl StatefulSetStrategy {
    pub fn from_node(strategy: Option<Node>) -> Option<StatefulSetStrategy> {
        match strategy.and_then(|s| s.str_at(&["type"])) {
            Some("OnDelete") => return Some(StatefulSetStrategy::OnDelete),
            None | Some("RollingUpdate") => {}
            Some(_) => return None,
        }
        let rolling = strategy.and_then(|s| s.get("rollingUpdate"));
        let max_unavailable = match rolling.and_then(|r| r.get("maxUnavailable")) {
            None => IntOrPercent::Int(1),
            Some(n) => IntOrPercent::from_node(n)?,
        };
        let partition = match rolling.and_then(|r| r.get("partition")).map(|n| n.value()) {
            None => 0,
            Some(Value::Int(p)) if p >= 0 => p,
            Some(_) => return None,
        };
        Some(StatefulSetStrategy::RollingUpdate {
            max_unavailable,
            partition,
        })
    }
}

/// A DaemonSet's `spec.updateStrategy` with defaults (`maxUnavailable: 1`, `maxSurge: 0`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DaemonSetStrategy {
    OnDelete,
    RollingUpdate {
        max_surge: IntOrPercent,
        max_unavailable: IntOrPercent,
    },
}

impl DaemonSetStrategy {
    /// The strategy of the DaemonSet `object`.
    pub fn of(object: Node) -> Option<DaemonSetStrategy> {
        DaemonSetStrategy::from_node(UPDATE_STRATEGY.read(object))
    }

    pub fn from_node(strategy: Option<Node>) -> Option<DaemonSetStrategy> {
        match strategy.and_then(|s| s.str_at(&["type"])) {
            Some("OnDelete") => return Some(DaemonSetStrategy::OnDelete),
            None | Some("RollingUpdate") => {}
            Some(_) => return None,
        }
        let field = |key: &str, default| match strategy.and_then(|s| s.at(&["rollingUpdate", key]))
        {
            None => Some(default),
            Some(n) if n.is_null() => Some(default),
            Some(n) => IntOrPercent::from_node(n),
        };
        let max_surge = field("maxSurge", IntOrPercent::Int(0))?;
        let max_unavailable = field("maxUnavailable", IntOrPercent::Int(1))?;
        if max_surge.is_zero() && max_unavailable.is_zero() {
            return None;
        }
        Some(DaemonSetStrategy::RollingUpdate {
            max_surge,
            max_unavailable,
        })
    }

    /// The DaemonSet controller rounds both percentages up against the number of nodes that
    /// run the pod, and takes one pod down when both come out 0.
    pub fn fenceposts(self, nodes: i64) -> Option<Fenceposts> {
        match self {
            DaemonSetStrategy::OnDelete => None,
            DaemonSetStrategy::RollingUpdate {
                max_surge,
                max_unavailable,
            } => {
                let surge = max_surge.scaled(nodes, Rounding::Up);
                let mut unavailable = max_unavailable.scaled(nodes, Rounding::Up);
                if nodes > 0 && surge == 0 && unavailable == 0 {
                    unavailable = 1;
                }
                Some(Fenceposts { surge, unavailable })
            }
        }
    }
}

/// A PodDisruptionBudget as the disruption controller reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Budget {
    pub object: ObjectId,
    /// `None` matches no pods (a missing selector, or an empty one in `policy/v1beta1`).
    pub selector: Option<Selector>,
    pub min_available: Option<IntOrPercent>,
    pub max_unavailable: Option<IntOrPercent>,
}

impl Budget {
    /// Reads a PDB. `None` when the budget fields are ones the API server rejects.
    pub fn from_object(inv: &Inventory, object: ObjectId) -> Option<Budget> {
        let o = inv.object(object);
        if o.kind() != "PodDisruptionBudget" || !o.api_version().starts_with("policy/") {
            return None;
        }
        let spec = o.root().get("spec");
        let field = |key: &str| match spec.and_then(|s| s.get(key)) {
            None => Some(None),
            Some(n) if n.is_null() => Some(None),
            Some(n) => IntOrPercent::from_node(n).map(Some),
        };
        let min_available = field("minAvailable")?;
        let max_unavailable = field("maxUnavailable")?;
        if min_available.is_some() && max_unavailable.is_some() {
            return None;
        }
        let selector = spec
            .and_then(|s| s.get("selector"))
            .filter(|n| !n.is_null())
            .map(Selector::from_node)
            // policy/v1 made `{}` mean "every pod in the namespace"; v1beta1 kept "none".
            .filter(|s| !s.is_empty() || o.api_version() == "policy/v1");
        Some(Budget {
            object,
            selector,
            min_available,
            max_unavailable,
        })
    }

    /// Voluntary disruptions allowed when `expected` pods exist and all are healthy
    /// (`getExpectedPodCount` in the disruption controller): `maxUnavailable` and a
    /// `minAvailable` percentage scale against `expected`, rounding up.
    pub fn disruptions_allowed(&self, expected: i64) -> i64 {
        let desired_healthy = match (self.max_unavailable, self.min_available) {
            (Some(max), _) => (expected - max.scaled(expected, Rounding::Up)).max(0),
            (None, Some(IntOrPercent::Int(min))) => min,
            (None, Some(min)) => min.scaled(expected, Rounding::Up),
            (None, None) => 0,
        };
        (expected - desired_healthy).max(0)
    }

    /// `minAvailable 100%`, `maxUnavailable 0`: the budget's own words, for messages.
    pub fn describe(&self) -> String {
        match (self.max_unavailable, self.min_available) {
            (Some(max), _) => format!("maxUnavailable {max}"),
            (None, Some(min)) => format!("minAvailable {min}"),
            (None, None) => "no minAvailable or maxUnavailable".to_string(),
        }
    }

    /// The budget field a finding points at.
    pub fn field(&self) -> FieldPath {
        SPEC.key(if self.max_unavailable.is_some() {
            "maxUnavailable"
        } else {
            "minAvailable"
        })
    }
}

/// Whether a workload's pods count towards a PDB the way the disruption controller counts
/// them: controllers with a scale (Deployment, StatefulSet, ReplicaSet) and bare Pods.
/// DaemonSet and Job pods are left out: drains skip DaemonSet pods and Jobs finish.
pub fn counts_for_budgets(w: &Workload) -> bool {
    !w.has_controller_in_inventory
        && matches!(
            w.kind,
            WorkloadKind::Deployment
                | WorkloadKind::StatefulSet
                | WorkloadKind::ReplicaSet
                | WorkloadKind::Pod
        )
}

/// Every PDB with the workloads it covers (one per kind and name: copies of an object in
/// several files count once), and for each workload the PDBs covering it.
#[derive(Debug, Default)]
pub struct Budgets {
    pub budgets: Vec<(Budget, Vec<usize>)>,
    /// Workload index → indexes into `budgets`.
    by_workload: HashMap<usize, Vec<usize>>,
}

impl Budgets {
    pub fn build(inv: &Inventory) -> Budgets {
        let mut out = Budgets::default();
        for (id, o) in inv.of_kind("PodDisruptionBudget") {
            let Some(budget) = Budget::from_object(inv, id) else {
                continue;
            };
            let matching: Vec<usize> = match &budget.selector {
                Some(selector) => inv
                    .workloads_matching(o.namespace(), selector)
                    .filter(|w| counts_for_budgets(w))
                    .filter_map(|w| inv.workload_by_object.get(&w.object).copied())
                    .collect(),
                None => Vec::new(),
            };
            let b = out.budgets.len();
            // Every copy is covered, but the same workload found in several files
            // (overlays, release history) runs its pods once.
            let mut seen = std::collections::HashSet::new();
            let mut covered = Vec::new();
            for &w in &matching {
                out.by_workload.entry(w).or_default().push(b);
                let wo = inv.object(inv.workloads[w].object);
                if seen.insert((wo.kind(), wo.name())) {
                    covered.push(w);
                }
            }
            out.budgets.push((budget, covered));
        }
        out
    }

    pub fn covering(&self, workload: usize) -> &[usize] {
        self.by_workload
            .get(&workload)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse_str;

    #[test]
    fn autoscalers_scale_every_copy_of_their_target_in_their_namespace() {
        let deployment = |ns: &str| {
            format!("apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web, namespace: {ns}}}\nspec:\n  replicas: 2\n  template: {{spec: {{containers: [{{name: a, image: a}}]}}}}\n")
        };
        let hpa = |name: &str, ns: &str, min: u32| {
            format!("apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: web}}\n  minReplicas: {min}\n  maxReplicas: 9\n")
        };
        let docs = [
            deployment("shop"),
            deployment("shop"),
            deployment("other"),
            hpa("first", "shop", 3),
            hpa("second", "shop", 5),
            // An HPA v1 without minReplicas: the API server's default is 1.
            "apiVersion: autoscaling/v1\nkind: HorizontalPodAutoscaler\nmetadata: {name: v1, namespace: third}\nspec: {scaleTargetRef: {kind: Deployment, name: web}, maxReplicas: 4}\n".to_string(),
            deployment("third"),
        ];
        let (inv, problems) =
            crate::model::inventory_of(&docs.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(problems.is_empty(), "{problems:?}");
        let hpas = inv.autoscalers();
        let replicas: Vec<(i64, i64)> = inv
            .workloads
            .iter()
            .map(|w| {
                let r = hpas.replicas(&inv, w);
                (r.min, r.max)
            })
            .collect();
        // Both copies in `shop` take the first HPA; `other` has none; `third` the v1 one.
        assert_eq!(replicas, [(3, 9), (3, 9), (2, 2), (1, 4)]);
        assert!(std::ptr::eq(hpas, inv.autoscalers()), "built once");
    }

    fn node(text: &str) -> crate::yaml::Tree {
        parse_str(text).unwrap().unwrap()
    }

    #[test]
    fn deployment_strategy_defaults_and_validation() {
        use DeploymentStrategy::*;
        let pct = IntOrPercent::Percent;
        assert_eq!(
            DeploymentStrategy::from_node(None),
            Some(RollingUpdate {
                max_surge: pct(25),
                max_unavailable: pct(25)
            })
        );
        assert_eq!(
            DeploymentStrategy::from_node(Some(node("type: Recreate").root())),
            Some(Recreate)
        );
        assert_eq!(
            DeploymentStrategy::from_node(Some(node("rollingUpdate: {maxUnavailable: 0}").root())),
            Some(RollingUpdate {
                max_surge: pct(25),
                max_unavailable: IntOrPercent::Int(0)
            })
        );
        assert_eq!(
            DeploymentStrategy::from_node(Some(
                node("rollingUpdate: {maxUnavailable: 0, maxSurge: 0%}").root()
            )),
            None
        );
        assert_eq!(
            DeploymentStrategy::from_node(Some(node("type: Blue").root())),
            None
        );
    }

    #[test]
    fn fenceposts_round_like_the_deployment_controller() {
        let pct = IntOrPercent::Percent;
        let f = |s, u, n| resolve_fenceposts(s, u, n);
        // Defaults: 25% of 2 surges 1 and takes none away.
        assert_eq!(
            f(pct(25), pct(25), 2),
            Fenceposts {
                surge: 1,
                unavailable: 0
            }
        );
        assert_eq!(f(pct(25), pct(25), 4).unavailable, 1);
        assert_eq!(f(pct(25), pct(25), 7).unavailable, 1);
        assert_eq!(f(pct(25), pct(25), 8).unavailable, 2);
        // Both round to zero: the controller lets one pod go.
        assert_eq!(
            f(IntOrPercent::Int(0), pct(10), 3),
            Fenceposts {
                surge: 0,
                unavailable: 1
            }
        );
        assert_eq!(
            f(IntOrPercent::Int(1), IntOrPercent::Int(0), 3).unavailable,
            0
        );
    }

    #[test]
    fn statefulset_and_daemonset_defaults() {
        assert_eq!(
            StatefulSetStrategy::from_node(None),
            Some(StatefulSetStrategy::RollingUpdate {
                max_unavailable: IntOrPercent::Int(1),
                partition: 0
            })
        );
        assert_eq!(
            StatefulSetStrategy::from_node(Some(
                node("type: RollingUpdate\nrollingUpdate: {partition: 2}").root()
            )),
            Some(StatefulSetStrategy::RollingUpdate {
                max_unavailable: IntOrPercent::Int(1),
                partition: 2
            })
        );
        assert_eq!(
            StatefulSetStrategy::from_node(Some(node("type: OnDelete").root())),
            Some(StatefulSetStrategy::OnDelete)
        );
        let ds = DaemonSetStrategy::from_node(None).unwrap();
        assert_eq!(
            ds.fenceposts(10),
            Some(Fenceposts {
                surge: 0,
                unavailable: 1
            })
        );
        let ds =
            DaemonSetStrategy::from_node(Some(node("rollingUpdate: {maxUnavailable: 10%}").root()))
                .unwrap();
        // DaemonSets round maxUnavailable up: 10% of 3 nodes is 1.
        assert_eq!(ds.fenceposts(3).unwrap().unavailable, 1);
        let ds = DaemonSetStrategy::from_node(Some(
            node("rollingUpdate: {maxUnavailable: 0, maxSurge: 1}").root(),
        ))
        .unwrap();
        assert_eq!(ds.fenceposts(3).unwrap().unavailable, 0);
        assert_eq!(
            DaemonSetStrategy::from_node(Some(node("rollingUpdate: {maxUnavailable: 0}").root())),
            None
        );
    }

    fn budget(spec: &str) -> Budget {
        let n = node(spec);
        let field = |k: &str| n.root().get(k).and_then(IntOrPercent::from_node);
        Budget {
            object: 0,
            selector: Some(Selector::default()),
            min_available: field("minAvailable"),
            max_unavailable: field("maxUnavailable"),
        }
    }

    #[test]
    fn disruptions_allowed_like_the_disruption_controller() {
        assert_eq!(budget("minAvailable: 100%").disruptions_allowed(3), 0);
        assert_eq!(budget("minAvailable: 1").disruptions_allowed(1), 0);
        assert_eq!(budget("minAvailable: 1").disruptions_allowed(2), 1);
        assert_eq!(budget("minAvailable: 3").disruptions_allowed(2), 0);
        // 50% of 3 rounds up to 2 that must stay: one may go.
        assert_eq!(budget("minAvailable: 50%").disruptions_allowed(3), 1);
        // 90% of 3 rounds up to 3: none may go.
        assert_eq!(budget("minAvailable: 90%").disruptions_allowed(3), 0);
        assert_eq!(budget("maxUnavailable: 0").disruptions_allowed(5), 0);
        assert_eq!(budget("maxUnavailable: 0%").disruptions_allowed(5), 0);
        // maxUnavailable rounds up too: 10% of 3 is 1.
        assert_eq!(budget("maxUnavailable: 10%").disruptions_allowed(3), 1);
        assert_eq!(budget("maxUnavailable: 1").disruptions_allowed(1), 1);
        assert_eq!(budget("{}").disruptions_allowed(2), 2);
    }
}
