//! Typed views straight from the positioned tree: a [`Node`] is a serde `Deserializer`, so
//! reading a Deployment into k8s-openapi's structs needs no intermediate `serde_json::Value`
//! (which cost a copy of every string of every object, and most of the time of building the
//! inventory).
//!
//! It behaves exactly as deserializing [`Node::to_json`] through `serde_json` did — the same
//! visitor calls for every node, the same error messages — so shape errors read the same as
//! before; the tests below hold the two side by side.

use std::fmt;

use serde::de::{
    self, DeserializeSeed, EnumAccess, IntoDeserializer, MapAccess, SeqAccess, Unexpected,
    VariantAccess, Visitor,
};

use super::{MapIter, Node, SeqIter, Value};

/// A deserialization error: only a message; `serde_path_to_error` adds the path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Error {
        Error(msg.to_string())
    }
}

/// JSON has no NaN or infinity: `to_json` turned them into null, and so does this.
fn is_null(node: Node<'_>) -> bool {
    match node.value() {
        Value::Null => true,
        Value::Float(f) => !f.is_finite(),
        _ => false,
    }
}

fn unexpected(node: Node<'_>) -> Unexpected<'_> {
    match node.value() {
        _ if is_null(node) => Unexpected::Unit,
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(b),
        Value::Int(i) if i < 0 => Unexpected::Signed(i),
        Value::Int(i) => Unexpected::Unsigned(i as u64),
        Value::Float(f) => Unexpected::Float(f),
        Value::Str(s) => Unexpected::Str(s),
        Value::Seq(_) => Unexpected::Seq,
        Value::Map(_) => Unexpected::Map,
    }
}

impl<'de> de::Deserializer<'de> for Node<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value() {
            _ if is_null(self) => visitor.visit_unit(),
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(b),
            // serde_json keeps non-negative integers as u64.
            Value::Int(i) if i < 0 => visitor.visit_i64(i),
            Value::Int(i) => visitor.visit_u64(i as u64),
            Value::Float(f) => visitor.visit_f64(f),
            Value::Str(s) => visitor.visit_borrowed_str(s),
            Value::Seq(items) => {
                let mut seq = Seq {
                    items: items.iter(),
                };
                let value = visitor.visit_seq(&mut seq)?;
                match seq.items.len() {
                    0 => Ok(value),
                    _ => Err(de::Error::invalid_length(
                        items.len(),
                        &"fewer elements in array",
                    )),
                }
            }
            Value::Map(entries) => {
                let mut map = Map {
                    entries: entries.iter(),
                    value: None,
                };
                let value = visitor.visit_map(&mut map)?;
                match map.entries.len() {
                    0 => Ok(value),
                    _ => Err(de::Error::invalid_length(
                        entries.len(),
                        &"fewer elements in map",
                    )),
                }
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if is_null(self) {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.value() {
            Value::Str(s) => visitor.visit_enum(Enum {
                variant: s,
                value: None,
            }),
            Value::Map(entries) => match entries.first() {
                Some(only) if entries.len() == 1 => visitor.visit_enum(Enum {
                    variant: only.key,
                    value: Some(only.value),
                }),
                _ => Err(de::Error::invalid_value(
                    Unexpected::Map,
                    &"map with a single key",
                )),
            },
            _ => Err(de::Error::invalid_type(unexpected(self), &"string or map")),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier
    }
}

struct Seq<'de> {
    items: SeqIter<'de>,
}

impl<'de> SeqAccess<'de> for Seq<'de> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        self.items
            .next()
            .map(|item| seed.deserialize(item))
            .transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct Map<'de> {
    entries: MapIter<'de>,
    value: Option<Node<'de>>,
}

impl<'de> MapAccess<'de> for Map<'de> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        match self.entries.next() {
            Some(entry) => {
                self.value = Some(entry.value);
                let key: de::value::BorrowedStrDeserializer<'de, Error> =
                    de::value::BorrowedStrDeserializer::new(entry.key);
                seed.deserialize(key).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        match self.value.take() {
            Some(value) => seed.deserialize(value),
            None => Err(de::Error::custom("value is missing")),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// An externally tagged enum: a string (unit variant) or a one-key map.
struct Enum<'de> {
    variant: &'de str,
    value: Option<Node<'de>>,
}

impl<'de> EnumAccess<'de> for Enum<'de> {
    type Error = Error;
    type Variant = Variant<'de>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Variant<'de>), Error> {
        let variant = seed.deserialize(self.variant.into_deserializer())?;
        Ok((variant, Variant { value: self.value }))
    }
}

struct Variant<'de> {
    value: Option<Node<'de>>,
}

