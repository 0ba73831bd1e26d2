//! A YAML tree that remembers where every node came from.
//!
//! serde_yaml is deprecated and, like most serde-based YAML crates, throws positions away once
//! a value is built. Every diagnostic here must point at the exact field it is about (file,
//! line, column, end), in SARIF as much as in the terminal, so the loader builds its own tree
//! from `saphyr-parser`'s spanned event stream: a maintained, pure-Rust YAML 1.2 parser that
//! reports a start and end position for every event and never panics on bad input. Building
//! the tree ourselves also lets us bound alias expansion and nesting depth, which no
//! off-the-shelf loader does.
//!
//! The whole input stays in memory while the rules run, so the tree is built to be small: a
//! [`Tree`] is one array of 8-byte nodes per document, strings are ranges of the file's text
//! (shared, never copied) wherever they are written verbatim, and positions are byte offsets
//! that become line and column only when a diagnostic asks. [`Node`] is a copyable handle
//! into it.

pub mod de;

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, OnceLock};

use saphyr_parser::{Event, Marker, Parser, ScalarStyle, Span as RawSpan};

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
}

/// A file's text and where its lines start. The file and every tree parsed from it share one
/// copy: nodes keep byte offsets into it, and line and column are worked out only when a
/// diagnostic asks for them.
#[derive(Clone, Debug, Default)]
pub struct Text {
    text: Arc<str>,
    /// Where lines start, worked out the first time a position is asked for: most files of a
    /// large input never are.
    lines: Arc<OnceLock<Lines>>,
}

/// Lines per entry of [`Lines::starts`]: a position is found by a binary search and then
/// a scan of at most this many lines, for a sixteenth of the memory of a full index.
const LINES_PER_START: usize = 16;

#[derive(Debug)]
struct Lines {
    /// Byte offset where line `1 + LINES_PER_START * i` starts (u32: files are at most
    /// 256 MiB).
    starts: Box<[u32]>,
    count: usize,
}

impl Text {
    pub fn new(text: String) -> Text {
        Text {
            text: text.into(),
            lines: Arc::default(),
        }
    }

    fn lines(&self) -> &Lines {
        self.lines.get_or_init(|| {
            let breaks = self.text.match_indices('\n').map(|(i, _)| i as u32 + 1);
            let mut starts = vec![0];
            let mut count = 1;
            for (i, start) in breaks.enumerate() {
                count += 1;
                if (i + 1) % LINES_PER_START == 0 {
                    starts.push(start);
                }
            }
            Lines {
                starts: starts.into(),
                count,
            }
        })
    }

    /// Byte offset where a 1-based line starts.
    fn line_start(&self, line: u32) -> Option<usize> {
        let lines = self.lines();
        let index = (line as usize)
            .checked_sub(1)
            .filter(|&i| i < lines.count)?;
        let from = lines.starts[index / LINES_PER_START] as usize;
        match index % LINES_PER_START {
            0 => Some(from),
            // Lines are short: a byte loop beats a memchr call per line.
            skip => self.text.as_bytes()[from..]
                .iter()
                .enumerate()
                .filter(|(_, &b)| b == b'\n')
                .nth(skip - 1)
                .map(|(i, _)| from + i + 1),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The text of a 1-based line, without its line break.
    pub fn line(&self, line: u32) -> &str {
        let Some(start) = self.line_start(line) else {
            return "";
        };
        let rest = &self.text[start..];
        rest[..rest.find('\n').unwrap_or(rest.len())].trim_end_matches('\r')
    }

    pub fn line_count(&self) -> usize {
        self.lines().count
    }

    /// Byte offset of a position (columns count characters).
    pub fn offset(&self, pos: Pos) -> usize {
        let Some(start) = self.line_start(pos.line) else {
            return self.text.len();
        };
        let line = self.line(pos.line);
        start
            + line
                .char_indices()
                .nth(pos.col as usize)
                .map_or(line.len(), |(i, _)| i)
    }

    /// The position of a byte offset.
    pub fn pos(&self, offset: usize) -> Pos {
        let offset = offset.min(self.text.len());
        let lines = self.lines();
        let block = lines
            .starts
            .partition_point(|&s| s as usize <= offset)
            .saturating_sub(1);
        let from = lines.starts.get(block).map_or(0, |&s| s as usize);
        let between = self.text.get(from..offset).unwrap_or_default();
        let breaks = between.bytes().filter(|&b| b == b'\n').count();
        let before = &between[between.rfind('\n').map_or(0, |i| i + 1)..];
        let col = if before.is_ascii() {
            before.len()
        } else {
            before.chars().count()
        };
        Pos {
            line: (block * LINES_PER_START + breaks + 1) as u32,
            col: col as u32,
        }
    }

    /// Column in UTF-16 code units (SARIF's and GitHub's unit), 1-based.
    pub fn utf16_column(&self, pos: Pos) -> u32 {
        let line = self.line(pos.line);
        line.chars()
            .take(pos.col as usize)
            .map(|c| c.len_utf16() as u32)
            .sum::<u32>()
            + 1
    }
}

impl std::ops::Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        &self.text
    }
}

/// One node, decoded: what the tree's readers and its builder work with.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Raw {
    kind: u32,
    /// A string's length, a collection's size (entries of a mapping).
    len: usize,
    /// Byte offsets of the node in the file (both 0 without text).
    start: u32,
    end: u32,
    /// Bool: 0 or 1. Int, Float: index into `numbers`. Strings: byte offset in the text or
    /// pool. Seq, Map: the first child. Ref: the node it stands for.
    data: u32,
}

const KIND_BITS: u32 = 4;
const NULL: u32 = 0;
const BOOL: u32 = 1;
const INT: u32 = 2;
const FLOAT: u32 = 3;
const TEXT_STR: u32 = 4;
const POOL_STR: u32 = 5;
const SEQ: u32 = 6;
const MAP: u32 = 7;
/// Another node's value at this node's position: an alias, or an anchored node (stored once,
/// where its aliases can find it).
const REF: u32 = 8;
/// Storage-only kinds: a string written verbatim in the text as a plain scalar (it starts
/// and ends where the node does) or in quotes (one byte in from either end).
const PLAIN_STR: u32 = 9;
const QUOTED_STR: u32 = 10;

/// Longest string or largest collection a node can hold (the size shares a u32 with the kind).
const MAX_LEN: usize = (u32::MAX >> KIND_BITS) as usize;

impl Raw {
    fn new(kind: u32, len: usize, start: u32, end: u32, data: u32) -> Raw {
        Raw {
            kind,
            len: len.min(MAX_LEN),
            start,
            end,
            data,
        }
    }
}

