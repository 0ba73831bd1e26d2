//! A file's text, and positions in it as lines and columns.

use std::sync::{Arc, OnceLock};

/// A position in a text: 1-based line, 0-based column counted in characters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

/// Where a node starts and ends (end exclusive).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    pub start: Pos,
    pub end: Pos,
}

impl Span {
    /// Objects read from a cluster have no text: their spans are all zero.
    pub fn is_known(&self) -> bool {
        self.start.line > 0
    }
}

/// A file's text and where its lines start. The file and every tree parsed from it share one
/// copy: nodes keep byte offsets into it, and line and column are worked out only when a
/// diagnostic asks for them.
#[derive(Clone, Debug, Default)]
pub struct Text {
    text: Arc<str>,
    /// Where lines start, worked out the first time a position is asked for: most files of a
    /// large input never are.
    lines: Arc<OnceLock<Lines>>,
}

/// Lines per entry of [`Lines::starts`]: a position is found by a binary search and then
/// a scan of at most this many lines, for a sixteenth of the memory of a full index.
const LINES_PER_START: usize = 16;

#[derive(Debug)]
struct Lines {
    /// Byte offset where line `1 + LINES_PER_START * i` starts (u32: files are at most
    /// 256 MiB).
    starts: Box<[u32]>,
    count: usize,
}

impl Text {
    pub fn new(text: String) -> Text {
        Text {
            text: text.into(),
            lines: Arc::default(),
        }
    }

    fn lines(&self) -> &Lines {
        self.lines.get_or_init(|| {
            let breaks = self.text.match_indices('\n').map(|(i, _)| i as u32 + 1);
            let mut starts = vec![0];
            let mut count = 1;
            for (i, start) in breaks.enumerate() {
                count += 1;
                if (i + 1) % LINES_PER_START == 0 {
                    starts.push(start);
                }
            }
            Lines {
                starts: starts.into(),
                count,
            }
        })
    }

    /// Byte offset where a 1-based line starts.
    fn line_start(&self, line: u32) -> Option<usize> {
        let lines = self.lines();
        let index = (line as usize)
            .checked_sub(1)
            .filter(|&i| i < lines.count)?;
        let from = lines.starts[index / LINES_PER_START] as usize;
        match index % LINES_PER_START {
            0 => Some(from),
            // Lines are short: a byte loop beats a memchr call per line.
            skip => self.text.as_bytes()[from..]
                .iter()
                .enumerate()
                .filter(|(_, &b)| b == b'\n')
                .nth(skip - 1)
                .map(|(i, _)| from + i + 1),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The text of a 1-based line, without its line break.
    pub fn line(&self, line: u32) -> &str {
        let Some(start) = self.line_start(line) else {
            return "";
        };
        let rest = &self.text[start..];
        rest[..rest.find('\n').unwrap_or(rest.len())].trim_end_matches('\r')
    }

    pub fn line_count(&self) -> usize {
        self.lines().count
    }

    /// Byte offset of a position (columns count characters).
    pub fn offset(&self, pos: Pos) -> usize {
        let Some(start) = self.line_start(pos.line) else {
            return self.text.len();
        };
        let line = self.line(pos.line);
        start
            + line
                .char_indices()
                .nth(pos.col as usize)
                .map_or(line.len(), |(i, _)| i)
    }

    /// The position of a byte offset.
    pub fn pos(&self, offset: usize) -> Pos {
        let offset = offset.min(self.text.len());
        let lines = self.lines();
        let block = lines
            .starts
            .partition_point(|&s| s as usize <= offset)
            .saturating_sub(1);
        let from = lines.starts.get(block).map_or(0, |&s| s as usize);
        let between = self.text.get(from..offset).unwrap_or_default();
        let breaks = between.bytes().filter(|&b| b == b'\n').count();
        let before = &between[between.rfind('\n').map_or(0, |i| i + 1)..];
        let col = if before.is_ascii() {
            before.len()
        } else {
            before.chars().count()
        };
        Pos {
            line: (block * LINES_PER_START + breaks + 1) as u32,
            col: col as u32,
        }
    }

    /// Column in UTF-16 code units (SARIF's and GitHub's unit), 1-based.
    pub fn utf16_column(&self, pos: Pos) -> u32 {
        let line = self.line(pos.line);
        line.chars()
            .take(pos.col as usize)
            .map(|c| c.len_utf16() as u32)
            .sum::<u32>()
            + 1
    }
}

impl std::ops::Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        &self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_agree_with_counting_from_the_start() {
        let mut body = String::new();
        for i in 0..100 {
            body.push_str(&format!("k{i}: {}\r\n", "é".repeat(i % 3)));
            if i % 7 == 0 {
                body.push('\n');
            }
        }
        let text = Text::new(body.clone());
        let lines: Vec<&str> = body.split('\n').collect();
        assert_eq!(text.line_count(), lines.len());
        for (n, expected) in lines.iter().enumerate() {
            assert_eq!(text.line(n as u32 + 1), expected.trim_end_matches('\r'));
        }
        assert_eq!(text.line(0), "");
        assert_eq!(text.line(lines.len() as u32 + 1), "");
        for (offset, _) in body.char_indices().chain([(body.len(), ' ')]) {
            let before = &body[..offset];
            let line_start = before.rfind('\n').map_or(0, |i| i + 1);
            let naive = Pos {
                line: before.matches('\n').count() as u32 + 1,
                col: before[line_start..].chars().count() as u32,
            };
            assert_eq!(text.pos(offset), naive, "offset {offset}");
            // A line's text ends before its `\r`, and so do the columns `offset` knows.
            if !before.ends_with('\r') {
                assert_eq!(text.offset(naive), offset, "{naive:?}");
            }
        }
    }
}
