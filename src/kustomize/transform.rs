//! The kustomization fields that change every resource: `namespace`, `namePrefix` /
//! `nameSuffix`, `commonLabels` / `labels`, `commonAnnotations`, and the name references
//! kustomize rewrites after names change. Values a kustomization sets point at the
//! kustomization (a namespace set by `namespace: shop` underlines that line).

use super::build::{Failure, Kustomization, Resource};
use crate::yaml::owned::{At, Owned, OwnedValue};

/// Workload kinds whose pod template carries labels and annotations.
const TEMPLATED: &[&str] = &[
    "Deployment",
    "ReplicaSet",
    "DaemonSet",
    "StatefulSet",
    "Job",
    "ReplicationController",
];

/// One field a label is written to: for which kinds (empty: all), at which path (`[]` steps
/// into every item of a list), and whether it is created when absent.
struct FieldSpec {
    kinds: &'static [&'static str],
    path: &'static [&'static str],
    create: bool,
}

const fn spec(
    kinds: &'static [&'static str],
    path: &'static [&'static str],
    create: bool,
) -> FieldSpec {
    FieldSpec {
        kinds,
        path,
        create,
    }
}

/// Where `commonLabels` (and `labels` with `includeSelectors`) write, as kustomize's
/// default label configuration lists them.
const LABEL_SELECTOR_FIELDS: &[FieldSpec] = &[
    spec(&["Service"], &["spec", "selector"], true),
    spec(&["ReplicationController"], &["spec", "selector"], true),
    spec(
        &["Deployment", "ReplicaSet", "DaemonSet", "StatefulSet"],
        &["spec", "selector", "matchLabels"],
        true,
    ),
    spec(&["Job"], &["spec", "selector", "matchLabels"], false),
    spec(
        &["CronJob"],
        &["spec", "jobTemplate", "spec", "selector", "matchLabels"],
        false,
    ),
    spec(
        &["PodDisruptionBudget"],
        &["spec", "selector", "matchLabels"],
        false,
    ),
    spec(
        &["NetworkPolicy"],
        &["spec", "podSelector", "matchLabels"],
        false,
    ),
    spec(
        &["NetworkPolicy"],
        &[
            "spec",
            "ingress",
            "[]",
            "from",
            "[]",
            "podSelector",
            "matchLabels",
        ],
        false,
    ),
    spec(
        &["NetworkPolicy"],
        &[
            "spec",
            "egress",
            "[]",
            "to",
            "[]",
            "podSelector",
            "matchLabels",
        ],
        false,
    ),
];

/// Pod templates (and the job template of a CronJob): where `commonLabels` and
/// `labels.includeTemplates` write besides `metadata.labels`.
const LABEL_TEMPLATE_FIELDS: &[FieldSpec] = &[
    spec(TEMPLATED, &["spec", "template", "metadata", "labels"], true),
    spec(
        &["StatefulSet"],
        &["spec", "volumeClaimTemplates", "[]", "metadata", "labels"],
        true,
    ),
    spec(
        &["CronJob"],
        &["spec", "jobTemplate", "metadata", "labels"],
        true,
    ),
    spec(
        &["CronJob"],
        &[
            "spec",
            "jobTemplate",
            "spec",
            "template",
            "metadata",
            "labels",
        ],
        true,
    ),
];

const ANNOTATION_FIELDS: &[FieldSpec] = &[
    spec(&[], &["metadata", "annotations"], true),
    spec(
        TEMPLATED,
        &["spec", "template", "metadata", "annotations"],
        true,
    ),
    spec(
        &["CronJob"],
        &["spec", "jobTemplate", "metadata", "annotations"],
        true,
    ),
    spec(
        &["CronJob"],
        &[
            "spec",
            "jobTemplate",
            "spec",
            "template",
            "metadata",
            "annotations",
        ],
        true,
    ),
];

const METADATA_LABELS: FieldSpec = spec(&[], &["metadata", "labels"], true);

