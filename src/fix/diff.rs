//! A unified diff (`diff -u` format) of two texts, line by line, with Myers' algorithm.
//! Fixes change a few lines of large files, so the common head and tail are cut off first
//! and the edit distance stays small.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Equal,
    Delete,
    Insert,
}

/// Lines with their line breaks, so a missing final newline and CRLF are shown exactly.
fn lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

/// The edit script turning `a` into `b`: (op, index in a, index in b).
fn script(a: &[&str], b: &[&str]) -> Vec<(Op, usize, usize)> {
    let head = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let tail = a[head..]
        .iter()
        .rev()
        .zip(b[head..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (ma, mb) = (&a[head..a.len() - tail], &b[head..b.len() - tail]);
    let mut ops: Vec<(Op, usize, usize)> = (0..head).map(|i| (Op::Equal, i, i)).collect();
    ops.extend(
        myers(ma, mb)
            .into_iter()
            .map(|(op, i, j)| (op, i + head, j + head)),
    );
    ops.extend((0..tail).map(|k| (Op::Equal, a.len() - tail + k, b.len() - tail + k)));
    ops
}

fn myers(a: &[&str], b: &[&str]) -> Vec<(Op, usize, usize)> {
    let (n, m) = (a.len() as isize, b.len() as isize);
    let max = (n + m) as usize;
    let offset = max as isize + 1;
    let mut v = vec![0isize; 2 * max + 3];
    // Round d only reads diagonals -d-1..=d+1 of the previous round, so only that window is
    // kept: memory grows with the square of the edit distance, not with the file size.
    let mut trace: Vec<Vec<isize>> = Vec::new();
    'search: for d in 0..=max as isize {
        let lo = (offset - d - 1) as usize;
        trace.push(v[lo..lo + 2 * d as usize + 3].to_vec());
        let mut k = -d;
        while k <= d {
            let idx = (k + offset) as usize;
            let mut x = if k == -d || (k != d && v[idx - 1] < v[idx + 1]) {
                v[idx + 1]
            } else {
                v[idx - 1] + 1
            };
            let mut y = x - k;
            while x < n && y < m && a[x as usize] == b[y as usize] {
                x += 1;
                y += 1;
            }
            v[idx] = x;
            if x >= n && y >= m {
                break 'search;
            }
            k += 2;
        }
    }
    // Walk the trace backwards from the end to recover the path.
    let mut ops = Vec::new();
    let (mut x, mut y) = (n, m);
    for (d, window) in trace.iter().enumerate().rev() {
        let d = d as isize;
        let at = |k: isize| window[(k + d + 1) as usize];
        let k = x - y;
        let prev_k = if k == -d || (k != d && at(k - 1) < at(k + 1)) {
            k + 1
        } else {
            k - 1
        };
        let prev_x = at(prev_k);
        let prev_y = prev_x - prev_k;
        while x > prev_x && y > prev_y {
            x -= 1;
            y -= 1;
            ops.push((Op::Equal, x as usize, y as usize));
        }
        if d > 0 {
            if x == prev_x {
                ops.push((Op::Insert, x as usize, prev_y as usize));
            } else {
                ops.push((Op::Delete, prev_x as usize, y as usize));
            }
        }
        x = prev_x;
        y = prev_y;
    }
    ops.reverse();
    ops
}

/// `diff -u a/<path> b/<path>` of the two texts, with 3 lines of context; empty when equal.
pub fn unified(path: &str, before: &str, after: &str) -> String {
    if before == after {
        return String::new();
    }
    let (a, b) = (lines(before), lines(after));
    let ops = script(&a, &b);
    const CONTEXT: usize = 3;
    let changed: Vec<usize> = ops
        .iter()
        .enumerate()
        .filter(|(_, (op, _, _))| *op != Op::Equal)
        .map(|(i, _)| i)
        .collect();
    // `a/` and `b/` as git writes them, so `git apply` takes the diff; an absolute path
    // stays as it is.
    let mut out = if path.starts_with('/') {
        format!("--- {path}\n+++ {path}\n")
    } else {
        format!("--- a/{path}\n+++ b/{path}\n")
    };
    let mut i = 0;
    while i < changed.len() {
        let start = changed[i].saturating_sub(CONTEXT);
        let mut end = changed[i];
        // Merge changes whose context windows touch.
        while i < changed.len() && changed[i] <= end + 2 * CONTEXT + 1 {
            end = changed[i];
            i += 1;
        }
        let end = (end + CONTEXT + 1).min(ops.len());
        let hunk = &ops[start..end];
        let a_start = hunk
            .iter()
            .find(|(op, _, _)| *op != Op::Insert)
            .map_or_else(|| a_line_before(&ops, start), |(_, x, _)| x + 1);
        let b_start = hunk
            .iter()
            .find(|(op, _, _)| *op != Op::Delete)
            .map_or_else(|| b_line_before(&ops, start), |(_, _, y)| y + 1);
        let a_count = hunk.iter().filter(|(op, _, _)| *op != Op::Insert).count();
        let b_count = hunk.iter().filter(|(op, _, _)| *op != Op::Delete).count();
        out.push_str(&format!(
            "@@ -{} +{} @@\n",
            range(a_start, a_count),
            range(b_start, b_count)
        ));
        for (op, x, y) in hunk {
            let (mark, line) = match op {
                Op::Equal => (' ', a[*x]),
                Op::Delete => ('-', a[*x]),
                Op::Insert => ('+', b[*y]),
            };
            out.push(mark);
            out.push_str(line);
            if !line.ends_with('\n') {
                out.push_str("\n\\ No newline at end of file\n");
            }
        }
    }
    out
}

/// For an empty side of a hunk, `diff` names the line before it.
fn a_line_before(ops: &[(Op, usize, usize)], start: usize) -> usize {
    ops[..start]
        .iter()
        .rev()
        .find(|(op, _, _)| *op != Op::Insert)
        .map_or(0, |(_, x, _)| x + 1)
}

fn b_line_before(ops: &[(Op, usize, usize)], start: usize) -> usize {
    ops[..start]
        .iter()
        .rev()
        .find(|(op, _, _)| *op != Op::Delete)
        .map_or(0, |(_, _, y)| y + 1)
}

fn range(start: usize, count: usize) -> String {
    if count == 1 {
        start.to_string()
    } else {
        format!("{start},{count}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_texts_have_no_diff() {
        assert_eq!(unified("f", "a\n", "a\n"), "");
    }

    #[test]
    fn one_changed_line_with_context() {
        let before = "1\n2\n3\n4\n5\n6\n7\n8\n9\n";
        let after = "1\n2\n3\n4\nfive\n6\n7\n8\n9\n";
        assert_eq!(
            unified("x.yaml", before, after),
            "--- a/x.yaml\n+++ b/x.yaml\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n"
        );
    }

    #[test]
    fn insertion_removal_and_far_apart_hunks() {
        let before: Vec<String> = (1..=30).map(|i| format!("{i}\n")).collect();
        let mut after = before.clone();
        after.remove(24); // line 25
        after.insert(2, "new\n".to_string()); // after line 2
        let d = unified("f", &before.concat(), &after.concat());
        assert_eq!(d.matches("@@ ").count(), 2, "{d}");
        assert!(
            d.contains("@@ -1,5 +1,6 @@\n 1\n 2\n+new\n 3\n 4\n 5\n"),
            "{d}"
        );
        assert!(
            d.contains("@@ -22,7 +23,6 @@\n 22\n 23\n 24\n-25\n 26\n"),
            "{d}"
        );
    }

    #[test]
    fn missing_final_newline_is_marked() {
        let d = unified("f", "a\nb", "a\nc");
        assert!(
            d.ends_with("-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n"),
            "{d}"
        );
    }

    #[test]
    fn insertion_into_empty_text() {
        assert_eq!(
            unified("f", "", "a\n"),
            "--- a/f\n+++ b/f\n@@ -0,0 +1 @@\n+a\n"
        );
    }

    #[test]
    fn applying_the_script_gives_the_new_text() {
        let a = lines("a\nb\nc\nd\ne\nf\n");
        let b = lines("x\nb\nc\ny\ne\nf\nz\n");
        let rebuilt: String = script(&a, &b)
            .into_iter()
            .filter(|(op, _, _)| *op != Op::Delete)
            .map(|(op, x, y)| if op == Op::Equal { a[x] } else { b[y] })
            .collect();
        assert_eq!(rebuilt, "x\nb\nc\ny\ne\nf\nz\n");
    }
}
