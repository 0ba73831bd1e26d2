//! `configMapGenerator` and `secretGenerator`, with `generatorOptions`, as kustomize
//! (v5, `sigs.k8s.io/kustomize/api`) makes them: keys from `envs` (and the older `env`),
//! then `literals`, then `files`; the generated object added, merged into or replacing one
//! built before (`behavior`); and, once the root is built, the content hash appended to the
//! name (unless `disableNameSuffixHash`), after which references to the old name are
//! rewritten like any other rename.
//!
//! Positions: a generated object points at its generator entry in the kustomization, each
//! data value at the `literals` / `files` / `envs` item it came from (never into the file it
//! was read from: a Secret's source file is not shown in findings).

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine;

use super::build::{type_name, Failure, Kustomization, Resource};
use crate::load::files::display_path;
use crate::yaml::owned::{At, Owned, OwnedValue};

/// What a generator does when an object of its kind and name is already built.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Behavior {
    Create,
    Merge,
    Replace,
}

/// A generator's options after the kustomization's `generatorOptions` are merged in (the
/// generator's own labels and annotations win, either side's `true` flags stand).
struct Options {
    labels: BTreeMap<String, Owned>,
    annotations: BTreeMap<String, Owned>,
    hash: bool,
    immutable: bool,
}

fn flag(options: Option<&Owned>, key: &str) -> bool {
    matches!(
        options.and_then(|o| o.get(key)).map(|v| &v.value),
        Some(OwnedValue::Bool(true))
    )
}

/// The string pairs of `options.<key>` (labels or annotations), values as written.
fn string_map(
    options: Option<&Owned>,
    key: &str,
    into: &mut BTreeMap<String, Owned>,
) -> Result<(), Failure> {
    let Some(map) = options.and_then(|o| o.get(key)).filter(|m| !m.is_null()) else {
        return Ok(());
    };
    if !matches!(map.value, OwnedValue::Map(_)) {
        return Err(Failure::Error(format!(
            "generator option `{key}` must be a mapping"
        )));
    }
    for (k, v) in map.entries() {
        let Some(k) = k.as_str() else { continue };
        let text = match &v.value {
            OwnedValue::Str(s) => s.clone(),
            OwnedValue::Bool(b) => b.to_string(),
            OwnedValue::Int(i) => i.to_string(),
            OwnedValue::Float(f) => f.to_string(),
            OwnedValue::Null => String::new(),
            _ => {
                return Err(Failure::Error(format!(
                    "generator option `{key}`: the value of {k} must be a string"
                )))
            }
        };
        into.entry(k.to_string())
            .or_insert_with(|| Owned::str(&text, v.at));
    }
    Ok(())
}

fn options(local: Option<&Owned>, global: Option<&Owned>) -> Result<Options, Failure> {
    let mut labels = BTreeMap::new();
    let mut annotations = BTreeMap::new();
    // The generator's own first: a key already there is not overwritten by the global one.
    string_map(local, "labels", &mut labels)?;
    string_map(global, "labels", &mut labels)?;
    string_map(local, "annotations", &mut annotations)?;
    string_map(global, "annotations", &mut annotations)?;
    Ok(Options {
        labels,
        annotations,
        hash: !flag(local, "disableNameSuffixHash") && !flag(global, "disableNameSuffixHash"),
        immutable: flag(local, "immutable") || flag(global, "immutable"),
    })
}

/// Runs the kustomization's generators over the resources built so far (after resources
/// and components, before patches and transformers, as kustomize does).
pub(crate) fn run(k: &Kustomization, resources: &mut Vec<Resource>) -> Result<(), Failure> {
    let global = k.get("generatorOptions");
    for (field, kind) in [
        ("configMapGenerator", "ConfigMap"),
        ("secretGenerator", "Secret"),
    ] {
        let Some(list) = k.get(field) else { continue };
        if !matches!(list.value, OwnedValue::Seq(_)) {
            return Err(Failure::Error(format!("`{field}` must be a list")));
        }
        for entry in list.items() {
            if !matches!(entry.value, OwnedValue::Map(_)) {
                return Err(Failure::Error(format!(
                    "`{field}` must list mappings, found {}",
                    type_name(entry)
                )));
            }
            let (resource, behavior) = generate(k, field, kind, entry, global)?;
            absorb(resources, resource, behavior)?;
        }
    }
    Ok(())
}

/// One key and value a generator puts into `data` / `binaryData`, with the item it came
/// from.
struct Pair {
    key: String,
    value: Vec<u8>,
    at: Option<At>,
}