/// One node as stored: 8 bytes. Keys and values written verbatim in the text — nearly all
/// of them — need nothing else: their kind and length say where their text and their end
/// are. What other kinds need (a collection's first child, size and end, a number's value)
/// is in the store's side table, where the node points.
#[derive(Clone, Copy, Debug, Default)]
struct Stored {
    /// The kind in the low [`KIND_BITS`] bits. Above them: a verbatim string's length, the
    /// text length of a null, the text length and value of a boolean, or an index into
    /// `side` for every other kind.
    head: u32,
    start: u32,
}

/// The nodes of a tree and what they cannot hold themselves.
#[derive(Debug, Default)]
struct Store {
    nodes: Vec<Stored>,
    /// `[data, end]` of numbers and references, `[data, end, len]` of other strings and
    /// of collections.
    side: Vec<u32>,
}

impl Store {
    fn len(&self) -> u32 {
        self.nodes.len() as u32
    }

    /// Whether another node may be stored: side indexes share a u32 with the kind.
    fn is_full(&self) -> bool {
        self.side.len() + 3 > MAX_LEN
    }

    /// Stores a node; returns its id.
    fn push(&mut self, raw: Raw) -> u32 {
        let span_len = raw.end.saturating_sub(raw.start) as usize;
        let side = self.side.len();
        let (kind, payload) = match raw.kind {
            TEXT_STR if raw.data == raw.start && raw.len == span_len => (PLAIN_STR, raw.len),
            TEXT_STR if raw.data == raw.start + 1 && raw.len + 2 == span_len => {
                (QUOTED_STR, raw.len)
            }
            NULL => (NULL, span_len),
            BOOL => (BOOL, span_len << 1 | (raw.data & 1) as usize),
            INT | FLOAT | REF => {
                self.side.extend([raw.data, raw.end]);
                (raw.kind, side)
            }
            _ => {
                self.side
                    .extend([raw.data, raw.end, raw.len.min(MAX_LEN) as u32]);
                (raw.kind, side)
            }
        };
        self.nodes.push(Stored {
            head: kind | ((payload.min(MAX_LEN) as u32) << KIND_BITS),
            start: raw.start,
        });
        self.len() - 1
    }

    fn get(&self, id: u32) -> Raw {
        decode(&self.nodes, &self.side, id)
    }
}

fn decode(nodes: &[Stored], side: &[u32], id: u32) -> Raw {
    let s = nodes[id as usize];
    let (kind, p) = (
        s.head & ((1 << KIND_BITS) - 1),
        (s.head >> KIND_BITS) as usize,
    );
    let raw = |kind, len, data, end| Raw {
        kind,
        len,
        start: s.start,
        end,
        data,
    };
    let at = |i: usize| side.get(p + i).copied().unwrap_or_default();
    match kind {
        PLAIN_STR => raw(TEXT_STR, p, s.start, s.start + p as u32),
        QUOTED_STR => raw(TEXT_STR, p, s.start + 1, s.start + p as u32 + 2),
        NULL => raw(NULL, 0, 0, s.start + p as u32),
        BOOL => raw(BOOL, 0, (p & 1) as u32, s.start + (p >> 1) as u32),
        INT | FLOAT | REF => raw(kind, 0, at(0), at(1)),
        _ => raw(kind, at(2) as usize, at(0), at(1)),
    }
}

/// A parsed document (or any YAML/JSON value): its nodes in one allocation, its strings in
/// the shared file text or one pool. Read it through [`Tree::root`].
#[derive(Debug, Default)]
pub struct Tree {
    text: Text,
    nodes: Box<[Stored]>,
    side: Box<[u32]>,
    pool: Box<str>,
    numbers: Box<[u64]>,
    root: u32,
}

/// Which node of its tree: lets an object stand for a part of a document (a List item).
pub type NodeId = u32;

impl Tree {
    pub fn root(&self) -> Node<'_> {
        self.node(self.root)
    }

    /// The node `id` (from [`Node::id`] on this tree).
    pub fn node(&self, id: NodeId) -> Node<'_> {
        Node { tree: self, id }
    }

    /// A tree without positions, from JSON (objects read from a cluster).
    pub fn from_json(json: &serde_json::Value) -> Tree {
        let mut parts = Parts::default();
        let root = parts.add_json(json);
        let root = parts.store.push(root);
        parts.into_tree(&Text::default(), root)
    }

    fn str_of(&self, raw: Raw) -> &str {
        let (start, len) = (raw.data as usize, raw.len);
        let source: &str = match raw.kind {
            TEXT_STR => &self.text,
            POOL_STR => &self.pool,
            _ => return "",
        };
        source.get(start..start + len).unwrap_or_default()
    }

    /// The node whose value `id` has (through a Ref).
    fn content(&self, id: u32) -> Raw {
        let raw = self.raw(id);
        if raw.kind == REF {
            self.raw(raw.data)
        } else {
            raw
        }
    }

    fn raw(&self, id: u32) -> Raw {
        decode(&self.nodes, &self.side, id)
    }
}

/// The nodes, pooled strings and numbers of a tree while documents are added to it.
#[derive(Debug, Default)]
struct Parts {
    store: Store,
    pool: String,
    numbers: Vec<u64>,
}

/// How far [`Parts`] were filled: what a failed document is rolled back to.
#[derive(Clone, Copy)]
struct Mark {
    nodes: usize,
    side: usize,
    pool: usize,
    numbers: usize,
}

impl Parts {
    /// Room for the nodes of `bytes` of text: about one node per dozen bytes in manifests.
    fn with_capacity(bytes: usize) -> Parts {
        Parts {
            store: Store {
                nodes: Vec::with_capacity(bytes / 12),
                side: Vec::new(),
            },
            ..Parts::default()
        }
    }

    fn mark(&self) -> Mark {
        Mark {
            nodes: self.store.nodes.len(),
            side: self.store.side.len(),
            pool: self.pool.len(),
            numbers: self.numbers.len(),
        }
    }

    fn truncate(&mut self, mark: Mark) {
        self.store.nodes.truncate(mark.nodes);
        self.store.side.truncate(mark.side);
        self.pool.truncate(mark.pool);
        self.numbers.truncate(mark.numbers);
    }

    /// The finished tree, each part in an allocation of its exact size.
    fn into_tree(self, text: &Text, root: NodeId) -> Tree {
        Tree {
            text: text.clone(),
            root,
            nodes: self.store.nodes.into(),
            side: self.store.side.into(),
            pool: self.pool.into(),
            numbers: self.numbers.into(),
        }
    }
}

