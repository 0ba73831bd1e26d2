//! One field edit → byte edits on the text of the document that holds the object.
//!
//! Only the bytes of the value being changed (or the lines of the entry being removed, or
//! the new lines being added) change; comments, key order, quoting, indentation and line
//! endings around them are left exactly as they were. Anything this cannot do with
//! certainty (an edit through a YAML alias, a merge key, a layout it does not know) is an
//! error for the caller to report as "not applied", never a guess.

use std::collections::{HashMap, HashSet};

use saphyr_parser::{Event, Parser, ScalarStyle};
use serde_json::Value as Json;

use super::render::{self, Context, Layout, Quote};
use crate::load::files::SourceFile;
use crate::model::path::Segment;
use crate::model::FieldPath;
use crate::yaml::{self, Entry, Node, Pos, Value};

/// Replace `start..end` (bytes of the whole file text) with `text`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ByteEdit {
    pub start: usize,
    pub end: usize,
    pub text: String,
}

/// Applies non-overlapping edits (any order) to `text`.
pub fn apply(text: &str, edits: &[ByteEdit]) -> String {
    let mut sorted: Vec<&ByteEdit> = edits.iter().collect();
    sorted.sort_by_key(|e| (e.start, e.end));
    let mut out = String::with_capacity(text.len() + 64);
    let mut at = 0;
    for e in sorted {
        out.push_str(&text[at..e.start]);
        out.push_str(&e.text);
        at = e.end;
    }
    out.push_str(&text[at..]);
    out
}

/// Where an object sits in a file: the document (as split by `yaml::split_documents`) and,
/// for `kind: List`, the index in `items`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Place {
    pub document: usize,
    pub item: Option<usize>,
}

/// What the event stream knows and the tree forgets: scalar styles, anchors and aliases.
#[derive(Default)]
struct Styles {
    block_scalars: HashSet<Pos>,
    quoted: HashMap<Pos, Quote>,
    anchored: HashSet<Pos>,
    aliases: HashSet<Pos>,
}

impl Styles {
    fn read(doc_text: &str, line_offset: u32) -> Styles {
        let mut s = Styles::default();
        let mut parser = Parser::new_from_str(doc_text);
        while let Some(Ok((event, span))) = parser.next_event() {
            let start = Pos {
                line: span.start.line() as u32 + line_offset,
                col: span.start.col() as u32,
            };
            match event {
                Event::Scalar(_, style, anchor, _) => {
                    match style {
                        ScalarStyle::Literal | ScalarStyle::Folded => {
                            s.block_scalars.insert(start);
                        }
                        ScalarStyle::SingleQuoted => {
                            s.quoted.insert(start, Quote::Single);
                        }
                        ScalarStyle::DoubleQuoted => {
                            s.quoted.insert(start, Quote::Double);
                        }
                        ScalarStyle::Plain => {}
                    }
                    if anchor != 0 {
                        s.anchored.insert(start);
                    }
                }
                Event::MappingStart(anchor, _) | Event::SequenceStart(anchor, _) if anchor != 0 => {
                    s.anchored.insert(start);
                }
                Event::Alias(_) => {
                    s.aliases.insert(start);
                }
                _ => {}
            }
        }
        s
    }
}

/// An object in the current text of its file, ready to be edited.
pub struct Doc<'a> {
    file: &'a SourceFile,
    tree: yaml::Tree,
    node: yaml::NodeId,
    styles: Styles,
    layout: Layout,
    newline: &'static str,
    /// A JSON document: everything written into it must be JSON too.
    json: bool,
}