fn generate(
    k: &Kustomization,
    field: &str,
    kind: &str,
    entry: &Owned,
    global: Option<&Owned>,
) -> Result<(Resource, Behavior), Failure> {
    let name_node = entry
        .get("name")
        .filter(|n| n.as_str().is_some_and(|s| !s.is_empty()));
    let Some(name_node) = name_node else {
        return Err(Failure::Error(format!("a `{field}` entry needs `name`")));
    };
    let name = name_node.as_str().unwrap_or_default();
    // kustomize takes any other value (kubeflow's manifests write `add`) as unspecified,
    // which adds like `create`.
    let behavior = match entry.str_at(&["behavior"]) {
        Some("merge") => Behavior::Merge,
        Some("replace") => Behavior::Replace,
        _ => Behavior::Create,
    };
    let options = options(entry.get("options"), global)?;
    let pairs = pairs(k, field, name, entry)?;

    let key_at = |key: &str| {
        entry
            .entries()
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .and_then(|(k, _)| k.at)
    };
    let mut object = Owned::map(entry.at);
    object.set("apiVersion", Owned::str("v1", entry.at), entry.at);
    object.set("kind", Owned::str(kind, entry.at), entry.at);
    let mut metadata = Owned::map(entry.at);
    metadata.set("name", name_node.clone(), key_at("name"));
    if let Some(ns) = entry
        .get("namespace")
        .filter(|n| n.as_str().is_some_and(|s| !s.is_empty()))
    {
        metadata.set("namespace", ns.clone(), key_at("namespace"));
    }
    for (key, values) in [
        ("labels", &options.labels),
        ("annotations", &options.annotations),
    ] {
        if values.is_empty() {
            continue;
        }
        let mut map = Owned::map(entry.at);
        for (k, v) in values {
            map.set(k, v.clone(), v.at);
        }
        metadata.set(key, map, entry.at);
    }
    object.set("metadata", metadata, entry.at);
    if kind == "Secret" {
        let t = entry
            .get("type")
            .filter(|t| t.as_str().is_some_and(|s| !s.is_empty()))
            .cloned()
            .unwrap_or_else(|| Owned::str("Opaque", entry.at));
        object.set("type", t, key_at("type"));
    }
    let mut data = BTreeMap::new();
    let mut binary = BTreeMap::new();
    for p in pairs {
        // kustomize's own encoding: Secret values always base64, ConfigMap values as text
        // when they are UTF-8, else base64 under `binaryData`.
        match (kind, String::from_utf8(p.value)) {
            ("ConfigMap", Ok(text)) => data.insert(p.key, Owned::str(&text, p.at)),
            (_, Ok(text)) => data.insert(p.key, Owned::str(&encode_base64(text.as_bytes()), p.at)),
            ("ConfigMap", Err(e)) => {
                binary.insert(p.key, Owned::str(&encode_base64(e.as_bytes()), p.at))
            }
            (_, Err(e)) => data.insert(p.key, Owned::str(&encode_base64(e.as_bytes()), p.at)),
        };
    }
    for (key, values) in [("data", data), ("binaryData", binary)] {
        // A Secret always gets `data`, empty or not; a ConfigMap only the sections it fills.
        if values.is_empty() && !(kind == "Secret" && key == "data") {
            continue;
        }
        let mut map = Owned::map(entry.at);
        for (k, v) in values {
            let at = v.at;
            map.set(&k, v, at);
        }
        object.set(key, map, entry.at);
    }
    if options.immutable {
        object.set(
            "immutable",
            Owned::new(OwnedValue::Bool(true), entry.at),
            entry.at,
        );
    }
    Ok((
        Resource {
            object,
            file: k.file,
            previous: Vec::new(),
            needs_hash: options.hash,
        },
        behavior,
    ))
}

