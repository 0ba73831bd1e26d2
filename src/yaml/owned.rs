//! A YAML value that can be changed and still knows where each of its parts was written.
//!
//! Kustomize builds objects out of several files: a base, the patches of its overlays, the
//! fields a kustomization sets. Findings must point into the file that set the value (the
//! patch when a patch set it, else the base), so every node carries the file and bytes it
//! came from, through every merge, and the finished value becomes a [`Tree`] whose nodes
//! keep those positions, each in its own file.

use super::tree::{Parts, Raw, Sources, BOOL, FLOAT, INT, MAP, NULL, POOL_STR, SEQ};
use super::{Node, Text, Tree, Value};

/// Where a node was written: a file (an index the caller gives meaning to, the loader's file
/// list) and the node's byte range in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct At {
    pub file: u32,
    pub start: u32,
    pub end: u32,
}

/// A node and where it was written (`None`: made up, with no text behind it).
#[derive(Clone, Debug)]
pub struct Owned {
    pub value: OwnedValue,
    pub at: Option<At>,
}

#[derive(Clone, Debug)]
pub enum OwnedValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Owned>),
    /// Keys are nodes too: a finding about a field underlines its key.
    Map(Vec<(Owned, Owned)>),
}

impl Owned {
    pub fn new(value: OwnedValue, at: Option<At>) -> Owned {
        Owned { value, at }
    }

    pub fn str(s: &str, at: Option<At>) -> Owned {
        Owned::new(OwnedValue::Str(s.to_string()), at)
    }

    pub fn map(at: Option<At>) -> Owned {
        Owned::new(OwnedValue::Map(Vec::new()), at)
    }

    /// A copy of `node` (of a tree read from file `file`), positions included.
    pub fn from_node(node: Node<'_>, file: u32) -> Owned {
        let (start, end) = node.byte_range();
        let at = (!node.tree.text.is_empty()).then_some(At {
            file,
            start: start as u32,
            end: end as u32,
        });
        let value = match node.value() {
            Value::Null => OwnedValue::Null,
            Value::Bool(b) => OwnedValue::Bool(b),
            Value::Int(i) => OwnedValue::Int(i),
            Value::Float(f) => OwnedValue::Float(f),
            Value::Str(s) => OwnedValue::Str(s.to_string()),
            Value::Seq(items) => {
                OwnedValue::Seq(items.iter().map(|i| Owned::from_node(i, file)).collect())
            }
            Value::Map(entries) => OwnedValue::Map(
                entries
                    .iter()
                    .map(|e| {
                        (
                            Owned::from_node(node.tree.node(e.key_id), file),
                            Owned::from_node(e.value, file),
                        )
                    })
                    .collect(),
            ),
        };
        Owned { value, at }
    }

