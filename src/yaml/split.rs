//! Splitting a stream into its documents.

/// Splits a YAML stream into its documents: the byte range of each and the line it starts
/// on (0-based), so that a broken document does not stop the ones after it from being read.
/// A line that starts with `---` or `...` followed by a blank or the end of line is a
/// document marker anywhere in YAML (it is forbidden inside scalars at column 1), so
/// splitting on it is exact.
pub fn split_documents(text: &str) -> Vec<(u32, std::ops::Range<usize>)> {
    let mut docs = Vec::new();
    let mut start_byte = 0;
    let mut start_line = 0u32;
    let mut offset = 0;
    for (line_no, line) in (0u32..).zip(text.split_inclusive('\n')) {
        let marker = line.starts_with("---") || line.starts_with("...");
        let is_marker = marker
            && line[3..]
                .chars()
                .next()
                .is_none_or(|c| c == ' ' || c == '\t' || c == '\n' || c == '\r');
        if is_marker && line.starts_with("---") && offset > start_byte {
            docs.push((start_line, start_byte..offset));
            start_byte = offset;
            start_line = line_no;
        }
        offset += line.len();
    }
    if start_byte < text.len() || docs.is_empty() {
        docs.push((start_line, start_byte..text.len()));
    }
    docs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{parse_document, Text};

    #[test]
    fn split_keeps_line_numbers() {
        let text = "a: 1\n---\nb: 2\n--- # c\nc: 3\n";
        let docs = split_documents(text);
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[1].0, 1);
        let file = Text::new(text.to_string());
        let d = parse_document(&file, docs[2].0, docs[2].1.clone()).unwrap();
        assert_eq!(
            d.root.unwrap().root().get("c").unwrap().span().start.line,
            5
        );
    }

    #[test]
    fn split_ignores_dashes_that_are_not_markers() {
        let docs = split_documents("a: |\n  ---\n  x\nb: ---x\n----\n");
        assert_eq!(docs.len(), 1);
    }
}