/// The key/value pairs of a generator entry: `envs` (and `env`), `literals`, `files`.
fn pairs(k: &Kustomization, field: &str, name: &str, entry: &Owned) -> Result<Vec<Pair>, Failure> {
    let strings = |key: &str| -> Result<Vec<(String, Option<At>)>, Failure> {
        match entry.get(key).map(|v| &v.value) {
            None | Some(OwnedValue::Null) => Ok(Vec::new()),
            Some(OwnedValue::Str(s)) if key == "env" => {
                Ok(vec![(s.clone(), entry.get(key).and_then(|v| v.at))])
            }
            Some(OwnedValue::Seq(items)) => items
                .iter()
                .map(|i| match i.as_str() {
                    Some(s) => Ok((s.to_string(), i.at)),
                    None => Err(Failure::Error(format!(
                        "`{field}` {name}: `{key}` must list strings"
                    ))),
                })
                .collect(),
            Some(_) => Err(Failure::Error(format!(
                "`{field}` {name}: `{key}` must be a list of strings"
            ))),
        }
    };
    let mut out = Vec::new();
    let mut envs = strings("envs")?;
    envs.extend(strings("env")?);
    for (path, at) in envs {
        let bytes = read(k, &path)?;
        for (key, value) in env_pairs(&bytes)
            .map_err(|e| Failure::Error(format!("`{field}` {name}: env file {path}: {e}")))?
        {
            out.push(Pair {
                key,
                value: value.into_bytes(),
                at,
            });
        }
    }
    for (literal, at) in strings("literals")? {
        let Some((key, value)) = literal.split_once('=').filter(|(k, _)| !k.is_empty()) else {
            return Err(Failure::Error(format!(
                "`{field}` {name}: invalid literal `{literal}`, expected key=value"
            )));
        };
        out.push(Pair {
            key: key.to_string(),
            value: unquote(value).as_bytes().to_vec(),
            at,
        });
    }
    for (source, at) in strings("files")? {
        let (key, path) = match source.split_once('=') {
            None => {
                let key = Path::new(&source)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                (key, source.clone())
            }
            Some((key, path)) if !key.is_empty() && !path.is_empty() && !path.contains('=') => {
                (key.to_string(), path.to_string())
            }
            Some(_) => {
                return Err(Failure::Error(format!(
                    "`{field}` {name}: invalid file source `{source}`, expected [key=]path"
                )))
            }
        };
        let value = read(k, &path)?;
        out.push(Pair { key, value, at });
    }
    let mut seen = std::collections::HashSet::new();
    for p in &out {
        if !valid_key(&p.key) {
            return Err(Failure::Error(format!(
                "`{field}` {name}: `{}` is not a valid key (letters, digits, `-`, `_`, `.`)",
                p.key
            )));
        }
        if !seen.insert(p.key.as_str()) {
            return Err(Failure::Error(format!(
                "`{field}` {name} repeats the key `{}`",
                p.key
            )));
        }
    }
    Ok(out)
}

/// A generator's file, which kustomize only reads from inside the kustomization's own
/// directory.
fn read(k: &Kustomization, path: &str) -> Result<Vec<u8>, Failure> {
    let full = k.dir.join(path);
    let dir = std::fs::canonicalize(&k.dir).unwrap_or_else(|_| k.dir.clone());
    let canonical = std::fs::canonicalize(&full)
        .map_err(|e| Failure::Error(format!("generator file {}: {e}", display_path(&full))))?;
    if !canonical.starts_with(&dir) {
        return Err(Failure::Error(format!(
            "generator file {} is outside {} (kustomize refuses it: security; file is not in or below the kustomization's directory)",
            display_path(&full),
            display_path(&k.dir)
        )));
    }
    if canonical.is_dir() {
        return Err(Failure::Error(format!(
            "generator file {} is a directory",
            display_path(&full)
        )));
    }
    std::fs::read(&canonical)
        .map_err(|e| Failure::Error(format!("generator file {}: {e}", display_path(&full))))
}

/// Strips one pair of matching surrounding quotes, as kustomize does for literal values.
fn unquote(value: &str) -> &str {
    let b = value.as_bytes();
    if b.len() >= 2 && b[0] == b[b.len() - 1] && (b[0] == b'"' || b[0] == b'\'') {
        &value[1..value.len() - 1]
    } else {
        value
    }
}

/// A ConfigMap / Secret data key: `[-._a-zA-Z0-9]+`, at most 253 characters.
fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 253
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// The pairs of an env file: `KEY=value` lines (a line without `=` gives an empty value),
/// blank lines and `#` comments skipped, leading white space and a BOM on the first line
/// dropped, values kept as written.
fn env_pairs(bytes: &[u8]) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let line =
            std::str::from_utf8(raw).map_err(|_| format!("line {} is not valid UTF-8", i + 1))?;
        let line = if i == 0 {
            line.strip_prefix('\u{feff}').unwrap_or(line)
        } else {
            line
        };
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line.split_once('=').unwrap_or((line, ""));
        let valid = key
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || matches!(b, b'-' | b'_' | b'.'))
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !valid {
            return Err(format!(
                "line {}: `{key}` is not a valid environment variable name",
                i + 1
            ));
        }
        out.push((key.to_string(), value.to_string()));
    }
    Ok(out)
}

