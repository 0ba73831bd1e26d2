//! Kubernetes label selectors: `matchLabels` and `matchExpressions`, and the set-based
//! operators as the API server evaluates them.

use std::borrow::Cow;

use crate::yaml::Node;

/// A label or annotation map, sorted by key. Objects carry a few labels, written once and then
/// looked up: every key and value sits in one string and where each ends in one slice, two
/// allocations however many labels there are (a `BTreeMap` allocates a node of over 500 bytes
/// for even one label, and a pair of `String`s two blocks per label). Compares and orders like
/// the `BTreeMap` it replaces.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Labels {
    /// Each pair's key and then its value, pairs in key order.
    text: Box<str>,
    /// Where each pair's key and value end in `text`.
    ends: Box<[(u32, u32)]>,
}

impl Labels {
    pub fn new() -> Labels {
        Labels::default()
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.position(key).ok().map(|i| self.pair(i).1)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_ok()
    }

    /// Sets `key` to `value`, replacing the value it had.
    pub fn insert(&mut self, key: &str, value: &str) {
        *self = self.iter().chain([(key, value)]).collect();
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        (0..self.ends.len()).map(|i| self.pair(i))
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    fn pair(&self, i: usize) -> (&str, &str) {
        let start = i.checked_sub(1).map_or(0, |p| self.ends[p].1 as usize);
        let (key_end, value_end) = (self.ends[i].0 as usize, self.ends[i].1 as usize);
        (&self.text[start..key_end], &self.text[key_end..value_end])
    }

    fn position(&self, key: &str) -> Result<usize, usize> {
        let (mut low, mut high) = (0, self.ends.len());
        while low < high {
            let mid = (low + high) / 2;
            match self.pair(mid).0.cmp(key) {
                std::cmp::Ordering::Less => low = mid + 1,
                std::cmp::Ordering::Greater => high = mid,
                std::cmp::Ordering::Equal => return Ok(mid),
            }
        }
        Err(low)
    }
}

/// The last value of a repeated key wins, as in a map built by inserting in order.
impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for Labels {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> Labels {
        let mut pairs: Vec<(K, V)> = pairs.into_iter().collect();
        // Stable: repeats of a key stay in input order, and the last of them is kept.
        pairs.sort_by(|a, b| a.0.as_ref().cmp(b.0.as_ref()));
        pairs.reverse();
        pairs.dedup_by(|later, kept| later.0.as_ref() == kept.0.as_ref());
        pairs.reverse();
        let size = pairs
            .iter()
            .map(|(k, v)| k.as_ref().len() + v.as_ref().len())
            .sum();
        let mut text = String::with_capacity(size);
        let mut ends = Vec::with_capacity(pairs.len());
        for (key, value) in &pairs {
            text.push_str(key.as_ref());
            let key_end = text.len() as u32;
            text.push_str(value.as_ref());
            ends.push((key_end, text.len() as u32));
        }
        Labels {
            text: text.into_boxed_str(),
            ends: ends.into_boxed_slice(),
        }
    }
}

impl<K: AsRef<str>, V: AsRef<str>, const N: usize> From<[(K, V); N]> for Labels {
    fn from(pairs: [(K, V); N]) -> Labels {
        pairs.into_iter().collect()
    }
}

impl PartialOrd for Labels {
    fn partial_cmp(&self, other: &Labels) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Pair by pair, as a sorted map compares.
impl Ord for Labels {
    fn cmp(&self, other: &Labels) -> std::cmp::Ordering {
        self.iter().cmp(other.iter())
    }
}

impl std::fmt::Debug for Labels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operator {
    In(Vec<String>),
    NotIn(Vec<String>),
    Exists,
    DoesNotExist,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requirement {
    pub key: String,
    pub op: Operator,
}

/// A `LabelSelector`. An empty selector matches everything (as in PDBs and webhooks); a
/// missing one is represented by `None` at the call site, whose meaning depends on the field.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selector {
    pub requirements: Vec<Requirement>,
}

impl Selector {
    /// Reads a `LabelSelector` node. Unknown operators make the selector match nothing,
    /// which is what the API server does with a selector it cannot parse (it rejects it).
    pub fn from_node(node: Node) -> Selector {
        let mut requirements = Vec::new();
        if let Some(entries) = node.get("matchLabels").and_then(Node::as_map) {
            for e in entries {
                requirements.push(Requirement {
                    key: e.key.to_string(),
                    op: Operator::In(vec![scalar_string(e.value)]),
                });
            }
        }
        if let Some(items) = node.get("matchExpressions").and_then(Node::as_seq) {
            for item in items {
                let key = item.str_at(&["key"]).unwrap_or_default().to_string();
                let values: Vec<String> = item
                    .get("values")
                    .and_then(Node::as_seq)
                    .map(|vs| vs.iter().map(scalar_string).collect())
                    .unwrap_or_default();
                let op = match item.str_at(&["operator"]).unwrap_or_default() {
                    "In" => Operator::In(values),
                    "NotIn" => Operator::NotIn(values),
                    "Exists" => Operator::Exists,
                    "DoesNotExist" => Operator::DoesNotExist,
                    _ => Operator::In(Vec::new()),
                };
                requirements.push(Requirement { key, op });
            }
        }
        // Selectors are kept for the whole run (one per PDB, Service, webhook).
        requirements.shrink_to_fit();
        Selector { requirements }
    }

