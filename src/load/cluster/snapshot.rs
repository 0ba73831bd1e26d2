//! `istio-preflight snapshot`: the objects a check reads, as one multi-document YAML file
//! that `check FILE` reads offline with the same findings. It is also the backup the upgrade
//! runbooks ask for, so it must never hold credentials: Secrets keep their metadata and
//! type, never `data` or `stringData` (nor the copy of them in kubectl's
//! last-applied-configuration annotation).

use serde_json::Value as Json;

use crate::model::Object;

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The snapshot text: a comment header, then one document per object.
pub fn render(objects: &[Object], context: &str) -> String {
    let mut out = format!(
        "# istio-preflight snapshot of kube context {context:?}: {} objects, read-only view.\n\
         # Check it offline with `istio-preflight check FILE`. Secret data is not included.\n",
        objects.len()
    );
    for o in objects {
        let mut json = o.root().to_json();
        if o.kind() == "Secret" && o.group().is_empty() {
            redact_secret(&mut json);
        }
        out.push_str("---\n");
        write_value(&json, 0, &mut out);
    }
    out
}

fn redact_secret(json: &mut Json) {
    if let Json::Object(fields) = json {
        fields.remove("data");
        fields.remove("stringData");
        if let Some(Json::Object(annotations)) = fields
            .get_mut("metadata")
            .and_then(|m| m.get_mut("annotations"))
        {
            annotations.remove(LAST_APPLIED);
        }
    }
}

/// Block-style YAML for a document root (or any value at `indent`), ending in a newline.
fn write_value(value: &Json, indent: usize, out: &mut String) {
    match value {
        Json::Object(map) if !map.is_empty() => {
            for (key, v) in map {
                out.push_str(&" ".repeat(indent));
                out.push_str(&scalar_key(key));
                out.push(':');
                write_nested(v, indent, indent + 2, out);
            }
        }
        Json::Array(items) if !items.is_empty() => {
            for item in items {
                write_item(item, indent, out);
            }
        }
        other => {
            out.push_str(&" ".repeat(indent));
            write_inline(other, indent, out);
        }
    }
}

/// The value after `key:`. Sequences sit at the key's indentation, as kubectl writes them.
fn write_nested(v: &Json, key_indent: usize, child_indent: usize, out: &mut String) {
    match v {
        Json::Object(m) if !m.is_empty() => {
            out.push('\n');
            write_value(v, child_indent, out);
        }
        Json::Array(a) if !a.is_empty() => {
            out.push('\n');
            write_value(v, key_indent, out);
        }
        _ => {
            out.push(' ');
            write_inline(v, child_indent, out);
        }
    }
}

fn write_item(item: &Json, indent: usize, out: &mut String) {
    let nested = match item {
        Json::Object(m) => !m.is_empty(),
        Json::Array(a) => !a.is_empty(),
        _ => false,
    };
    out.push_str(&" ".repeat(indent));
    out.push_str("- ");
    if nested {
        let mut block = String::new();
        write_value(item, indent + 2, &mut block);
        out.push_str(&block[indent + 2..]);
    } else {
        write_inline(item, indent + 2, out);
    }
}

/// A scalar or empty collection, then the line break. Multi-line strings become literal
/// blocks indented at `indent` (mesh config and injector templates stay readable).
fn write_inline(v: &Json, indent: usize, out: &mut String) {
    match v {
        Json::Null => out.push_str("null\n"),
        Json::Bool(b) => out.push_str(if *b { "true\n" } else { "false\n" }),
        Json::Number(n) => {
            out.push_str(&n.to_string());
            out.push('\n');
        }
        Json::String(s) => match literal_block(s, indent) {
            Some(block) => out.push_str(&block),
            None => {
                out.push_str(&scalar_string(s));
                out.push('\n');
            }
        },
        Json::Array(_) => out.push_str("[]\n"),
        Json::Object(_) => out.push_str("{}\n"),
    }
}

fn literal_block(s: &str, indent: usize) -> Option<String> {
    let body = s.trim_end_matches('\n');
    let trailing = s.len() - body.len();
    let representable = s.contains('\n')
        && !body.is_empty()
        && !body.starts_with([' ', '\t'])
        && body
            .split('\n')
            .all(|l| (l.is_empty() || !l.trim().is_empty()) && l.chars().all(printable_in_block));
    if !representable {
        return None;
    }
    let chomp = match trailing {
        0 => "|-",
        1 => "|",
        _ => "|+",
    };
    let pad = " ".repeat(indent);
    let mut out = format!("{chomp}\n");
    for line in s.trim_end_matches('\n').split('\n') {
        if !line.is_empty() {
            out.push_str(&pad);
            out.push_str(line);
        }
        out.push('\n');
    }
    for _ in 1..trailing {
        out.push('\n');
    }
    Some(out)
}

