//! go-yaml compatibility: indentations kubectl accepts that saphyr-parser rejects.

use super::builder::{parse_strict, DocText};
use super::text::Text;
use super::tree::Parts;
use super::{DocumentRoot, YamlError};

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

#[cfg(test)]
mod tests {
    use crate::yaml::tests::parse;
    use crate::yaml::Pos;

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
