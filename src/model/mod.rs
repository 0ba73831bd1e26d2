//! The one model every rule reads: an inventory of objects, indexed, with the typed views and
//! the mesh facts derived from them. Manifests and a live cluster build the same inventory;
//! rules never learn where an object came from.

pub mod capacity;
pub mod chart_release;
pub mod component;
pub mod crd;
pub mod date;
pub mod disruption;
pub mod duration;
pub mod embedded;
pub mod envoyfilter;
pub mod gateway;
pub mod gvk;
pub mod install;
pub mod intstr;
pub mod membership;
pub mod mesh;
mod object;
pub mod path;
pub mod protocol;
pub mod proxy;
pub mod quantity;
pub mod read_gap;
pub mod schema;
pub mod selector;
pub mod version;
pub mod webhook;
pub mod workload;

use std::collections::HashMap;

use serde::Serialize;

pub(crate) use object::StrRef;
pub use object::{is_cluster_scoped_kind, Object, Origin};
pub use path::{Field, FieldPath};
pub use selector::{Labels, Selector};
pub use version::Version;
pub use workload::Workload;

/// An inventory of YAML documents, for unit tests that need inputs a fixture cannot hold.
#[cfg(test)]
pub(crate) fn inventory_of(docs: &[&str]) -> (Inventory, Vec<workload::ShapeError>) {
    let objects = docs.iter().map(|d| Object::from_yaml(d)).collect();
    Inventory::build(objects, &mesh::MeshOptions::default())
}

/// Entries found by the hash of three strings (kind, namespace, name; or namespace, label
/// key, value), sorted by it. The index holds no copies of the strings: a lookup gives the
/// entries with that hash and the caller checks them, so a collision only adds a candidate
/// to reject. The hash is the same in every run, so candidates come in entry order.
#[derive(Debug, Default)]
struct HashIndex(Vec<(u64, usize)>);

impl HashIndex {
    fn hash(a: &str, b: &str, c: &str) -> u64 {
        use std::hash::{DefaultHasher, Hash, Hasher};
        let mut h = DefaultHasher::new();
        (a, b, c).hash(&mut h);
        h.finish()
    }

    fn new(mut entries: Vec<(u64, usize)>) -> HashIndex {
        entries.sort_unstable();
        entries.shrink_to_fit();
        HashIndex(entries)
    }

    /// The entries filed under these strings' hash.
    fn candidates(&self, a: &str, b: &str, c: &str) -> impl Iterator<Item = usize> + '_ {
        let hash = HashIndex::hash(a, b, c);
        let from = self.0.partition_point(|&(h, _)| h < hash);
        self.0[from..]
            .iter()
            .take_while(move |&&(h, _)| h == hash)
            .map(|&(_, entry)| entry)
    }
}

/// Adds `id` to the list under `key`, copying the key only the first time it is seen (these
/// maps have a few keys and one entry per object).
fn file_under(map: &mut HashMap<String, Vec<usize>>, key: &str, id: usize) {
    match map.get_mut(key) {
        Some(ids) => ids.push(id),
        None => {
            map.insert(key.to_string(), vec![id]);
        }
    }
}

/// The identity of an object in reports.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ObjectRef {
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
}

pub type ObjectId = usize;

/// All objects, with the indexes cross-object rules go through (never all-pairs scans).
#[derive(Debug, Default)]
pub struct Inventory {
    pub objects: Vec<Object>,
    by_kind: HashMap<String, Vec<ObjectId>>,
    /// Objects by kind, namespace and name.
    by_name: HashIndex,
    pub workloads: Vec<Workload>,
    /// Workloads by namespace, label key and value of their pods.
    workloads_by_label: HashIndex,
    workloads_by_namespace: HashMap<String, Vec<usize>>,
    /// Object → its workload (an object runs at most one pod template).
    workload_by_object: HashMap<ObjectId, usize>,
    pub mesh: mesh::Mesh,
    autoscalers: std::sync::OnceLock<disruption::Autoscalers>,
    budgets: std::sync::OnceLock<disruption::Budgets>,
}

