//! Patches: strategic merge (`patchesStrategicMerge`, `patches` with a mapping) and JSON
//! 6902 (`patchesJson6902`, `patches` with a list of operations), inline or from files,
//! with `target` selectors. What a patch sets keeps the patch's positions, so a finding on
//! it points into the patch.

use regex::Regex;

use super::build::{line_at, Context, Failure, Kustomization, Resource};
use crate::load::files::display_path;
use crate::yaml::owned::{At, Owned, OwnedValue};

/// List fields of Kubernetes' own kinds that merge item by item, by this key (their
/// `patchMergeKey`); any other list of those kinds is replaced whole.
const MERGE_KEYS: &[(&str, &str)] = &[
    ("containers", "name"),
    ("initContainers", "name"),
    ("ephemeralContainers", "name"),
    ("env", "name"),
    ("volumes", "name"),
    ("volumeMounts", "mountPath"),
    ("volumeDevices", "devicePath"),
    ("imagePullSecrets", "name"),
    ("hostAliases", "ip"),
    ("topologySpreadConstraints", "topologyKey"),
    ("resourceClaims", "name"),
];

/// For kinds kustomize has no schema for (custom resources), a list merges by the first of
/// these keys that every item has; else it is replaced.
const ASSOCIATIVE_KEYS: &[&str] = &[
    "mountPath",
    "devicePath",
    "ip",
    "type",
    "topologyKey",
    "name",
    "containerPort",
];

/// Whether kustomize knows the kind's schema: Kubernetes' own API groups.
fn is_builtin_group(group: &str) -> bool {
    !group.contains('.') || group.ends_with(".k8s.io")
}

/// The key a list at `field` merges by, if it merges by one.
fn merge_key(field: &str, builtin: bool, base: &[Owned], patch: &[Owned]) -> Option<&'static str> {
    let all_have = |key: &str| {
        base.iter()
            .chain(patch)
            .filter(|i| i.get("$patch").is_none())
            .all(|i| i.get(key).is_some())
    };
    if builtin {
        if field == "ports" {
            return ["containerPort", "port"].into_iter().find(|k| all_have(k));
        }
        return MERGE_KEYS
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, k)| *k);
    }
    ASSOCIATIVE_KEYS.iter().copied().find(|k| all_have(k))
}

/// A patch without its directives (`$patch`, `$setElementOrder/...`), as it is written
/// into the object when the object has nothing there.
fn strip(node: &Owned) -> Owned {
    let value = match &node.value {
        OwnedValue::Map(entries) => OwnedValue::Map(
            entries
                .iter()
                .filter(|(k, v)| !k.as_str().unwrap_or_default().starts_with('$') && !v.is_null())
                .map(|(k, v)| (k.clone(), strip(v)))
                .collect(),
        ),
        OwnedValue::Seq(items) => OwnedValue::Seq(
            items
                .iter()
                .filter(|i| i.str_at(&["$patch"]) != Some("delete"))
                .map(strip)
                .collect(),
        ),
        other => other.clone(),
    };
    Owned::new(value, node.at)
}

/// Merges `patch` into `base` as a strategic merge patch. False when the patch deletes the
/// whole object (`$patch: delete` at the top).
pub(crate) fn strategic_merge(base: &mut Owned, patch: &Owned, builtin: bool) -> bool {
    match patch.str_at(&["$patch"]) {
        Some("delete") => return false,
        Some("replace") => {
            *base = strip(patch);
            return true;
        }
        _ => {}
    }
    merge_map(base, patch, builtin);
    // kustomize drops the null fields of a Kubernetes kind it merges a patch into (it
    // writes the object back through its schema).
    if builtin {
        drop_nulls(base);
    }
    true
}

