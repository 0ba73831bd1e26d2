//! Field paths: where in an object a diagnostic points. Rules speak in field paths; only the
//! emitters turn them into file positions.

use std::fmt;

use serde::{Serialize, Serializer};

use crate::yaml::{Node, Span, Value};

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Segment {
    Key(String),
    Index(usize),
}

/// A JSON-pointer-like path (`/spec/template/spec/containers/0/image`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldPath(pub Vec<Segment>);

impl FieldPath {
    pub fn root() -> FieldPath {
        FieldPath(Vec::new())
    }

    /// Builds a path from `/`-separated keys; numeric parts become list indexes. Keys that
    /// contain `/` (label names) must be added with [`FieldPath::key`].
    pub fn parse(path: &str) -> FieldPath {
        FieldPath(
            path.split('/')
                .filter(|s| !s.is_empty())
                .map(|s| match s.parse::<usize>() {
                    Ok(i) => Segment::Index(i),
                    Err(_) => Segment::Key(s.replace("~1", "/").replace("~0", "~")),
                })
                .collect(),
        )
    }

    pub fn key(mut self, key: &str) -> FieldPath {
        self.0.push(Segment::Key(key.to_string()));
        self
    }

    pub fn index(mut self, index: usize) -> FieldPath {
        self.0.push(Segment::Index(index));
        self
    }

    pub fn join(mut self, other: &FieldPath) -> FieldPath {
        self.0.extend(other.0.iter().cloned());
        self
    }

    pub fn parent(&self) -> Option<FieldPath> {
        if self.0.is_empty() {
            None
        } else {
            Some(FieldPath(self.0[..self.0.len() - 1].to_vec()))
        }
    }

    pub fn last_key(&self) -> Option<&str> {
        match self.0.last() {
            Some(Segment::Key(k)) => Some(k),
            _ => None,
        }
    }

    /// The node at this path, if every step exists.
    pub fn resolve<'a>(&self, root: Node<'a>) -> Option<Node<'a>> {
        self.0.iter().try_fold(root, |node, seg| match seg {
            Segment::Key(k) => node.get(k),
            Segment::Index(i) => node.as_seq().and_then(|items| items.get(*i)),
        })
    }

    /// The text span to underline for this path: the whole `key: value` for a scalar, the
    /// key alone for a collection (its value spans many lines), and the nearest existing
    /// ancestor when the field is absent (a default that the rule is about).
    pub fn locate(&self, root: Node) -> Span {
        self.locate_in_file(root).0
    }

    /// [`FieldPath::locate`], with the file the span is in when the object was built from
    /// several files (kustomize output: a field a patch set is in the patch). A node the
    /// builder made up (no text) is not underlined: its nearest written ancestor is.
    pub fn locate_in_file(&self, root: Node) -> (Span, Option<u32>) {
        let mut node = root;
        let mut best = (root.span(), root.file());
        for seg in &self.0 {
            match seg {
                Segment::Key(k) => match node.entry(k) {
                    Some(entry) => {
                        if best.0.is_known() && !entry.value.span().is_known() {
                            return best;
                        }
                        let span = match entry.value.value() {
                            // A key and value from different files (a patch set the value):
                            // the value alone.
                            _ if entry.key_file() != entry.value.file() => entry.value.span(),
                            Value::Map(_) | Value::Seq(_)
                                if entry.value.span().start.line != entry.key_span().start.line
                                    || entry.value.span().end.line
                                        != entry.key_span().start.line =>
                            {
                                entry.key_span()
                            }
                            _ => Span {
                                start: entry.key_span().start,
                                end: entry.value.span().end.max(entry.key_span().end),
                            },
                        };
                        best = (span, entry.value.file());
                        node = entry.value;
                    }
                    None => return best,
                },
                Segment::Index(i) => match node.as_seq().and_then(|items| items.get(*i)) {
                    Some(item) => {
                        if best.0.is_known() && !item.span().is_known() {
                            return best;
                        }
                        let span = match item.value() {
                            Value::Map(_) | Value::Seq(_)
                                if item.span().start.line != item.span().end.line =>
                            {
                                Span {
                                    start: item.span().start,
                                    end: crate::yaml::Pos {
                                        line: item.span().start.line,
                                        col: item.span().start.col + 1,
                                    },
                                }
                            }
                            _ => item.span(),
                        };
                        best = (span, item.file());
                        node = item;
                    }
                    None => return best,
                },
            }
        }
        best
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("/");
        }
        for seg in &self.0 {
            match seg {
                Segment::Key(k) => write!(f, "/{}", k.replace('~', "~0").replace('/', "~1"))?,
                Segment::Index(i) => write!(f, "/{i}")?,
            }
        }
        Ok(())
    }
}

