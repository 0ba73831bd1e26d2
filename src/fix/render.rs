//! Writing JSON values as YAML text that reads back as exactly the same value.
//!
//! Kubernetes reads YAML with YAML 1.1 rules (go-yaml v2 behind sigs.k8s.io/yaml), where
//! `on`, `y`, `0755` and `1:20` are not strings. A string is written plain only when it
//! is plainly a string under both 1.1 and 1.2; anything else is quoted.

use serde_json::Value;

use crate::yaml;

/// How a string scalar was quoted where it is being replaced, so a replacement keeps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quote {
    /// No preference: plain when safe, else single quotes, else double quotes.
    Any,
    Single,
    Double,
}

/// Where the text goes: flow context (inside `{}`/`[]`) forbids more plain characters, and
/// a JSON document must stay JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Context {
    Block,
    Flow,
    Json,
}

pub fn scalar(value: &Value, quote: Quote, cx: Context) -> Option<String> {
    Some(match value {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s, quote, cx),
        Value::Array(_) | Value::Object(_) => return None,
    })
}

/// A string as a YAML scalar that reads back as this string (never as a number, boolean,
/// null or timestamp, and never broken by `: `, ` #` or flow indicators).
pub fn string(s: &str, quote: Quote, cx: Context) -> String {
    if cx == Context::Json {
        return Value::String(s.to_string()).to_string();
    }
    let needs_double = s
        .chars()
        .any(|c| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}'));
    match quote {
        Quote::Double => crate::yaml::double_quoted(s),
        Quote::Single if !needs_double => single_quoted(s),
        _ if needs_double => crate::yaml::double_quoted(s),
        _ if plain_is_safe(s, cx) => s.to_string(),
        // Single quotes need no escapes for `"` or `\` (JSON in annotations reads better).
        _ => single_quoted(s),
    }
}

fn single_quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Conservative: a letter first, then letters, digits and `._/-` or single inner spaces,
/// and the text must read back as this very string.
fn plain_is_safe(s: &str, _cx: Context) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if !first.is_ascii_alphabetic() || s.ends_with(' ') || s.contains("  ") {
        return false;
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/' | '-' | ' '))
    {
        return false;
    }
    // The loader resolves scalars the YAML 1.1 way Kubernetes does (`yes`, `on`, `n`, ...).
    yaml::parse_str(&format!("k: {s}\n"))
        .ok()
        .flatten()
        .is_some_and(|t| t.root().str_at(&["k"]) == Some(s))
}

/// A JSON value in flow style for `cx` (JSON text in a JSON document).
pub fn flow_in(value: &Value, cx: Context) -> String {
    match (cx, value) {
        (Context::Json, Value::Array(items)) => format!(
            "[{}]",
            items
                .iter()
                .map(|v| flow_in(v, cx))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        (Context::Json, Value::Object(map)) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}: {}", string(k, Quote::Any, cx), flow_in(v, cx)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        (Context::Json, scalar) => scalar.to_string(),
        _ => flow(value),
    }
}

/// A JSON value in flow style (`{a: b, c: [1, 2]}`), for flow contexts and single lines.
pub fn flow(value: &Value) -> String {
    match value {
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(flow).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}: {}", string(k, Quote::Any, Context::Flow), flow(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        scalar_value => scalar(scalar_value, Quote::Any, Context::Flow).unwrap_or_default(),
    }
}

/// How the file lays out block collections, detected from what it already has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Spaces per nesting level of mappings.
    pub indent: usize,
    /// Columns between a key and the `-` of its block sequence (0: `key:\n- item`).
    pub sequence_offset: usize,
}

impl Default for Layout {
    fn default() -> Layout {
        Layout {
            indent: 2,
            sequence_offset: 0,
        }
    }
}

/// The lines of `key: value` at `indent` columns, in block style, without line breaks.
/// Non-empty collections continue on the following lines; empty ones are `{}`/`[]`.
pub fn block_entry(key: &str, value: &Value, indent: usize, layout: Layout) -> Vec<String> {
    let pad = " ".repeat(indent);
    let key = string(key, Quote::Any, Context::Block);
    match block_value(value, indent, layout) {
        Some(lines) => std::iter::once(format!("{pad}{key}:"))
            .chain(lines)
            .collect(),
        None => vec![format!("{pad}{key}: {}", inline(value))],
    }
}

/// The lines under a key at `key_indent` holding a non-empty collection in block style;
/// `None` for scalars and empty collections, which stay on the key's line.
pub fn block_value(value: &Value, key_indent: usize, layout: Layout) -> Option<Vec<String>> {
    match value {
        Value::Object(map) if !map.is_empty() => {
            Some(block_mapping(map, key_indent + layout.indent, layout))
        }
        Value::Array(items) if !items.is_empty() => Some(block_items(
            items,
            key_indent + layout.sequence_offset,
            layout,
        )),
        _ => None,
    }
}