fn printable_in_block(c: char) -> bool {
    c == '\t' || !needs_escape(c)
}

fn needs_escape(c: char) -> bool {
    c < ' '
        || ('\u{7f}'..='\u{9f}').contains(&c)
        || matches!(
            c,
            '\u{feff}' | '\u{fffe}' | '\u{ffff}' | '\u{2028}' | '\u{2029}'
        )
}

fn scalar_key(key: &str) -> String {
    scalar_string(key)
}

/// Plain when no YAML reader (1.1 or 1.2) could take it for anything but this string;
/// otherwise double-quoted with escapes.
fn scalar_string(s: &str) -> String {
    if is_plain_safe(s) {
        s.to_string()
    } else {
        crate::yaml::double_quoted(s)
    }
}

fn is_plain_safe(s: &str) -> bool {
    const WORDS: &[&str] = &[
        "true", "false", "null", "yes", "no", "on", "off", "y", "n", "~",
    ];
    let Some(first) = s.chars().next() else {
        return false;
    };
    (first.is_ascii_alphabetic() || first == '/' || first == '_')
        && !s.ends_with([' ', ':'])
        && !s.contains(": ")
        && !s.contains(" #")
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | ':' | '@' | ' ')
        })
        && !WORDS.contains(&s.to_ascii_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml;
    use serde_json::json;

    fn object(json: Json) -> Object {
        Object::from_cluster(&json)
    }

    fn round_trip(value: Json) {
        let mut text = String::new();
        write_value(&value, 0, &mut text);
        let parsed = yaml::parse_str(&text)
            .unwrap_or_else(|e| panic!("{e}\n{text}"))
            .map(|n| n.root().to_json())
            .unwrap_or(Json::Null);
        assert_eq!(parsed, value, "{text}");
    }

    #[test]
    fn awkward_values_survive_the_trip_through_yaml() {
        round_trip(json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "istio", "labels": {"a/b": "yes", "n": "1.27", "e": "", "t": "true"}},
            "data": {
                "mesh": "defaultConfig:\n  holdApplicationUntilProxyStarts: true\n",
                "no-newline": "a\nb",
                "many-newlines": "a\n\n\n",
                "indented-first": "  a\nb\n",
                "blank-lines": "a\n\nb\n",
                "tabs": "a\tb\nc\t\n",
                "quotes": "say \"hi\" \\ # not a comment: x",
                "unicode": "caf\u{e9} \u{85}\u{7f}\u{feff}",
                "colon": "http://x:80", "dash": "- x", "star": "*alias", "amp": "&a",
                "brace": "{{ .Values }}", "key with spaces": "v ",
            },
            "spec": {"containers": [{"name": "a", "ports": [{"containerPort": 80}]}, {"args": [["nested"], []], "env": {}}],
                "n": null, "f": 0.5, "big": 1e100, "neg": -3, "b": false, "empty": []},
        }));
    }

    #[test]
    fn every_fixture_object_survives_the_trip_through_yaml() {
        let inputs: Vec<std::path::PathBuf> = std::fs::read_dir("fixtures")
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect();
        let loaded = crate::load::files::load(&inputs);
        assert!(loaded.objects.len() > 50);
        for o in &loaded.objects {
            round_trip(o.root().to_json());
        }
    }

    #[test]
    fn secrets_lose_their_data_and_the_copy_in_last_applied() {
        let secret = object(json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "cacerts", "namespace": "istio-system",
                "annotations": {LAST_APPLIED: "{\"data\":{\"ca-key.pem\":\"c2VjcmV0\"}}", "keep": "me"}},
            "type": "Opaque",
            "data": {"ca-key.pem": "c2VjcmV0"},
            "stringData": {"token": "secret"},
        }));
        let text = render(&[secret], "prod");
        assert!(
            !text.contains("c2VjcmV0") && !text.contains("secret\n") && !text.contains("token")
        );
        assert!(text.contains("name: cacerts") && text.contains("keep: me"));
        assert!(text.contains("type: Opaque"));
    }
}