impl<'a> Doc<'a> {
    /// The object's node.
    pub fn root(&self) -> Node<'_> {
        self.tree.node(self.node)
    }

    /// Parses the object at `place` out of `file`'s text.
    pub fn open(file: &'a SourceFile, place: Place) -> Result<Doc<'a>, String> {
        let docs = yaml::split_documents(&file.text);
        let (line, range) = docs
            .get(place.document)
            .cloned()
            .ok_or("the document is no longer in the file")?;
        let doc_text = &file.text[range.clone()];
        let tree = yaml::parse_document(&file.text, line, range)
            .map_err(|e| format!("the document no longer parses: {e}"))?
            .root
            .ok_or("the document is empty")?;
        let mut root = tree.root();
        if let Some(i) = place.item {
            root = root
                .get("items")
                .and_then(Node::as_seq)
                .and_then(|items| items.get(i))
                .ok_or("the list item is no longer in the file")?;
        }
        let layout = detect_layout(file, root);
        let node = root.id();
        Ok(Doc {
            file,
            tree,
            node,
            styles: Styles::read(doc_text, line),
            layout,
            json: file.path.to_ascii_lowercase().ends_with(".json") || looks_like_json(doc_text),
            newline: if file.text.contains("\r\n") {
                "\r\n"
            } else {
                "\n"
            },
        })
    }

    fn flow_cx(&self) -> Context {
        if self.json {
            Context::Json
        } else {
            Context::Flow
        }
    }

    fn text(&self) -> &str {
        &self.file.text
    }

    pub(super) fn off(&self, pos: Pos) -> usize {
        self.file.offset(pos)
    }

    pub(super) fn line_start(&self, line: u32) -> usize {
        self.off(Pos { line, col: 0 })
    }

    /// Start of the line after the one holding byte `at` (or the end of the text).
    pub(super) fn next_line_start(&self, at: usize) -> usize {
        self.text()[at..]
            .find('\n')
            .map_or(self.text().len(), |i| at + i + 1)
    }

    pub(super) fn is_flow(&self, node: Node) -> bool {
        if !matches!(node.value(), Value::Map(_) | Value::Seq(_)) {
            return false;
        }
        let mut rest = &self.text()[self.off(node.span().start)..];
        // Skip an anchor or tag in front of the collection.
        while rest.starts_with('&') || rest.starts_with('!') {
            let end = rest.find([' ', '\t', '\n', '\r']).unwrap_or(rest.len());
            rest = rest[end..].trim_start_matches([' ', '\t']);
        }
        rest.starts_with('{') || rest.starts_with('[')
    }

    /// The `:` after a key.
    fn colon(&self, entry: Entry) -> Result<usize, String> {
        let at = self.off(entry.key_span().end);
        let rest = &self.text()[at..];
        let skipped = rest.len() - rest.trim_start_matches([' ', '\t']).len();
        if rest[skipped..].starts_with(':') {
            Ok(at + skipped)
        } else {
            Err(format!(
                "cannot find the `:` after key `{}` on line {}",
                entry.key,
                entry.key_span().start.line
            ))
        }
    }

    /// Where a block scalar's content really ends: its span runs on to the next token, past
    /// trailing blank lines and comments.
    fn block_scalar_end(&self, node: Node) -> usize {
        let (first, last) = (node.span().start.line, node.span().end.line);
        let mut content_indent = None;
        let mut end_line = first;
        for line in first..=last.min(self.file.line_count() as u32) {
            let text = self.file.line(line);
            if text.trim().is_empty() {
                continue;
            }
            let indent = text.len() - text.trim_start_matches(' ').len();
            match content_indent {
                None => content_indent = Some(indent),
                Some(ci) if indent < ci => break,
                _ => {}
            }
            end_line = line;
        }
        self.line_start(end_line) + self.file.line(end_line).len()
    }

    fn is_block_scalar(&self, node: Node) -> bool {
        self.styles.block_scalars.contains(&node.span().start)
    }

    /// Byte offset just past the last character of a node's text.
    pub(super) fn node_end(&self, node: Node) -> usize {
        match node.value() {
            Value::Map(entries) if !self.is_flow(node) && !entries.is_empty() => {
                self.entry_end(entries.last().expect("non-empty"))
            }
            Value::Seq(items) if !self.is_flow(node) && !items.is_empty() => {
                self.node_end(items.last().expect("non-empty"))
            }
            Value::Str(_) if self.is_block_scalar(node) => self.block_scalar_end(node),
            _ => self.off(node.span().end),
        }
    }

    fn entry_end(&self, entry: Entry) -> usize {
        let end = self.node_end(entry.value);
        if end <= self.off(entry.key_span().end) {
            // `key:` with nothing after it: the entry ends at its colon.
            self.colon(entry)
                .map_or(self.off(entry.key_span().end), |c| c + 1)
        } else {
            end
        }
    }

    /// The bytes of an entry's value to replace, and whether they start right after the
    /// colon (so the replacement needs a leading space).
    fn value_range(&self, entry: Entry) -> Result<(usize, usize, bool), String> {
        let colon = self.colon(entry)?;
        let node = entry.value;
        if self.is_block_scalar(node) {
            let line_end = colon
                + self.text()[colon..]
                    .find(['\n', '\r'])
                    .unwrap_or(self.text().len() - colon);
            let rest = &self.text()[colon + 1..line_end];
            let lead = rest.len() - rest.trim_start().len();
            if !rest[lead..].starts_with(['|', '>']) {
                return Err(format!(
                    "unsupported block scalar layout at line {}",
                    entry.key_span().start.line
                ));
            }
            return Ok((colon + 1 + lead, self.block_scalar_end(node), false));
        }
        let (start, end) = (self.off(node.span().start), self.off(node.span().end));
        if start == end {
            Ok((colon + 1, colon + 1, true))
        } else if matches!(node.value(), Value::Map(_) | Value::Seq(_)) && !self.is_flow(node) {
            Ok((colon + 1, self.node_end(node), true))
        } else {
            Ok((start, end, false))
        }
    }

    /// Refuses to edit through text that other places share or that the tree does not show.
    fn check(&self, node: Node, at: &str) -> Result<(), String> {
        if self.styles.aliases.contains(&node.span().start) {
            return Err(format!(
                "{at} is a YAML alias (*name); edit the anchored value it refers to instead"
            ));
        }
        if self.styles.anchored.contains(&node.span().start) && !self.styles.aliases.is_empty() {
            return Err(format!(
                "{at} carries a YAML anchor (&name) that aliases may share; not changed"
            ));
        }
        if node.get("<<").is_some() {
            return Err(format!(
                "{at} uses a YAML merge key (<<); not changed, edit it by hand"
            ));
        }
        Ok(())
    }

    /// Sets the field at `path` (creating missing parent mappings) to `value`.
    pub fn set(&self, path: &FieldPath, value: &Json) -> Result<Vec<ByteEdit>, String> {
        let segs = &path.0;
        if segs.is_empty() {
            return Err("cannot replace a whole object".into());
        }
        let mut node = self.root();
        let mut holder: Option<Entry> = None;
        let mut flow = false;
        for (i, seg) in segs.iter().enumerate() {
            let at = prefix(path, i);
            self.check(node, &at)?;
            let last = i + 1 == segs.len();
            match (seg, node.value()) {
                (Segment::Key(k), Value::Map(entries)) => {
                    let inner_flow = flow || self.is_flow(node);
                    match entries.iter().find(|e| e.key == k) {
                        Some(e) if last => {
                            self.check(e.value, &path.to_string())?;
                            return self.replace_value(e, value, inner_flow);
                        }
                        Some(e) => {
                            holder = Some(e);
                            flow = inner_flow;
                            node = e.value;
                        }
                        None => {
                            let (key, nested) = nest(&segs[i..], value)?;
                            return self.insert(node, inner_flow, &key, &nested);
                        }
                    }
                }
                (Segment::Key(_), Value::Null) => {
                    let (key, nested) = nest(&segs[i..], value)?;
                    let e = holder.ok_or_else(|| format!("{at} is null, not a mapping"))?;
                    return self.fill_null(e, flow, &key, &nested);
                }
                (Segment::Index(n), Value::Seq(items)) if *n < items.len() => {
                    let inner_flow = flow || self.is_flow(node);
                    if last {
                        return self.replace_item(
                            items.get(*n).expect("an index in range"),
                            value,
                            inner_flow,
                        );
                    }
                    holder = None;
                    flow = inner_flow;
                    node = items.get(*n).expect("an index in range");
                }
                (Segment::Index(n), _) => {
                    return Err(format!("{at} has no item {n}; list items are never added"))
                }
                (Segment::Key(_), _) => {
                    return Err(format!("{at} is {}, not a mapping", node.type_name()))
                }
            }
        }
        unreachable!("the loop returns at the last segment")
    }

    fn replace_value(
        &self,
        entry: Entry,
        value: &Json,
        flow: bool,
    ) -> Result<Vec<ByteEdit>, String> {
        if entry.value.to_json() == *value {
            return Ok(Vec::new());
        }
        let (start, end, after_colon) = self.value_range(entry)?;
        let key_indent = entry.key_span().start.col as usize;
        let keep_flow = flow || self.is_flow(entry.value);
        if let Some(lines) =
            render::block_value(value, key_indent, self.layout).filter(|_| !keep_flow)
        {
            // Block context gets block style: the value moves under its key.
            let colon = self.colon(entry)?;
            return Ok(vec![ByteEdit {
                start: colon + 1,
                end,
                text: format!("{}{}", self.newline, lines.join(self.newline)),
            }]);
        }
        let text = match value {
            Json::Array(_) | Json::Object(_) => {
                format!(
                    "{}{}",
                    if after_colon { " " } else { "" },
                    render::flow_in(value, self.flow_cx())
                )
            }
            scalar => {
                let quote = self
                    .styles
                    .quoted
                    .get(&entry.value.span().start)
                    .copied()
                    .unwrap_or(Quote::Any);
                let cx = if flow { self.flow_cx() } else { Context::Block };
                let s = render::scalar(scalar, quote, cx).unwrap_or_default();
                format!("{}{s}", if after_colon { " " } else { "" })
            }
        };
        Ok(vec![ByteEdit { start, end, text }])
    }

    fn replace_item(&self, item: Node, value: &Json, flow: bool) -> Result<Vec<ByteEdit>, String> {
        if item.to_json() == *value {
            return Ok(Vec::new());
        }
        let collection = matches!(item.value(), Value::Map(_) | Value::Seq(_));
        if self.is_block_scalar(item) || (collection && !self.is_flow(item)) {
            return Err(format!(
                "replacing a multi-line list item (line {}) is not supported",
                item.span().start.line
            ));
        }
        let text = match value {
            Json::Array(_) | Json::Object(_) => render::flow_in(value, self.flow_cx()),
            scalar => {
                let quote = self
                    .styles
                    .quoted
                    .get(&item.span().start)
                    .copied()
                    .unwrap_or(Quote::Any);
                let cx = if flow { self.flow_cx() } else { Context::Block };
                render::scalar(scalar, quote, cx).unwrap_or_default()
            }
        };
        Ok(vec![ByteEdit {
            start: self.off(item.span().start),
            end: self.off(item.span().end),
            text,
        }])
    }

    /// Adds `key: value` to a mapping that lacks it.
    fn insert(
        &self,
        map: Node,
        flow: bool,
        key: &str,
        value: &Json,
    ) -> Result<Vec<ByteEdit>, String> {
        let Value::Map(entries) = map.value() else {
            unreachable!("insert is only called on mappings")
        };
        if flow {
            let item = format!(
                "{}: {}",
                render::string(key, Quote::Any, self.flow_cx()),
                render::flow_in(value, self.flow_cx())
            );
            return match entries.last() {
                Some(last) => {
                    let at = self.entry_end(last);
                    // One entry per line (pretty-printed JSON): the new one gets its own line
                    // at the same indentation.
                    let line_start = self.line_start(last.key_span().start.line);
                    let lead = &self.text()[line_start..self.off(last.key_span().start)];
                    let text = if map.span().start.line < last.key_span().start.line
                        && lead.trim().is_empty()
                    {
                        format!(",{}{lead}{item}", self.newline)
                    } else {
                        format!(", {item}")
                    };
                    Ok(vec![ByteEdit {
                        start: at,
                        end: at,
                        text,
                    }])
                }
                None => {
                    let close = self.off(map.span().end).saturating_sub(1);
                    if !self.text()[close..].starts_with('}') {
                        return Err(format!(
                            "cannot find the `}}` of the mapping on line {}",
                            map.span().start.line
                        ));
                    }
                    Ok(vec![ByteEdit {
                        start: close,
                        end: close,
                        text: item,
                    }])
                }
            };
        }
        let first = entries
            .first()
            .ok_or("an empty block mapping cannot exist")?;
        let indent = first.key_span().start.col as usize;
        let lines = render::block_entry(key, value, indent, self.layout);
        let last = entries.last().expect("non-empty");
        Ok(vec![self.lines_after(self.entry_end(last), &lines)])
    }

    /// Inserts whole lines after the line holding byte `at`.
    fn lines_after(&self, at: usize, lines: &[String]) -> ByteEdit {
        let start = self.next_line_start(at);
        let body = lines.join(self.newline);
        let text = if start == self.text().len() && !self.text().ends_with('\n') {
            format!("{}{body}", self.newline)
        } else {
            format!("{body}{}", self.newline)
        };
        ByteEdit {
            start,
            end: start,
            text,
        }
    }

    /// Gives `key: value` to an entry whose value is null (`annotations:` or `~`).
    fn fill_null(
        &self,
        entry: Entry,
        flow: bool,
        key: &str,
        value: &Json,
    ) -> Result<Vec<ByteEdit>, String> {
        let (start, end, after_colon) = self.value_range(entry)?;
        let mut map = serde_json::Map::new();
        map.insert(key.to_string(), value.clone());
        if flow {
            let text = format!(
                "{}{}",
                if after_colon { " " } else { "" },
                render::flow_in(&Json::Object(map), self.flow_cx())
            );
            return Ok(vec![ByteEdit { start, end, text }]);
        }
        let indent = entry.key_span().start.col as usize + self.layout.indent;
        let lines = render::block_entry(key, value, indent, self.layout);
        let mut edits = Vec::new();
        if start != end {
            // `key: ~` → `key:`; the removed bytes include the space before `~`.
            let colon = self.colon(entry)?;
            edits.push(ByteEdit {
                start: colon + 1,
                end,
                text: String::new(),
            });
        }
        edits.push(self.lines_after(end.max(start), &lines));
        Ok(edits)
    }

    /// Removes the field at `path`; a field that is already absent needs no edit.
    pub fn remove(&self, path: &FieldPath) -> Result<Vec<ByteEdit>, String> {
        let key = match path.0.split_last() {
            Some((Segment::Key(key), _)) => key,
            Some((Segment::Index(index), _)) => return self.remove_item(path, *index),
            None => return Err("the whole object cannot be removed by a fix".into()),
        };
        let parents = &path.0[..path.0.len() - 1];
        let mut node = self.root();
        let mut holder: Option<Entry> = None;
        let mut flow = false;
        for (i, seg) in parents.iter().enumerate() {
            self.check(node, &prefix(path, i))?;
            flow = flow || self.is_flow(node);
            let next = match (seg, node.value()) {
                (Segment::Key(k), Value::Map(entries)) => entries.iter().find(|e| e.key == k),
                (Segment::Index(n), Value::Seq(items)) => {
                    holder = None;
                    match items.get(*n) {
                        Some(item) => {
                            node = item;
                            continue;
                        }
                        None => return Ok(Vec::new()),
                    }
                }
                _ => None,
            };
            match next {
                Some(e) => {
                    holder = Some(e);
                    node = e.value;
                }
                None => return Ok(Vec::new()),
            }
        }
        let at = prefix(path, parents.len());
        self.check(node, &at)?;
        let Value::Map(entries) = node.value() else {
            return Ok(Vec::new());
        };
        let Some(i) = entries.iter().position(|e| e.key == key) else {
            return Ok(Vec::new());
        };
        let entry = entries.get(i).expect("an index in range");
        if self.styles.anchored.contains(&entry.value.span().start)
            && !self.styles.aliases.is_empty()
        {
            return Err(format!(
                "{path} carries a YAML anchor that aliases may use; not removed"
            ));
        }
        let key_start = self.off(entry.key_span().start);
        if flow || self.is_flow(node) {
            let (start, end) = if entries.len() == 1 {
                (key_start, self.entry_end(entry))
            } else if i + 1 < entries.len() {
                (
                    key_start,
                    self.off(
                        entries
                            .get(i + 1)
                            .expect("an index in range")
                            .key_span()
                            .start,
                    ),
                )
            } else {
                (
                    self.entry_end(entries.get(i - 1).expect("an index in range")),
                    self.entry_end(entry),
                )
            };
            return Ok(vec![ByteEdit {
                start,
                end,
                text: String::new(),
            }]);
        }
        let line_start = self.line_start(entry.key_span().start.line);
        let own_line = self.text()[line_start..key_start].trim().is_empty();
        let whole_lines = ByteEdit {
            start: line_start,
            end: self.next_line_start(self.entry_end(entry)),
            text: String::new(),
        };
        if entries.len() == 1 {
            // An emptied mapping becomes `{}` rather than null, which some fields reject.
            let Some(parent) = holder.filter(|_| own_line) else {
                return Err(format!(
                    "removing the only field of {at} would leave an empty item; not changed"
                ));
            };
            let colon = self.colon(parent)?;
            return Ok(vec![
                ByteEdit {
                    start: colon + 1,
                    end: colon + 1,
                    text: " {}".into(),
                },
                whole_lines,
            ]);
        }
        if own_line {
            Ok(vec![whole_lines])
        } else if i + 1 < entries.len() {
            // `- key: v` then `  next: w`: the next entry moves up behind the dash.
            Ok(vec![ByteEdit {
                start: key_start,
                end: self.off(
                    entries
                        .get(i + 1)
                        .expect("an index in range")
                        .key_span()
                        .start,
                ),
                text: String::new(),
            }])
        } else {
            Err(format!("unsupported layout around {path}"))
        }
    }
}