/// Trees from JSON.
impl Parts {
    /// The node for `json`, its descendants already stored.
    fn add_json(&mut self, json: &serde_json::Value) -> Raw {
        use serde_json::Value as J;
        match json {
            J::Null => Raw::default(),
            J::Bool(b) => Raw::new(BOOL, 0, 0, 0, u32::from(*b)),
            J::Number(n) => match n.as_i64() {
                Some(i) => self.number(INT, i as u64),
                None => self.number(FLOAT, n.as_f64().unwrap_or(0.0).to_bits()),
            },
            J::String(s) => self.string(s),
            J::Array(items) => {
                let children: Vec<Raw> = items.iter().map(|i| self.add_json(i)).collect();
                self.collection(SEQ, children, items.len())
            }
            J::Object(map) => {
                let mut children = Vec::with_capacity(map.len() * 2);
                for (k, v) in map {
                    children.push(self.string(k));
                    children.push(self.add_json(v));
                }
                self.collection(MAP, children, map.len())
            }
        }
    }

    fn number(&mut self, kind: u32, bits: u64) -> Raw {
        self.numbers.push(bits);
        Raw::new(kind, 0, 0, 0, (self.numbers.len() - 1) as u32)
    }

    fn string(&mut self, s: &str) -> Raw {
        let at = self.pool.len() as u32;
        self.pool.push_str(s);
        Raw::new(POOL_STR, s.len(), 0, 0, at)
    }

    fn collection(&mut self, kind: u32, children: Vec<Raw>, len: usize) -> Raw {
        let first = self.store.len();
        for child in children {
            self.store.push(child);
        }
        Raw::new(kind, len, 0, 0, first)
    }
}

/// A node of a [`Tree`]: cheap to copy, valid as long as the tree.
#[derive(Clone, Copy)]
pub struct Node<'a> {
    tree: &'a Tree,
    id: u32,
}

/// What a node holds.
#[derive(Clone, Copy, Debug)]
pub enum Value<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'a str),
    Seq(Seq<'a>),
    Map(Map<'a>),
}

/// The items of a sequence.
#[derive(Clone, Copy)]
pub struct Seq<'a> {
    tree: &'a Tree,
    first: u32,
    len: u32,
}

/// The entries of a mapping, in document order.
#[derive(Clone, Copy)]
pub struct Map<'a> {
    tree: &'a Tree,
    first: u32,
    len: u32,
}

/// One `key: value` of a mapping.
#[derive(Clone, Copy)]
pub struct Entry<'a> {
    pub key: &'a str,
    pub value: Node<'a>,
    key_id: u32,
}

impl<'a> Seq<'a> {
    pub fn len(self) -> usize {
        self.len as usize
    }

    pub fn is_empty(self) -> bool {
        self.len == 0
    }

    pub fn get(self, index: usize) -> Option<Node<'a>> {
        (index < self.len()).then(|| Node {
            tree: self.tree,
            id: self.first + index as u32,
        })
    }

    pub fn first(self) -> Option<Node<'a>> {
        self.get(0)
    }

    pub fn last(self) -> Option<Node<'a>> {
        self.len().checked_sub(1).and_then(|i| self.get(i))
    }

    pub fn iter(self) -> SeqIter<'a> {
        SeqIter {
            tree: self.tree,
            ids: self.first..self.first + self.len,
        }
    }
}

impl<'a> IntoIterator for Seq<'a> {
    type Item = Node<'a>;
    type IntoIter = SeqIter<'a>;

    fn into_iter(self) -> SeqIter<'a> {
        self.iter()
    }
}

/// An empty tree, for the empty sequences and mappings `Default` gives.
static EMPTY: std::sync::LazyLock<Tree> = std::sync::LazyLock::new(Tree::default);

impl Default for Seq<'_> {
    fn default() -> Self {
        Seq {
            tree: &EMPTY,
            first: 0,
            len: 0,
        }
    }
}

impl Default for Map<'_> {
    fn default() -> Self {
        Map {
            tree: &EMPTY,
            first: 0,
            len: 0,
        }
    }
}

/// The items of a sequence, in order.
#[derive(Clone)]
pub struct SeqIter<'a> {
    tree: &'a Tree,
    ids: std::ops::Range<u32>,
}

impl<'a> Iterator for SeqIter<'a> {
    type Item = Node<'a>;

    fn next(&mut self) -> Option<Node<'a>> {
        let tree = self.tree;
        self.ids.next().map(|id| Node { tree, id })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.ids.size_hint()
    }
}

impl DoubleEndedIterator for SeqIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let tree = self.tree;
        self.ids.next_back().map(|id| Node { tree, id })
    }
}

impl ExactSizeIterator for SeqIter<'_> {}

impl<'a> Map<'a> {
    pub fn len(self) -> usize {
        self.len as usize
    }

    pub fn is_empty(self) -> bool {
        self.len == 0
    }

    pub fn get(self, index: usize) -> Option<Entry<'a>> {
        (index < self.len()).then(|| {
            let key_id = self.first + 2 * index as u32;
            Entry {
                key: self.tree.str_of(self.tree.content(key_id)),
                value: Node {
                    tree: self.tree,
                    id: key_id + 1,
                },
                key_id,
            }
        })
    }

    pub fn first(self) -> Option<Entry<'a>> {
        self.get(0)
    }

    pub fn last(self) -> Option<Entry<'a>> {
        self.len().checked_sub(1).and_then(|i| self.get(i))
    }

    pub fn iter(self) -> MapIter<'a> {
        MapIter {
            map: self,
            indexes: 0..self.len(),
        }
    }

    /// The entry for `key`.
    pub fn entry(self, key: &str) -> Option<Entry<'a>> {
        (0..self.len())
            .find(|&i| {
                let key_id = self.first + 2 * i as u32;
                self.tree.str_of(self.tree.content(key_id)) == key
            })
            .and_then(|i| self.get(i))
    }
}

impl<'a> IntoIterator for Map<'a> {
    type Item = Entry<'a>;
    type IntoIter = MapIter<'a>;

    fn into_iter(self) -> MapIter<'a> {
        self.iter()
    }
}

/// The entries of a mapping, in order.
#[derive(Clone)]
pub struct MapIter<'a> {
    map: Map<'a>,
    indexes: std::ops::Range<usize>,
}

impl<'a> Iterator for MapIter<'a> {
    type Item = Entry<'a>;

    fn next(&mut self) -> Option<Entry<'a>> {
        let map = self.map;
        self.indexes.next().and_then(|i| map.get(i))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.indexes.size_hint()
    }
}

impl DoubleEndedIterator for MapIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let map = self.map;
        self.indexes.next_back().and_then(|i| map.get(i))
    }
}

impl ExactSizeIterator for MapIter<'_> {}

impl<'a> Entry<'a> {
    pub fn key_span(self) -> Span {
        self.value.tree.node(self.key_id).span()
    }
}

impl fmt::Debug for Seq<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl fmt::Debug for Map<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.iter().map(|e| (e.key, e.value)))
            .finish()
    }
}