    /// A plain `key: value` map selector (Service `spec.selector`).
    pub fn from_map(node: Node) -> Selector {
        Selector {
            requirements: node
                .as_map()
                .unwrap_or_default()
                .iter()
                .map(|e| Requirement {
                    key: e.key.to_string(),
                    op: Operator::In(vec![scalar_string(e.value)]),
                })
                .collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    pub fn matches(&self, labels: &Labels) -> bool {
        self.requirements.iter().all(|r| {
            let value = labels.get(&r.key);
            match &r.op {
                Operator::In(values) => value.is_some_and(|v| values.iter().any(|x| x == v)),
                Operator::NotIn(values) => value.is_none_or(|v| !values.iter().any(|x| x == v)),
                Operator::Exists => value.is_some(),
                Operator::DoesNotExist => value.is_none(),
            }
        })
    }

    /// An equality requirement usable to look candidates up in a label index.
    pub fn first_equality(&self) -> Option<(&str, &str)> {
        self.requirements.iter().find_map(|r| match &r.op {
            Operator::In(values) if values.len() == 1 => Some((r.key.as_str(), values[0].as_str())),
            _ => None,
        })
    }
}

/// kubectl's selector syntax (`istio.io/rev in (canary),!istio-injection`); `everything`
/// for the empty selector.
impl std::fmt::Display for Selector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.requirements.is_empty() {
            return f.write_str("everything");
        }
        let parts: Vec<String> = self
            .requirements
            .iter()
            .map(|r| match &r.op {
                Operator::In(values) if values.len() == 1 => format!("{}={}", r.key, values[0]),
                Operator::In(values) => format!("{} in ({})", r.key, values.join(",")),
                Operator::NotIn(values) if values.len() == 1 => {
                    format!("{}!={}", r.key, values[0])
                }
                Operator::NotIn(values) => format!("{} notin ({})", r.key, values.join(",")),
                Operator::Exists => r.key.to_string(),
                Operator::DoesNotExist => format!("!{}", r.key),
            })
            .collect();
        f.write_str(&parts.join(","))
    }
}

/// Label values are strings; YAML may have typed them (`version: 1`), and Kubernetes would
/// reject that, but for matching we compare the text.
pub fn scalar_string(node: Node) -> String {
    scalar_text(node).into_owned()
}

/// [`scalar_string`], borrowed from the tree where the value is a string (nearly always).
fn scalar_text(node: Node<'_>) -> Cow<'_, str> {
    if let Some(s) = node.as_str() {
        return Cow::Borrowed(s);
    }
    match node.to_json() {
        serde_json::Value::String(s) => Cow::Owned(s),
        serde_json::Value::Null => Cow::Borrowed(""),
        other => Cow::Owned(other.to_string()),
    }
}

/// Reads a `map[string]string` such as labels or annotations.
pub fn labels_of(node: Option<Node>) -> Labels {
    node.and_then(Node::as_map)
        .unwrap_or_default()
        .iter()
        .map(|e| (e.key, scalar_text(e.value)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse_str;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn match_labels_and_expressions() {
        let node = parse_str("matchLabels: {app: cart}\nmatchExpressions:\n- {key: tier, operator: In, values: [web, api]}\n- {key: canary, operator: DoesNotExist}\n- {key: env, operator: NotIn, values: [dev]}\n").unwrap().unwrap();
        let s = Selector::from_node(node.root());
        assert!(s.matches(&labels(&[("app", "cart"), ("tier", "web")])));
        assert!(s.matches(&labels(&[
            ("app", "cart"),
            ("tier", "api"),
            ("env", "prod")
        ])));
        assert!(!s.matches(&labels(&[("app", "cart"), ("tier", "db")])));
        assert!(!s.matches(&labels(&[("app", "cart"), ("tier", "web"), ("canary", "")])));
        assert!(!s.matches(&labels(&[("app", "cart"), ("tier", "web"), ("env", "dev")])));
        assert!(!s.matches(&labels(&[("tier", "web")])));
    }

    #[test]
    fn displays_as_kubectl_selector() {
        let node = parse_str("matchLabels: {app: cart}\nmatchExpressions:\n- {key: tier, operator: In, values: [web, api]}\n- {key: canary, operator: DoesNotExist}\n- {key: env, operator: NotIn, values: [dev]}\n- {key: team, operator: Exists}\n").unwrap().unwrap();
        assert_eq!(
            Selector::from_node(node.root()).to_string(),
            "app=cart,tier in (web,api),!canary,env!=dev,team"
        );
        assert_eq!(Selector::default().to_string(), "everything");
    }

    #[test]
    fn labels_behave_like_the_map_they_replace() {
        let pairs = [("b", "1"), ("a", "2"), ("b", "3"), ("c", "4")];
        let l = labels(&pairs);
        let map: std::collections::BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert!(l
            .iter()
            .eq(map.iter().map(|(k, v)| (k.as_str(), v.as_str()))));
        assert_eq!(l.get("b"), Some("3"));
        assert_eq!(l.get("bb"), None);
        assert_eq!(Labels::new().get("a"), None);
        assert!(l.contains_key("c") && !l.contains_key("d"));
        assert_eq!(format!("{l:?}"), format!("{map:?}"));

        let mut grown = labels(&[("a", "2"), ("c", "4")]);
        grown.insert("b", "3");
        grown.insert("c", "5");
        assert_eq!(grown, labels(&[("a", "2"), ("b", "3"), ("c", "5")]));
        // Ordered as the maps were, pair by pair.
        assert!(labels(&[("a", "1")]) < labels(&[("a", "1"), ("b", "0")]));
        assert!(labels(&[("a", "2")]) > labels(&[("a", "1"), ("b", "0")]));
        // Keys and values share one string: where one ends and the next starts matters.
        let (split_early, split_late) = (labels(&[("a", "bc")]), labels(&[("ab", "c")]));
        assert_ne!(split_early, split_late);
        assert!(split_early < split_late);
        assert_eq!(split_late.get("ab"), Some("c"));
        assert_eq!(split_late.get("a"), None);
        let empty_values = labels(&[("x", ""), ("", "y"), ("z", "")]);
        assert!(empty_values
            .iter()
            .eq([("", "y"), ("x", ""), ("z", "")].into_iter()));
        assert_eq!(empty_values.get(""), Some("y"));
    }

    #[test]
    fn empty_selector_matches_everything_and_bad_operator_nothing() {
        assert!(Selector::default().matches(&Labels::new()));
        let node = parse_str("matchExpressions:\n- {key: a, operator: Bogus}\n")
            .unwrap()
            .unwrap();
        assert!(!Selector::from_node(node.root()).matches(&labels(&[("a", "x")])));
    }
}