impl Inventory {
    /// Indexes the objects and derives workloads and mesh facts. Objects whose known
    /// fields have the wrong shape are returned as problems and left out of the typed views.
    pub fn build(
        objects: Vec<Object>,
        options: &mesh::MeshOptions,
    ) -> (Inventory, Vec<workload::ShapeError>) {
        let mut inv = Inventory {
            objects,
            ..Inventory::default()
        };
        let mut by_name = Vec::with_capacity(inv.objects.len());
        for (id, o) in inv.objects.iter().enumerate() {
            file_under(&mut inv.by_kind, o.kind(), id);
            by_name.push((HashIndex::hash(o.kind(), o.namespace(), o.name()), id));
        }
        inv.by_name = HashIndex::new(by_name);
        let (workloads, problems) = workload::extract(&inv.objects);
        let mut by_label = Vec::new();
        for (i, w) in workloads.iter().enumerate() {
            let ns = inv.objects[w.object].namespace();
            by_label.extend(
                w.pod_labels
                    .iter()
                    .map(|(k, v)| (HashIndex::hash(ns, k, v), i)),
            );
            file_under(&mut inv.workloads_by_namespace, ns, i);
            inv.workload_by_object.insert(w.object, i);
        }
        inv.workloads_by_label = HashIndex::new(by_label);
        inv.workloads = workloads;
        inv.derive_mesh(options);
        (inv, problems)
    }

    /// Derives the mesh facts, and each workload's membership from them, again with other
    /// options (pre-merge mode learns `--current` from the base commit after the working
    /// tree's inventory is built).
    pub fn derive_mesh(&mut self, options: &mesh::MeshOptions) {
        self.mesh = mesh::Mesh::derive(self, options);
        let membership: Vec<_> = {
            use rayon::prelude::*;
            self.workloads
                .par_iter()
                .map(|w| self.mesh.membership(self, w))
                .collect()
        };
        for (w, m) in self.workloads.iter_mut().zip(membership) {
            w.membership = m;
        }
    }

    pub fn of_kind<'a>(&'a self, kind: &str) -> impl Iterator<Item = (ObjectId, &'a Object)> + 'a {
        self.by_kind
            .get(kind)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(move |&id| (id, &self.objects[id]))
    }

    /// The first object (in input order) with this kind, namespace and name.
    pub fn get(&self, kind: &str, namespace: &str, name: &str) -> Option<&Object> {
        self.all(kind, namespace, name)
            .next()
            .map(|id| &self.objects[id])
    }

    /// Every object with this kind, namespace and name (copies of one object in several
    /// files), in input order.
    pub fn all<'a>(
        &'a self,
        kind: &'a str,
        namespace: &'a str,
        name: &'a str,
    ) -> impl Iterator<Item = ObjectId> + 'a {
        self.by_name
            .candidates(kind, namespace, name)
            .filter(move |&id| {
                let o = &self.objects[id];
                o.kind() == kind && o.namespace() == namespace && o.name() == name
            })
    }

    /// The HPAs by the workloads they scale, worked out once for the rules that need them.
    pub fn autoscalers(&self) -> &disruption::Autoscalers {
        self.autoscalers
            .get_or_init(|| disruption::Autoscalers::build(self))
    }

    /// The PDBs with the workloads they cover, worked out once for the rules that need them.
    pub fn budgets(&self) -> &disruption::Budgets {
        self.budgets
            .get_or_init(|| disruption::Budgets::build(self))
    }

    pub fn namespace_labels(&self, namespace: &str) -> Option<Labels> {
        self.get("Namespace", "", namespace).map(Object::labels)
    }

    /// Workloads in `namespace` whose pod labels match `selector`, looked up through the
    /// label index. An empty selector matches every workload in the namespace.
    pub fn workloads_matching<'a>(
        &'a self,
        namespace: &'a str,
        selector: &'a Selector,
    ) -> impl Iterator<Item = &'a Workload> + 'a {
        let equality = selector.first_equality();
        let by_label = equality
            .into_iter()
            .flat_map(move |(k, v)| self.workloads_by_label.candidates(namespace, k, v));
        let in_namespace = match equality {
            Some(_) => &[][..],
            None => self
                .workloads_by_namespace
                .get(namespace)
                .map(Vec::as_slice)
                .unwrap_or_default(),
        };
        // One of the two candidate lists is empty.
        by_label
            .chain(in_namespace.iter().copied())
            .map(move |i| &self.workloads[i])
            .filter(move |w| {
                self.objects[w.object].namespace() == namespace && selector.matches(&w.pod_labels)
            })
    }

    /// The workload an object defines (a Deployment's pod template, a Pod), if any.
    pub fn workload_of(&self, id: ObjectId) -> Option<&Workload> {
        self.workload_by_object
            .get(&id)
            .map(|&i| &self.workloads[i])
    }

    pub fn object(&self, id: ObjectId) -> &Object {
        &self.objects[id]
    }
}