impl Serialize for FieldPath {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A field path a rule writes once, as a constant in the notation reports use
/// (`/spec/strategy/rollingUpdate`): the rule reads the field with it and reports at it, so
/// the two cannot drift apart. Keys that contain `/` (label names) are added after it with
/// [`FieldPath::key`] or read with [`Node::get`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field(&'static str);

impl Field {
    /// `path` starts with `/`; numeric parts are list indexes, as in [`FieldPath::parse`].
    pub const fn new(path: &'static str) -> Field {
        assert!(
            !path.is_empty() && path.as_bytes()[0] == b'/',
            "a field path starts with /"
        );
        Field(path)
    }

    /// Where a finding about this field points.
    pub fn path(self) -> FieldPath {
        FieldPath::parse(self.0)
    }

    /// A field below this one.
    pub fn key(self, key: &str) -> FieldPath {
        self.path().key(key)
    }

    /// The node at this field of `root`, if every step exists.
    pub fn read<'a>(self, root: Node<'a>) -> Option<Node<'a>> {
        // Step by step as `FieldPath::parse` reads the text, without building the path:
        // rules read fields of every object.
        self.0
            .split('/')
            .filter(|s| !s.is_empty())
            .try_fold(root, |node, part| match part.parse::<usize>() {
                Ok(i) => node.as_seq().and_then(|items| items.get(i)),
                Err(_) if part.contains('~') => {
                    node.get(&part.replace("~1", "/").replace("~0", "~"))
                }
                Err(_) => node.get(part),
            })
    }

    /// The string at this field of `root`.
    pub fn read_str<'a>(self, root: Node<'a>) -> Option<&'a str> {
        self.read(root).and_then(Node::as_str)
    }
}

/// An object's spec.
pub const SPEC: Field = Field::new("/spec");

/// A workload's or Service's label selector.
pub const SELECTOR: Field = Field::new("/spec/selector");

/// Where an object's labels are: many findings are about one label.
pub const LABELS: Field = Field::new("/metadata/labels");

/// An object's apiVersion.
pub const API_VERSION: Field = Field::new("/apiVersion");

/// Where an object's annotations are.
pub const ANNOTATIONS: Field = Field::new("/metadata/annotations");

impl From<Field> for FieldPath {
    fn from(field: Field) -> FieldPath {
        field.path()
    }
}

impl From<&str> for FieldPath {
    fn from(path: &str) -> FieldPath {
        FieldPath::parse(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{parse_str, Pos};

    #[test]
    fn display_escapes_slashes() {
        let p = FieldPath::parse("/metadata/labels").key("istio.io/rev");
        assert_eq!(p.to_string(), "/metadata/labels/istio.io~1rev");
        assert_eq!(FieldPath::parse(&p.to_string()), p);
    }

    #[test]
    fn locate_underlines_the_field_or_its_nearest_ancestor() {
        let root = parse_str("spec:\n  template:\n    spec:\n      containers:\n      - name: a\n        image: x\n  replicas: 3\n").unwrap().unwrap();
        let span = FieldPath::parse("/spec/replicas").locate(root.root());
        assert_eq!(span.start, Pos { line: 7, col: 2 });
        assert_eq!(span.end, Pos { line: 7, col: 13 });
        let absent = FieldPath::parse("/spec/template/spec/terminationGracePeriodSeconds")
            .locate(root.root());
        assert_eq!(absent.start, Pos { line: 3, col: 4 });
        let image = FieldPath::parse("/spec/template/spec/containers/0/image").locate(root.root());
        assert_eq!(image.start, Pos { line: 6, col: 8 });
    }

    #[test]
    fn a_field_reads_the_node_its_path_resolves() {
        let doc =
            parse_str("spec:\n  selector:\n    istio.io/rev: canary\n  ports:\n  - name: grpc\n")
                .unwrap()
                .unwrap();
        for text in [
            "/spec/ports/0/name",
            "/spec/selector/istio.io~1rev",
            "/spec",
        ] {
            let field = Field::new(text);
            let read = field.read(doc.root()).expect(text);
            let resolved = field.path().resolve(doc.root()).expect(text);
            assert_eq!(read.id(), resolved.id(), "{text}");
        }
        assert_eq!(
            Field::new("/spec/ports/0/name").read_str(doc.root()),
            Some("grpc")
        );
        assert!(Field::new("/spec/ports/1").read(doc.root()).is_none());
        assert!(Field::new("/spec/missing/deeper")
            .read(doc.root())
            .is_none());
        assert_eq!(
            Field::new("/spec/selector").key("istio.io/rev").to_string(),
            "/spec/selector/istio.io~1rev"
        );
    }
}