fn drop_nulls(node: &mut Owned) {
    match &mut node.value {
        OwnedValue::Map(entries) => {
            entries.retain(|(_, v)| !v.is_null());
            entries.iter_mut().for_each(|(_, v)| drop_nulls(v));
        }
        OwnedValue::Seq(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

fn merge_map(base: &mut Owned, patch: &Owned, builtin: bool) {
    if !matches!(base.value, OwnedValue::Map(_)) {
        *base = strip(patch);
        return;
    }
    if let Some(retain) = patch.get("$retainKeys") {
        let keep: Vec<&str> = retain.items().iter().filter_map(Owned::as_str).collect();
        if let OwnedValue::Map(entries) = &mut base.value {
            entries.retain(|(k, _)| keep.contains(&k.as_str().unwrap_or_default()));
        }
    }
    for (key, value) in patch.entries() {
        let name = key.as_str().unwrap_or_default();
        if let Some(list) = name.strip_prefix("$deleteFromPrimitiveList/") {
            let gone: Vec<serde_json::Value> = value.items().iter().map(Owned::to_json).collect();
            if let Some(OwnedValue::Seq(items)) = base.get_mut(list).map(|l| &mut l.value) {
                items.retain(|i| !gone.contains(&i.to_json()));
            }
            continue;
        }
        if name.starts_with('$') {
            continue;
        }
        if value.is_null() {
            base.remove(name);
            continue;
        }
        let Some(existing) = base.get_mut(name) else {
            base.set(name, strip(value), key.at);
            continue;
        };
        match (&mut existing.value, &value.value) {
            (OwnedValue::Map(_), OwnedValue::Map(_)) => match value.str_at(&["$patch"]) {
                Some("delete") => {
                    base.remove(name);
                }
                Some("replace") => {
                    base.set(name, strip(value), key.at);
                }
                _ => merge_map(existing, value, builtin),
            },
            (OwnedValue::Seq(items), OwnedValue::Seq(patch_items)) => {
                match merge_key(name, builtin, items, patch_items) {
                    Some(k)
                        if patch_items
                            .iter()
                            .all(|i| matches!(i.value, OwnedValue::Map(_))) =>
                    {
                        if patch_items
                            .iter()
                            .any(|i| i.str_at(&["$patch"]) == Some("replace"))
                        {
                            base.set(name, strip(value), key.at);
                            continue;
                        }
                        merge_list(items, patch_items, k, builtin);
                    }
                    _ => {
                        base.set(name, strip(value), key.at);
                    }
                }
            }
            _ => {
                base.set(name, strip(value), key.at);
            }
        }
    }
}

/// Merges list items by `key`. As kustomize orders them: the patch's items first, in its
/// order (merged into the object's item of the same key), then the object's other items.
fn merge_list(items: &mut Vec<Owned>, patch: &[Owned], key: &str, builtin: bool) {
    let mut rest: Vec<Option<Owned>> = std::mem::take(items).into_iter().map(Some).collect();
    for p in patch {
        let id = p.get(key).map(Owned::to_json);
        let found = rest.iter().position(|i| {
            id.is_some() && i.as_ref().and_then(|i| i.get(key)).map(Owned::to_json) == id
        });
        let existing = found.and_then(|i| rest[i].take());
        match (existing, p.str_at(&["$patch"])) {
            (_, Some("delete")) => {}
            (Some(mut item), _) => {
                merge_map(&mut item, p, builtin);
                items.push(item);
            }
            (None, _) => items.push(strip(p)),
        }
    }
    items.extend(rest.into_iter().flatten());
}

/// A `target:` selector of a patch.
struct Target {
    group: Option<Regex>,
    version: Option<Regex>,
    kind: Option<Regex>,
    name: Option<Regex>,
    namespace: Option<Regex>,
    labels: Option<crate::model::Selector>,
    annotations: Option<crate::model::Selector>,
}

fn anchored(field: &str, node: Option<&Owned>) -> Result<Option<Regex>, Failure> {
    let Some(text) = node.and_then(Owned::as_str) else {
        return Ok(None);
    };
    Regex::new(&format!("^(?:{text})$")).map(Some).map_err(|e| {
        Failure::Error(format!(
            "target {field} {text:?} is not a valid regular expression: {e}"
        ))
    })
}

impl Target {
    fn read(node: &Owned) -> Result<Target, Failure> {
        let selector = |key: &str| -> Result<Option<crate::model::Selector>, Failure> {
            node.get(key)
                .and_then(Owned::as_str)
                .map(|s| {
                    parse_selector(s).ok_or_else(|| {
                        Failure::Error(format!(
                            "target {key} {s:?} is not a label selector kustomize reads"
                        ))
                    })
                })
                .transpose()
        };
        Ok(Target {
            group: anchored("group", node.get("group"))?,
            version: anchored("version", node.get("version"))?,
            kind: anchored("kind", node.get("kind"))?,
            name: anchored("name", node.get("name"))?,
            namespace: anchored("namespace", node.get("namespace"))?,
            labels: selector("labelSelector")?,
            annotations: selector("annotationSelector")?,
        })
    }

    fn matches(&self, r: &Resource) -> bool {
        let version = r.api_version().rsplit('/').next().unwrap_or_default();
        let is = |re: &Option<Regex>, s: &str| re.as_ref().is_none_or(|re| re.is_match(s));
        let names = std::iter::once((r.namespace(), r.name()))
            .chain(r.previous.iter().map(|(ns, n)| (ns.as_str(), n.as_str())));
        let named = names.clone().any(|(_, n)| is(&self.name, n))
            && names.clone().any(|(ns, _)| is(&self.namespace, ns));
        let labels = |key: &str| {
            let mut labels = crate::model::Labels::new();
            for (k, v) in r
                .object
                .at_path(&["metadata", key])
                .map_or(&[][..], Owned::entries)
            {
                if let (Some(k), Some(v)) = (k.as_str(), v.as_str()) {
                    labels.insert(k, v);
                }
            }
            labels
        };
        is(&self.group, r.group())
            && is(&self.version, version)
            && is(&self.kind, r.kind())
            && named
            && self
                .labels
                .as_ref()
                .is_none_or(|s| s.matches(&labels("labels")))
            && self
                .annotations
                .as_ref()
                .is_none_or(|s| s.matches(&labels("annotations")))
    }
}

/// A label selector string as kubectl reads it (`app=web,tier!=db,env in (a,b),!legacy,
/// canary`).
fn parse_selector(text: &str) -> Option<crate::model::Selector> {
    use crate::model::selector::{Operator, Requirement};
    let mut requirements = Vec::new();
    // Split on commas outside parentheses.
    let (mut depth, mut start, mut parts) = (0, 0, Vec::new());
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    for part in parts.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
        let set = |rest: &str| -> Option<Vec<String>> {
            let inner = rest.trim().strip_prefix('(')?.strip_suffix(')')?;
            Some(inner.split(',').map(|v| v.trim().to_string()).collect())
        };
        let requirement = if let Some((k, v)) = part.split_once("!=") {
            Requirement {
                key: k.trim().into(),
                op: Operator::NotIn(vec![v.trim().into()]),
            }
        } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
            Requirement {
                key: k.trim().into(),
                op: Operator::In(vec![v.trim().into()]),
            }
        } else if let Some((k, rest)) = part.split_once(" notin ") {
            Requirement {
                key: k.trim().into(),
                op: Operator::NotIn(set(rest)?),
            }
        } else if let Some((k, rest)) = part.split_once(" in ") {
            Requirement {
                key: k.trim().into(),
                op: Operator::In(set(rest)?),
            }
        } else if let Some(k) = part.strip_prefix('!') {
            Requirement {
                key: k.trim().into(),
                op: Operator::DoesNotExist,
            }
        } else if part.contains(char::is_whitespace) {
            return None;
        } else {
            Requirement {
                key: part.into(),
                op: Operator::Exists,
            }
        };
        requirements.push(requirement);
    }
    Some(crate::model::Selector { requirements })
}

/// What a patch entry holds: its parsed documents, with the file they are in.
struct PatchText {
    docs: Vec<Owned>,
}

/// The patch of an entry: inline (`patch:` or an inline string) or from a file (`path:`).
fn patch_text(
    cx: &mut Context<'_, '_>,
    k: &Kustomization,
    path: Option<&Owned>,
    inline: Option<&Owned>,
) -> Result<PatchText, Failure> {
    if let Some(inline) = inline {
        let Some(text) = inline.as_str() else {
            return Err(Failure::Error("a patch must be a string".into()));
        };
        return inline_patch(text, inline.at).map(|docs| PatchText { docs });
    }
    let Some(file) = path.and_then(Owned::as_str) else {
        return Err(Failure::Error("a patch needs `path` or `patch`".into()));
    };
    let full = k.dir.join(file);
    let index = cx
        .files
        .read(&full)
        .map_err(|e| Failure::Error(format!("patch {file}: {e}")))?;
    let docs = cx.files.documents(index);
    Ok(PatchText {
        docs: docs
            .trees
            .iter()
            .map(|(tree, id)| Owned::from_node(tree.node(*id), index as u32))
            .collect(),
    })
}

/// An inline patch: parsed from the string; every node points at the string in the
/// kustomization (positions inside a block string are not kept).
fn inline_patch(text: &str, at: Option<At>) -> Result<Vec<Owned>, Failure> {
    let file = crate::yaml::Text::new(text.to_string());
    let split = crate::yaml::split_documents(&file);
    let (tree, roots) = crate::yaml::parse_documents(&file, &split);
    let mut docs = Vec::new();
    for root in roots {
        match root {
            Ok(Some(id)) if !tree.node(id).is_null() => {
                let json = tree.node(id).to_json();
                docs.push(Owned::from_json(&json, at));
            }
            Ok(_) => {}
            Err(e) => {
                return Err(Failure::Error(format!("inline patch: invalid YAML: {e}")));
            }
        }
    }
    Ok(docs)
}

/// `patchesStrategicMerge` then `patches`, in kustomize's order.
pub(crate) fn apply_patches(
    cx: &mut Context<'_, '_>,
    k: &Kustomization,
    resources: &mut Vec<Resource>,
) -> Result<(), Failure> {
    if let Some(list) = k.get("patchesStrategicMerge") {
        for entry in list.items() {
            let Some(text) = entry.as_str() else {
                return Err(Failure::Error(
                    "`patchesStrategicMerge` must list strings".into(),
                ));
            };
            // kustomize reads an entry with a line break as the patch itself.
            let patch = if text.contains('\n') {
                patch_text(cx, k, None, Some(entry))?
            } else {
                patch_text(cx, k, Some(entry), None)?
            };
            for doc in &patch.docs {
                let line = line_at(cx, entry.at);
                apply_smp_by_id(resources, doc, line, k)?;
            }
        }
    }
    if let Some(list) = k.get("patches") {
        for entry in list.items() {
            let patch = patch_text(cx, k, entry.get("path"), entry.get("patch"))?;
            let target = entry.get("target").map(Target::read).transpose()?;
            let allow_name_change = entry
                .at_path(&["options", "allowNameChange"])
                .is_some_and(|b| matches!(b.value, OwnedValue::Bool(true)));
            for doc in &patch.docs {
                if matches!(doc.value, OwnedValue::Seq(_)) {
                    let Some(target) = &target else {
                        return Err(Failure::Error(
                            "a JSON 6902 patch under `patches` needs a `target`".into(),
                        ));
                    };
                    apply_json6902(resources, target, doc)?;
                    continue;
                }
                match &target {
                    None => apply_smp_by_id(resources, doc, line_at(cx, entry.at), k)?,
                    Some(target) => {
                        let mut keep = Vec::with_capacity(resources.len());
                        for mut r in resources.drain(..) {
                            if target.matches(&r) {
                                let mut doc = doc.clone();
                                if !allow_name_change {
                                    if let Some(meta) = doc.get_mut("metadata") {
                                        meta.remove("name");
                                        meta.remove("namespace");
                                    }
                                }
                                let builtin = is_builtin_group(r.group());
                                if !strategic_merge(&mut r.object, &doc, builtin) {
                                    continue;
                                }
                            }
                            keep.push(r);
                        }
                        *resources = keep;
                    }
                }
            }
        }
    }
    Ok(())
}

/// A strategic merge patch applied to the resource its own kind and name pick.
fn apply_smp_by_id(
    resources: &mut Vec<Resource>,
    patch: &Owned,
    line: u32,
    k: &Kustomization,
) -> Result<(), Failure> {
    let kind = patch.str_at(&["kind"]).unwrap_or_default();
    let name = patch.str_at(&["metadata", "name"]).unwrap_or_default();
    let namespace = patch.str_at(&["metadata", "namespace"]);
    let group = patch
        .str_at(&["apiVersion"])
        .and_then(|a| a.split_once('/'))
        .map_or("", |(g, _)| g);
    let matching: Vec<usize> = resources
        .iter()
        .enumerate()
        .filter(|(_, r)| r.kind() == kind && r.group() == group && r.known_as(namespace, name))
        .map(|(i, _)| i)
        .collect();
    let [i] = matching[..] else {
        return Err(Failure::Error(format!(
            "patch for {kind} {name} (line {line} of {}) matches {} resources, kustomize needs exactly one",
            display_path(&k.dir),
            matching.len()
        )));
    };
    let builtin = is_builtin_group(group);
    if !strategic_merge(&mut resources[i].object, patch, builtin) {
        resources.remove(i);
    }
    Ok(())
}

/// `patchesJson6902` entries.
pub(crate) fn apply_json6902_field(
    cx: &mut Context<'_, '_>,
    k: &Kustomization,
    resources: &mut [Resource],
) -> Result<(), Failure> {
    let Some(list) = k.get("patchesJson6902") else {
        return Ok(());
    };
    for entry in list.items() {
        let patch = patch_text(cx, k, entry.get("path"), entry.get("patch"))?;
        let Some(target) = entry.get("target") else {
            return Err(Failure::Error(
                "a `patchesJson6902` entry needs a `target`".into(),
            ));
        };
        let target = Target::read(target)?;
        for doc in &patch.docs {
            apply_json6902(resources, &target, doc)?;
        }
    }
    Ok(())
}

fn apply_json6902(resources: &mut [Resource], target: &Target, ops: &Owned) -> Result<(), Failure> {
    for r in resources.iter_mut().filter(|r| target.matches(r)) {
        for op in ops.items() {
            json6902_op(&mut r.object, op).map_err(|e| {
                Failure::Error(format!("JSON patch on {} {}: {e}", r.kind(), r.name()))
            })?;
        }
    }
    Ok(())
}

/// A JSON pointer's steps (`~1` is `/`, `~0` is `~`).
fn pointer(path: &str) -> Result<Vec<String>, String> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = path.strip_prefix('/') else {
        return Err(format!("path {path:?} must start with /"));
    };
    Ok(rest
        .split('/')
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect())
}

