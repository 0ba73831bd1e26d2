//! Positions inside YAML documents that objects carry in string values: an Argo CD
//! Application's `helm.values`, a ConfigMap's `values.yaml` that a Flux HelmRelease reads.
//! Rules report a field path that continues into the string
//! (`/spec/source/helm/values/pilot/env/X`); this turns it into the place in the file.
//!
//! Only literal block scalars (`|`, `|-`, `|+`) keep their text as written: each line of the
//! value is a line of the file, behind a fixed indentation. Parsing those lines where they
//! stand (with the lines above them left empty) gives positions that are the file's own.
//! Quoted and folded strings rewrite their text, so a path into them points at the string.

use super::path::Segment;
use super::FieldPath;
use crate::yaml::{self, Node, Span, Text};

/// The span of `field` under `root`, following the path into a block-scalar string when
/// the path continues past it. `text` is the text of the file `root` was parsed from.
pub fn locate(field: &FieldPath, root: Node, text: &Text) -> Span {
    let mut node = root;
    for (i, segment) in field.0.iter().enumerate() {
        if node.as_str().is_some() {
            let rest = FieldPath(field.0[i..].to_vec());
            if let Some(span) = inside_string(node, &rest, text) {
                return span;
            }
            break;
        }
        let next = match segment {
            Segment::Key(k) => node.get(k),
            Segment::Index(i) => node.as_seq().and_then(|items| items.get(*i)),
        };
        match next {
            Some(n) => node = n,
            None => break,
        }
    }
    field.locate(root)
}

/// Where `rest` is inside the literal block scalar `node`, if it is one and parses.
fn inside_string(node: Node, rest: &FieldPath, text: &Text) -> Option<Span> {
    let span = node.span();
    if !span.is_known() {
        return None;
    }
    // The scalar's span starts at its content; the `|` indicator ends the last non-blank
    // line before it (`values: |`, `values: |-`, `values: |2 # comment`).
    let mut indicator = span.start.line.checked_sub(1)?;
    while indicator > 0 && text.line(indicator).trim().is_empty() {
        indicator -= 1;
    }
    if indicator == 0 {
        return None;
    }
    let line = text.line(indicator);
    let code = line.split(" #").next().unwrap_or(line).trim_end();
    if !code
        .trim_end_matches(|c: char| c == '-' || c == '+' || c.is_ascii_digit())
        .ends_with('|')
    {
        return None;
    }
    let indent = |l: &str| l.chars().take_while(|c| *c == ' ').count();
    let parent_indent = indent(line);
    // The lines above stay empty so that line numbers match the file's; the block's own
    // lines are copied as they are, so columns match too.
    let mut document = "\n".repeat(indicator as usize);
    let last = text.line_count() as u32;
    for n in indicator + 1..=last {
        let content = text.line(n);
        if !content.trim().is_empty() && indent(content) <= parent_indent {
            break;
        }
        document.push_str(content);
        document.push('\n');
    }
    let tree = yaml::parse_str(&document).ok()??;
    Some(rest.locate(tree.root()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::Pos;

    #[test]
    fn a_path_into_a_literal_block_points_at_the_line_in_the_file() {
        let source = "spec:\n  source:\n    helm:\n      values: |\n        global:\n          hub: docker.io/istio\n        pilot:\n          env:\n            ENABLE_AUTO_SNI: \"false\"\n    chart: istiod\n";
        let text = Text::new(source.to_string());
        let tree = yaml::parse_str(source).unwrap().unwrap();
        let field = FieldPath::parse("/spec/source/helm/values/pilot/env/ENABLE_AUTO_SNI");
        let span = locate(&field, tree.root(), &text);
        assert_eq!(span.start, Pos { line: 9, col: 12 });
        assert_eq!(span.end, Pos { line: 9, col: 36 });
        // Outside strings it is the usual place.
        let chart = locate(&FieldPath::parse("/spec/source/chart"), tree.root(), &text);
        assert_eq!(chart.start.line, 10);
    }

    #[test]
    fn a_quoted_string_is_pointed_at_as_a_whole() {
        let source = "data:\n  values.yaml: \"pilot:\\n  env: {X: 1}\\n\"\n";
        let text = Text::new(source.to_string());
        let tree = yaml::parse_str(source).unwrap().unwrap();
        let span = locate(
            &FieldPath::parse("/data/values.yaml/pilot/env/X"),
            tree.root(),
            &text,
        );
        assert_eq!(span.start, Pos { line: 2, col: 2 });
    }
}
