//! A YAML tree that remembers where every node came from.
//!
//! serde_yaml is deprecated and, like most serde-based YAML crates, throws positions away once
//! a value is built. Every diagnostic here must point at the exact field it is about (file,
//! line, column, end), in SARIF as much as in the terminal, so the loader builds its own tree
//! from `saphyr-parser`'s spanned event stream: a maintained, pure-Rust YAML 1.2 parser that
//! reports a start and end position for every event and never panics on bad input. Building
//! the tree ourselves also lets us bound alias expansion and nesting depth, which no
//! off-the-shelf loader does.

pub mod de;

use std::collections::HashMap;
use std::fmt;

use saphyr_parser::{Event, Parser, ScalarStyle, Span as RawSpan};

/// Deepest nesting accepted. Kubernetes objects, CRD schemas included, stay far below this;
/// anything deeper is hostile or generated garbage and would blow the stack of every
/// recursive consumer (serde, Drop).
pub const MAX_DEPTH: usize = 256;

/// Most nodes one document may create by expanding aliases. Anchors are rare in manifests;
/// a "billion laughs" document asks for billions.
pub const MAX_ALIAS_NODES: usize = 100_000;

/// Nodes a document may create by expanding aliases per byte of its own text, below
/// [`MAX_ALIAS_NODES`]. Without it a stream of small bombs, each under the per-document
/// limit, would still turn a 1 MB file into billions of nodes; with it, memory stays
/// proportional to the input. An anchored block reused in a few places stays far below.
pub const ALIAS_NODES_PER_BYTE: usize = 4;

/// A position in a text: 1-based line, 0-based column counted in characters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

/// Where a node starts and ends (end exclusive).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    pub start: Pos,
    pub end: Pos,
}

impl Span {
    /// Objects read from a cluster have no text: their spans are all zero.
    pub fn is_known(&self) -> bool {
        self.start.line > 0
    }

    fn from_raw(raw: RawSpan, line_offset: u32) -> Span {
        Span {
            start: Pos {
                line: raw.start.line() as u32 + line_offset,
                col: raw.start.col() as u32,
            },
            end: Pos {
                line: raw.end.line() as u32 + line_offset,
                col: raw.end.col() as u32,
            },
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub key: String,
    pub key_span: Span,
    pub value: Node,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub value: Value,
    pub span: Span,
}

impl Node {
    pub fn new(value: Value) -> Node {
        Node {
            value,
            span: Span::default(),
        }
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|e| e.key == key).map(|e| &e.value),
            _ => None,
        }
    }

    pub fn entry(&self, key: &str) -> Option<&Entry> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|e| e.key == key),
            _ => None,
        }
    }

    /// Follows a path of keys through nested mappings.
    pub fn at(&self, keys: &[&str]) -> Option<&Node> {
        keys.iter().try_fold(self, |node, key| node.get(key))
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[Entry]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// A string-valued child, e.g. `metadata.name`.
    pub fn str_at(&self, keys: &[&str]) -> Option<&str> {
        self.at(keys).and_then(Node::as_str)
    }

    pub fn type_name(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    /// The JSON form of this node, for typed views through serde.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|e| (e.key.clone(), e.value.to_json()))
                    .collect(),
            ),
        }
    }

    /// A node without positions, from JSON (objects read from a cluster).
    pub fn from_json(json: &serde_json::Value) -> Node {
        use serde_json::Value as J;
        let value = match json {
            J::Null => Value::Null,
            J::Bool(b) => Value::Bool(*b),
            J::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(0.0)),
            },
            J::String(s) => Value::Str(s.clone()),
            J::Array(items) => Value::Seq(items.iter().map(Node::from_json).collect()),
            J::Object(map) => Value::Map(
                map.iter()
                    .map(|(k, v)| Entry {
                        key: k.clone(),
                        key_span: Span::default(),
                        value: Node::from_json(v),
                    })
                    .collect(),
            ),
        };
        Node::new(value)
    }
}

