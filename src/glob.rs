//! The small glob language of `.istio-preflight.yaml` (path excludes, suppression `object`
//! and `path`): `*` matches within one `/`-separated segment, `**` matches across segments
//! (`**/` also matches nothing, so `**/x.yaml` matches `x.yaml`), `?` matches one character
//! other than `/`. Everything else is literal. Matching is on whole strings.
//!
//! Written here rather than pulled from a crate because these are the only three operators
//! anyone needs for file paths and `Kind/namespace/name` identities, and it keeps the
//! semantics identical for both.

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Glob {
    pattern: String,
}

impl Glob {
    pub fn new(pattern: &str) -> Glob {
        Glob {
            pattern: pattern.trim_start_matches("./").to_string(),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    pub fn matches(&self, text: &str) -> bool {
        let p: Vec<char> = self.pattern.chars().collect();
        let t: Vec<char> = text.chars().collect();
        matches_at(&p, &t)
    }

    /// Whether the path or one of its parent directories matches, so that `vendor` or
    /// `vendor/**` both exclude everything under `vendor/`.
    pub fn matches_path_or_parent(&self, path: &str) -> bool {
        if self.matches(path) {
            return true;
        }
        path.match_indices('/')
            .any(|(i, _)| self.matches(&path[..i]))
    }
}

/// Backtracking matcher. Patterns are short and written by people, and every `*` is bounded
/// by the text length, so the worst case stays small.
fn matches_at(p: &[char], t: &[char]) -> bool {
    match p.first() {
        None => t.is_empty(),
        Some('*') if p.get(1) == Some(&'*') => {
            let rest = &p[2..];
            // `**/` may stand for no directory at all.
            if rest.first() == Some(&'/') && matches_at(&rest[1..], t) {
                return true;
            }
            (0..=t.len()).any(|i| matches_at(rest, &t[i..]))
        }
        Some('*') => {
            let rest = &p[1..];
            let segment_end = t.iter().position(|&c| c == '/').unwrap_or(t.len());
            (0..=segment_end).any(|i| matches_at(rest, &t[i..]))
        }
        Some('?') => t.first().is_some_and(|&c| c != '/') && matches_at(&p[1..], &t[1..]),
        Some(&c) => t.first() == Some(&c) && matches_at(&p[1..], &t[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::Glob;

    fn m(p: &str, t: &str) -> bool {
        Glob::new(p).matches(t)
    }

    #[test]
    fn star_stays_within_a_segment() {
        assert!(m("Deployment/shop/*", "Deployment/shop/cart"));
        assert!(!m("Deployment/*", "Deployment/shop/cart"));
        assert!(m("*/shop/*", "StatefulSet/shop/db"));
        assert!(m("apps/*.yaml", "apps/cart.yaml"));
        assert!(!m("apps/*.yaml", "apps/shop/cart.yaml"));
        assert!(m("*", ""));
    }

    #[test]
    fn double_star_crosses_segments_and_may_be_empty() {
        assert!(m("apps/**", "apps/shop/cart.yaml"));
        assert!(m("**/cart.yaml", "cart.yaml"));
        assert!(m("**/cart.yaml", "apps/shop/cart.yaml"));
        assert!(m("apps/**/cart.yaml", "apps/cart.yaml"));
        assert!(!m("apps/**/cart.yaml", "other/cart.yaml"));
        assert!(m("**", "a/b/c"));
    }

    #[test]
    fn question_mark_is_one_character_but_not_a_slash() {
        assert!(m("cart-?", "cart-1"));
        assert!(!m("cart-?", "cart-12"));
        assert!(!m("a?b", "a/b"));
    }

    #[test]
    fn literal_characters_must_match_exactly() {
        assert!(!m("Deployment/shop/cart", "Deployment/shop/carts"));
        assert!(m("./apps/x.yaml", "apps/x.yaml"));
    }

    #[test]
    fn parents_count_for_directory_patterns() {
        let g = Glob::new("vendor");
        assert!(g.matches_path_or_parent("vendor/chart/x.yaml"));
        assert!(!g.matches_path_or_parent("vendored/x.yaml"));
        assert!(Glob::new("**/testdata").matches_path_or_parent("a/testdata/b.yaml"));
    }
}
