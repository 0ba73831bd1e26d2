//! One Kubernetes object: a node of a document tree and the strings that name it, read in
//! place. Its own module so that nothing else, not even the rest of the model, reaches past
//! the accessors into the tree references.

use std::sync::Arc;

use super::{read_gap, selector, Labels, ObjectRef};
use crate::yaml::{Node, NodeId, Tree};

/// Where an object came from: a document in a file, or a cluster (no text position). Indexes
/// are u32 to keep every object small; no input holds four billion files or documents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Origin {
    File {
        file: u32,
        document: u32,
    },
    /// Built by kustomize from several files: `file` holds the resource's document (where a
    /// field no patch or kustomization set is), `estate` is the file index of the
    /// kustomization of the top-level root (the overlay) it was built for.
    Built {
        file: u32,
        estate: u32,
    },
    Cluster,
}

/// One Kubernetes object: a node of a document tree, with where to find the strings that name
/// it. They are not copied out of the tree: on a large estate the copies cost more memory than
/// the rest of the object. A clone shares the tree.
#[derive(Clone, Debug)]
pub struct Object {
    /// The document the object is in, shared with the other items of a List.
    tree: Arc<Tree>,
    /// The object's node in `tree`.
    node: NodeId,
    api_version: StrRef,
    kind: StrRef,
    /// `metadata.name`, or `metadata.generateName` for a file object without a name.
    name: StrRef,
    /// `metadata.namespace` as written; see [`Object::namespace`] for the effective one.
    declared_namespace: StrRef,
    /// Public: it says nothing about the tree, and tests re-home an object by setting it.
    pub origin: Origin,
}

/// A string of an object's tree, found once when the object is built so that reading it
/// again is O(1) (no key lookups: rules compare kinds in their inner loops). It is the first
/// `len` bytes of the string at `node`: all of it, except for the kind of a typed List's
/// items, which is the List's kind without its `List` suffix.
///
/// Not comparable: equal strings may be at different nodes; compare what [`StrRef::read`] gives.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StrRef {
    node: NodeId,
    len: u32,
}

impl StrRef {
    /// No string. No tree has this many nodes (a node takes at least a byte of a file far
    /// smaller than 4 GiB, or of a cluster answer).
    const ABSENT: StrRef = StrRef {
        node: NodeId::MAX,
        len: 0,
    };

    /// The string at `node`, if it holds one.
    pub(crate) fn of(node: Node<'_>) -> Option<StrRef> {
        node.as_str().map(|s| StrRef {
            node: node.id(),
            len: s.len() as u32,
        })
    }

    /// The string at `keys` under `node`, if there is one.
    pub(crate) fn at(node: Node<'_>, keys: &[&str]) -> Option<StrRef> {
        node.at(keys).and_then(StrRef::of)
    }

    /// This string's first `len` bytes.
    pub(crate) fn prefix(self, len: usize) -> StrRef {
        StrRef {
            len: len.min(self.len as usize) as u32,
            ..self
        }
    }

    /// The string in `tree`, the one it was found in.
    pub(crate) fn read(self, tree: &Tree) -> Option<&str> {
        if self.node == StrRef::ABSENT.node {
            return None;
        }
        // The tree never changes, so the string is still there and `len` still on a
        // character boundary (it was cut only before an ASCII suffix).
        tree.node(self.node)
            .as_str()
            .map(|s| &s[..self.len as usize])
    }
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

/// Whether a kind lives outside namespaces (as far as the tool knows kinds).
pub fn is_cluster_scoped_kind(kind: &str) -> bool {
    CLUSTER_SCOPED.contains(&kind)
}

impl Object {
    /// The object at `node` of `tree`, named by strings of that tree.
    pub(crate) fn new(
        tree: Arc<Tree>,
        node: NodeId,
        origin: Origin,
        api_version: StrRef,
        kind: StrRef,
        name: Option<StrRef>,
        declared_namespace: Option<StrRef>,
    ) -> Object {
        Object {
            tree,
            node,
            api_version,
            kind,
            name: name.unwrap_or(StrRef::ABSENT),
            declared_namespace: declared_namespace.unwrap_or(StrRef::ABSENT),
            origin,
        }
    }

    /// An object as a cluster gave it: JSON, no positions. apiVersion and kind are those of
    /// the JSON (the reader puts them there when a list's items lack them).
    pub fn from_cluster(json: &serde_json::Value) -> Object {
        Object::whole_tree(Tree::from_json(json))
    }

    /// The object a whole tree is, named as a cluster names it: by `metadata.name` alone, as
    /// the API server names every object it holds.
    fn whole_tree(tree: Tree) -> Object {
        let root = tree.root();
        let at = |keys: &[&str]| StrRef::at(root, keys).unwrap_or(StrRef::ABSENT);
        Object {
            node: root.id(),
            api_version: at(&["apiVersion"]),
            kind: at(&["kind"]),
            name: at(&["metadata", "name"]),
            declared_namespace: at(&["metadata", "namespace"]),
            origin: Origin::Cluster,
            tree: Arc::new(tree),
        }
    }