fn child<'a>(node: &'a mut Owned, step: &str) -> Option<&'a mut Owned> {
    match &mut node.value {
        OwnedValue::Map(entries) => entries
            .iter_mut()
            .find(|(k, _)| k.as_str() == Some(step))
            .map(|(_, v)| v),
        OwnedValue::Seq(items) => step.parse::<usize>().ok().and_then(|i| items.get_mut(i)),
        _ => None,
    }
}

fn lookup<'a>(node: &'a mut Owned, steps: &[String]) -> Option<&'a mut Owned> {
    steps.iter().try_fold(node, |n, s| child(n, s))
}

fn json6902_op(object: &mut Owned, op: &Owned) -> Result<(), String> {
    let name = op.str_at(&["op"]).ok_or("an operation needs `op`")?;
    let path = pointer(op.str_at(&["path"]).ok_or("an operation needs `path`")?)?;
    // The value keeps the patch's position; its key is said to be the patch's `value:`.
    let value_entry = op
        .entries()
        .iter()
        .find(|(k, _)| k.as_str() == Some("value"));
    let value = || {
        value_entry
            .map(|(_, v)| v.clone())
            .ok_or_else(|| format!("`{name}` needs a `value`"))
    };
    let key_at = value_entry.and_then(|(k, _)| k.at);
    match name {
        "add" => insert(object, &path, value()?, key_at),
        "replace" => {
            let new = value()?;
            let target = lookup(object, &path).ok_or_else(|| {
                format!(
                    "nothing to replace at {}",
                    op.str_at(&["path"]).unwrap_or_default()
                )
            })?;
            *target = new;
            // The key now says where its value came from: the patch.
            if let Some((last, parents)) = path.split_last() {
                if let Some(OwnedValue::Map(entries)) =
                    lookup(object, parents).map(|p| &mut p.value)
                {
                    if let Some((k, _)) = entries.iter_mut().find(|(k, _)| k.as_str() == Some(last))
                    {
                        k.at = key_at;
                    }
                }
            }
            Ok(())
        }
        "remove" => remove(object, &path).map(drop),
        "move" | "copy" => {
            let from = pointer(op.str_at(&["from"]).ok_or("`move`/`copy` needs `from`")?)?;
            let moved = if name == "move" {
                remove(object, &from)?
            } else {
                lookup(object, &from).cloned().ok_or_else(|| {
                    format!("nothing at {}", op.str_at(&["from"]).unwrap_or_default())
                })?
            };
            insert(object, &path, moved, key_at)
        }
        "test" => {
            let want = value()?.to_json();
            match lookup(object, &path) {
                Some(found) if found.to_json() == want => Ok(()),
                _ => Err(format!(
                    "test failed at {}",
                    op.str_at(&["path"]).unwrap_or_default()
                )),
            }
        }
        other => Err(format!("unknown operation {other:?}")),
    }
}

