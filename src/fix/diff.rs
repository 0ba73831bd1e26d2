//! A unified diff (`diff -u` format) of two texts, line by line: `similar`'s Myers diff
//! with three lines of context, headed `a/<path>` and `b/<path>` as git writes them so
//! that `git apply` takes it.

use similar::TextDiff;

/// `diff -u a/<path> b/<path>` of the two texts, with 3 lines of context; empty when equal.
/// Lines keep their line breaks, so CRLF and a missing final newline (marked as `diff`
/// marks it) are shown exactly.
pub fn unified(path: &str, before: &str, after: &str) -> String {
    if before == after {
        return String::new();
    }
    // An absolute path stays as it is.
    let (old, new) = if path.starts_with('/') {
        (path.to_string(), path.to_string())
    } else {
        (format!("a/{path}"), format!("b/{path}"))
    };
    TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(&old, &new)
        .to_string()
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
    fn crlf_lines_and_absolute_paths_are_kept() {
        let d = unified("/tmp/x.yaml", "a\r\nb\r\n", "a\r\nc\r\n");
        assert_eq!(
            d,
            "--- /tmp/x.yaml\n+++ /tmp/x.yaml\n@@ -1,2 +1,2 @@\n a\r\n-b\r\n+c\r\n"
        );
    }
}
