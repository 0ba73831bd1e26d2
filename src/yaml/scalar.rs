//! What a plain or quoted scalar means, and how to write a string back as one.

use saphyr_parser::ScalarStyle;

/// What a scalar's text means.
pub(super) enum Scalar {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str,
}

/// Resolves a scalar the way Kubernetes' YAML reader (go-yaml v2, YAML 1.1 booleans) does:
/// quoted scalars are strings; plain ones may be null, booleans, integers or floats.
pub(super) fn resolve_scalar(text: &str, style: ScalarStyle, tag: Option<&str>) -> Scalar {
    if let Some(tag) = tag {
        match tag {
            "str" => return Scalar::Str,
            "null" => return Scalar::Null,
            "bool" | "int" | "float" => {}
            _ => {}
        }
    }
    if style != ScalarStyle::Plain {
        return Scalar::Str;
    }
    let t = text;
    match t {
        "" | "~" | "null" | "Null" | "NULL" => return Scalar::Null,
        "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "y" | "Y" => {
            return Scalar::Bool(true)
        }
        "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "n" | "N" => {
            return Scalar::Bool(false)
        }
        _ => {}
    }
    if let Some(i) = parse_int(t) {
        return Scalar::Int(i);
    }
    if looks_like_float(t) {
        if let Ok(f) = t.replace('_', "").parse::<f64>() {
            return Scalar::Float(f);
        }
    }
    match t {
        ".inf" | ".Inf" | ".INF" | "+.inf" => Scalar::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => Scalar::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => Scalar::Float(f64::NAN),
        _ => Scalar::Str,
    }
}

fn parse_int(t: &str) -> Option<i64> {
    let (neg, digits) = match t.as_bytes().first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    let value = if let Some(hex) = digits.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()?
    } else if let Some(oct) = digits.strip_prefix("0o") {
        i64::from_str_radix(oct, 8).ok()?
    } else {
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse::<i64>().ok()?
    };
    Some(if neg { -value } else { value })
}

fn looks_like_float(t: &str) -> bool {
    let body = t.trim_start_matches(['-', '+']);
    let mut digits = 0;
    let mut dots = 0;
    let mut exp = false;
    for (i, c) in body.char_indices() {
        match c {
            '0'..='9' => digits += 1,
            '.' => dots += 1,
            'e' | 'E' if i > 0 && !exp => exp = true,
            '-' | '+' if exp => {}
            '_' => {}
            _ => return false,
        }
    }
    digits > 0 && dots <= 1 && (dots == 1 || exp)
}

/// `s` as a YAML double-quoted scalar that every reader gives back unchanged: quotes,
/// backslashes and line breaks escaped, and so is every character YAML forbids raw or
/// readers treat as a break (controls, the BOM, U+2028/2029, non-characters).
pub fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control()
                || matches!(
                    c,
                    '\u{feff}' | '\u{fffe}' | '\u{ffff}' | '\u{2028}' | '\u{2029}'
                ) =>
            {
                out.push_str(&format!("\\u{:04X}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse_str;
    use crate::yaml::tests::parse;

    #[test]
    fn scalars_resolve_like_kubernetes() {
        let n = parse(
            "a: 1\nb: '1'\nc: true\nd: yes\ne: ~\nf: 1.5\ng: 0x10\nh: 1.2.3\ni: \"on\"\nj: 1e3\n",
        );
        let j = n.root().to_json();
        assert_eq!(j["a"], 1);
        assert_eq!(j["b"], "1");
        assert_eq!(j["c"], true);
        assert_eq!(j["d"], true);
        assert!(j["e"].is_null());
        assert_eq!(j["f"], 1.5);
        assert_eq!(j["g"], 16);
        assert_eq!(j["h"], "1.2.3");
        assert_eq!(j["i"], "on");
        assert_eq!(j["j"], 1000.0);
    }

    #[test]
    fn double_quoted_scalars_read_back_unchanged() {
        for text in [
            "plain",
            "a \"q\" \\ b",
            "line\nbreak\ttab\r",
            "bom\u{feff}",
            "sep\u{2028}",
            "nul\u{0}del\u{7f}",
        ] {
            let doc = format!("k: {}\n", double_quoted(text));
            assert_eq!(
                parse_str(&doc).unwrap().unwrap().root().str_at(&["k"]),
                Some(text),
                "{doc}"
            );
        }
    }
}