/// A kustomization's `key:` entry: where its key and its value were written.
fn entry_at(k: &Kustomization, key: &str) -> (Option<At>, Option<At>) {
    k.fields
        .entries()
        .iter()
        .find(|(name, _)| name.as_str() == Some(key))
        .map_or((None, None), |(name, value)| (name.at, value.at))
}

/// `(key, value)` pairs of a mapping of strings, with their nodes (for positions).
fn pairs<'k>(field: &str, node: &'k Owned) -> Result<Vec<(&'k Owned, Owned)>, Failure> {
    if !matches!(node.value, OwnedValue::Map(_)) {
        return Err(Failure::Error(format!("`{field}` must be a mapping")));
    }
    node.entries()
        .iter()
        .map(|(k, v)| {
            let value = match &v.value {
                OwnedValue::Str(_) => v.clone(),
                // kustomize writes label values as strings whatever YAML type they had.
                OwnedValue::Bool(b) => Owned::str(&b.to_string(), v.at),
                OwnedValue::Int(i) => Owned::str(&i.to_string(), v.at),
                OwnedValue::Float(f) => Owned::str(&f.to_string(), v.at),
                OwnedValue::Null => Owned::str("", v.at),
                _ => {
                    return Err(Failure::Error(format!(
                        "`{field}`: the value of {} must be a string",
                        k.as_str().unwrap_or_default()
                    )))
                }
            };
            Ok((k, value))
        })
        .collect()
}

/// Applies `namespace`, `namePrefix`/`nameSuffix`, labels and annotations, in kustomize's
/// order.
pub(crate) fn apply(k: &Kustomization, resources: &mut [Resource]) -> Result<(), Failure> {
    if let Some(ns) = k.get("namespace") {
        let Some(namespace) = ns.as_str() else {
            return Err(Failure::Error("`namespace` must be a string".into()));
        };
        let (key_at, value_at) = entry_at(k, "namespace");
        for r in resources.iter_mut() {
            set_namespace(r, namespace, key_at, value_at);
        }
    }
    let affix = |key: &str| -> Result<Option<(String, Option<At>)>, Failure> {
        match k.get(key) {
            None => Ok(None),
            Some(v) => match v.as_str() {
                Some(s) => Ok(Some((s.to_string(), v.at))),
                None => Err(Failure::Error(format!("`{key}` must be a string"))),
            },
        }
    };
    let prefix = affix("namePrefix")?;
    let suffix = affix("nameSuffix")?;
    if prefix.is_some() || suffix.is_some() {
        for r in resources.iter_mut() {
            rename(r, prefix.as_ref(), suffix.as_ref());
        }
    }
    if let Some(labels) = k.get("commonLabels") {
        let pairs = pairs("commonLabels", labels)?;
        for r in resources.iter_mut() {
            write_pairs(r, &pairs, &[METADATA_LABELS]);
            write_pairs(r, &pairs, LABEL_SELECTOR_FIELDS);
            write_pairs(r, &pairs, LABEL_TEMPLATE_FIELDS);
        }
    }
    if let Some(list) = k.get("labels") {
        for entry in list.items() {
            let Some(p) = entry.get("pairs") else {
                continue;
            };
            let pairs = pairs("labels.pairs", p)?;
            let flag = |key| {
                entry.get(key).and_then(|b| match b.value {
                    OwnedValue::Bool(b) => Some(b),
                    _ => None,
                }) == Some(true)
            };
            let selectors = flag("includeSelectors");
            let templates = flag("includeTemplates");
            for r in resources.iter_mut() {
                write_pairs(r, &pairs, &[METADATA_LABELS]);
                if selectors {
                    write_pairs(r, &pairs, LABEL_SELECTOR_FIELDS);
                }
                if selectors || templates {
                    write_pairs(r, &pairs, LABEL_TEMPLATE_FIELDS);
                }
            }
        }
    }
    if let Some(annotations) = k.get("commonAnnotations") {
        let pairs = pairs("commonAnnotations", annotations)?;
        for r in resources.iter_mut() {
            write_pairs(r, &pairs, ANNOTATION_FIELDS);
        }
    }
    Ok(())
}