fn insert(
    object: &mut Owned,
    path: &[String],
    value: Owned,
    key_at: Option<At>,
) -> Result<(), String> {
    let Some((last, parents)) = path.split_last() else {
        *object = value;
        return Ok(());
    };
    let parent =
        lookup(object, parents).ok_or_else(|| format!("no parent for /{}", path.join("/")))?;
    match &mut parent.value {
        OwnedValue::Map(_) => {
            parent.set(last, value, key_at);
            Ok(())
        }
        OwnedValue::Seq(items) => {
            let at = if last == "-" {
                items.len()
            } else {
                last.parse::<usize>()
                    .ok()
                    .filter(|i| *i <= items.len())
                    .ok_or_else(|| format!("index {last} out of range"))?
            };
            items.insert(at, value);
            Ok(())
        }
        _ => Err(format!("/{} is not a mapping or list", parents.join("/"))),
    }
}

fn remove(object: &mut Owned, path: &[String]) -> Result<Owned, String> {
    let Some((last, parents)) = path.split_last() else {
        return Err("cannot remove the whole object".into());
    };
    let parent =
        lookup(object, parents).ok_or_else(|| format!("nothing at /{}", path.join("/")))?;
    match &mut parent.value {
        OwnedValue::Map(_) => parent
            .remove(last)
            .ok_or_else(|| format!("nothing at /{}", path.join("/"))),
        OwnedValue::Seq(items) => {
            let i = last
                .parse::<usize>()
                .ok()
                .filter(|i| *i < items.len())
                .ok_or_else(|| format!("index {last} out of range"))?;
            Ok(items.remove(i))
        }
        _ => Err(format!("nothing at /{}", path.join("/"))),
    }
}
