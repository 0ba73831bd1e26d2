//! Kubernetes resource quantities (`500m`, `2Gi`, `2048Mi`, `1.5`, `1e3`), held exactly as an
//! integer count of nano-units, the finest scale Kubernetes keeps (`resource.Quantity`
//! rounds anything smaller up to 1n).

use std::fmt;

use crate::yaml::{Node, Value};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quantity {
    /// The value times 10^9.
    pub nanos: i128,
}

const NANO: i128 = 1_000_000_000;

impl Quantity {
    pub const ZERO: Quantity = Quantity { nanos: 0 };

    pub fn from_units(units: i128) -> Quantity {
        Quantity {
            nanos: units * NANO,
        }
    }

    /// Parses the quantity grammar of `k8s.io/apimachinery/pkg/api/resource`:
    /// `<signed decimal><suffix>` where the suffix is a binary SI one (`Ki` … `Ei`), a
    /// decimal SI one (`n`, `u`, `m`, `k`, `M`, `G`, `T`, `P`, `E`) or a decimal exponent
    /// (`e3`, `E-2`).
    pub fn parse(text: &str) -> Option<Quantity> {
        let t = text.trim();
        let (negative, rest) = match t.as_bytes().first()? {
            b'-' => (true, &t[1..]),
            b'+' => (false, &t[1..]),
            _ => (false, t),
        };
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, suffix) = rest.split_at(number_len);
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if whole.is_empty() && fraction.is_empty() || fraction.contains('.') {
            return None;
        }
        let digits = format!("{whole}{fraction}");
        let mantissa: i128 = digits
            .trim_start_matches('0')
            .parse()
            .or_else(|e| {
                if digits.chars().all(|c| c == '0') {
                    Ok(0)
                } else {
                    Err(e)
                }
            })
            .ok()?;
        // value = mantissa × 10^(-fraction digits) × (10^decimal or 2^binary)
        let (decimal, binary): (i32, u32) = match suffix {
            "" => (0, 0),
            "n" => (-9, 0),
            "u" => (-6, 0),
            "m" => (-3, 0),
            "k" => (3, 0),
            "M" => (6, 0),
            "G" => (9, 0),
            "T" => (12, 0),
            "P" => (15, 0),
            "E" => (18, 0),
            "Ki" => (0, 10),
            "Mi" => (0, 20),
            "Gi" => (0, 30),
            "Ti" => (0, 40),
            "Pi" => (0, 50),
            "Ei" => (0, 60),
            s if s.starts_with(['e', 'E']) => (s[1..].parse().ok()?, 0),
            _ => return None,
        };
        let mut value = mantissa.checked_mul(1i128.checked_shl(binary)?)?;
        let exponent = 9 + decimal - i32::try_from(fraction.len()).ok()?;
        if exponent >= 0 {
            value = value.checked_mul(10i128.checked_pow(u32::try_from(exponent).ok()?)?)?;
        } else {
            let divisor = 10i128.checked_pow(u32::try_from(-exponent).ok()?);
            // Below a nano-unit Kubernetes rounds up (away from zero).
            value = match divisor {
                Some(d) => (value + d - 1) / d,
                None => i128::from(value > 0),
            };
        }
        Some(Quantity {
            nanos: if negative { -value } else { value },
        })
    }

    /// A quantity field as written in YAML: a string, or a bare number (`cpu: 2`).
    pub fn from_node(node: Node) -> Option<Quantity> {
        match node.value() {
            Value::Str(s) => Quantity::parse(s),
            Value::Int(i) => Some(Quantity::from_units(i128::from(i))),
            Value::Float(f) => Quantity::parse(&f.to_string()),
            _ => None,
        }
    }

    pub fn checked_mul(self, n: i128) -> Option<Quantity> {
        self.nanos.checked_mul(n).map(|nanos| Quantity { nanos })
    }

    pub fn saturating_sub(self, other: Quantity) -> Quantity {
        Quantity {
            nanos: self.nanos.saturating_sub(other.nanos),
        }
    }

    pub fn saturating_add(self, other: Quantity) -> Quantity {
        Quantity {
            nanos: self.nanos.saturating_add(other.nanos),
        }
    }

    /// How many whole `unit`s fit in this quantity.
    pub fn fits(self, unit: Quantity) -> i128 {
        if unit.nanos <= 0 {
            i128::MAX
        } else {
            self.nanos.max(0) / unit.nanos
        }
    }

    /// CPU as people write it: `1500m`, `2`.
    pub fn cpu(self) -> String {
        let milli = self.nanos / 1_000_000;
        let rounded_up = self.nanos % 1_000_000 != 0;
        let milli = milli + i128::from(rounded_up && self.nanos > 0);
        if milli % 1000 == 0 {
            format!("{}", milli / 1000)
        } else {
            format!("{milli}m")
        }
    }

    /// Memory in the largest binary unit that keeps it whole (`2Gi`, `1536Mi`), else bytes.
    pub fn bytes(self) -> String {
        let bytes = self.nanos / NANO + i128::from(self.nanos % NANO > 0);
        for (suffix, shift) in [
            ("Ei", 60),
            ("Pi", 50),
            ("Ti", 40),
            ("Gi", 30),
            ("Mi", 20),
            ("Ki", 10),
        ] {
            let unit = 1i128 << shift;
            if bytes != 0 && bytes % unit == 0 {
                return format!("{}{suffix}", bytes / unit);
            }
        }
        format!("{bytes}")
    }

    /// A plain count (`pods`, `count/deployments.apps`).
    pub fn count(self) -> String {
        let whole = self.nanos / NANO;
        if self.nanos % NANO == 0 {
            whole.to_string()
        } else {
            self.cpu()
        }
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.count())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(text: &str) -> i128 {
        Quantity::parse(text)
            .unwrap_or_else(|| panic!("{text} should parse"))
            .nanos
    }

    #[test]
    fn parses_every_suffix_form_exactly() {
        assert_eq!(q("500m"), 500_000_000);
        assert_eq!(q("1.5"), 1_500_000_000);
        assert_eq!(q("1"), NANO);
        assert_eq!(q("2Gi"), 2 * (1 << 30) * NANO);
        assert_eq!(q("2048Mi"), q("2Gi"));
        assert_eq!(q("1e3"), 1000 * NANO);
        assert_eq!(q("1E3"), 1000 * NANO);
        assert_eq!(q("1E"), 1_000_000_000_000_000_000 * NANO);
        assert_eq!(q("1k"), 1000 * NANO);
        assert_eq!(q("128974848"), 128_974_848 * NANO);
        assert_eq!(q("129M"), 129_000_000 * NANO);
        assert_eq!(q("123Mi"), 123 * (1 << 20) * NANO);
        assert_eq!(q("0.5Gi"), (1 << 29) * NANO);
        assert_eq!(q(".5"), 500_000_000);
        assert_eq!(q("100n"), 100);
        assert_eq!(q("-1"), -NANO);
        assert_eq!(q("0"), 0);
        assert_eq!(q("1.5e-3"), 1_500_000);
        // Below a nano: rounded up.
        assert_eq!(q("0.1n"), 1);
        for bad in ["", "m", "1.2.3", "1Qi", "abc", "1 Gi", "."] {
            assert_eq!(Quantity::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn formats_for_people() {
        assert_eq!(Quantity::parse("1500m").unwrap().cpu(), "1500m");
        assert_eq!(Quantity::parse("2").unwrap().cpu(), "2");
        assert_eq!(Quantity::parse("0.5").unwrap().cpu(), "500m");
        assert_eq!(Quantity::parse("2048Mi").unwrap().bytes(), "2Gi");
        assert_eq!(Quantity::parse("1536Mi").unwrap().bytes(), "1536Mi");
        assert_eq!(Quantity::parse("1000").unwrap().bytes(), "1000");
        assert_eq!(Quantity::parse("10").unwrap().count(), "10");
        let two = Quantity::parse("2Gi").unwrap();
        assert_eq!(two.fits(Quantity::parse("500Mi").unwrap()), 4);
        assert_eq!(
            two.saturating_sub(Quantity::parse("1Gi").unwrap()).bytes(),
            "1Gi"
        );
    }
}
