//! `IntOrString` fields that hold a count or a percentage (`maxUnavailable: 1`, `"25%"`),
//! scaled against a total exactly as Kubernetes does it
//! (`k8s.io/apimachinery/pkg/util/intstr` `GetScaledValueFromIntOrPercent`).

use std::fmt;

use crate::yaml::{Node, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntOrPercent {
    Int(i64),
    Percent(i64),
}

/// Which way a percentage of a total is rounded. Each consumer picks one: PDBs round both
/// fields up, a Deployment rounds `maxSurge` up and `maxUnavailable` down, a DaemonSet rounds
/// both up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rounding {
    Up,
    Down,
}

impl IntOrPercent {
    /// Reads the field as the API server accepts it: a non-negative integer, or a string
    /// `N%` with `0 <= N <= 100`. A bare numeric string (`"1"`) is rejected by validation
    /// ("string is not a percentage"), so it yields `None`, as does any other shape.
    pub fn from_node(node: Node) -> Option<IntOrPercent> {
        match node.value() {
            Value::Int(i) if i >= 0 => Some(IntOrPercent::Int(i)),
            Value::Str(s) => {
                let digits = s.strip_suffix('%')?;
                // Go's strconv.Atoi: optional sign, ASCII digits.
                let p: i64 = digits.parse().ok()?;
                (0..=100).contains(&p).then_some(IntOrPercent::Percent(p))
            }
            _ => None,
        }
    }

    /// The absolute value against `total`.
    pub fn scaled(self, total: i64, rounding: Rounding) -> i64 {
        match self {
            IntOrPercent::Int(i) => i,
            IntOrPercent::Percent(p) => {
                // Integer arithmetic gives the same result as Go's float64 Ceil/Floor for
                // the ranges that pass validation, without float surprises.
                let n = p * total;
                match rounding {
                    Rounding::Up => (n + 99).div_euclid(100),
                    Rounding::Down => n.div_euclid(100),
                }
            }
        }
    }

    pub fn is_zero(self) -> bool {
        matches!(self, IntOrPercent::Int(0) | IntOrPercent::Percent(0))
    }
}

impl fmt::Display for IntOrPercent {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            IntOrPercent::Int(i) => write!(f, "{i}"),
            IntOrPercent::Percent(p) => write!(f, "{p}%"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse_str;

    fn parse(text: &str) -> Option<IntOrPercent> {
        IntOrPercent::from_node(parse_str(text).unwrap().unwrap().root())
    }

    #[test]
    fn reads_what_validation_accepts() {
        assert_eq!(parse("1"), Some(IntOrPercent::Int(1)));
        assert_eq!(parse("0"), Some(IntOrPercent::Int(0)));
        assert_eq!(parse("'25%'"), Some(IntOrPercent::Percent(25)));
        assert_eq!(parse("100%"), Some(IntOrPercent::Percent(100)));
        assert_eq!(parse("'1'"), None);
        assert_eq!(parse("-1"), None);
        assert_eq!(parse("101%"), None);
        assert_eq!(parse("abc%"), None);
        assert_eq!(parse("1.5"), None);
        assert_eq!(parse("{a: 1}"), None);
    }

    #[test]
    fn percentages_round_the_way_kubernetes_does() {
        let p = IntOrPercent::Percent(25);
        assert_eq!(p.scaled(1, Rounding::Up), 1);
        assert_eq!(p.scaled(1, Rounding::Down), 0);
        assert_eq!(p.scaled(4, Rounding::Up), 1);
        assert_eq!(p.scaled(4, Rounding::Down), 1);
        assert_eq!(p.scaled(5, Rounding::Up), 2);
        assert_eq!(p.scaled(5, Rounding::Down), 1);
        assert_eq!(p.scaled(0, Rounding::Up), 0);
        assert_eq!(IntOrPercent::Percent(100).scaled(3, Rounding::Up), 3);
        assert_eq!(IntOrPercent::Percent(50).scaled(3, Rounding::Up), 2);
        assert_eq!(IntOrPercent::Percent(50).scaled(3, Rounding::Down), 1);
        assert_eq!(IntOrPercent::Percent(1).scaled(99, Rounding::Down), 0);
        assert_eq!(IntOrPercent::Int(7).scaled(3, Rounding::Down), 7);
        assert!(IntOrPercent::Percent(0).is_zero());
        assert_eq!(p.to_string(), "25%");
    }
}
