//! Reading a tree: nodes, their values, and the items of sequences and mappings.

use std::fmt;

use super::text::Span;
use super::tree::*;

/// A node of a [`Tree`]: cheap to copy, valid as long as the tree.
#[derive(Clone, Copy)]
pub struct Node<'a> {
    pub(super) tree: &'a Tree,
    pub(super) id: u32,
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
    pub(super) tree: &'a Tree,
    pub(super) first: u32,
    pub(super) len: u32,
}

/// The entries of a mapping, in document order.
#[derive(Clone, Copy)]
pub struct Map<'a> {
    pub(super) tree: &'a Tree,
    pub(super) first: u32,
    pub(super) len: u32,
}

/// One `key: value` of a mapping.
#[derive(Clone, Copy)]
pub struct Entry<'a> {
    pub key: &'a str,
    pub value: Node<'a>,
    pub(super) key_id: u32,
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
    pub(super) tree: &'a Tree,
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
    pub(super) map: Map<'a>,
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

    /// The file the key was written in, as [`Node::file`] says it.
    pub fn key_file(self) -> Option<u32> {
        self.value.tree.node(self.key_id).file()
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
        let (text, _) = self.tree.text_of(self.id);
        if text.is_empty() {
            return Span::default();
        }
        Span {
            start: text.pos(start),
            end: text.pos(end),
        }
    }

    /// For a tree built from several files (kustomize output), the file this node was
    /// written in (as the builder numbered files); `None` for a tree read from one file,
    /// whose object says which, and for nodes made up by the builder.
    pub fn file(self) -> Option<u32> {
        self.tree.text_of(self.id).1
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