impl fmt::Debug for Entry<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {:?}", self.key, self.value)
    }
}

impl fmt::Debug for Node<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.value() {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::Seq(s) => s.fmt(f),
            Value::Map(m) => m.fmt(f),
        }
    }
}

impl PartialEq for Node<'_> {
    /// Same value (positions aside).
    fn eq(&self, other: &Node<'_>) -> bool {
        self.to_json() == other.to_json()
    }
}

impl<'a> Node<'a> {
    pub fn value(self) -> Value<'a> {
        let raw = self.tree.content(self.id);
        match raw.kind {
            BOOL => Value::Bool(raw.data != 0),
            INT => Value::Int(self.tree.numbers[raw.data as usize] as i64),
            FLOAT => Value::Float(f64::from_bits(self.tree.numbers[raw.data as usize])),
            TEXT_STR | POOL_STR => Value::Str(self.tree.str_of(raw)),
            SEQ => Value::Seq(Seq {
                tree: self.tree,
                first: raw.data,
                len: raw.len as u32,
            }),
            MAP => Value::Map(Map {
                tree: self.tree,
                first: raw.data,
                len: raw.len as u32,
            }),
            _ => Value::Null,
        }
    }

    /// Where the node is in its file; zero for nodes without text (from a cluster).
    pub fn span(self) -> Span {
        let (start, end) = self.byte_range();
        if self.tree.text.is_empty() {
            return Span::default();
        }
        Span {
            start: self.tree.text.pos(start),
            end: self.tree.text.pos(end),
        }
    }

    /// Byte offsets of the node in its file.
    pub fn byte_range(self) -> (usize, usize) {
        let raw = self.tree.raw(self.id);
        (raw.start as usize, raw.end as usize)
    }

    /// Which node of its tree this is.
    pub fn id(self) -> NodeId {
        self.id
    }

    pub fn is_null(self) -> bool {
        matches!(self.value(), Value::Null)
    }

    pub fn get(self, key: &str) -> Option<Node<'a>> {
        self.entry(key).map(|e| e.value)
    }

    pub fn entry(self, key: &str) -> Option<Entry<'a>> {
        self.as_map()?.entry(key)
    }

    /// Follows a path of keys through nested mappings.
    pub fn at(self, keys: &[&str]) -> Option<Node<'a>> {
        keys.iter().try_fold(self, |node, key| node.get(key))
    }

    pub fn as_str(self) -> Option<&'a str> {
        match self.value() {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(self) -> Option<bool> {
        match self.value() {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_map(self) -> Option<Map<'a>> {
        match self.value() {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(self) -> Option<Seq<'a>> {
        match self.value() {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_map(self) -> bool {
        self.as_map().is_some()
    }

    pub fn is_seq(self) -> bool {
        self.as_seq().is_some()
    }

    /// A string-valued child, e.g. `metadata.name`.
    pub fn str_at(self, keys: &[&str]) -> Option<&'a str> {
        self.at(keys).and_then(Node::as_str)
    }

    pub fn type_name(self) -> &'static str {
        match self.value() {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    /// The JSON form of this node.
    pub fn to_json(self) -> serde_json::Value {
        use serde_json::Value as J;
        match self.value() {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(b),
            Value::Int(i) => J::from(i),
            Value::Float(f) => serde_json::Number::from_f64(f).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.to_string()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|e| (e.key.to_string(), e.value.to_json()))
                    .collect(),
            ),
        }
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
    pub root: Option<Tree>,
    /// The line the document starts on, for diagnostics about the document itself.
    pub start_line: u32,
}

/// Parses the document at bytes `range` of `file`, which starts after line `line_offset`
/// (as [`split_documents`] gives both). Positions refer to the whole file.
pub fn parse_document(
    file: &Text,
    line_offset: u32,
    range: std::ops::Range<usize>,
) -> Result<Document, YamlError> {
    let mut parts = Parts::with_capacity(range.len());
    let root = parse_into(&mut parts, file, line_offset, range)?;
    Ok(Document {
        root: root.map(|root| parts.into_tree(file, root)),
        start_line: line_offset + 1,
    })
}

/// A document's root in its tree (`None` when empty), or why it could not be read.
pub type DocumentRoot = Result<Option<NodeId>, YamlError>;

/// Parses consecutive documents of `file` (as [`split_documents`] gives them) into one
/// tree: a file of many small documents then costs one set of allocations, not one per
/// document. Gives the tree and, for each document in order, its root (`None` for an
/// empty document) or why it could not be read; a broken document leaves nothing behind.
pub fn parse_documents(
    file: &Text,
    documents: &[(u32, std::ops::Range<usize>)],
) -> (Tree, Vec<DocumentRoot>) {
    let bytes: usize = documents.iter().map(|(_, r)| r.len()).sum();
    let mut parts = Parts::with_capacity(bytes);
    let roots: Vec<_> = documents
        .iter()
        .map(|(line, range)| parse_into(&mut parts, file, *line, range.clone()))
        .collect();
    let first = roots
        .iter()
        .find_map(|r| r.as_ref().ok().copied().flatten());
    (parts.into_tree(file, first.unwrap_or_default()), roots)
}

/// Parses one document into `parts`, giving its root node.
fn parse_into(
    parts: &mut Parts,
    file: &Text,
    line_offset: u32,
    range: std::ops::Range<usize>,
) -> DocumentRoot {
    let doc = DocText {
        file,
        base: range.start,
        text: file.get(range).unwrap_or_default(),
        line_offset,
    };
    let mut error = match parse_strict(&doc, None, parts) {
        Err(e) if lenient_fix(doc.text, &e, line_offset).is_some() => e,
        other => return other,
    };
    // go-yaml (and so kubectl) accepts two things saphyr rejects: a flow collection's
    // closing bracket at its parent's indentation (`args: [\n  "a",\n]`), and continuation
    // lines of a multi-line quoted scalar at the key's indentation (controller-gen CRDs).
    // Indenting such a line by one column changes no value (folding drops leading spaces),
    // so retry with it indented, a bounded number of times, and map positions back.
    let mut patched = doc.text.to_string();
    // Where spaces were inserted, in the patched text's offsets, ascending.
    let mut inserted: Vec<usize> = Vec::new();
    for _ in 0..MAX_LENIENT_RETRIES {
        let Some(mut inserts) = lenient_fix(&patched, &error, line_offset) else {
            break;
        };
        inserts.sort_unstable_by(|a, b| b.cmp(a));
        for at in inserts {
            patched.insert(at, ' ');
            for i in inserted.iter_mut().filter(|i| **i >= at) {
                *i += 1;
            }
            inserted.push(at);
        }
        inserted.sort_unstable();
        let retry = DocText {
            text: &patched,
            ..doc
        };
        match parse_strict(&retry, Some(&inserted), parts) {
            Err(e) => error = e,
            ok => return ok,
        }
    }
    parse_strict(&doc, None, parts)
}

/// How many constructs the go-yaml compatibility retry may re-indent in one document.
const MAX_LENIENT_RETRIES: usize = 256;

/// A document's text and where it sits in its file.
#[derive(Clone, Copy)]
struct DocText<'t> {
    file: &'t Text,
    /// Byte offset of the document in the file.
    base: usize,
    /// The document's text (a patched copy on the lenient retry).
    text: &'t str,
    /// Lines before the document.
    line_offset: u32,
}

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

/// Parses one document into `parts`; on an error, leaves `parts` as it found them.
fn parse_strict(doc: &DocText<'_>, inserted: Option<&[usize]>, parts: &mut Parts) -> DocumentRoot {
    let mark = parts.mark();
    let mut builder = Builder::new(
        doc,
        inserted,
        MAX_ALIAS_NODES.min(doc.text.len().saturating_mul(ALIAS_NODES_PER_BYTE)),
        std::mem::take(parts),
    );
    let read = builder.read(doc);
    let (taken, root) = builder.finish(read.is_ok());
    *parts = taken;
    if read.is_err() {
        parts.truncate(mark);
    }
    read.map(|()| root)
}

impl Builder<'_> {
    /// Feeds the document's events to the builder.
    fn read(&mut self, doc: &DocText<'_>) -> Result<(), YamlError> {
        let line_offset = doc.line_offset;
        let mut parser = Parser::new_from_str(doc.text);
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
                        pos: Pos {
                            line: span.start.line() as u32 + line_offset,
                            col: span.start.col() as u32,
                        },
                    });
                }
            }
            self.event(event, span)?;
        }
        Ok(())
    }
}