fn set_namespace(r: &mut Resource, namespace: &str, key_at: Option<At>, value_at: Option<At>) {
    if crate::model::is_cluster_scoped_kind(r.kind()) {
        return;
    }
    r.remember();
    let old = r.namespace().to_string();
    if old != namespace {
        if let Some(meta) = r.object.child_map("metadata", None) {
            meta.set("namespace", Owned::str(namespace, value_at), key_at);
        }
    }
    // kustomize's namespace transformer also moves the service accounts a (Cluster)
    // RoleBinding grants to when they had no namespace or the one being replaced.
    if matches!(r.kind(), "RoleBinding" | "ClusterRoleBinding") {
        if let Some(OwnedValue::Seq(subjects)) = r.object.get_mut("subjects").map(|s| &mut s.value)
        {
            for s in subjects {
                let ns = s.str_at(&["namespace"]).unwrap_or_default();
                if s.str_at(&["kind"]) == Some("ServiceAccount")
                    && (ns.is_empty() || ns == old || s.str_at(&["name"]) == Some("default"))
                    && ns != namespace
                {
                    s.set("namespace", Owned::str(namespace, value_at), key_at);
                }
            }
        }
    }
}

fn rename(
    r: &mut Resource,
    prefix: Option<&(String, Option<At>)>,
    suffix: Option<&(String, Option<At>)>,
) {
    r.remember();
    let Some(name) = r.object.str_at(&["metadata", "name"]).map(str::to_string) else {
        return;
    };
    let new = format!(
        "{}{name}{}",
        prefix.map_or("", |p| p.0.as_str()),
        suffix.map_or("", |s| s.0.as_str())
    );
    let Some(meta) = r.object.get_mut("metadata") else {
        return;
    };
    // The name keeps the base's position: that is where it is written; the kustomization
    // only adds to it.
    if let Some(node) = meta.get_mut("name") {
        node.value = OwnedValue::Str(new);
    }
}

/// Writes label or annotation pairs at every field spec that applies to `r`.
fn write_pairs(r: &mut Resource, pairs: &[(&Owned, Owned)], specs: &[FieldSpec]) {
    let kind = r.kind().to_string();
    for spec in specs {
        if !spec.kinds.is_empty() && !spec.kinds.contains(&kind.as_str()) {
            continue;
        }
        visit(
            &mut r.object,
            spec.path,
            spec.create,
            &mut |map: &mut Owned| {
                for (key, value) in pairs {
                    map.set(key.as_str().unwrap_or_default(), value.clone(), key.at);
                }
            },
        );
    }
}

/// Calls `f` on the mapping at `path` under `node` (`[]` steps into every item of a
/// list), creating missing mappings when `create`.
fn visit(node: &mut Owned, path: &[&str], create: bool, f: &mut dyn FnMut(&mut Owned)) {
    let Some((first, rest)) = path.split_first() else {
        if node.is_null() {
            node.value = OwnedValue::Map(Vec::new());
        }
        if matches!(node.value, OwnedValue::Map(_)) {
            f(node);
        }
        return;
    };
    if *first == "[]" {
        if let OwnedValue::Seq(items) = &mut node.value {
            for item in items {
                visit(item, rest, create, f);
            }
        }
        return;
    }
    if node.get(first).is_none() {
        if !create || !matches!(node.value, OwnedValue::Map(_)) {
            return;
        }
        // A list step below can only be walked, never made.
        if rest.first() == Some(&"[]") {
            return;
        }
        node.set(first, Owned::map(None), None);
    }
    if let Some(child) = node.get_mut(first) {
        visit(child, rest, create, f);
    }
}

/// Where a kind's name is referred to in other resources, as far as the builder rewrites
/// references (a subset of kustomize's name-reference configuration, compared with
/// `kubectl kustomize` by the tests).
struct Reference {
    /// The kind whose name is referred to.
    kind: &'static str,
    /// Referring kinds (empty: any with a pod spec at the path).
    from: &'static [&'static str],
    path: &'static [&'static str],
}

const POD_SPECS: &[&[&str]] = &[
    &["spec", "template", "spec"],
    &["spec", "jobTemplate", "spec", "template", "spec"],
    &["spec"],
];

