//! How a tree is stored: 8-byte nodes, a side table, and strings kept as ranges of the
//! file's text or of one pool.

use super::text::Text;
use super::Node;

/// One node, decoded: what the tree's readers and its builder work with.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(super) struct Raw {
    pub(super) kind: u32,
    /// A string's length, a collection's size (entries of a mapping).
    pub(super) len: usize,
    /// Byte offsets of the node in the file (both 0 without text).
    pub(super) start: u32,
    pub(super) end: u32,
    /// Bool: 0 or 1. Int, Float: index into `numbers`. Strings: byte offset in the text or
    /// pool. Seq, Map: the first child. Ref: the node it stands for.
    pub(super) data: u32,
}

const KIND_BITS: u32 = 4;
pub(super) const NULL: u32 = 0;
pub(super) const BOOL: u32 = 1;
pub(super) const INT: u32 = 2;
pub(super) const FLOAT: u32 = 3;
pub(super) const TEXT_STR: u32 = 4;
pub(super) const POOL_STR: u32 = 5;
pub(super) const SEQ: u32 = 6;
pub(super) const MAP: u32 = 7;
/// Another node's value at this node's position: an alias, or an anchored node (stored once,
/// where its aliases can find it).
pub(super) const REF: u32 = 8;
/// Storage-only kinds: a string written verbatim in the text as a plain scalar (it starts
/// and ends where the node does) or in quotes (one byte in from either end).
const PLAIN_STR: u32 = 9;
const QUOTED_STR: u32 = 10;

/// Longest string or largest collection a node can hold (the size shares a u32 with the kind).
const MAX_LEN: usize = (u32::MAX >> KIND_BITS) as usize;

impl Raw {
    pub(super) fn new(kind: u32, len: usize, start: u32, end: u32, data: u32) -> Raw {
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
pub(super) struct Stored {
    /// The kind in the low [`KIND_BITS`] bits. Above them: a verbatim string's length, the
    /// text length of a null, the text length and value of a boolean, or an index into
    /// `side` for every other kind.
    head: u32,
    start: u32,
}

/// The nodes of a tree and what they cannot hold themselves.
#[derive(Debug, Default)]
pub(super) struct Store {
    nodes: Vec<Stored>,
    /// `[data, end]` of numbers and references, `[data, end, len]` of other strings and
    /// of collections.
    side: Vec<u32>,
}

impl Store {
    pub(super) fn len(&self) -> u32 {
        self.nodes.len() as u32
    }

    /// Whether another node may be stored: side indexes share a u32 with the kind.
    pub(super) fn is_full(&self) -> bool {
        self.side.len() + 3 > MAX_LEN
    }

    /// Stores a node; returns its id.
    pub(super) fn push(&mut self, raw: Raw) -> u32 {
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

    pub(super) fn get(&self, id: u32) -> Raw {
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
    pub(super) text: Text,
    pub(super) nodes: Box<[Stored]>,
    side: Box<[u32]>,
    pub(super) pool: Box<str>,
    pub(super) numbers: Box<[u64]>,
    root: u32,
    /// For a tree built from several files (kustomize output): the text each node's
    /// positions refer to. Empty for a tree parsed from one text, `text`.
    pub(super) sources: Sources,
}

/// The texts the nodes of a tree built from several files refer to.
#[derive(Debug, Default)]
pub(super) struct Sources {
    /// Each text with the file index it was given; index 0 has no text.
    pub(super) texts: Box<[(Text, u32)]>,
    /// Per node, an index into `texts`.
    pub(super) of_node: Box<[u16]>,
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

    pub(super) fn str_of(&self, raw: Raw) -> &str {
        let (start, len) = (raw.data as usize, raw.len);
        let source: &str = match raw.kind {
            TEXT_STR => &self.text,
            POOL_STR => &self.pool,
            _ => return "",
        };
        source.get(start..start + len).unwrap_or_default()
    }

    /// The node whose value `id` has (through a Ref).
    pub(super) fn content(&self, id: u32) -> Raw {
        let raw = self.raw(id);
        if raw.kind == REF {
            self.raw(raw.data)
        } else {
            raw
        }
    }

    pub(super) fn raw(&self, id: u32) -> Raw {
        decode(&self.nodes, &self.side, id)
    }

    /// The text node `id`'s positions refer to, and its file index when the tree was built
    /// from several files.
    pub(super) fn text_of(&self, id: u32) -> (&Text, Option<u32>) {
        match self.sources.of_node.get(id as usize) {
            Some(&i) => {
                let (text, file) = &self.sources.texts[i as usize];
                (text, (i != 0).then_some(*file))
            }
            None => (&self.text, None),
        }
    }
}

/// The nodes, pooled strings and numbers of a tree while documents are added to it.
#[derive(Debug, Default)]
pub(super) struct Parts {
    pub(super) store: Store,
    pub(super) pool: String,
    pub(super) numbers: Vec<u64>,
}

/// How far [`Parts`] were filled: what a failed document is rolled back to.
#[derive(Clone, Copy)]
pub(super) struct Mark {
    nodes: usize,
    side: usize,
    pool: usize,
    numbers: usize,
}

impl Parts {
    /// Room for the nodes of `bytes` of text: about one node per dozen bytes in manifests.
    pub(super) fn with_capacity(bytes: usize) -> Parts {
        Parts {
            store: Store {
                nodes: Vec::with_capacity(bytes / 12),
                side: Vec::new(),
            },
            ..Parts::default()
        }
    }

    pub(super) fn mark(&self) -> Mark {
        Mark {
            nodes: self.store.nodes.len(),
            side: self.store.side.len(),
            pool: self.pool.len(),
            numbers: self.numbers.len(),
        }
    }

    pub(super) fn truncate(&mut self, mark: Mark) {
        self.store.nodes.truncate(mark.nodes);
        self.store.side.truncate(mark.side);
        self.pool.truncate(mark.pool);
        self.numbers.truncate(mark.numbers);
    }

    /// The finished tree, each part in an allocation of its exact size.
    pub(super) fn into_tree(self, text: &Text, root: NodeId) -> Tree {
        Tree {
            text: text.clone(),
            root,
            nodes: self.store.nodes.into(),
            side: self.store.side.into(),
            pool: self.pool.into(),
            numbers: self.numbers.into(),
            sources: Sources::default(),
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

    pub(super) fn number(&mut self, kind: u32, bits: u64) -> Raw {
        self.numbers.push(bits);
        Raw::new(kind, 0, 0, 0, (self.numbers.len() - 1) as u32)
    }

    pub(super) fn string(&mut self, s: &str) -> Raw {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
