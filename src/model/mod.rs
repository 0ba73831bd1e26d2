//! The one model every rule reads: an inventory of objects, indexed, with the typed views and
//! the mesh facts derived from them. Manifests and a live cluster build the same inventory;
//! rules never learn where an object came from.

pub mod capacity;
pub mod component;
pub mod crd;
pub mod date;
pub mod disruption;
pub mod duration;
pub mod envoyfilter;
pub mod gateway;
pub mod install;
pub mod intstr;
pub mod mesh;
pub mod path;
pub mod protocol;
pub mod quantity;
pub mod read_gap;
pub mod schema;
pub mod selector;
pub mod version;
pub mod webhook;
pub mod workload;

use std::collections::HashMap;

use serde::Serialize;

pub use path::FieldPath;
pub use selector::{Labels, Selector};
pub use version::Version;
pub use workload::Workload;

use std::sync::Arc;

use crate::yaml::{Node, NodeId, Tree};

/// Where an object came from: a document in a file, or a cluster (no text position).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Origin {
    File { file: usize, document: usize },
    Cluster,
}

/// One Kubernetes object.
#[derive(Debug)]
pub struct Object {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    /// `metadata.namespace` as written; see [`Object::namespace`] for the effective one.
    pub declared_namespace: Option<String>,
    /// The document the object is in, shared with the other items of a List.
    pub tree: Arc<Tree>,
    /// The object's node in `tree`.
    pub node: NodeId,
    pub origin: Origin,
}

/// Kinds that live outside namespaces.
const CLUSTER_SCOPED: &[&str] = &[
    "Namespace",
    "Node",
    "CustomResourceDefinition",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "ClusterRole",
    "ClusterRoleBinding",
    "PersistentVolume",
    "StorageClass",
    "PriorityClass",
    "IngressClass",
    "GatewayClass",
    "APIService",
    "RuntimeClass",
    "CSIDriver",
    "VolumeAttachment",
    // The tool's own records of a live read (see read_gap).
    read_gap::READ_GAP,
    read_gap::CLUSTER_VERSION,
];

impl Object {
    /// An object as a cluster gave it: JSON, no positions.
    pub fn from_cluster(
        api_version: String,
        kind: String,
        name: String,
        declared_namespace: Option<String>,
        json: &serde_json::Value,
    ) -> Object {
        let tree = Tree::from_json(json);
        Object {
            api_version,
            kind,
            name,
            declared_namespace,
            node: tree.root().id(),
            tree: Arc::new(tree),
            origin: Origin::Cluster,
        }
    }

    /// The object's whole YAML (or JSON) tree.
    pub fn root(&self) -> Node<'_> {
        self.tree.node(self.node)
    }

    pub fn is_cluster_scoped(&self) -> bool {
        CLUSTER_SCOPED.contains(&self.kind.as_str())
    }

    /// The namespace the object lives in: as declared, or `default` (where `kubectl apply`
    /// puts a namespaced object without one); empty for cluster-scoped kinds.
    pub fn namespace(&self) -> &str {
        if self.is_cluster_scoped() {
            ""
        } else {
            self.declared_namespace.as_deref().unwrap_or("default")
        }
    }

    pub fn group(&self) -> &str {
        match self.api_version.split_once('/') {
            Some((group, _)) => group,
            None => "",
        }
    }

    pub fn labels(&self) -> Labels {
        selector::labels_of(self.root().at(&["metadata", "labels"]))
    }

    pub fn annotations(&self) -> Labels {
        selector::labels_of(self.root().at(&["metadata", "annotations"]))
    }

    pub fn label(&self, key: &str) -> Option<&str> {
        self.root().at(&["metadata", "labels"])?.get(key)?.as_str()
    }

    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.root()
            .at(&["metadata", "annotations"])?
            .get(key)?
            .as_str()
    }

    pub fn reference(&self) -> ObjectRef {
        ObjectRef {
            api_version: self.api_version.clone(),
            kind: self.kind.clone(),
            namespace: (!self.is_cluster_scoped()).then(|| self.namespace().to_string()),
            name: self.name.clone(),
        }
    }

    /// `Deployment shop/cart`, as people say it.
    pub fn display_name(&self) -> String {
        if self.is_cluster_scoped() {
            format!("{} {}", self.kind, self.name)
        } else {
            format!("{} {}/{}", self.kind, self.namespace(), self.name)
        }
    }
}

#[cfg(test)]
impl Object {
    /// One YAML document as an object, the way a cluster read delivers it (no file).
    pub(crate) fn from_yaml(text: &str) -> Object {
        let tree = crate::yaml::parse_str(text)
            .expect("valid YAML")
            .expect("a document");
        let root = tree.root();
        let text_at = |keys: &[&str]| root.str_at(keys).unwrap_or_default().to_string();
        Object {
            api_version: text_at(&["apiVersion"]),
            kind: text_at(&["kind"]),
            name: text_at(&["metadata", "name"]),
            declared_namespace: root.str_at(&["metadata", "namespace"]).map(str::to_string),
            origin: Origin::Cluster,
            node: root.id(),
            tree: Arc::new(tree),
        }
    }
}

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
            inv.by_kind.entry(o.kind.clone()).or_default().push(id);
            by_name.push((HashIndex::hash(&o.kind, o.namespace(), &o.name), id));
        }
        inv.by_name = HashIndex::new(by_name);
        let (workloads, problems) = workload::extract(&inv.objects);
        let mut by_label = Vec::new();
        for (i, w) in workloads.iter().enumerate() {
            let ns = inv.objects[w.object].namespace().to_string();
            by_label.extend(
                w.pod_labels
                    .iter()
                    .map(|(k, v)| (HashIndex::hash(&ns, k, v), i)),
            );
            inv.workloads_by_namespace.entry(ns).or_default().push(i);
            inv.workload_by_object.insert(w.object, i);
        }
        inv.workloads_by_label = HashIndex::new(by_label);
        inv.workloads = workloads;
        inv.mesh = mesh::Mesh::derive(&inv, options);
        let membership: Vec<_> = {
            use rayon::prelude::*;
            inv.workloads
                .par_iter()
                .map(|w| inv.mesh.membership(&inv, w))
                .collect()
        };
        for (w, m) in inv.workloads.iter_mut().zip(membership) {
            w.membership = m;
        }
        (inv, problems)
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
                o.kind == kind && o.namespace() == namespace && o.name == name
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