/// `s` as a YAML double-quoted scalar that every reader gives back unchanged: quotes,
/// backslashes and line breaks escaped, and so is every character YAML forbids raw or
/// readers treat as a break (controls, the BOM, U+2028/2029, non-characters).
pub fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control()
                || matches!(
                    c,
                    '\u{feff}' | '\u{fffe}' | '\u{ffff}' | '\u{2028}' | '\u{2029}'
                ) =>
            {
                out.push_str(&format!("\\u{:04X}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Why a document could not be turned into a tree.
#[derive(Clone, Debug, PartialEq)]
pub struct YamlError {
    pub message: String,
    pub pos: Pos,
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}",
            self.pos.line,
            self.pos.col + 1,
            self.message
        )
    }
}

/// One parsed document of a stream. `root` is `None` for an empty document.
#[derive(Debug)]
pub struct Document {
    pub root: Option<Node>,
    /// The span of the whole document text, for diagnostics about the document itself.
    pub start_line: u32,
}

/// Parses one YAML document's text. `line_offset` is added to every line so positions refer
/// to the enclosing file when the document was cut out of a larger stream.
pub fn parse_document(text: &str, line_offset: u32) -> Result<Document, YamlError> {
    let mut error = match parse_strict(text, line_offset) {
        Err(e) if lenient_fix(text, &e, line_offset).is_some() => e,
        other => return other,
    };
    // go-yaml (and so kubectl) accepts two things saphyr rejects: a flow collection's
    // closing bracket at its parent's indentation (`args: [\n  "a",\n]`), and continuation
    // lines of a multi-line quoted scalar at the key's indentation (controller-gen CRDs).
    // Indenting such a line by one column changes no value (folding drops leading spaces)
    // and no other position, so retry with it indented, a bounded number of times.
    let mut patched = text.to_string();
    for _ in 0..MAX_LENIENT_RETRIES {
        let Some(mut inserts) = lenient_fix(&patched, &error, line_offset) else {
            break;
        };
        inserts.sort_unstable_by(|a, b| b.cmp(a));
        for at in inserts {
            patched.insert(at, ' ');
        }
        match parse_strict(&patched, line_offset) {
            Err(e) => error = e,
            ok => return ok,
        }
    }
    parse_strict(text, line_offset)
}

/// How many constructs the go-yaml compatibility retry may re-indent in one document.
const MAX_LENIENT_RETRIES: usize = 256;

/// Where to insert spaces so that a go-yaml-accepted indentation parses, if the error is
/// one of those cases.
fn lenient_fix(text: &str, error: &YamlError, line_offset: u32) -> Option<Vec<usize>> {
    let line = error.pos.line.checked_sub(line_offset)? as usize;
    let start = line_start(text, line)?;
    let rest = text[start..].trim_start_matches([' ', '\t']);
    match error.message.as_str() {
        "invalid indentation" if rest.starts_with(']') || rest.starts_with('}') => {
            Some(vec![start])
        }
        // Reported at the opening quote: indent every continuation line of that scalar.
        "invalid indentation in quoted scalar" => {
            let open = start + text[start..].char_indices().nth(error.pos.col as usize)?.0;
            let quote = text[open..]
                .chars()
                .next()
                .filter(|c| *c == '\'' || *c == '"')?;
            let mut inserts = Vec::new();
            let mut chars = text[open + 1..].char_indices().peekable();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' if quote == '"' => {
                        chars.next();
                    }
                    '\'' if quote == '\'' && chars.peek().map(|p| p.1) == Some('\'') => {
                        chars.next();
                    }
                    c if c == quote => return (!inserts.is_empty()).then_some(inserts),
                    '\n' => inserts.push(open + 1 + i + 1),
                    _ => {}
                }
            }
            None
        }
        _ => None,
    }
}

fn line_start(text: &str, line: usize) -> Option<usize> {
    if line <= 1 {
        return Some(0);
    }
    text.match_indices('\n').nth(line - 2).map(|(i, _)| i + 1)
}