    /// A value without positions (generated objects, `kustomize build` output).
    pub fn from_json(json: &serde_json::Value, at: Option<At>) -> Owned {
        use serde_json::Value as J;
        let value = match json {
            J::Null => OwnedValue::Null,
            J::Bool(b) => OwnedValue::Bool(*b),
            J::Number(n) => match n.as_i64() {
                Some(i) => OwnedValue::Int(i),
                None => OwnedValue::Float(n.as_f64().unwrap_or(0.0)),
            },
            J::String(s) => OwnedValue::Str(s.clone()),
            J::Array(items) => {
                OwnedValue::Seq(items.iter().map(|i| Owned::from_json(i, at)).collect())
            }
            J::Object(map) => OwnedValue::Map(
                map.iter()
                    .map(|(k, v)| (Owned::str(k, at), Owned::from_json(v, at)))
                    .collect(),
            ),
        };
        Owned { value, at }
    }

    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            OwnedValue::Null => J::Null,
            OwnedValue::Bool(b) => J::Bool(*b),
            OwnedValue::Int(i) => J::from(*i),
            OwnedValue::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            OwnedValue::Str(s) => J::String(s.clone()),
            OwnedValue::Seq(items) => J::Array(items.iter().map(Owned::to_json).collect()),
            OwnedValue::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.as_str().unwrap_or_default().to_string(), v.to_json()))
                    .collect(),
            ),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            OwnedValue::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, OwnedValue::Null)
    }

    pub fn entries(&self) -> &[(Owned, Owned)] {
        match &self.value {
            OwnedValue::Map(entries) => entries,
            _ => &[],
        }
    }

    pub fn items(&self) -> &[Owned] {
        match &self.value {
            OwnedValue::Seq(items) => items,
            _ => &[],
        }
    }

    pub fn get(&self, key: &str) -> Option<&Owned> {
        self.entries()
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Owned> {
        match &mut self.value {
            OwnedValue::Map(entries) => entries
                .iter_mut()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn at_path(&self, keys: &[&str]) -> Option<&Owned> {
        keys.iter().try_fold(self, |node, key| node.get(key))
    }

    pub fn str_at(&self, keys: &[&str]) -> Option<&str> {
        self.at_path(keys).and_then(Owned::as_str)
    }

    /// Sets `key` to `value`, in place when it exists, else at the end; `key_at` is where the
    /// key is said to be written. A null or absent node becomes a mapping first; any other
    /// non-mapping is left alone (false).
    pub fn set(&mut self, key: &str, value: Owned, key_at: Option<At>) -> bool {
        if self.is_null() {
            self.value = OwnedValue::Map(Vec::new());
        }
        let OwnedValue::Map(entries) = &mut self.value else {
            return false;
        };
        match entries.iter_mut().find(|(k, _)| k.as_str() == Some(key)) {
            Some((k, v)) => {
                k.at = key_at;
                *v = value;
            }
            None => entries.push((Owned::str(key, key_at), value)),
        }
        true
    }

    /// The mapping at `key`, made (empty, at `at`) when absent or null. `None` when
    /// something else is there.
    pub fn child_map(&mut self, key: &str, at: Option<At>) -> Option<&mut Owned> {
        if self.get(key).is_none_or(Owned::is_null) && !self.set(key, Owned::map(at), at) {
            return None;
        }
        self.get_mut(key)
            .filter(|m| matches!(m.value, OwnedValue::Map(_)))
    }

    pub fn remove(&mut self, key: &str) -> Option<Owned> {
        let OwnedValue::Map(entries) = &mut self.value else {
            return None;
        };
        let i = entries.iter().position(|(k, _)| k.as_str() == Some(key))?;
        Some(entries.remove(i).1)
    }

    /// The finished tree: strings pooled, each node keeping the file and bytes it came from.
    /// `texts` gives the text of a file index.
    pub fn into_tree(&self, texts: &dyn Fn(u32) -> Option<Text>) -> Tree {
        let mut b = TreeOut {
            parts: Parts::default(),
            node_sources: Vec::new(),
            sources: vec![(Text::default(), u32::MAX)],
            texts,
        };
        let (root, source) = b.add(self);
        let root_id = b.parts.store.push(root);
        b.node_sources.push(source);
        let mut tree = b.parts.into_tree(&Text::default(), root_id);
        tree.sources = Sources {
            texts: b.sources.into(),
            of_node: b.node_sources.into(),
        };
        tree
    }
}

struct TreeOut<'t> {
    parts: Parts,
    /// Per stored node, which of `sources` its positions refer to.
    node_sources: Vec<u16>,
    /// The texts nodes refer to, with their file index; 0 is "no text".
    sources: Vec<(Text, u32)>,
    texts: &'t dyn Fn(u32) -> Option<Text>,
}

impl TreeOut<'_> {
    fn source(&mut self, at: Option<At>) -> (u16, u32, u32) {
        let Some(at) = at else { return (0, 0, 0) };
        if let Some(i) = self.sources.iter().position(|(_, f)| *f == at.file) {
            return (i as u16, at.start, at.end);
        }
        match (self.texts)(at.file) {
            Some(text) if self.sources.len() < u16::MAX as usize => {
                self.sources.push((text, at.file));
                ((self.sources.len() - 1) as u16, at.start, at.end)
            }
            _ => (0, 0, 0),
        }
    }

    /// The node for `node`, its descendants already stored, and its source.
    fn add(&mut self, node: &Owned) -> (Raw, u16) {
        let (source, start, end) = self.source(node.at);
        let raw = match &node.value {
            OwnedValue::Null => Raw::new(NULL, 0, start, end, 0),
            OwnedValue::Bool(b) => Raw::new(BOOL, 0, start, end, u32::from(*b)),
            OwnedValue::Int(i) => self.number(INT, *i as u64, start, end),
            OwnedValue::Float(f) => self.number(FLOAT, f.to_bits(), start, end),
            OwnedValue::Str(s) => self.string(s, start, end),
            OwnedValue::Seq(items) => {
                let children: Vec<(Raw, u16)> = items.iter().map(|i| self.add(i)).collect();
                self.collection(SEQ, children, items.len(), start, end)
            }
            OwnedValue::Map(entries) => {
                let mut children = Vec::with_capacity(entries.len() * 2);
                for (k, v) in entries {
                    children.push(self.add(k));
                    children.push(self.add(v));
                }
                self.collection(MAP, children, entries.len(), start, end)
            }
        };
        (raw, source)
    }

    fn number(&mut self, kind: u32, bits: u64, start: u32, end: u32) -> Raw {
        self.parts.numbers.push(bits);
        Raw::new(kind, 0, start, end, (self.parts.numbers.len() - 1) as u32)
    }

    fn string(&mut self, s: &str, start: u32, end: u32) -> Raw {
        let at = self.parts.pool.len() as u32;
        self.parts.pool.push_str(s);
        Raw::new(POOL_STR, s.len(), start, end, at)
    }

    fn collection(
        &mut self,
        kind: u32,
        children: Vec<(Raw, u16)>,
        len: usize,
        start: u32,
        end: u32,
    ) -> Raw {
        let first = self.parts.store.len();
        for (child, source) in children {
            self.parts.store.push(child);
            self.node_sources.push(source);
        }
        Raw::new(kind, len, start, end, first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tree_keeps_each_nodes_file() {
        let a = Text::new("kind: A\nspec:\n  x: 1\n".to_string());
        let b = Text::new("spec:\n  x: 2\n".to_string());
        let ta = super::super::parse_document(&a, 0, 0..a.len())
            .unwrap()
            .root
            .unwrap();
        let tb = super::super::parse_document(&b, 0, 0..b.len())
            .unwrap()
            .root
            .unwrap();
        let mut base = Owned::from_node(ta.root(), 0);
        let patch = Owned::from_node(tb.root(), 1);
        let x = patch.at_path(&["spec", "x"]).unwrap().clone();
        let key_at = patch.get("spec").unwrap().entries()[0].0.at;
        base.get_mut("spec").unwrap().set("x", x, key_at);
        let texts = [a.clone(), b.clone()];
        let tree = base.into_tree(&|f| texts.get(f as usize).cloned());
        let root = tree.root();
        assert_eq!(root.str_at(&["kind"]), Some("A"));
        let x = root.at(&["spec", "x"]).unwrap();
        assert_eq!(x.file(), Some(1));
        assert_eq!(x.span().start, super::super::Pos { line: 2, col: 5 });
        assert_eq!(root.get("kind").unwrap().file(), Some(0));
        assert_eq!(root.get("kind").unwrap().span().start.line, 1);
    }
}