/// Base64 as kustomize writes generated data: standard alphabet, and when the encoding is
/// 70 characters or longer, cut into lines of 70, each ending in a newline.
fn encode_base64(bytes: &[u8]) -> String {
    const LINE: usize = 70;
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    if encoded.len() < LINE {
        return encoded;
    }
    let mut out = String::with_capacity(encoded.len() + encoded.len() / LINE + 1);
    for chunk in encoded.as_bytes().chunks(LINE) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out
}

/// Adds a generated object, or merges it into / replaces the one built before with its
/// kind, namespace and name.
fn absorb(resources: &mut Vec<Resource>, new: Resource, behavior: Behavior) -> Result<(), Failure> {
    let kind = new.kind().to_string();
    let name = new.name().to_string();
    let namespace = new.namespace().to_string();
    let matches: Vec<usize> = resources
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            r.kind() == kind && r.group().is_empty() && r.known_as(Some(&namespace), &name)
        })
        .map(|(i, _)| i)
        .collect();
    let index = match (matches.as_slice(), behavior) {
        ([], Behavior::Create) => {
            resources.push(new);
            return Ok(());
        }
        ([], _) => {
            return Err(Failure::Error(format!(
                "{kind} {name} does not exist; a generator cannot merge into or replace it"
            )))
        }
        ([_], Behavior::Create) => {
            return Err(Failure::Error(format!(
            "{kind} {name} already exists; a generator for it needs `behavior: merge` or `replace`"
        )))
        }
        ([i], _) => *i,
        _ => {
            return Err(Failure::Error(format!(
                "several objects could take the generated {kind} {name}"
            )))
        }
    };
    let old = &resources[index];
    let mut object = new.object.clone();
    // Labels and annotations: the old ones, then the new ones over them. Name and
    // namespace stay the old object's.
    let merged_meta = |key: &str| -> Option<Owned> {
        merge_maps(
            old.object.at_path(&["metadata", key]),
            new.object.at_path(&["metadata", key]),
        )
    };
    let labels = merged_meta("labels");
    let annotations = merged_meta("annotations");
    if let Some(meta) = object.get_mut("metadata") {
        for (key, value) in [("labels", labels), ("annotations", annotations)] {
            meta.remove(key);
            if let Some(v) = value {
                let at = v.at;
                meta.set(key, v, at);
            }
        }
        meta.remove("name");
        meta.remove("namespace");
        if let Some(n) = old.object.at_path(&["metadata", "name"]) {
            meta.set("name", n.clone(), n.at);
        }
        if let Some(n) = old.object.at_path(&["metadata", "namespace"]) {
            meta.set("namespace", n.clone(), n.at);
        }
    }
    if behavior == Behavior::Merge {
        for key in ["data", "binaryData"] {
            let merged = merge_maps(old.object.get(key), new.object.get(key));
            object.remove(key);
            if let Some(v) = merged {
                let at = v.at;
                object.set(key, v, at);
            }
        }
    }
    resources[index] = Resource {
        object,
        file: new.file,
        previous: old.previous.clone(),
        // kustomize hashes the result only when both the old and the new one asked for it.
        needs_hash: old.needs_hash && new.needs_hash,
    };
    Ok(())
}

/// The entries of `old` with those of `new` set over them; `None` when both are absent or
/// empty.
fn merge_maps(old: Option<&Owned>, new: Option<&Owned>) -> Option<Owned> {
    let mut out = Owned::map(new.or(old).and_then(|m| m.at));
    for m in [old, new].into_iter().flatten() {
        for (k, v) in m.entries() {
            if let Some(key) = k.as_str() {
                out.set(key, v.clone(), k.at);
            }
        }
    }
    (!out.entries().is_empty()).then_some(out)
}

/// Appends kustomize's content hash to the names of the generated objects that want it.
/// Runs once, on the finished root.
pub(crate) fn add_hashes(resources: &mut [Resource]) {
    for r in resources.iter_mut().filter(|r| r.needs_hash) {
        let hash = content_hash(&r.object);
        r.remember();
        let name = format!("{}-{hash}", r.name());
        if let Some(node) = r.object.get_mut("metadata").and_then(|m| m.get_mut("name")) {
            node.value = OwnedValue::Str(name);
        }
    }
}

