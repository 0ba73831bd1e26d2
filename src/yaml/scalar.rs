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

/// Resolves a scalar the way `kubectl` reads a manifest: sigs.k8s.io/yaml hands the text to
/// go-yaml v2, whose `resolve` (sigs.k8s.io/yaml `goyaml.v2/resolve.go`) applies YAML 1.1:
/// quoted and block scalars are strings; a plain one is null, a boolean (`y`, `yes`, `on`
/// and their capitalised forms too), an integer (`020` octal, `0x1F` hex, `0b101`, `0o17`,
/// `_` anywhere ignored), a float, or else a string. Under `!!str`/`!!binary` or a tag of
/// its own a value stays the text as written, as go-yaml leaves it.
///
/// Kustomize reads with go-yaml v3 instead, where only `true`/`false` are booleans; it
/// quotes `yes`, `on`, `y` when it writes, so what kubectl then reads agrees with this.
/// Known difference: a plain timestamp (`2024-01-02`) stays the text as written, where
/// kubectl sends it on as `2024-01-02T00:00:00Z`.
pub(super) fn resolve_scalar(text: &str, style: ScalarStyle, tag: Option<&str>) -> Scalar {
    match tag {
        None | Some("bool" | "int" | "float" | "timestamp") => {}
        Some("null") => return Scalar::Null,
        Some(_) => return Scalar::Str,
    }
    if style != ScalarStyle::Plain {
        return Scalar::Str;
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => Scalar::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            Scalar::Bool(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            Scalar::Bool(false)
        }
        ".nan" | ".NaN" | ".NAN" => Scalar::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => Scalar::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => Scalar::Float(f64::NEG_INFINITY),
        // go-yaml looks further only at text that starts like a number.
        _ => match text.as_bytes()[0] {
            b'.' => float(text).map_or(Scalar::Str, Scalar::Float),
            b'0'..=b'9' | b'+' | b'-' => number(&text.replace('_', "")),
            _ => Scalar::Str,
        },
    }
}

/// A plain scalar that starts with a digit or sign, its underscores dropped: an integer in
/// Go's notation (`ParseInt(s, 0, 64)`: sign, then `0x`, `0o`, `0b` or a bare leading `0`
/// for octal), else a YAML float. Integers beyond 64 bits, which go-yaml keeps exact, are
/// held as the nearest float.
fn number(plain: &str) -> Scalar {
    let (negative, unsigned) = match plain.as_bytes().first() {
        Some(b'-') => (true, &plain[1..]),
        Some(b'+') => (false, &plain[1..]),
        _ => (false, plain),
    };
    let lower = unsigned.get(..2).map(str::to_ascii_lowercase);
    let (radix, digits) = match lower.as_deref() {
        Some("0x") => (16, &unsigned[2..]),
        Some("0o") => (8, &unsigned[2..]),
        Some("0b") => (2, &unsigned[2..]),
        _ if unsigned.len() > 1 && unsigned.starts_with('0') => (8, &unsigned[1..]),
        _ => (10, unsigned),
    };
    let is_integer = !digits.is_empty() && digits.chars().all(|c| c.is_digit(radix));
    if is_integer {
        let magnitude = u128::from_str_radix(digits, radix).ok();
        let signed =
            magnitude
                .and_then(|m| i128::try_from(m).ok())
                .map(|m| if negative { -m } else { m });
        if let Some(i) = signed.and_then(|i| i64::try_from(i).ok()) {
            return Scalar::Int(i);
        }
        if radix != 10 {
            let value = digits.chars().fold(0f64, |v, c| {
                v * f64::from(radix) + f64::from(c.to_digit(radix).unwrap_or(0))
            });
            return Scalar::Float(if negative { -value } else { value });
        }
    }
    float(plain).map_or(Scalar::Str, Scalar::Float)
}