/// Parses a whole text that must hold a single document (embedded data, mesh config strings).
pub fn parse_str(text: &str) -> Result<Option<Tree>, YamlError> {
    let file = Text::new(text.to_string());
    parse_document(&file, 0, 0..file.len()).map(|d| d.root)
}

/// Splits a YAML stream into its documents: the byte range of each and the line it starts
/// on (0-based), so that a broken document does not stop the ones after it from being read.
/// A line that starts with `---` or `...` followed by a blank or the end of line is a
/// document marker anywhere in YAML (it is forbidden inside scalars at column 1), so
/// splitting on it is exact.
pub fn split_documents(text: &str) -> Vec<(u32, std::ops::Range<usize>)> {
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
            docs.push((start_line, start_byte..offset));
            start_byte = offset;
            start_line = line_no;
        }
        offset += line.len();
    }
    if start_byte < text.len() || docs.is_empty() {
        docs.push((start_line, start_byte..text.len()));
    }
    docs
}

struct Frame {
    map: bool,
    /// Where the collection's children start in `Builder::pending`.
    first: usize,
    start: u32,
    anchor: usize,
    /// Key → entry, once the mapping is large enough that finding duplicates by scanning
    /// would make it quadratic (a generated ConfigMap with 100,000 keys).
    index: Option<HashMap<String, usize>>,
}

/// Entries up to which duplicate keys are found by scanning.
const SCAN_KEYS: usize = 32;

/// Characters between the checkpoints that turn a parser position (in characters) into a
/// byte offset in a document that is not ASCII.
const CHARS_PER_CHECKPOINT: usize = 64;

struct Builder<'t> {
    doc: DocText<'t>,
    /// Where the lenient retry inserted spaces (offsets in `doc.text`), to map positions
    /// back to the file; strings are then never taken from the text.
    inserted: Option<&'t [usize]>,
    /// Byte offset of every [`CHARS_PER_CHECKPOINT`]th character; empty for ASCII text,
    /// where characters are bytes.
    checkpoints: Vec<u32>,
    /// Finished nodes (children of one collection are consecutive), pooled strings and
    /// numbers, shared with the documents parsed before this one into the same tree.
    parts: Parts,
    /// Finished nodes whose collection is still open.
    pending: Vec<Raw>,
    frames: Vec<Frame>,
    /// Anchor → the stored node.
    anchors: HashMap<usize, u32>,
    alias_budget: usize,
    alias_budget_total: usize,
    root: Option<Raw>,
}