fn parse_strict(text: &str, line_offset: u32) -> Result<Document, YamlError> {
    let mut builder = Builder::new(
        line_offset,
        MAX_ALIAS_NODES.min(text.len().saturating_mul(ALIAS_NODES_PER_BYTE)),
    );
    let mut parser = Parser::new_from_str(text);
    let mut documents = 0;
    while let Some(event) = parser.next_event() {
        let (event, span) = event.map_err(|e| YamlError {
            message: match e.info() {
                "recursion limit exceeded" => {
                    "nesting deeper than 255 flow levels; refusing to read further".to_string()
                }
                other => other.to_string(),
            },
            pos: Pos {
                line: e.marker().line() as u32 + line_offset,
                col: e.marker().col() as u32,
            },
        })?;
        if let Event::DocumentStart(_) = event {
            documents += 1;
            if documents > 1 {
                return Err(YamlError {
                    message: "a second document starts here; documents must be separated by a `---` line at column 1".into(),
                    pos: Span::from_raw(span, line_offset).start,
                });
            }
        }
        builder.event(event, span)?;
    }
    Ok(Document {
        root: builder.root,
        start_line: line_offset + 1,
    })
}

/// Parses a whole text that must hold a single document (embedded data, mesh config strings).
pub fn parse_str(text: &str) -> Result<Option<Node>, YamlError> {
    parse_document(text, 0).map(|d| d.root)
}

/// Splits a YAML stream into its documents' texts with the line each starts on (0-based), so
/// that a broken document does not stop the ones after it from being read. A line that starts
/// with `---` or `...` followed by a blank or the end of line is a document marker anywhere in
/// YAML (it is forbidden inside scalars at column 1), so splitting on it is exact.
pub fn split_documents(text: &str) -> Vec<(u32, &str)> {
    let mut docs = Vec::new();
    let mut start_byte = 0;
    let mut start_line = 0u32;
    let mut offset = 0;
    for (line_no, line) in (0u32..).zip(text.split_inclusive('\n')) {
        let marker = line.starts_with("---") || line.starts_with("...");
        let is_marker = marker
            && line[3..]
                .chars()
                .next()
                .is_none_or(|c| c == ' ' || c == '\t' || c == '\n' || c == '\r');
        if is_marker && line.starts_with("---") && offset > start_byte {
            docs.push((start_line, &text[start_byte..offset]));
            start_byte = offset;
            start_line = line_no;
        }
        offset += line.len();
    }
    if start_byte < text.len() || docs.is_empty() {
        docs.push((start_line, &text[start_byte..]));
    }
    docs
}

enum Frame {
    Seq {
        items: Vec<Node>,
        start: Pos,
        anchor: usize,
    },
    Map {
        entries: Vec<Entry>,
        pending_key: Option<(String, Span)>,
        /// Key → position, once the mapping is large enough that finding duplicates by
        /// scanning would make it quadratic (a generated ConfigMap with 100,000 keys).
        index: Option<HashMap<String, usize>>,
        start: Pos,
        anchor: usize,
    },
}

/// Entries up to which duplicate keys are found by scanning.
const SCAN_KEYS: usize = 32;

struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    alias_budget: usize,
    alias_budget_total: usize,
    root: Option<Node>,
    line_offset: u32,
}

impl Builder {
    fn new(line_offset: u32, alias_budget: usize) -> Builder {
        Builder {
            stack: Vec::new(),
            anchors: HashMap::new(),
            alias_budget,
            alias_budget_total: alias_budget,
            root: None,
            line_offset,
        }
    }