/// The value of a block mapping's entries (`k: v` lines) at `indent` columns.
pub fn block_mapping(
    map: &serde_json::Map<String, Value>,
    indent: usize,
    layout: Layout,
) -> Vec<String> {
    map.iter()
        .flat_map(|(k, v)| block_entry(k, v, indent, layout))
        .collect()
}

fn block_items(items: &[Value], indent: usize, layout: Layout) -> Vec<String> {
    let pad = " ".repeat(indent);
    let mut lines = Vec::new();
    for item in items {
        match item {
            Value::Object(map) if !map.is_empty() => {
                // The first entry shares the `- ` line; the rest align with it.
                let inner = block_mapping(map, indent + 2, layout);
                for (i, line) in inner.into_iter().enumerate() {
                    if i == 0 {
                        lines.push(format!("{pad}- {}", &line[indent + 2..]));
                    } else {
                        lines.push(line);
                    }
                }
            }
            other => lines.push(format!("{pad}- {}", inline(other))),
        }
    }
    lines
}

/// A value on one line in block context: scalars as scalars, collections in flow style.
pub fn inline(value: &Value) -> String {
    match value {
        Value::Array(_) | Value::Object(_) => flow(value),
        other => scalar(other, Quote::Any, Context::Block).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn reads_back(text: &str) -> serde_json::Value {
        yaml::parse_str(&format!("k: {text}\n"))
            .expect("valid yaml")
            .expect("a document")
            .root()
            .get("k")
            .expect("k")
            .to_json()
    }

    #[test]
    fn strings_that_look_like_other_types_are_quoted() {
        for s in [
            "true",
            "yes",
            "on",
            "n",
            "Y",
            "null",
            "~",
            "",
            "1",
            "0755",
            "1.5",
            "1e3",
            "0x1f",
            "1:20",
            "2024-01-01",
            " lead",
            "trail ",
            "a: b",
            "a #b",
            "- x",
            "{a}",
            "[a]",
            "*a",
            "&a",
            "!t",
            "%x",
            "@x",
            "`x",
            "|",
            ">",
            "'q'",
            "\"q\"",
            "line\nbreak",
            "tab\there",
            "\u{2028}",
            ".inf",
            "-.inf",
            ".nan",
            "+1",
            "<<",
            "?",
            "a,b",
        ] {
            let text = string(s, Quote::Any, Context::Block);
            assert_eq!(reads_back(&text), json!(s), "{s:?} written as {text}");
            let flow = string(s, Quote::Any, Context::Flow);
            let parsed = yaml::parse_str(&format!("{{k: {flow}}}\n"))
                .unwrap()
                .unwrap()
                .root()
                .get("k")
                .unwrap()
                .to_json();
            assert_eq!(parsed, json!(s), "{s:?} written in flow as {flow}");
        }
    }

    #[test]
    fn ordinary_strings_stay_plain() {
        for s in [
            "cart",
            "istio.io/rev",
            "docker.io/istio/proxyv2",
            "a b c",
            "v1.2.3",
        ] {
            assert_eq!(string(s, Quote::Any, Context::Block), s);
        }
        assert_eq!(
            string(
                r#"{"holdApplicationUntilProxyStarts":true}"#,
                Quote::Any,
                Context::Block
            ),
            r#"'{"holdApplicationUntilProxyStarts":true}'"#
        );
    }

    #[test]
    fn quoting_style_is_kept_when_asked() {
        assert_eq!(string("it's", Quote::Single, Context::Block), "'it''s'");
        assert_eq!(string("x", Quote::Double, Context::Block), "\"x\"");
        assert_eq!(string("a\nb", Quote::Single, Context::Block), "\"a\\nb\"");
    }

    #[test]
    fn collections_read_back() {
        let v = json!({"a": {"b": [1, "two", {"c": true, "d": []}]}, "e": {}, "f": "on"});
        let layout = Layout::default();
        let text = block_mapping(v.as_object().unwrap(), 0, layout).join("\n") + "\n";
        let parsed = yaml::parse_str(&text).unwrap().unwrap().root().to_json();
        assert_eq!(parsed, v, "{text}");
        let indented = Layout {
            indent: 4,
            sequence_offset: 4,
        };
        let text = block_mapping(v.as_object().unwrap(), 2, indented).join("\n") + "\n";
        assert_eq!(
            yaml::parse_str(&text).unwrap().unwrap().root().to_json(),
            v,
            "{text}"
        );
        assert_eq!(reads_back(&flow(&v)), v);
    }
}
