//! Building a tree from saphyr-parser's event stream: positions, anchors and aliases,
//! duplicate keys, and the limits on depth and alias expansion.

use std::borrow::Cow;
use std::collections::HashMap;

use saphyr_parser::{Event, Marker, Parser, ScalarStyle, Span as RawSpan};

use super::scalar::{resolve_scalar, Scalar};
use super::text::{Pos, Text};
use super::tree::*;
use super::{YamlError, ALIAS_NODES_PER_BYTE, MAX_ALIAS_NODES, MAX_DEPTH};

/// A document's text and where it sits in its file.
#[derive(Clone, Copy)]
pub(super) struct DocText<'t> {
    pub(super) file: &'t Text,
    /// Byte offset of the document in the file.
    pub(super) base: usize,
    /// The document's text (a patched copy on the lenient retry).
    pub(super) text: &'t str,
    /// Lines before the document.
    pub(super) line_offset: u32,
}

/// Why a document could not be read, and what the builder had open when it stopped: what
/// the go-yaml compatibility retry decides on.
pub(super) struct Failure {
    pub(super) error: YamlError,
    /// Byte offset in the document's text of the `[` or `{` of the innermost collection
    /// still open, when that collection is a flow collection.
    pub(super) open_flow: Option<usize>,
}

/// Parses one document into `parts`; on an error, leaves `parts` as it found them.
pub(super) fn parse_strict(
    doc: &DocText<'_>,
    inserted: Option<&[usize]>,
    parts: &mut Parts,
) -> Result<Option<NodeId>, Failure> {
    let mark = parts.mark();
    let mut builder = Builder::new(
        doc,
        inserted,
        MAX_ALIAS_NODES.min(doc.text.len().saturating_mul(ALIAS_NODES_PER_BYTE)),
        std::mem::take(parts),
    );
    let read = builder.read(doc);
    let open_flow = builder.frames.last().and_then(|f| f.flow_open);
    let (taken, root) = builder.finish(read.is_ok());
    *parts = taken;
    if read.is_err() {
        parts.truncate(mark);
    }
    read.map(|()| root)
        .map_err(|error| Failure { error, open_flow })
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

struct Frame {
    map: bool,
    /// Where the collection's children start in `Builder::pending`.
    first: usize,
    start: u32,
    /// Byte offset in the document's text of the opening `[` or `{` of a flow collection.
    flow_open: Option<usize>,
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
                let local = self.local(span.start);
                let flow = matches!(self.doc.text.as_bytes().get(local), Some(b'[' | b'{'));
                self.frames.push(Frame {
                    map: matches!(event, Event::MappingStart(..)),
                    first: self.pending.len(),
                    start,
                    flow_open: flow.then_some(local),
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