const WORKLOADS: &[&str] = &[
    "Deployment",
    "ReplicaSet",
    "DaemonSet",
    "StatefulSet",
    "Job",
    "CronJob",
    "ReplicationController",
    "Pod",
];

/// Paths under a pod spec where a ConfigMap, Secret or ServiceAccount is named.
const POD_REFERENCES: &[Reference] = &[
    Reference {
        kind: "ConfigMap",
        from: &[],
        path: &["volumes", "[]", "configMap", "name"],
    },
    Reference {
        kind: "ConfigMap",
        from: &[],
        path: &[
            "volumes",
            "[]",
            "projected",
            "sources",
            "[]",
            "configMap",
            "name",
        ],
    },
    Reference {
        kind: "ConfigMap",
        from: &[],
        path: &["containers", "[]", "envFrom", "[]", "configMapRef", "name"],
    },
    Reference {
        kind: "ConfigMap",
        from: &[],
        path: &[
            "initContainers",
            "[]",
            "envFrom",
            "[]",
            "configMapRef",
            "name",
        ],
    },
    Reference {
        kind: "ConfigMap",
        from: &[],
        path: &[
            "containers",
            "[]",
            "env",
            "[]",
            "valueFrom",
            "configMapKeyRef",
            "name",
        ],
    },
    Reference {
        kind: "ConfigMap",
        from: &[],
        path: &[
            "initContainers",
            "[]",
            "env",
            "[]",
            "valueFrom",
            "configMapKeyRef",
            "name",
        ],
    },
    Reference {
        kind: "Secret",
        from: &[],
        path: &["volumes", "[]", "secret", "secretName"],
    },
    Reference {
        kind: "Secret",
        from: &[],
        path: &[
            "volumes",
            "[]",
            "projected",
            "sources",
            "[]",
            "secret",
            "name",
        ],
    },
    Reference {
        kind: "Secret",
        from: &[],
        path: &["containers", "[]", "envFrom", "[]", "secretRef", "name"],
    },
    Reference {
        kind: "Secret",
        from: &[],
        path: &["initContainers", "[]", "envFrom", "[]", "secretRef", "name"],
    },
    Reference {
        kind: "Secret",
        from: &[],
        path: &[
            "containers",
            "[]",
            "env",
            "[]",
            "valueFrom",
            "secretKeyRef",
            "name",
        ],
    },
    Reference {
        kind: "Secret",
        from: &[],
        path: &[
            "initContainers",
            "[]",
            "env",
            "[]",
            "valueFrom",
            "secretKeyRef",
            "name",
        ],
    },
    Reference {
        kind: "Secret",
        from: &[],
        path: &["imagePullSecrets", "[]", "name"],
    },
    Reference {
        kind: "ServiceAccount",
        from: &[],
        path: &["serviceAccountName"],
    },
    Reference {
        kind: "PersistentVolumeClaim",
        from: &[],
        path: &["volumes", "[]", "persistentVolumeClaim", "claimName"],
    },
];

/// References outside pod specs.
const OTHER_REFERENCES: &[Reference] = &[
    Reference {
        kind: "Service",
        from: &["StatefulSet"],
        path: &["spec", "serviceName"],
    },
    Reference {
        kind: "ServiceAccount",
        from: &["RoleBinding", "ClusterRoleBinding"],
        path: &["subjects", "[]", "name"],
    },
    Reference {
        kind: "Role",
        from: &["RoleBinding"],
        path: &["roleRef", "name"],
    },
    Reference {
        kind: "ClusterRole",
        from: &["RoleBinding", "ClusterRoleBinding"],
        path: &["roleRef", "name"],
    },
    Reference {
        kind: "Deployment",
        from: &["HorizontalPodAutoscaler"],
        path: &["spec", "scaleTargetRef", "name"],
    },
    Reference {
        kind: "StatefulSet",
        from: &["HorizontalPodAutoscaler"],
        path: &["spec", "scaleTargetRef", "name"],
    },
    Reference {
        kind: "Secret",
        from: &["ServiceAccount"],
        path: &["secrets", "[]", "name"],
    },
    Reference {
        kind: "Secret",
        from: &["ServiceAccount"],
        path: &["imagePullSecrets", "[]", "name"],
    },
];

