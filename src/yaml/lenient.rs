//! go-yaml compatibility: indentations kubectl accepts that saphyr-parser rejects.

use super::builder::{parse_strict, DocText, Failure};
use super::text::Text;
use super::tree::Parts;
use super::DocumentRoot;

/// Parses one document into `parts`, giving its root node.
pub(super) fn parse_into(
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
    let mut failure = match parse_strict(&doc, None, parts) {
        Err(f) if lenient_fix(doc.text, &f, line_offset).is_some() => f,
        other => return other.map_err(|f| f.error),
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
        let Some(mut inserts) = lenient_fix(&patched, &failure, line_offset) else {
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
            Err(f) => failure = f,
            Ok(root) => return Ok(root),
        }
    }
    parse_strict(&doc, None, parts).map_err(|f| f.error)
}

/// How many constructs the go-yaml compatibility retry may re-indent in one document.
const MAX_LENIENT_RETRIES: usize = 256;

/// Where to insert spaces so that an indentation go-yaml accepts parses, if what the builder
/// had open and the lines around the error are one of those cases. Decided on the text's
/// structure alone: the parser's messages are not a stable interface.
fn lenient_fix(text: &str, failure: &Failure, line_offset: u32) -> Option<Vec<usize>> {
    let pos = failure.error.pos;
    let start = line_start(text, pos.line.checked_sub(line_offset)? as usize)?;
    closing_bracket(text, start, failure.open_flow)
        .or_else(|| quoted_continuation(text, start, pos.col as usize))
}

/// The error's line starts with the bracket that closes the flow collection still open,
/// opened on an earlier line, and sits no deeper than the content of the opener's line
/// (`args: [` … `]` at the column of `args`): indent that line.
fn closing_bracket(text: &str, start: usize, open_flow: Option<usize>) -> Option<Vec<usize>> {
    let open = open_flow.filter(|&open| open < start)?;
    let closer = match text.as_bytes().get(open)? {
        b'[' => b']',
        b'{' => b'}',
        _ => return None,
    };
    let line = &text[start..];
    let rest = line.trim_start_matches([' ', '\t']);
    let column = line.len() - rest.len();
    (rest.as_bytes().first() == Some(&closer) && column <= content_column(text, open))
        .then(|| vec![start])
}

/// The error points at the quote that opens a multi-line quoted scalar, and a continuation
/// line of it sits no deeper than the content of the opening line (controller-gen's
/// `description: 'first` … at the key's column): indent every continuation line.
fn quoted_continuation(text: &str, start: usize, col: usize) -> Option<Vec<usize>> {
    let open = start + text[start..].char_indices().nth(col)?.0;
    let quote = text[open..]
        .chars()
        .next()
        .filter(|c| *c == '\'' || *c == '"')?;
    let limit = content_column(text, open);
    let mut inserts = Vec::new();
    let mut shallow = false;
    let mut chars = text[open + 1..].char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' if quote == '"' => {
                chars.next();
            }
            '\'' if quote == '\'' && chars.peek().map(|p| p.1) == Some('\'') => {
                chars.next();
            }
            c if c == quote => return (shallow && !inserts.is_empty()).then_some(inserts),
            '\n' => {
                let next = open + 1 + i + 1;
                let line = &text[next..];
                let body = line.trim_start_matches(' ');
                let blank = body.is_empty() || body.starts_with(['\n', '\r']);
                shallow |= !blank && line.len() - body.len() <= limit;
                inserts.push(next);
            }
            _ => {}
        }
    }
    None
}

/// The column where the content of the line holding byte `at` starts, after its
/// indentation and any `- ` sequence entry indicators.
fn content_column(text: &str, at: usize) -> usize {
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line = &text[start..at];
    let mut rest = line.trim_start_matches(' ');
    while let Some(after) = rest.strip_prefix('-').filter(|r| r.starts_with(' ')) {
        rest = after.trim_start_matches(' ');
    }
    line.len() - rest.len()
}

fn line_start(text: &str, line: usize) -> Option<usize> {
    if line <= 1 {
        return Some(0);
    }
    text.match_indices('\n').nth(line - 2).map(|(i, _)| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::tests::parse;
    use crate::yaml::{parse_str, Pos};

    /// What the retry would indent after a strict parse of `text` fails, whatever the
    /// parser's message said.
    fn fix_for(text: &str) -> Option<Vec<usize>> {
        let file = Text::new(text.to_string());
        let doc = DocText {
            file: &file,
            base: 0,
            text,
            line_offset: 0,
        };
        let mut failure =
            parse_strict(&doc, None, &mut Parts::default()).expect_err("saphyr rejects the text");
        failure.error.message = "any wording".into();
        lenient_fix(text, &failure, 0)
    }

    #[test]
    fn leniency_is_decided_on_structure_not_on_the_message() {
        let bracket = "spec:\n  args: [\n      \"-a\",\n  ]\n";
        assert_eq!(
            fix_for(bracket),
            Some(vec![bracket.rfind(']').unwrap() - 2])
        );
        let quoted = "a:\n  description: 'first\n  second\n  third'\n";
        let second = quoted.find("  second").unwrap();
        let third = quoted.find("  third").unwrap();
        assert_eq!(fix_for(quoted), Some(vec![second, third]));
        // A closing bracket with no flow collection open, an unclosed quote, a bad key:
        // errors no indentation fixes, so they are reported as saphyr found them.
        for text in [
            "a: 1\n]\n",
            "a: [1, 2}\n",
            "a:\n  b: 'open\n  c: 1\n",
            "a: b: c\n",
        ] {
            assert_eq!(fix_for(text), None, "{text:?}");
            assert!(parse_str(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn continuation_at_a_sequence_items_key_column_is_accepted() {
        let text = "items:\n- description: 'first\n  second'\n  type: string\n";
        let n = parse(text);
        let item = n
            .root()
            .get("items")
            .unwrap()
            .as_seq()
            .unwrap()
            .get(0)
            .unwrap();
        assert_eq!(item.str_at(&["description"]), Some("first second"));
        assert_eq!(
            item.get("type").unwrap().span().start,
            Pos { line: 4, col: 8 }
        );
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
}