impl Doc<'_> {
    /// Removes item `index` of the list at `path`'s parent: the item and its comma in flow
    /// style, its whole lines in block style (an emptied block list becomes `[]`).
    fn remove_item(&self, path: &FieldPath, index: usize) -> Result<Vec<ByteEdit>, String> {
        let Some(list_path) = path.parent() else {
            return Ok(Vec::new());
        };
        let Some(list) = list_path.resolve(self.root()) else {
            return Ok(Vec::new());
        };
        self.check(list, &list_path.to_string())?;
        let Value::Seq(items) = list.value() else {
            return Ok(Vec::new());
        };
        let Some(item) = items.get(index) else {
            return Ok(Vec::new());
        };
        if self.styles.anchored.contains(&item.span().start) && !self.styles.aliases.is_empty() {
            return Err(format!(
                "{path} carries a YAML anchor that aliases may use; not removed"
            ));
        }
        if self.is_flow(list) {
            let (start, end) = if index + 1 < items.len() {
                (
                    self.off(item.span().start),
                    self.off(
                        items
                            .get(index + 1)
                            .expect("an index in range")
                            .span()
                            .start,
                    ),
                )
            } else if index > 0 {
                (
                    self.node_end(items.get(index - 1).expect("an index in range")),
                    self.node_end(item),
                )
            } else {
                (self.off(item.span().start), self.node_end(item))
            };
            return Ok(vec![ByteEdit {
                start,
                end,
                text: String::new(),
            }]);
        }
        let line_start = self.line_start(item.span().start.line);
        let before = &self.text()[line_start..self.off(item.span().start)];
        if before.trim() != "-" {
            return Err(format!("unsupported layout around {path}"));
        }
        // Up to the end of the item's last line: comments between items stay.
        let end = self.next_line_start(self.node_end(item).max(line_start + 1) - 1);
        let whole_lines = ByteEdit {
            start: line_start,
            end,
            text: String::new(),
        };
        if items.len() > 1 {
            return Ok(vec![whole_lines]);
        }
        // The list's only item: leave `key: []` rather than a null the API may reject.
        let holder = list_path
            .parent()
            .and_then(|p| p.resolve(self.root()))
            .and_then(|n| n.entry(list_path.last_key()?))
            .ok_or_else(|| {
                format!("removing the only item of {list_path} would leave it empty; not changed")
            })?;
        let colon = self.colon(holder)?;
        Ok(vec![
            ByteEdit {
                start: colon + 1,
                end: colon + 1,
                text: " []".into(),
            },
            whole_lines,
        ])
    }
}