/// kustomize's hash of a ConfigMap or Secret (`api/hasher`): SHA-256 of the JSON of its
/// kind, data (and binaryData / stringData when they are maps), a Secret's type, and a
/// name, encoded as ten characters. kustomize looks the name up as the single field
/// `metadata/name`, which no object has, so the name it hashes is always empty: the same
/// data under `namePrefix` gets the same suffix.
fn content_hash(object: &Owned) -> String {
    use serde_json::Value as J;
    let kind = object.str_at(&["kind"]).unwrap_or_default();
    // A field as kustomize reads it: absent is "", a scalar its text, a map its JSON.
    let field = |key: &str| -> J {
        match object.get(key) {
            None => J::String(String::new()),
            Some(v) => match &v.value {
                OwnedValue::Map(_) => sorted(&v.to_json()),
                OwnedValue::Str(s) => J::String(s.clone()),
                OwnedValue::Null => J::String(String::new()),
                _ => J::String(v.to_json().to_string()),
            },
        }
    };
    let is_map = |key: &str| {
        object
            .get(key)
            .is_some_and(|v| matches!(v.value, OwnedValue::Map(_)))
    };
    let mut m: BTreeMap<&str, J> = BTreeMap::new();
    m.insert("kind", J::String(kind.to_string()));
    m.insert("name", J::String(String::new()));
    m.insert("data", field("data"));
    let extra = if kind == "Secret" {
        m.insert("type", field("type"));
        "stringData"
    } else {
        "binaryData"
    };
    if is_map(extra) {
        m.insert(extra, field(extra));
    }
    let json = J::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect());
    let digest = ring::digest::digest(&ring::digest::SHA256, go_json(&json).as_bytes());
    digest.as_ref()[..5]
        .iter()
        .flat_map(|b| [b >> 4, b & 0xf])
        .map(|nibble| match nibble {
            0 => 'g',
            1 => 'h',
            3 => 'k',
            0xa => 'm',
            0xe => 't',
            n => char::from_digit(u32::from(n), 16).unwrap_or('0'),
        })
        .collect()
}

/// A JSON value with object keys in sorted order (Go's encoder sorts map keys).
fn sorted(v: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        J::Object(m) => {
            let by_key: BTreeMap<&String, J> = m.iter().map(|(k, v)| (k, sorted(v))).collect();
            J::Object(by_key.into_iter().map(|(k, v)| (k.clone(), v)).collect())
        }
        J::Array(items) => J::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// JSON as Go's `encoding/json` writes it: like serde_json's compact form, but with `<`,
/// `>`, `&`, U+2028 and U+2029 escaped (they only occur inside strings).
fn go_json(v: &serde_json::Value) -> String {
    let mut out = String::new();
    for c in v.to_string().chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_map(data: &[(&str, &str)]) -> Owned {
        let mut o = Owned::map(None);
        o.set("kind", Owned::str("ConfigMap", None), None);
        let mut d = Owned::map(None);
        for (k, v) in data {
            d.set(k, Owned::str(v, None), None);
        }
        o.set("data", d, None);
        o
    }

    #[test]
    fn hashes_are_kustomizes() {
        // Names and hashes from `kubectl kustomize` (kustomize v5.8.1).
        let html = config_map(&[("index.html", "<html><body>a & b < c > d</body></html>\n")]);
        assert_eq!(content_hash(&html), "b59fhdgc79");
        let mut secret = Owned::map(None);
        secret.set("kind", Owned::str("Secret", None), None);
        secret.set("type", Owned::str("Opaque", None), None);
        let mut d = Owned::map(None);
        d.set("username", Owned::str("YWRtaW4=", None), None);
        d.set("password", Owned::str("czNjcjN0LXZhbHVl", None), None);
        secret.set("data", d, None);
        assert_eq!(content_hash(&secret), "gggkdt859f");
    }

    #[test]
    fn long_base64_is_cut_into_lines_of_70() {
        assert_eq!(encode_base64(b"admin"), "YWRtaW4=");
        let long = encode_base64(&[b'x'; 60]);
        assert!(long.ends_with('\n'));
        assert_eq!(long.lines().next().map(str::len), Some(70));
    }

    #[test]
    fn env_files_and_literals_read_as_kustomize_reads_them() {
        let pairs = env_pairs(b"\xef\xbb\xbf# c\nA=1\n\n  B=x=y\nC\nD=  v  \r\n").unwrap();
        assert_eq!(
            pairs,
            [
                ("A".into(), "1".into()),
                ("B".into(), "x=y".into()),
                ("C".into(), String::new()),
                ("D".into(), "  v  ".into())
            ]
        );
        assert!(env_pairs(b"1BAD=x\n").is_err());
        assert_eq!(unquote("\"hello world\""), "hello world");
        assert_eq!(unquote("'x"), "'x");
    }
}