    fn event(&mut self, event: Event<'_>, raw: RawSpan) -> Result<(), YamlError> {
        let span = Span::from_raw(raw, self.line_offset);
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                let value = resolve_scalar(&text, style, tag.as_deref().map(|t| t.suffix.as_str()));
                let node = Node { value, span };
                self.remember(anchor, &node);
                self.push(node, span)
            }
            Event::SequenceStart(anchor, _) => self.open(
                Frame::Seq {
                    items: Vec::new(),
                    start: span.start,
                    anchor,
                },
                span,
            ),
            Event::MappingStart(anchor, _) => self.open(
                Frame::Map {
                    entries: Vec::new(),
                    pending_key: None,
                    index: None,
                    start: span.start,
                    anchor,
                },
                span,
            ),
            Event::SequenceEnd | Event::MappingEnd => {
                let frame = self.stack.pop().ok_or_else(|| YamlError {
                    message: "unbalanced collection end".into(),
                    pos: span.start,
                })?;
                let (value, start, anchor) = match frame {
                    Frame::Seq {
                        mut items,
                        start,
                        anchor,
                    } => {
                        // The tree lives as long as the run; growth slack is a third of it.
                        items.shrink_to_fit();
                        (Value::Seq(items), start, anchor)
                    }
                    Frame::Map {
                        mut entries,
                        start,
                        anchor,
                        ..
                    } => {
                        entries.shrink_to_fit();
                        (Value::Map(entries), start, anchor)
                    }
                };
                // A block collection's end event is zero-width where the next token starts
                // (often lines later); a flow collection's is its closing bracket.
                let end = if span.start == span.end {
                    last_end(&value).unwrap_or(span.end)
                } else {
                    span.end
                };
                let node = Node {
                    value,
                    span: Span { start, end },
                };
                self.remember(anchor, &node);
                self.push(node, span)
            }
            Event::Alias(id) => {
                let target = self.anchors.get(&id).ok_or_else(|| YamlError {
                    message: "alias refers to an unknown anchor".into(),
                    pos: span.start,
                })?;
                let size = count_nodes(target);
                if size > self.alias_budget {
                    return Err(YamlError {
                        message: format!(
                            "aliases expand to more than {budget} nodes ({ALIAS_NODES_PER_BYTE} per byte of the document, at most {MAX_ALIAS_NODES}: a YAML \"billion laughs\" document?); refusing to expand",
                            budget = self.alias_budget_total,
                        ),
                        pos: span.start,
                    });
                }
                self.alias_budget -= size;
                let target = target.clone();
                // The alias takes the anchor's value but its own position, so diagnostics
                // point where the value is used.
                self.push(
                    Node {
                        value: target.value,
                        span,
                    },
                    span,
                )
            }
            Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart(_)
            | Event::DocumentEnd
            | Event::Nothing => Ok(()),
        }
    }

    fn open(&mut self, frame: Frame, span: Span) -> Result<(), YamlError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(YamlError {
                message: format!("nesting deeper than {MAX_DEPTH} levels"),
                pos: span.start,
            });
        }
        self.stack.push(frame);
        Ok(())
    }

    fn remember(&mut self, anchor: usize, node: &Node) {
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
    }

    fn push(&mut self, node: Node, span: Span) -> Result<(), YamlError> {
        match self.stack.last_mut() {
            None => {
                self.root = Some(node);
                Ok(())
            }
            Some(Frame::Seq { items, .. }) => {
                items.push(node);
                Ok(())
            }
            Some(Frame::Map {
                entries,
                pending_key,
                index,
                ..
            }) => match pending_key.take() {
                None => {
                    let key = match node.value {
                        Value::Str(s) => s,
                        Value::Int(i) => i.to_string(),
                        Value::Bool(b) => b.to_string(),
                        Value::Float(f) => f.to_string(),
                        Value::Null => String::new(),
                        Value::Seq(_) | Value::Map(_) => {
                            return Err(YamlError {
                                message: "a mapping key must be a plain value, not a collection (an unrendered template such as `{{ ... }}`?)".into(),
                                pos: span.start,
                            })
                        }
                    };
                    *pending_key = Some((key, node.span));
                    Ok(())
                }
                Some((key, key_span)) => {
                    if index.is_none() && entries.len() >= SCAN_KEYS {
                        *index = Some(
                            entries
                                .iter()
                                .enumerate()
                                .map(|(i, e)| (e.key.clone(), i))
                                .collect(),
                        );
                    }
                    let previous = match index {
                        Some(index) => index.get(&key).map(|&i| &entries[i]),
                        None => entries.iter().find(|e| e.key == key),
                    };
                    if let Some(previous) = previous {
                        return Err(YamlError {
                            message: format!(
                                "duplicate key `{key}` (first defined on line {})",
                                previous.key_span.start.line
                            ),
                            pos: key_span.start,
                        });
                    }
                    if let Some(index) = index {
                        index.insert(key.clone(), entries.len());
                    }
                    entries.push(Entry {
                        key,
                        key_span,
                        value: node,
                    });
                    Ok(())
                }
            },
        }
    }
}