/// Rewrites references to resources whose names changed (prefix, suffix, hash), as
/// kustomize does once a root is built: a reference that names a resource's earlier name
/// now names its current one.
pub(crate) fn fix_name_references(resources: &mut [Resource]) {
    // (kind, namespace, earlier name) -> current name, for renamed resources.
    let mut renamed: Vec<(String, String, String, String)> = Vec::new();
    for r in resources.iter() {
        for (ns, name) in &r.previous {
            if name != r.name() {
                renamed.push((
                    r.kind().to_string(),
                    ns.clone(),
                    name.clone(),
                    r.name().to_string(),
                ));
            }
        }
    }
    if renamed.is_empty() {
        return;
    }
    for r in resources.iter_mut() {
        let kind = r.kind().to_string();
        let namespace = r.namespace().to_string();
        let previous_ns: Vec<String> = r.previous.iter().map(|(ns, _)| ns.clone()).collect();
        let lookup = |target: &str, old: &str| -> Option<String> {
            renamed
                .iter()
                .filter(|(k, _, n, _)| k == target && n == old)
                .find(|(_, ns, _, _)| {
                    ns == &namespace
                        || previous_ns.contains(ns)
                        || crate::model::is_cluster_scoped_kind(target)
                })
                .or_else(|| renamed.iter().find(|(k, _, n, _)| k == target && n == old))
                .map(|(_, _, _, new)| new.clone())
        };
        let rewrite = |path: &[&str], target: &str, object: &mut Owned| {
            visit_leaf(object, path, &mut |leaf: &mut Owned| {
                if let Some(new) = leaf.as_str().and_then(|old| lookup(target, old)) {
                    leaf.value = OwnedValue::Str(new);
                }
            });
        };
        if WORKLOADS.contains(&kind.as_str()) {
            let base: &[&str] = match kind.as_str() {
                "Pod" => POD_SPECS[2],
                "CronJob" => POD_SPECS[1],
                _ => POD_SPECS[0],
            };
            for reference in POD_REFERENCES {
                let path: Vec<&str> = base.iter().chain(reference.path).copied().collect();
                rewrite(&path, reference.kind, &mut r.object);
            }
        }
        for reference in OTHER_REFERENCES {
            if reference.from.contains(&kind.as_str()) {
                if reference.path[0] == "roleRef"
                    && r.object.str_at(&["roleRef", "kind"]) != Some(reference.kind)
                {
                    continue;
                }
                if reference.path[0] == "subjects" {
                    // Only ServiceAccount subjects name a resource of the build.
                    if let Some(OwnedValue::Seq(subjects)) =
                        r.object.get_mut("subjects").map(|s| &mut s.value)
                    {
                        for s in subjects {
                            if s.str_at(&["kind"]) == Some("ServiceAccount") {
                                rewrite(&["name"], "ServiceAccount", s);
                            }
                        }
                    }
                    continue;
                }
                if reference.path.contains(&"scaleTargetRef")
                    && r.object.str_at(&["spec", "scaleTargetRef", "kind"]) != Some(reference.kind)
                {
                    continue;
                }
                rewrite(reference.path, reference.kind, &mut r.object);
            }
        }
    }
}

/// Calls `f` on the node at `path` (`[]` steps into every item of a list), if present.
fn visit_leaf(node: &mut Owned, path: &[&str], f: &mut dyn FnMut(&mut Owned)) {
    let Some((first, rest)) = path.split_first() else {
        f(node);
        return;
    };
    if *first == "[]" {
        if let OwnedValue::Seq(items) = &mut node.value {
            for item in items {
                visit_leaf(item, rest, f);
            }
        }
        return;
    }
    if let Some(child) = node.get_mut(first) {
        visit_leaf(child, rest, f);
    }
}