impl<'de> VariantAccess<'de> for Variant<'de> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        match self.value {
            Some(value) => serde::Deserialize::deserialize(value),
            None => Ok(()),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        match self.value {
            Some(value) => seed.deserialize(value),
            None => Err(de::Error::invalid_type(
                Unexpected::UnitVariant,
                &"newtype variant",
            )),
        }
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Some(value) if value.is_seq() => de::Deserializer::deserialize_any(value, visitor),
            Some(other) => Err(de::Error::invalid_type(unexpected(other), &"tuple variant")),
            None => Err(de::Error::invalid_type(
                Unexpected::UnitVariant,
                &"tuple variant",
            )),
        }
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.value {
            Some(value) if value.is_map() => de::Deserializer::deserialize_any(value, visitor),
            Some(other) => Err(de::Error::invalid_type(
                unexpected(other),
                &"struct variant",
            )),
            None => Err(de::Error::invalid_type(
                Unexpected::UnitVariant,
                &"struct variant",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::core::v1::{ConfigMap, Pod, Service};
    use k8s_openapi::api::policy::v1::PodDisruptionBudget;
    use serde::de::DeserializeOwned;

    use crate::yaml::parse_str;

    /// The typed view and the error (message and path) must be what the JSON detour gave.
    fn same<T: DeserializeOwned + PartialEq + std::fmt::Debug>(text: &str) {
        let node = parse_str(text).expect("valid yaml").expect("a document");
        let direct = serde_path_to_error::deserialize::<_, T>(node.root())
            .map_err(|e| (e.path().to_string(), e.into_inner().to_string()));
        let via_json = serde_path_to_error::deserialize::<_, T>(node.root().to_json())
            .map_err(|e| (e.path().to_string(), e.into_inner().to_string()));
        assert_eq!(direct, via_json, "{text}");
    }

    #[test]
    fn typed_views_match_the_json_detour() {
        let deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: a\n  labels: {app: a, version: 1}\n  annotations: {x: 'y'}\nspec:\n  replicas: 3\n  selector: {matchLabels: {app: a}}\n  strategy: {rollingUpdate: {maxUnavailable: 25%, maxSurge: 1}}\n  template:\n    metadata: {labels: {app: a}}\n    spec:\n      terminationGracePeriodSeconds: 60\n      hostNetwork: false\n      containers:\n      - name: app\n        image: x:1\n        resources: {requests: {cpu: 100m, memory: 1Gi}, limits: {cpu: 2}}\n        ports: [{containerPort: 80}]\n        readinessProbe: {httpGet: {port: http, path: /}, periodSeconds: 5}\n";
        same::<Deployment>(deployment);
        for (from, to) in [
            ("replicas: 3", "replicas: three"),
            ("replicas: 3", "replicas: -3"),
            ("replicas: 3", "replicas: 3000000000"),
            ("replicas: 3", "replicas: 1.5"),
            ("replicas: 3", "replicas: .nan"),
            ("replicas: 3", "replicas: [3]"),
            ("replicas: 3", "replicas: ~"),
            (
                "terminationGracePeriodSeconds: 60",
                "terminationGracePeriodSeconds: '60'",
            ),
            ("hostNetwork: false", "hostNetwork: 'no'"),
            ("containers:", "containers: {}\n      x:"),
            ("- name: app", "- name: [app]"),
            ("name: a\n", "name: 7\n"),
            ("labels: {app: a, version: 1}", "labels: [app]"),
            ("maxUnavailable: 25%", "maxUnavailable: {a: 1}"),
            ("maxUnavailable: 25%", "maxUnavailable: true"),
            ("cpu: 100m", "cpu: [1]"),
            ("port: http", "port: -1"),
            ("spec:\n  replicas", "spec: 3\nx:\n  replicas"),
        ] {
            assert!(deployment.contains(from), "{from}");
            same::<Deployment>(&deployment.replacen(from, to, 1));
        }
        same::<Pod>("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, restartPolicy: Always, env: [{name: X, value: '1'}]}]\n");
        same::<Pod>("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {}\n");
        same::<Service>("apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {selector: {app: a}, ports: [{port: 80, targetPort: 8080}]}\n");
        same::<Service>(
            "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: '80'}]}\n",
        );
        same::<ConfigMap>("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {mesh: 'a: 1', n: 3}\nbinaryData: {b: aGk=}\n");
        same::<ConfigMap>("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, creationTimestamp: '2024-01-01T00:00:00Z'}\ndata: [1]\n");
        same::<ConfigMap>(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, creationTimestamp: yesterday}\n",
        );
        same::<PodDisruptionBudget>("apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: p}\nspec: {minAvailable: 50%, selector: {matchExpressions: [{key: a, operator: In, values: [x]}]}}\n");
        same::<MutatingWebhookConfiguration>("apiVersion: admissionregistration.k8s.io/v1\nkind: MutatingWebhookConfiguration\nmetadata: {name: w}\nwebhooks:\n- name: a.b.c\n  admissionReviewVersions: [v1]\n  sideEffects: None\n  clientConfig: {service: {name: istiod, namespace: istio-system, port: 443}, caBundle: ''}\n");
        same::<MutatingWebhookConfiguration>("apiVersion: admissionregistration.k8s.io/v1\nkind: MutatingWebhookConfiguration\nmetadata: {name: w}\nwebhooks:\n- name: a.b.c\n  clientConfig: {caBundle: 'not base64!'}\n");
    }
}
