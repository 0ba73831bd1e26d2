//! The small glob language of `.istio-preflight.yaml` (path excludes, suppression `object`
//! and `path`): `*` matches within one `/`-separated segment, `**` matches across segments
//! (`**/` also matches nothing, so `**/x.yaml` matches `x.yaml`), `?` matches one character
//! other than `/` (one byte of a non-ASCII character). Everything else is literal. Matching
//! is on whole strings.
//!
//! Matching is globset's (compiled to a regular expression, so no pattern can make it
//! backtrack); this module only translates the language above into globset's, which
//! differs in two places: `[`, `]`, `{`, `}` and `\` are operators there and literal here,
//! and globset reads a `**` that is not a whole segment (`shop-**`) as `*`, where here it
//! still crosses segments.

use globset::{GlobBuilder, GlobMatcher};

#[derive(Clone, Debug)]
pub struct Glob {
    pattern: String,
    /// `None` for a pattern globset refused, matched as literal text.
    matcher: Option<GlobMatcher>,
}

impl PartialEq for Glob {
    fn eq(&self, other: &Glob) -> bool {
        self.pattern == other.pattern
    }
}

impl Eq for Glob {}

impl Glob {
    pub fn new(pattern: &str) -> Glob {
        let pattern = pattern.trim_start_matches("./").to_string();
        let build = |glob: &str| {
            GlobBuilder::new(glob)
                .literal_separator(true)
                .backslash_escape(true)
                .build()
        };
        // The translation escapes every operator it does not write itself, so globset
        // accepts every pattern; should it refuse one, that pattern is literal text.
        let matcher = build(&translate(&pattern))
            .ok()
            .map(|g| g.compile_matcher());
        Glob { pattern, matcher }
    }

    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    pub fn matches(&self, text: &str) -> bool {
        match &self.matcher {
            Some(matcher) => matcher.is_match(text),
            None => self.pattern == text,
        }
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

/// The pattern in globset's syntax: a run of stars is one `*` or one `**`; a `**` that is
/// not a whole segment becomes "within the segment, or across at least one `/`".
fn translate(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' => {
                let run = chars[i..].iter().take_while(|&&c| c == '*').count();
                let starts_segment = i == 0 || chars[i - 1] == '/';
                let ends_segment = chars.get(i + run).is_none_or(|&c| c == '/');
                out.push_str(match run {
                    1 => "*",
                    _ if starts_segment && ends_segment => "**",
                    _ => "{*,*/**/*}",
                });
                i += run;
                continue;
            }
            c @ ('[' | ']' | '{' | '}' | '\\') => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
        i += 1;
    }
    out
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
    fn double_star_inside_a_segment_still_crosses_segments() {
        assert!(m("apps/shop-**", "apps/shop-a/b/c.yaml"));
        assert!(m("apps/shop-**", "apps/shop-"));
        assert!(m("a**b", "ab"));
        assert!(m("a**b", "ax/y/zb"));
        assert!(!m("a**b", "ax/y/z"));
        assert!(m("**.yaml", "apps/x.yaml"));
        assert!(m("apps/***/x", "apps/x"));
        assert!(m("a/***", "a/b/c"));
    }

    #[test]
    fn glob_operators_of_other_languages_are_literal() {
        for (pattern, text) in [
            ("[ab]", "[ab]"),
            ("a{b,c}", "a{b,c}"),
            ("a\\*", "a\\x"),
            ("x]", "x]"),
            ("{", "{"),
            ("!x", "!x"),
        ] {
            assert!(m(pattern, text), "{pattern}");
        }
        assert!(!m("[ab]", "a"));
        assert!(!m("a{b,c}", "ab"));
    }

    #[test]
    fn pathological_patterns_answer_without_backtracking() {
        // Backtracking needs about 60^36 steps for each of these; a regular expression
        // needs one pass.
        let text = "a".repeat(60);
        assert!(!m(&format!("{}b", "*a".repeat(36)), &text));
        assert!(m(&format!("{}a", "*a".repeat(36)), &text));
        assert!(!m(
            &format!("{}b", "**a".repeat(36)),
            &format!("{text}/{text}")
        ));
        assert!(!m(&format!("{}b", "*".repeat(36)), &text));
        assert!(m(&"*".repeat(36), &text));
    }

    #[test]
    fn parents_count_for_directory_patterns() {
        let g = Glob::new("vendor");
        assert!(g.matches_path_or_parent("vendor/chart/x.yaml"));
        assert!(!g.matches_path_or_parent("vendored/x.yaml"));
        assert!(Glob::new("**/testdata").matches_path_or_parent("a/testdata/b.yaml"));
    }
}