fn last_end(value: &Value) -> Option<Pos> {
    match value {
        Value::Seq(items) => items.last().map(|n| n.span.end),
        Value::Map(entries) => entries.last().map(|e| e.value.span.end),
        _ => None,
    }
}

fn count_nodes(node: &Node) -> usize {
    let mut count = 0;
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        count += 1;
        match &n.value {
            Value::Seq(items) => stack.extend(items),
            Value::Map(entries) => stack.extend(entries.iter().map(|e| &e.value)),
            _ => {}
        }
    }
    count
}

/// Resolves a scalar the way Kubernetes' YAML reader (go-yaml v2, YAML 1.1 booleans) does:
/// quoted scalars are strings; plain ones may be null, booleans, integers or floats.
fn resolve_scalar(text: &str, style: ScalarStyle, tag: Option<&str>) -> Value {
    if let Some(tag) = tag {
        match tag {
            "str" => return Value::Str(text.to_string()),
            "null" => return Value::Null,
            "bool" | "int" | "float" => {}
            _ => {}
        }
    }
    if style != ScalarStyle::Plain {
        return Value::Str(text.to_string());
    }
    let t = text;
    match t {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "y" | "Y" => {
            return Value::Bool(true)
        }
        "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "n" | "N" => {
            return Value::Bool(false)
        }
        _ => {}
    }
    if let Some(i) = parse_int(t) {
        return Value::Int(i);
    }
    if looks_like_float(t) {
        if let Ok(f) = t.replace('_', "").parse::<f64>() {
            return Value::Float(f);
        }
    }
    match t {
        ".inf" | ".Inf" | ".INF" | "+.inf" => Value::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => Value::Float(f64::NAN),
        _ => Value::Str(text.to_string()),
    }
}

fn parse_int(t: &str) -> Option<i64> {
    let (neg, digits) = match t.as_bytes().first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    let value = if let Some(hex) = digits.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()?
    } else if let Some(oct) = digits.strip_prefix("0o") {
        i64::from_str_radix(oct, 8).ok()?
    } else {
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse::<i64>().ok()?
    };
    Some(if neg { -value } else { value })
}