/// go-yaml's float syntax, `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`, for a
/// finite value (Go's `ParseFloat` refuses one out of range, and the text stays a string).
fn float(t: &str) -> Option<f64> {
    let body = t.strip_prefix(['-', '+']).unwrap_or(t);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(at) => (&body[..at], Some(&body[at + 1..])),
        None => (body, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", fraction)) => digits(fraction),
        Some((whole, fraction)) => digits(whole) && (fraction.is_empty() || digits(fraction)),
        None => digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| digits(e.strip_prefix(['-', '+']).unwrap_or(e)));
    if !(mantissa_ok && exponent_ok) {
        return None;
    }
    t.parse::<f64>().ok().filter(|f| f.is_finite())
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

    /// The JSON value `text`, written as the value of a key, reads as.
    fn value(text: &str) -> serde_json::Value {
        parse(&format!("k: {text}\n"))
            .root()
            .get("k")
            .unwrap()
            .to_json()
    }

    #[track_caller]
    fn reads(cases: &[(&str, serde_json::Value)]) {
        for (text, expected) in cases {
            assert_eq!(&value(text), expected, "{text}");
        }
    }

    #[test]
    fn yaml_1_1_booleans_as_go_yaml_v2_reads_them() {
        // `y`/`n` are booleans in go-yaml v2 (not in go-yaml v3 or PyYAML).
        for t in [
            "y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "true", "True", "TRUE",
        ] {
            assert_eq!(value(t), true, "{t}");
        }
        for t in [
            "n", "N", "no", "No", "NO", "off", "Off", "OFF", "false", "False", "FALSE",
        ] {
            assert_eq!(value(t), false, "{t}");
        }
        // Other spellings, and every quoted or block form, are strings.
        for t in [
            "yEs",
            "oN",
            "nO",
            "tRUE",
            "'yes'",
            "\"on\"",
            "|\n  y",
            "!!str yes",
        ] {
            assert!(value(t).is_string(), "{t}");
        }
    }

    #[test]
    fn integers_in_go_notation_with_underscores() {
        reads(&[
            ("020", 16.into()),
            ("-020", (-16).into()),
            ("00", 0.into()),
            ("0", 0.into()),
            ("-0", 0.into()),
            ("+12", 12.into()),
            ("0x1F", 31.into()),
            ("0X1f", 31.into()),
            ("-0x10", (-16).into()),
            ("0o17", 15.into()),
            ("0b101", 5.into()),
            ("-0b101", (-5).into()),
            ("1_000", 1000.into()),
            ("0x_1F", 31.into()),
            ("1__0_", 10.into()),
            ("9223372036854775807", i64::MAX.into()),
            ("-9223372036854775808", i64::MIN.into()),
        ]);
    }

    #[test]
    fn floats_and_what_is_neither() {
        reads(&[
            // Not octal (an 8 or 9), so go-yaml's float syntax takes it.
            ("08", 8.0.into()),
            ("019", 19.0.into()),
            ("1.5", 1.5.into()),
            ("1.", 1.0.into()),
            (".5", 0.5.into()),
            ("+.5", 0.5.into()),
            ("-1.5e3", (-1500.0).into()),
            ("1e3", 1000.0.into()),
            ("1_000.5", 1000.5.into()),
            ("9223372036854775808", 9223372036854775808.0.into()),
            ("0x10000000000000000", 18446744073709551616.0.into()),
            // Strings: not a number in either notation, or out of range.
            ("1.2.3", "1.2.3".into()),
            ("0x", "0x".into()),
            ("0b2", "0b2".into()),
            ("_1", "_1".into()),
            ("._5", "._5".into()),
            ("1e400", "1e400".into()),
            ("12:30", "12:30".into()),
            ("1_000m", "1_000m".into()),
            ("2024-01-02", "2024-01-02".into()),
            ("+", "+".into()),
            ("-x", "-x".into()),
            ("0x1Fg", "0x1Fg".into()),
            ("'020'", "020".into()),
            ("!custom 12", "12".into()),
        ]);
        assert!(
            value(".inf").as_f64().is_none(),
            "infinity has no JSON form"
        );
        let tree = parse("a: .inf\nb: -.Inf\nc: +.INF\nd: .NaN\n");
        let float = |k| match tree.root().get(k).unwrap().value() {
            crate::yaml::Value::Float(f) => f,
            other => panic!("{k}: {other:?}"),
        };
        assert_eq!(float("a"), f64::INFINITY);
        assert_eq!(float("b"), f64::NEG_INFINITY);
        assert_eq!(float("c"), f64::INFINITY);
        assert!(float("d").is_nan());
    }

    #[test]
    fn nulls_and_keys_as_kubectl_reads_them() {
        for t in ["", "~", "null", "Null", "NULL"] {
            assert!(value(t).is_null(), "{t:?}");
        }
        assert!(value("nULL").is_string());
        // sigs.k8s.io/yaml turns integer and boolean keys into their decimal or
        // `true`/`false` text.
        let n = parse("020: a\nyes: b\n0x1F: c\nn: d\n");
        let keys: Vec<&str> = n.root().as_map().unwrap().iter().map(|e| e.key).collect();
        assert_eq!(keys, ["16", "true", "31", "false"]);
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