/// What kustomize's output leaves out of every object: null or empty annotations, null
/// labels.
pub(crate) fn tidy_metadata(object: &mut Owned) {
    let Some(meta) = object.get_mut("metadata") else {
        return;
    };
    if meta
        .get("annotations")
        .is_some_and(|a| a.is_null() || matches!(&a.value, OwnedValue::Map(m) if m.is_empty()))
    {
        meta.remove("annotations");
    }
    if meta.get("labels").is_some_and(Owned::is_null) {
        meta.remove("labels");
    }
}

/// `replicas` then `images`, the last of kustomize's transformers the builder applies.
/// The values they set point at the kustomization's entry.
pub(crate) fn replicas_and_images(
    k: &Kustomization,
    resources: &mut [Resource],
) -> Result<(), Failure> {
    for entry in k.get("replicas").map_or(&[][..], Owned::items) {
        let (Some(name), Some(count)) = (entry.str_at(&["name"]), entry.get("count")) else {
            return Err(Failure::Error(
                "a `replicas` entry needs `name` and `count`".into(),
            ));
        };
        let count_at = entry
            .entries()
            .iter()
            .find(|(k, _)| k.as_str() == Some("count"))
            .and_then(|(k, _)| k.at);
        for r in resources.iter_mut() {
            let scalable = matches!(
                r.kind(),
                "Deployment" | "ReplicaSet" | "StatefulSet" | "ReplicationController"
            );
            if scalable && r.known_as(None, name) {
                if let Some(spec) = r.object.child_map("spec", None) {
                    spec.set("replicas", count.clone(), count_at);
                }
            }
        }
    }
    for entry in k.get("images").map_or(&[][..], Owned::items) {
        let Some(name) = entry.str_at(&["name"]) else {
            return Err(Failure::Error("an `images` entry needs `name`".into()));
        };
        let scalar = |key: &str| -> Option<String> {
            entry.get(key).and_then(|v| match &v.value {
                OwnedValue::Str(s) => Some(s.clone()),
                OwnedValue::Int(i) => Some(i.to_string()),
                OwnedValue::Float(f) => Some(f.to_string()),
                _ => None,
            })
        };
        let image = ImageChange {
            name,
            new_name: scalar("newName"),
            new_tag: scalar("newTag"),
            digest: scalar("digest"),
            at: entry.at,
        };
        for r in resources.iter_mut() {
            set_images(&mut r.object, &image, false);
        }
    }
    Ok(())
}

struct ImageChange<'k> {
    name: &'k str,
    new_name: Option<String>,
    new_tag: Option<String>,
    digest: Option<String>,
    at: Option<At>,
}

/// An image reference split into its name and the `:tag` / `@digest` after it.
fn split_image(image: &str) -> (&str, &str) {
    let end = image.find('@').unwrap_or(image.len());
    let (before_digest, _) = image.split_at(end);
    let name_end = match before_digest.rfind(':') {
        Some(colon) if !before_digest[colon..].contains('/') => colon,
        _ => end,
    };
    image.split_at(name_end)
}

/// Rewrites the `image` of every container (and init container) anywhere in `node`.
fn set_images(node: &mut Owned, change: &ImageChange<'_>, in_containers: bool) {
    match &mut node.value {
        OwnedValue::Map(entries) => {
            for (key, value) in entries.iter_mut() {
                let key = key.as_str().unwrap_or_default();
                if in_containers && key == "image" {
                    let Some(image) = value.as_str() else {
                        continue;
                    };
                    let (name, rest) = split_image(image);
                    if name != change.name {
                        continue;
                    }
                    let name = change.new_name.as_deref().unwrap_or(name);
                    let rest = match (&change.digest, &change.new_tag) {
                        (Some(d), _) => format!("@{d}"),
                        (None, Some(t)) => format!(":{t}"),
                        (None, None) => rest.to_string(),
                    };
                    *value = Owned::str(&format!("{name}{rest}"), change.at);
                } else {
                    set_images(
                        value,
                        change,
                        matches!(key, "containers" | "initContainers"),
                    );
                }
            }
        }
        OwnedValue::Seq(items) => {
            for item in items {
                set_images(item, change, in_containers);
            }
        }
        _ => {}
    }
}
