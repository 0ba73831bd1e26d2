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

mod builder;
pub mod de;
mod lenient;
mod node;
pub mod owned;
mod scalar;
mod split;
mod text;
mod tree;

use std::fmt;

pub use node::{Entry, Map, MapIter, Node, Seq, SeqIter, Value};
pub use scalar::double_quoted;
pub use split::split_documents;
pub use text::{Pos, Span, Text};
pub use tree::{NodeId, Tree};

use lenient::parse_into;
use tree::Parts;

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

/// Parses a whole text that must hold a single document (embedded data, mesh config strings).
pub fn parse_str(text: &str) -> Result<Option<Tree>, YamlError> {
    let file = Text::new(text.to_string());
    parse_document(&file, 0, 0..file.len()).map(|d| d.root)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn parse(text: &str) -> Tree {
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
