//! A file cut into pieces that fixes edit one at a time.
//!
//! Re-reading the whole file after every edit would make fixing a `kubectl get -o yaml`
//! dump (one `kind: List` document with thousands of items) quadratic. So each document is
//! a piece, and in a `kind: List` each item is a piece of its own: a block item is edited
//! with its `-` blanked (what is left is a mapping at the same columns, which reads the same
//! on its own), a flow item as its `{...}` text. Pieces are contiguous: joined, they give
//! the file back.

use std::collections::HashMap;

use super::text::{Doc, Place};
use crate::load::files::SourceFile;
use crate::yaml::{self, Node, Pos, Span};

pub struct Part {
    pub text: String,
    /// The document the part belongs to.
    pub document: usize,
    /// Where the part starts in the original text.
    pub start: usize,
    /// The `-` of a block list item (byte offset in `text`), blanked while editing.
    pub dash: Option<usize>,
}

/// Where an object's text is: the part, and the `items` index within it when the part is
/// a whole `kind: List` document that could not be cut.
#[derive(Clone, Copy, Debug)]
pub struct Slot {
    pub part: usize,
    pub item: Option<usize>,
}

pub struct Pieces {
    pub parts: Vec<Part>,
    /// (document, root span of the object as read) → its place in the file.
    pub places: HashMap<(usize, Span), Place>,
    pub slots: HashMap<Place, Slot>,
    /// The JSON of every document that holds a wanted object, as read.
    pub documents: HashMap<usize, serde_json::Value>,
}

fn shift(span: Span, lines: u32) -> Span {
    let p = |pos: Pos| Pos {
        line: pos.line.saturating_sub(lines),
        col: pos.col,
    };
    Span {
        start: p(span.start),
        end: p(span.end),
    }
}

/// Cuts `text` so that each wanted object (document index, root span) is in a piece.
pub fn cut(path: &str, text: &str, wanted: &[(usize, Span)]) -> Pieces {
    let mut pieces = Pieces {
        parts: Vec::new(),
        places: HashMap::new(),
        slots: HashMap::new(),
        documents: HashMap::new(),
    };
    let mut offset = 0;
    for (document, (line, range)) in yaml::split_documents(text).into_iter().enumerate() {
        let doc_text = &text[range];
        let start = offset;
        offset += doc_text.len();
        let spans: Vec<Span> = wanted
            .iter()
            .filter(|(d, _)| *d == document)
            .map(|(_, s)| shift(*s, line))
            .collect();
        let whole = |pieces: &mut Pieces| {
            pieces.parts.push(Part {
                text: doc_text.to_string(),
                document,
                start,
                dash: None,
            });
            pieces.parts.len() - 1
        };
        if spans.is_empty() {
            whole(&mut pieces);
            continue;
        }
        let file = SourceFile::new(path.to_string(), doc_text.to_string());
        let Ok(doc) = Doc::open(
            &file,
            Place {
                document: 0,
                item: None,
            },
        ) else {
            whole(&mut pieces);
            continue;
        };
        pieces.documents.insert(document, doc.root().to_json());
        let items = doc
            .root()
            .get("items")
            .and_then(Node::as_seq)
            .unwrap_or_default();
        let mut wanted_items = Vec::new();
        for (rel, original) in spans
            .iter()
            .zip(wanted.iter().filter(|(d, _)| *d == document))
        {
            let place = if *rel == doc.root().span() {
                Some(Place {
                    document,
                    item: None,
                })
            } else {
                items.iter().position(|n| n.span() == *rel).map(|i| {
                    wanted_items.push(i);
                    Place {
                        document,
                        item: Some(i),
                    }
                })
            };
            if let Some(place) = place {
                pieces.places.insert(*original, place);
            }
        }
        let cuts = if wanted_items.is_empty() {
            None
        } else {
            cut_items(&doc, doc_text, items)
        };
        match cuts {
            None => {
                let part = whole(&mut pieces);
                for place in pieces.places.values().filter(|p| p.document == document) {
                    pieces.slots.insert(
                        *place,
                        Slot {
                            part,
                            item: place.item,
                        },
                    );
                }
            }
            Some(cuts) => {
                for (item, range, dash) in cuts {
                    pieces.parts.push(Part {
                        text: doc_text[range.clone()].to_string(),
                        document,
                        start: start + range.start,
                        dash,
                    });
                    if let Some(i) = item {
                        pieces.slots.insert(
                            Place {
                                document,
                                item: Some(i),
                            },
                            Slot {
                                part: pieces.parts.len() - 1,
                                item: None,
                            },
                        );
                    }
                }
            }
        }
    }
    pieces
}

type Cut = (Option<usize>, std::ops::Range<usize>, Option<usize>);

/// The document cut around each list item; `None` when an item is not laid out so that it
/// reads the same on its own (two items on a line, an anchor or tag before a block item).
fn cut_items(doc: &Doc, text: &str, items: yaml::Seq) -> Option<Vec<Cut>> {
    let mut cuts = Vec::new();
    let mut at = 0;
    for (i, item) in items.iter().enumerate() {
        let first = doc.off(item.span().start);
        let (start, end, dash) = if doc.is_flow(item) {
            (first, doc.off(item.span().end), None)
        } else {
            let line_start = doc.line_start(item.span().start.line);
            let prefix = &text[line_start..first];
            let dash = prefix.find('-')?;
            if !prefix[..dash].trim().is_empty() || !prefix[dash + 1..].trim().is_empty() {
                return None;
            }
            (
                line_start,
                doc.next_line_start(doc.node_end(item)),
                Some(dash),
            )
        };
        if start < at || end <= start {
            return None;
        }
        cuts.push((None, at..start, None));
        cuts.push((Some(i), start..end, dash));
        at = end;
    }
    cuts.push((None, at..text.len(), None));
    Some(cuts)
}

/// Applies a fix to one part on its own.
pub fn edit_part(
    path: &str,
    part: &Part,
    text: &str,
    item: Option<usize>,
    edits: &[crate::diagnostic::Edit],
) -> Result<String, String> {
    let mut masked = text.to_string();
    if let Some(d) = part.dash {
        masked.replace_range(d..d + 1, " ");
    }
    let mut out = super::apply_fix(path, &masked, Place { document: 0, item }, edits)?;
    if let Some(d) = part.dash {
        if out.len() <= d + 1 || !out.as_bytes()[..=d].iter().all(|b| *b == b' ') {
            return Err("the list item's `-` would move; change it by hand".into());
        }
        out.replace_range(d..d + 1, "-");
    }
    Ok(out)
}