    pub fn api_version(&self) -> &str {
        self.api_version.read(&self.tree).unwrap_or_default()
    }

    pub fn kind(&self) -> &str {
        self.kind.read(&self.tree).unwrap_or_default()
    }

    /// `metadata.name`; for a file object without one, `metadata.generateName`; else empty.
    pub fn name(&self) -> &str {
        self.name.read(&self.tree).unwrap_or_default()
    }

    /// `metadata.namespace` as written; see [`Object::namespace`] for the effective one.
    pub fn declared_namespace(&self) -> Option<&str> {
        self.declared_namespace.read(&self.tree)
    }

    /// The object's whole YAML (or JSON) tree.
    pub fn root(&self) -> Node<'_> {
        self.tree.node(self.node)
    }

    pub fn is_cluster_scoped(&self) -> bool {
        is_cluster_scoped_kind(self.kind())
    }

    /// The namespace the object lives in: as declared, or `default` (where `kubectl apply`
    /// puts a namespaced object without one); empty for cluster-scoped kinds.
    pub fn namespace(&self) -> &str {
        if self.is_cluster_scoped() {
            ""
        } else {
            self.declared_namespace().unwrap_or("default")
        }
    }

    pub fn group(&self) -> &str {
        match self.api_version().split_once('/') {
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
            api_version: self.api_version().to_string(),
            kind: self.kind().to_string(),
            namespace: (!self.is_cluster_scoped()).then(|| self.namespace().to_string()),
            name: self.name().to_string(),
        }
    }

    /// `Deployment shop/cart`, as people say it.
    pub fn display_name(&self) -> String {
        if self.is_cluster_scoped() {
            format!("{} {}", self.kind(), self.name())
        } else {
            format!("{} {}/{}", self.kind(), self.namespace(), self.name())
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
        Object::whole_tree(tree)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The objects the loader makes of `text`, read as a file.
    fn loaded(test: &str, text: &str) -> Vec<Object> {
        let dir = std::env::temp_dir().join(format!(
            "istio-preflight-object-{test}-{}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("input.yaml");
        std::fs::write(&file, text).expect("write");
        let loaded = crate::load::files::load(&[file]);
        let _ = std::fs::remove_dir_all(&dir);
        assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
        loaded.objects
    }

    fn names(objects: &[Object]) -> Vec<(&str, &str, &str, Option<&str>)> {
        objects
            .iter()
            .map(|o| (o.api_version(), o.kind(), o.name(), o.declared_namespace()))
            .collect()
    }

    #[test]
    fn typed_list_items_without_a_kind_take_the_lists_kind_without_list() {
        let objects = loaded(
            "typed-list",
            "apiVersion: v1\nkind: DeploymentList\nitems:\n- metadata: {name: a, namespace: shop}\n- apiVersion: apps/v1\n  metadata: {name: b}\n- kind: StatefulSet\n  metadata: {name: c}\n---\napiVersion: v1\nkind: List\nitems:\n- metadata: {name: no-kind}\n- {apiVersion: v1, kind: Pod, metadata: {name: d}}\n",
        );
        assert_eq!(
            names(&objects),
            [
                ("v1", "Deployment", "a", Some("shop")),
                ("apps/v1", "Deployment", "b", None),
                ("v1", "StatefulSet", "c", None),
                // A plain List names no kind for its items: the one without is skipped.
                ("v1", "Pod", "d", None),
            ]
        );
    }

    #[test]
    fn a_file_object_is_named_by_name_then_generate_name_else_empty() {
        let objects = loaded(
            "names",
            "apiVersion: v1\nkind: Pod\nmetadata: {generateName: web-}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: named, generateName: web-, namespace: shop}\n---\napiVersion: v1\nkind: ConfigMap\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: shop, namespace: ignored}\n",
        );
        assert_eq!(
            names(&objects),
            [
                ("v1", "Pod", "web-", None),
                ("v1", "Pod", "named", Some("shop")),
                ("v1", "ConfigMap", "", None),
                ("v1", "Namespace", "shop", Some("ignored")),
            ]
        );
        let effective: Vec<&str> = objects.iter().map(Object::namespace).collect();
        assert_eq!(effective, ["default", "shop", "default", ""]);
    }

    #[test]
    fn a_cluster_object_is_named_by_its_json() {
        let o = Object::from_cluster(&serde_json::json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "cart", "namespace": "shop", "generateName": "x-"}}));
        assert_eq!(
            names(&[o]),
            [("apps/v1", "Deployment", "cart", Some("shop"))]
        );
        // The API server names every object it holds: generateName is no name here.
        let o = Object::from_cluster(&serde_json::json!({"metadata": {"generateName": "x-"}}));
        assert_eq!(names(&[o]), [("", "", "", None)]);
    }

    #[test]
    fn an_object_stays_small() {
        // One per Kubernetes object: on a 100,000-object estate every 8 bytes here is most
        // of a megabyte, and the loader must stay under 4x the input's size.
        assert!(
            std::mem::size_of::<Object>() <= 56,
            "{}",
            std::mem::size_of::<Object>()
        );
    }
}