/// A document written as a JSON object: `{` then a quoted key (YAML flow keys are plain).
fn looks_like_json(text: &str) -> bool {
    text.trim_start()
        .strip_prefix('{')
        .is_some_and(|rest| rest.trim_start().starts_with(['"', '}']))
}

/// `/a/b` for the first `n` segments of `path`.
fn prefix(path: &FieldPath, n: usize) -> String {
    FieldPath(path.0[..n].to_vec()).to_string()
}

/// The first key of `segs` and the value to give it: `{b: {c: value}}` for `[a, b, c]`.
fn nest(segs: &[Segment], value: &Json) -> Result<(String, Json), String> {
    let mut keys = Vec::new();
    for s in segs {
        match s {
            Segment::Key(k) => keys.push(k.clone()),
            Segment::Index(i) => {
                return Err(format!(
                    "cannot create list item {i}; list items are never added"
                ))
            }
        }
    }
    let first = keys.remove(0);
    let nested = keys.into_iter().rev().fold(value.clone(), |v, k| {
        let mut m = serde_json::Map::new();
        m.insert(k, v);
        Json::Object(m)
    });
    Ok((first, nested))
}

/// The file's own indentation: the step between a key and its nested keys, and where the
/// `-` of a block sequence sits relative to its key; the first example found wins.
fn detect_layout(file: &SourceFile, root: Node) -> Layout {
    let mut layout = Layout::default();
    let (mut indent, mut seq) = (None, None);
    // Breadth first, so the outermost example (the most typical) decides.
    let mut queue = vec![root];
    let mut next = 0;
    while let Some(&node) = queue.get(next) {
        next += 1;
        match node.value() {
            Value::Map(entries) => {
                for e in entries {
                    let key_col = e.key_span().start.col as usize;
                    match e.value.value() {
                        Value::Map(children)
                            if e.value.span().start.line > e.key_span().start.line =>
                        {
                            if let Some(c) = children.first() {
                                let step =
                                    (c.key_span().start.col as usize).saturating_sub(key_col);
                                if indent.is_none() && step > 0 {
                                    indent = Some(step);
                                }
                            }
                        }
                        Value::Seq(items)
                            if e.value.span().start.line > e.key_span().start.line =>
                        {
                            if let Some(first) = items.first() {
                                let line: Vec<char> =
                                    file.line(first.span().start.line).chars().collect();
                                let col = first.span().start.col as usize;
                                let dash = (0..col.min(line.len()))
                                    .rev()
                                    .find(|&i| line[i] != ' ')
                                    .filter(|&i| line[i] == '-');
                                if let (None, Some(d)) = (seq, dash) {
                                    seq = Some(d.saturating_sub(key_col));
                                }
                            }
                        }
                        _ => {}
                    }
                    queue.push(e.value);
                }
            }
            Value::Seq(items) => queue.extend(items.iter()),
            _ => {}
        }
        if indent.is_some() && seq.is_some() {
            break;
        }
    }
    if let Some(i) = indent {
        layout.indent = i;
    }
    if let Some(s) = seq {
        layout.sequence_offset = s;
    }
    layout
}