impl<'t> Builder<'t> {
    fn new(
        doc: &DocText<'t>,
        inserted: Option<&'t [usize]>,
        alias_budget: usize,
        parts: Parts,
    ) -> Builder<'t> {
        let checkpoints = if doc.text.is_ascii() {
            Vec::new()
        } else {
            doc.text
                .char_indices()
                .step_by(CHARS_PER_CHECKPOINT)
                .map(|(i, _)| i as u32)
                .collect()
        };
        Builder {
            doc: *doc,
            inserted,
            checkpoints,
            parts,
            pending: Vec::new(),
            frames: Vec::new(),
            anchors: HashMap::new(),
            alias_budget,
            alias_budget_total: alias_budget,
            root: None,
        }
    }

    /// What the builder stored, and the document's root if it was read in full.
    fn finish(self, complete: bool) -> (Parts, Option<NodeId>) {
        let mut parts = self.parts;
        let root = self.root.filter(|_| complete).map(|r| parts.store.push(r));
        (parts, root)
    }

    /// The byte offset in the document's text of a parser position.
    fn local(&self, m: Marker) -> usize {
        let index = m.index();
        let byte = if self.checkpoints.is_empty() {
            index
        } else {
            match self.checkpoints.get(index / CHARS_PER_CHECKPOINT) {
                Some(&at) => {
                    let at = at as usize;
                    self.doc.text[at..]
                        .char_indices()
                        .nth(index % CHARS_PER_CHECKPOINT)
                        .map_or(self.doc.text.len(), |(i, _)| at + i)
                }
                None => self.doc.text.len(),
            }
        };
        byte.min(self.doc.text.len())
    }

    /// The byte offset in the file of a parser position.
    fn offset(&self, m: Marker) -> u32 {
        let mut byte = self.local(m);
        if let Some(inserted) = self.inserted {
            byte -= inserted.partition_point(|&i| i < byte);
        }
        (self.doc.base + byte) as u32
    }

    fn pos(&self, m: Marker) -> Pos {
        Pos {
            line: m.line() as u32 + self.doc.line_offset,
            col: m.col() as u32,
        }
    }

    fn event(&mut self, event: Event<'_>, span: RawSpan) -> Result<(), YamlError> {
        if self.parts.store.is_full() {
            return Err(YamlError {
                message: "document has too many nodes to hold; split it".into(),
                pos: self.pos(span.start),
            });
        }
        let (start, end) = (self.offset(span.start), self.offset(span.end));
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                let raw = self.scalar(
                    &text,
                    style,
                    tag.as_deref().map(|t| t.suffix.as_str()),
                    span,
                    start,
                    end,
                );
                let raw = self.remember(anchor, raw);
                self.push(raw, span)
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if self.frames.len() >= MAX_DEPTH {
                    return Err(YamlError {
                        message: format!("nesting deeper than {MAX_DEPTH} levels"),
                        pos: self.pos(span.start),
                    });
                }
                self.frames.push(Frame {
                    map: matches!(event, Event::MappingStart(..)),
                    first: self.pending.len(),
                    start,
                    anchor,
                    index: None,
                });
                Ok(())
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let frame = self.frames.pop().ok_or_else(|| YamlError {
                    message: "unbalanced collection end".into(),
                    pos: self.pos(span.start),
                })?;
                let children = self.pending.len() - frame.first;
                // A block collection's end event is zero-width where the next token starts
                // (often lines later); a flow collection's is its closing bracket.
                // saphyr stretches the bracket's span over trailing blanks and a comment.
                let end = match self.pending.last() {
                    Some(last) if start == end && children > 0 => last.end,
                    _ if start < end
                        && matches!(
                            self.doc.file.as_bytes().get(start as usize),
                            Some(b']' | b'}')
                        ) =>
                    {
                        start + 1
                    }
                    _ => end,
                };
                let first = self.parts.store.len();
                for child in self.pending.drain(frame.first..) {
                    self.parts.store.push(child);
                }
                let (kind, len) = if frame.map {
                    (MAP, children / 2)
                } else {
                    (SEQ, children)
                };
                let raw = Raw::new(kind, len, frame.start, end, first);
                let raw = self.remember(frame.anchor, raw);
                self.push(raw, span)
            }
            Event::Alias(id) => {
                let &target = self.anchors.get(&id).ok_or_else(|| YamlError {
                    message: "alias refers to an unknown anchor".into(),
                    pos: self.pos(span.start),
                })?;
                let size = self.count_nodes(target);
                if size > self.alias_budget {
                    return Err(YamlError {
                        message: format!(
                            "aliases expand to more than {budget} nodes ({ALIAS_NODES_PER_BYTE} per byte of the document, at most {MAX_ALIAS_NODES}: a YAML \"billion laughs\" document?); refusing to expand",
                            budget = self.alias_budget_total,
                        ),
                        pos: self.pos(span.start),
                    });
                }
                self.alias_budget -= size;
                // The alias takes the anchor's value but its own position, so diagnostics
                // point where the value is used.
                self.push(Raw::new(REF, 0, start, end, target), span)
            }
            Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart(_)
            | Event::DocumentEnd
            | Event::Nothing => Ok(()),
        }
    }

    fn scalar(
        &mut self,
        text: &str,
        style: ScalarStyle,
        tag: Option<&str>,
        span: RawSpan,
        start: u32,
        end: u32,
    ) -> Raw {
        let at = |raw: Raw| Raw { start, end, ..raw };
        match resolve_scalar(text, style, tag) {
            Scalar::Null => Raw::new(NULL, 0, start, end, 0),
            Scalar::Bool(b) => Raw::new(BOOL, 0, start, end, u32::from(b)),
            Scalar::Int(i) => at(self.parts.number(INT, i as u64)),
            Scalar::Float(f) => at(self.parts.number(FLOAT, f.to_bits())),
            Scalar::Str => {
                let quoted = usize::from(style != ScalarStyle::Plain);
                let at = self.local(span.start) + quoted;
                self.string(text, at, start, end)
            }
        }
    }

    /// A string node for `s`, found in the text at `local` when it is written there verbatim.
    fn string(&mut self, s: &str, local: usize, start: u32, end: u32) -> Raw {
        let verbatim = self.inserted.is_none()
            && self.doc.text.as_bytes().get(local..local + s.len()) == Some(s.as_bytes());
        if verbatim {
            return Raw::new(
                TEXT_STR,
                s.len(),
                start,
                end,
                (self.doc.base + local) as u32,
            );
        }
        Raw {
            start,
            end,
            ..self.parts.string(s)
        }
    }

    /// Stores an anchored node where aliases can find it, leaving a reference in its place.
    fn remember(&mut self, anchor: usize, raw: Raw) -> Raw {
        if anchor == 0 {
            return raw;
        }
        let id = self.parts.store.push(raw);
        self.anchors.insert(anchor, id);
        Raw::new(REF, 0, raw.start, raw.end, id)
    }

    fn count_nodes(&self, id: u32) -> usize {
        let mut count = 0;
        let mut stack = vec![id];
        while let Some(id) = stack.pop() {
            count += 1;
            let raw = self.parts.store.get(id);
            match raw.kind {
                REF => stack.push(raw.data),
                SEQ => stack.extend(raw.data..raw.data + raw.len as u32),
                MAP => stack.extend((0..raw.len as u32).map(|i| raw.data + 2 * i + 1)),
                _ => {}
            }
        }
        count
    }

    fn str_of(&self, raw: Raw) -> Cow<'_, str> {
        let (start, len) = (raw.data as usize, raw.len);
        match raw.kind {
            TEXT_STR => Cow::Borrowed(self.doc.file.get(start..start + len).unwrap_or_default()),
            POOL_STR => Cow::Borrowed(self.parts.pool.get(start..start + len).unwrap_or_default()),
            INT => Cow::Owned((self.parts.numbers[raw.data as usize] as i64).to_string()),
            FLOAT => Cow::Owned(f64::from_bits(self.parts.numbers[raw.data as usize]).to_string()),
            BOOL => Cow::Borrowed(if raw.data != 0 { "true" } else { "false" }),
            _ => Cow::Borrowed(""),
        }
    }

    fn push(&mut self, raw: Raw, span: RawSpan) -> Result<(), YamlError> {
        let Some(frame) = self.frames.last() else {
            self.root = Some(raw);
            return Ok(());
        };
        if !frame.map {
            self.pending.push(raw);
            return Ok(());
        }
        let (first, is_key) = (
            frame.first,
            (self.pending.len() - frame.first).is_multiple_of(2),
        );
        if !is_key {
            self.pending.push(raw);
            return Ok(());
        }
        // Keys are strings: `8080:` and `true:` read as the text Kubernetes would see.
        let key_raw = match raw.kind {
            REF => self.parts.store.get(raw.data),
            _ => raw,
        };
        if matches!(key_raw.kind, SEQ | MAP) {
            return Err(YamlError {
                message: "a mapping key must be a plain value, not a collection (an unrendered template such as `{{ ... }}`?)".into(),
                pos: self.pos(span.start),
            });
        }
        let entries = (self.pending.len() - first) / 2;
        if self.frames.last().is_some_and(|f| f.index.is_none()) && entries >= SCAN_KEYS {
            let index: HashMap<String, usize> = (0..entries)
                .map(|i| (self.str_of(self.pending[first + 2 * i]).into_owned(), i))
                .collect();
            self.frames.last_mut().expect("the frame above").index = Some(index);
        }
        let frame = self.frames.last().expect("the frame above");
        // Borrowed for the lookup: a copy of every key of every document was most of the
        // parser's allocations; only an indexed mapping or a non-string key needs one.
        let key = self.str_of(key_raw);
        let previous = match &frame.index {
            Some(index) => index.get(key.as_ref()).copied(),
            None => (0..entries).find(|&i| {
                let k = self.pending[first + 2 * i];
                self.str_of(k) == key
            }),
        };
        if let Some(i) = previous {
            let line = self
                .doc
                .file
                .pos(self.pending[first + 2 * i].start as usize)
                .line;
            return Err(YamlError {
                message: format!("duplicate key `{key}` (first defined on line {line})"),
                pos: self.pos(span.start),
            });
        }
        let is_string = matches!(key_raw.kind, TEXT_STR | POOL_STR);
        let owned = (frame.index.is_some() || !is_string).then(|| key.into_owned());
        let stored = match &owned {
            // A non-string key keeps its text as the key.
            Some(key) if !is_string => {
                let local = (raw.start as usize).saturating_sub(self.doc.base);
                self.string(key, local, raw.start, raw.end)
            }
            _ => raw,
        };
        if let (Some(index), Some(key)) = (
            &mut self.frames.last_mut().expect("the frame above").index,
            owned,
        ) {
            index.insert(key, entries);
        }
        self.pending.push(stored);
        Ok(())
    }
}