fn looks_like_float(t: &str) -> bool {
    let body = t.trim_start_matches(['-', '+']);
    let mut digits = 0;
    let mut dots = 0;
    let mut exp = false;
    for (i, c) in body.char_indices() {
        match c {
            '0'..='9' => digits += 1,
            '.' => dots += 1,
            'e' | 'E' if i > 0 && !exp => exp = true,
            '-' | '+' if exp => {}
            '_' => {}
            _ => return false,
        }
    }
    digits > 0 && dots <= 1 && (dots == 1 || exp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Node {
        parse_str(text).expect("valid yaml").expect("a document")
    }

    #[test]
    fn scalars_resolve_like_kubernetes() {
        let n = parse(
            "a: 1\nb: '1'\nc: true\nd: yes\ne: ~\nf: 1.5\ng: 0x10\nh: 1.2.3\ni: \"on\"\nj: 1e3\n",
        );
        let j = n.to_json();
        assert_eq!(j["a"], 1);
        assert_eq!(j["b"], "1");
        assert_eq!(j["c"], true);
        assert_eq!(j["d"], true);
        assert!(j["e"].is_null());
        assert_eq!(j["f"], 1.5);
        assert_eq!(j["g"], 16);
        assert_eq!(j["h"], "1.2.3");
        assert_eq!(j["i"], "on");
        assert_eq!(j["j"], 1000.0);
    }

    #[test]
    fn every_node_has_a_span() {
        let n = parse("metadata:\n  name: cart\nspec:\n  replicas: 3\n");
        let replicas = n.at(&["spec", "replicas"]).unwrap();
        assert_eq!(replicas.span.start, Pos { line: 4, col: 12 });
        assert_eq!(replicas.span.end, Pos { line: 4, col: 13 });
        let spec = n.entry("spec").unwrap();
        assert_eq!(spec.key_span.start, Pos { line: 3, col: 0 });
        assert_eq!(spec.value.span.end.line, 4);
    }

    #[test]
    fn split_keeps_line_numbers() {
        let text = "a: 1\n---\nb: 2\n--- # c\nc: 3\n";
        let docs = split_documents(text);
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[1].0, 1);
        let d = parse_document(docs[2].1, docs[2].0).unwrap();
        assert_eq!(d.root.unwrap().get("c").unwrap().span.start.line, 5);
    }

    #[test]
    fn split_ignores_dashes_that_are_not_markers() {
        let docs = split_documents("a: |\n  ---\n  x\nb: ---x\n----\n");
        assert_eq!(docs.len(), 1);
    }

    #[test]
    fn alias_bomb_is_refused() {
        let mut text = String::from(
            "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        for (prev, name) in ["a", "b", "c", "d", "e", "f", "g", "h"]
            .iter()
            .zip(["b", "c", "d", "e", "f", "g", "h", "i"])
        {
            let refs = vec![format!("*{prev}"); 9].join(",");
            text.push_str(&format!("{name}: &{name} [{refs}]\n"));
        }
        let err = parse_str(&text).unwrap_err();
        assert!(err.message.contains("billion laughs"), "{err}");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = format!("a: {}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(parse_str(&text).is_err());
        let block: String = (0..1000)
            .map(|i| format!("{}k:\n", "  ".repeat(i)))
            .collect();
        let err = parse_str(&block).unwrap_err();
        assert!(err.message.contains("nesting"), "{err}");
    }

    #[test]
    fn helm_braces_as_keys_are_an_error() {
        assert!(parse_str("replicas: {{ .Values.replicas }}\n").is_err());
        assert!(parse_str("legend: \"{{ pod }}\"\n").is_ok());
    }

    #[test]
    fn closing_bracket_at_parent_indentation_is_accepted_like_kubectl() {
        let text = "spec:\n  args: [\n      \"-a\", \"b\",\n  ]\n  env: x\n";
        let n = parse(text);
        assert_eq!(n.at(&["spec", "args"]).unwrap().as_seq().unwrap().len(), 2);
        assert_eq!(
            n.at(&["spec", "env"]).unwrap().span.start,
            Pos { line: 5, col: 7 }
        );
    }

    #[test]
    fn quoted_continuation_at_key_indentation_is_accepted_like_kubectl() {
        let text = "a:\n  description: 'first line\n  second line'\n  type: string\n";
        let n = parse(text);
        assert_eq!(
            n.at(&["a", "description"]).unwrap().as_str(),
            Some("first line second line")
        );
        assert_eq!(
            n.at(&["a", "type"]).unwrap().span.start,
            Pos { line: 4, col: 8 }
        );
    }

    #[test]
    fn double_quoted_scalars_read_back_unchanged() {
        for text in [
            "plain",
            "a \"q\" \\ b",
            "line\nbreak\ttab\r",
            "bom\u{feff}",
            "sep\u{2028}",
            "nul\u{0}del\u{7f}",
        ] {
            let doc = format!("k: {}\n", double_quoted(text));
            assert_eq!(
                parse_str(&doc).unwrap().unwrap().str_at(&["k"]),
                Some(text),
                "{doc}"
            );
        }
    }

    #[test]
    fn duplicate_keys_are_an_error() {
        let err = parse_str("a: 1\na: 2\n").unwrap_err();
        assert!(err.message.contains("duplicate key"));
        assert_eq!(err.pos.line, 2);
        // Past the scanning threshold, through the key index.
        let mut big: String = (0..1000).map(|i| format!("k{i}: {i}\n")).collect();
        assert_eq!(parse(&big).as_map().map(<[Entry]>::len), Some(1000));
        big.push_str("k500: again\n");
        let err = parse_str(&big).unwrap_err();
        assert_eq!(
            err.message,
            "duplicate key `k500` (first defined on line 501)"
        );
        assert_eq!(err.pos.line, 1001);
    }
}
