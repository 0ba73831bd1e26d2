//! Kubernetes label selectors: `matchLabels` and `matchExpressions`, and the set-based
//! operators as the API server evaluates them.

use std::borrow::Borrow;

use crate::yaml::Node;

/// A label or annotation map, sorted by key. Objects carry a few labels, written once and then
/// looked up: a sorted boxed slice holds them in one allocation, where a `BTreeMap` allocates
/// a node of over 500 bytes for even one label (on a 10,000-object estate the two maps of
/// every workload took 2.9 MB that way). Compares and orders like the `BTreeMap` it replaces.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Labels(Box<[(String, String)]>);

impl Labels {
    pub fn new() -> Labels {
        Labels::default()
    }

    pub fn get<Q: Ord + ?Sized>(&self, key: &Q) -> Option<&String>
    where
        String: Borrow<Q>,
    {
        self.position(key).ok().map(|i| &self.0[i].1)
    }

    pub fn contains_key<Q: Ord + ?Sized>(&self, key: &Q) -> bool
    where
        String: Borrow<Q>,
    {
        self.position(key).is_ok()
    }

    /// Sets `key` to `value`, replacing the value it had.
    pub fn insert(&mut self, key: String, value: String) {
        match self.position(key.as_str()) {
            Ok(i) => self.0[i].1 = value,
            Err(i) => {
                let mut pairs = std::mem::take(&mut self.0).into_vec();
                pairs.insert(i, (key, value));
                self.0 = pairs.into_boxed_slice();
            }
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> + '_ {
        self.0.iter().map(|(k, v)| (k, v))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn position<Q: Ord + ?Sized>(&self, key: &Q) -> Result<usize, usize>
    where
        String: Borrow<Q>,
    {
        self.0.binary_search_by(|(k, _)| k.borrow().cmp(key))
    }
}

/// The last value of a repeated key wins, as in a map built by inserting in order.
impl FromIterator<(String, String)> for Labels {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Labels {
        let mut pairs: Vec<(String, String)> = pairs.into_iter().collect();
        // Stable: repeats of a key stay in input order, and the last of them is kept.
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        pairs.reverse();
        pairs.dedup_by(|later, kept| later.0 == kept.0);
        pairs.reverse();
        Labels(pairs.into_boxed_slice())
    }
}

impl<const N: usize> From<[(String, String); N]> for Labels {
    fn from(pairs: [(String, String); N]) -> Labels {
        pairs.into_iter().collect()
    }
}

impl IntoIterator for Labels {
    type Item = (String, String);
    type IntoIter = std::vec::IntoIter<(String, String)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_vec().into_iter()
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
                Operator::In(values) => value.is_some_and(|v| values.contains(v)),
                Operator::NotIn(values) => value.is_none_or(|v| !values.contains(v)),
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
    match node.to_json() {
        serde_json::Value::String(s) => s,
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Reads a `map[string]string` such as labels or annotations.
pub fn labels_of(node: Option<Node>) -> Labels {
    node.and_then(Node::as_map)
        .unwrap_or_default()
        .iter()
        .map(|e| (e.key.to_string(), scalar_string(e.value)))
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
        assert!(l.iter().eq(map.iter()));
        assert_eq!(l.get("b").map(String::as_str), Some("3"));
        assert!(l.contains_key("c") && !l.contains_key("d"));
        assert_eq!(format!("{l:?}"), format!("{map:?}"));

        let mut grown = labels(&[("a", "2"), ("c", "4")]);
        grown.insert("b".to_string(), "3".to_string());
        grown.insert("c".to_string(), "5".to_string());
        assert_eq!(grown, labels(&[("a", "2"), ("b", "3"), ("c", "5")]));
        // Ordered as the maps were, pair by pair.
        assert!(labels(&[("a", "1")]) < labels(&[("a", "1"), ("b", "0")]));
        assert!(labels(&[("a", "2")]) > labels(&[("a", "1"), ("b", "0")]));
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