/// What a scalar's text means.
enum Scalar {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str,
}

/// Resolves a scalar the way Kubernetes' YAML reader (go-yaml v2, YAML 1.1 booleans) does:
/// quoted scalars are strings; plain ones may be null, booleans, integers or floats.
fn resolve_scalar(text: &str, style: ScalarStyle, tag: Option<&str>) -> Scalar {
    if let Some(tag) = tag {
        match tag {
            "str" => return Scalar::Str,
            "null" => return Scalar::Null,
            "bool" | "int" | "float" => {}
            _ => {}
        }
    }
    if style != ScalarStyle::Plain {
        return Scalar::Str;
    }
    let t = text;
    match t {
        "" | "~" | "null" | "Null" | "NULL" => return Scalar::Null,
        "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "y" | "Y" => {
            return Scalar::Bool(true)
        }
        "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "n" | "N" => {
            return Scalar::Bool(false)
        }
        _ => {}
    }
    if let Some(i) = parse_int(t) {
        return Scalar::Int(i);
    }
    if looks_like_float(t) {
        if let Ok(f) = t.replace('_', "").parse::<f64>() {
            return Scalar::Float(f);
        }
    }
    match t {
        ".inf" | ".Inf" | ".INF" | "+.inf" => Scalar::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => Scalar::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => Scalar::Float(f64::NAN),
        _ => Scalar::Str,
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

    fn parse(text: &str) -> Tree {
        parse_str(text).expect("valid yaml").expect("a document")
    }

    #[test]
    fn documents_of_a_run_share_one_tree_and_a_broken_one_leaves_nothing() {
        let text = "a: 1\n---\nb: [2, 'x''y']\n---\nc: {d: [\n---\n# only a comment\n---\ne: &x {f: g}\nh: *x\n";
        let file = Text::new(text.to_string());
        let docs = split_documents(&file);
        let (tree, roots) = parse_documents(&file, &docs);
        assert_eq!(roots.len(), 5);
        let root = |i: usize| tree.node(roots[i].as_ref().unwrap().unwrap());
        assert_eq!(root(0).to_json(), serde_json::json!({"a": 1}));
        assert_eq!(root(1).to_json(), serde_json::json!({"b": [2, "x'y"]}));
        let error = roots[2].as_ref().unwrap_err();
        assert_eq!(error.pos.line, 6, "{error}");
        assert!(root(3).is_null());
        assert_eq!(
            root(4).to_json(),
            serde_json::json!({"e": {"f": "g"}, "h": {"f": "g"}})
        );
        assert_eq!(
            root(4).get("e").unwrap().span().start,
            Pos { line: 9, col: 3 }
        );
        // What the broken document stored before its error was rolled back: the tree holds
        // exactly the nodes of the documents read alone.
        let alone: usize = [0, 1, 3, 4]
            .iter()
            .map(|&i| {
                let (line, range) = docs[i].clone();
                parse_document(&file, line, range)
                    .unwrap()
                    .root
                    .unwrap()
                    .nodes
                    .len()
            })
            .sum();
        assert_eq!(tree.nodes.len(), alone);
        assert_eq!(&*tree.pool, "x'y");
    }

    #[test]
    fn scalars_resolve_like_kubernetes() {
        let n = parse(
            "a: 1\nb: '1'\nc: true\nd: yes\ne: ~\nf: 1.5\ng: 0x10\nh: 1.2.3\ni: \"on\"\nj: 1e3\n",
        );
        let j = n.root().to_json();
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
        let replicas = n.root().at(&["spec", "replicas"]).unwrap();
        assert_eq!(replicas.span().start, Pos { line: 4, col: 12 });
        assert_eq!(replicas.span().end, Pos { line: 4, col: 13 });
        let spec = n.root().entry("spec").unwrap();
        assert_eq!(spec.key_span().start, Pos { line: 3, col: 0 });
        assert_eq!(spec.value.span().end.line, 4);
    }

    #[test]
    fn positions_count_characters_in_non_ascii_text() {
        // Columns are characters; byte offsets differ once a line holds `é` or `日本`.
        let text = "a: é日本\nb: {c: ü, d: [x, 日]}\n\"k\\u00e9\": 'q''uote'\n";
        let n = parse(text);
        let root = n.root();
        assert_eq!(root.str_at(&["a"]), Some("é日本"));
        let a = root.get("a").unwrap().span();
        assert_eq!(
            (a.start, a.end),
            (Pos { line: 1, col: 3 }, Pos { line: 1, col: 6 })
        );
        let d1 = root
            .at(&["b", "d"])
            .unwrap()
            .as_seq()
            .unwrap()
            .get(1)
            .unwrap();
        assert_eq!(d1.as_str(), Some("日"));
        assert_eq!(d1.span().start, Pos { line: 2, col: 17 });
        let c = root.at(&["b", "c"]).unwrap();
        assert_eq!(c.as_str(), Some("ü"));
        assert_eq!(c.span().start, Pos { line: 2, col: 7 });
        // An escaped key and a quote-escaped value are not the text as written.
        let e = root.entry("ké").unwrap();
        assert_eq!(e.value.as_str(), Some("q'uote"));
        assert_eq!(e.key_span().start, Pos { line: 3, col: 0 });
        assert_eq!(e.value.span().start, Pos { line: 3, col: 11 });
    }

    #[test]
    fn aliases_read_as_their_anchor_at_their_own_position() {
        let n = parse("base: &b {cpu: 1, tags: [a, b]}\ncopy: *b\nkey: &k name\n*k : v\n");
        let root = n.root();
        assert_eq!(
            root.get("copy").unwrap().to_json(),
            root.get("base").unwrap().to_json()
        );
        assert_eq!(root.at(&["copy", "cpu"]).unwrap().to_json(), 1);
        assert_eq!(
            root.get("copy").unwrap().span().start,
            Pos { line: 2, col: 6 }
        );
        assert_eq!(
            root.get("base").unwrap().span().start,
            Pos { line: 1, col: 6 }
        );
        // An alias as a key reads as the anchored string.
        assert_eq!(root.str_at(&["name"]), Some("v"));
    }

    #[test]
    fn keys_of_other_types_read_as_text() {
        let n = parse("8080: a\ntrue: b\n~: c\n1.5: d\n");
        let keys: Vec<&str> = n.root().as_map().unwrap().iter().map(|e| e.key).collect();
        assert_eq!(keys, ["8080", "true", "", "1.5"]);
        assert_eq!(
            n.root().entry("8080").unwrap().key_span().end,
            Pos { line: 1, col: 4 }
        );
    }

    #[test]
    fn block_and_flow_collections_end_where_their_content_does() {
        let n = parse("a:\n  b: 1\n  c: [x,\n    y]  # comment\n\nd: 2\n");
        let a = n.root().get("a").unwrap().span();
        let c = n.root().at(&["a", "c"]).unwrap().span();
        assert_eq!(
            (a.start, a.end),
            (Pos { line: 2, col: 2 }, Pos { line: 4, col: 6 })
        );
        assert_eq!(
            (c.start, c.end),
            (Pos { line: 3, col: 5 }, Pos { line: 4, col: 6 })
        );
    }

    #[test]
    fn trees_from_json_have_no_positions() {
        let json = serde_json::json!({"a": [1, -2, 1.5, true, null, "s"], "b": {"c": "d"}});
        let tree = Tree::from_json(&json);
        assert_eq!(tree.root().to_json(), json);
        assert!(!tree.root().at(&["b", "c"]).unwrap().span().is_known());
    }

    #[test]
    fn stored_nodes_read_back_as_stored() {
        let mut store = Store::default();
        let mut raws = Vec::new();
        for (kind, len, start, end, data) in [
            (TEXT_STR, 4, 10, 14, 10), // plain, verbatim
            (TEXT_STR, 4, 10, 16, 11), // quoted, verbatim
            (TEXT_STR, 4, 10, 20, 12), // verbatim elsewhere in its span
            (POOL_STR, 7, 30, 40, 3),  // decoded into the pool
            (POOL_STR, 7, 0, 0, 3),    // from JSON: no position
            (SEQ, 2, 50, 60, 0),
            (MAP, 1, 61, 70, 2),
            (MAP, 1, 0, 0, 2),
            (REF, 0, 71, 73, 4),
            (NULL, 0, 80, 80, 0),
            (NULL, 0, 80, 84, 0),
            (BOOL, 0, 81, 85, 1),
            (BOOL, 0, 81, 86, 0),
            (INT, 0, 86, 90, 0),
            (FLOAT, 0, 91, 95, 1),
        ] {
            let raw = Raw::new(kind, len, start, end, data);
            raws.push((store.push(raw), raw));
        }
        for (id, raw) in raws {
            assert_eq!(store.get(id), raw);
        }
    }

    #[test]
    fn positions_agree_with_counting_from_the_start() {
        let mut body = String::new();
        for i in 0..100 {
            body.push_str(&format!("k{i}: {}\r\n", "é".repeat(i % 3)));
            if i % 7 == 0 {
                body.push('\n');
            }
        }
        let text = Text::new(body.clone());
        let lines: Vec<&str> = body.split('\n').collect();
        assert_eq!(text.line_count(), lines.len());
        for (n, expected) in lines.iter().enumerate() {
            assert_eq!(text.line(n as u32 + 1), expected.trim_end_matches('\r'));
        }
        assert_eq!(text.line(0), "");
        assert_eq!(text.line(lines.len() as u32 + 1), "");
        for (offset, _) in body.char_indices().chain([(body.len(), ' ')]) {
            let before = &body[..offset];
            let line_start = before.rfind('\n').map_or(0, |i| i + 1);
            let naive = Pos {
                line: before.matches('\n').count() as u32 + 1,
                col: before[line_start..].chars().count() as u32,
            };
            assert_eq!(text.pos(offset), naive, "offset {offset}");
            // A line's text ends before its `\r`, and so do the columns `offset` knows.
            if !before.ends_with('\r') {
                assert_eq!(text.offset(naive), offset, "{naive:?}");
            }
        }
    }

    #[test]
    fn split_keeps_line_numbers() {
        let text = "a: 1\n---\nb: 2\n--- # c\nc: 3\n";
        let docs = split_documents(text);
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[1].0, 1);
        let file = Text::new(text.to_string());
        let d = parse_document(&file, docs[2].0, docs[2].1.clone()).unwrap();
        assert_eq!(
            d.root.unwrap().root().get("c").unwrap().span().start.line,
            5
        );
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
        assert_eq!(
            n.root()
                .at(&["spec", "args"])
                .unwrap()
                .as_seq()
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            n.root().at(&["spec", "env"]).unwrap().span().start,
            Pos { line: 5, col: 7 }
        );
    }

    #[test]
    fn quoted_continuation_at_key_indentation_is_accepted_like_kubectl() {
        let text = "a:\n  description: 'first line\n  second line'\n  type: string\n";
        let n = parse(text);
        assert_eq!(
            n.root().at(&["a", "description"]).unwrap().as_str(),
            Some("first line second line")
        );
        assert_eq!(
            n.root().at(&["a", "type"]).unwrap().span().start,
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
                parse_str(&doc).unwrap().unwrap().root().str_at(&["k"]),
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
        assert_eq!(parse(&big).root().as_map().map(Map::len), Some(1000));
        big.push_str("k500: again\n");
        let err = parse_str(&big).unwrap_err();
        assert_eq!(
            err.message,
            "duplicate key `k500` (first defined on line 501)"
        );
        assert_eq!(err.pos.line, 1001);
    }
}
