//! Validating Istio resources against a release's CRD OpenAPI v3 schema the way the API
//! server does with `kubectl apply --validate=strict`: unknown fields are errors, except
//! under `x-kubernetes-preserve-unknown-fields`; `x-kubernetes-int-or-string` accepts both;
//! `nullable` accepts null. CEL rules (`x-kubernetes-validations`) are not evaluated.

use serde_json::{Map, Value};

use super::path::{FieldPath, Segment};

/// One violation, at a field of the object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    pub field: FieldPath,
    pub message: String,
}

/// The structural-schema semantics of Kubernetes, spelled out in plain JSON Schema.
pub fn strict(schema: &Value) -> Value {
    transform(schema, false)
}

fn transform(schema: &Value, in_combinator: bool) -> Value {
    let Value::Object(map) = schema else {
        return schema.clone();
    };
    let mut out = Map::new();
    for (k, v) in map {
        let v = match k.as_str() {
            "properties" | "patternProperties" | "definitions" => match v {
                Value::Object(props) => Value::Object(
                    props
                        .iter()
                        .map(|(name, s)| (name.clone(), transform(s, false)))
                        .collect(),
                ),
                other => other.clone(),
            },
            "items" | "additionalProperties" => transform(v, false),
            "oneOf" | "anyOf" | "allOf" => match v {
                Value::Array(items) => {
                    Value::Array(items.iter().map(|s| transform(s, true)).collect())
                }
                other => other.clone(),
            },
            "not" => transform(v, true),
            // OpenAPI formats are not enforced by the API server beyond what the schema says.
            "format" => continue,
            _ => v.clone(),
        };
        out.insert(k.clone(), v);
    }
    let flag = |name: &str| map.get(name).and_then(Value::as_bool) == Some(true);
    if flag("x-kubernetes-int-or-string") {
        out.remove("type");
        out.insert(
            "anyOf".into(),
            serde_json::json!([{"type": "integer"}, {"type": "string"}]),
        );
    }
    if flag("nullable") {
        if let Some(Value::String(t)) = out.get("type").cloned() {
            out.insert("type".into(), serde_json::json!([t, "null"]));
        }
    }
    // Structural schemas prune (and strict validation rejects) fields not listed. Branches
    // of oneOf/anyOf only add value checks to the fields listed by their parent.
    if !in_combinator
        && map.contains_key("properties")
        && !map.contains_key("additionalProperties")
        && !flag("x-kubernetes-preserve-unknown-fields")
    {
        out.insert("additionalProperties".into(), Value::Bool(false));
    }
    Value::Object(out)
}

/// Validates `spec` (the object's `spec` value) with a validator compiled from
/// [`strict`]`(schema.properties.spec)`. Paths are relative to the object.
pub fn validate_spec(validator: &jsonschema::Validator, spec: &Value) -> Vec<SchemaError> {
    let base = FieldPath::root().key("spec");
    let mut spec = spec.clone();
    drop_null_fields(&mut spec);
    let mut out: Vec<SchemaError> = Vec::new();
    for e in validator.iter_errors(&spec) {
        let mut field = base.clone();
        for seg in e.instance_path().iter() {
            field = match seg {
                jsonschema::paths::LocationSegment::Property(p) => field.key(&p),
                jsonschema::paths::LocationSegment::Index(i) => field.index(i),
            };
        }
        match e.kind() {
            jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } => {
                for name in unexpected {
                    let at = field.clone().key(name);
                    out.push(SchemaError {
                        message: format!("unknown field \"{}\"", dotted(&at)),
                        field: at,
                    });
                }
            }
            _ => out.push(SchemaError {
                message: format!("{}: {e}", dotted(&field)),
                field,
            }),
        }
    }
    out.sort_by(|a, b| a.field.cmp(&b.field).then(a.message.cmp(&b.message)));
    out.dedup();
    out
}

/// The API server drops fields whose value is null (unless the schema says `nullable`, where
/// null is valid anyway) before validating, so `match:` with nothing after it is accepted.
fn drop_null_fields(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(drop_null_fields);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_null_fields),
        _ => {}
    }
}

/// `spec.http[0].route`, as `kubectl` names fields.
pub fn dotted(path: &FieldPath) -> String {
    let mut s = String::new();
    for seg in &path.0 {
        match seg {
            Segment::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Segment::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(schema: Value, spec: Value) -> Vec<String> {
        let v = jsonschema::options()
            .should_validate_formats(false)
            .build(&strict(&schema))
            .unwrap();
        validate_spec(&v, &spec)
            .into_iter()
            .map(|e| format!("{} {}", e.field, e.message))
            .collect()
    }

    #[test]
    fn unknown_fields_int_or_string_and_preserved_objects() {
        let schema = json!({
            "type": "object",
            "properties": {
                "port": {"x-kubernetes-int-or-string": true},
                "match": {"type": "object", "properties": {"exact": {"type": "string"}},
                          "oneOf": [{"not": {"anyOf": [{"required": ["exact"]}]}}, {"required": ["exact"]}]},
                "value": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "weight": {"type": "integer", "format": "int32", "nullable": true},
                "items": {"type": "array", "items": {"type": "object", "properties": {"a": {"type": "string"}}}}
            }
        });
        assert!(check(
            schema.clone(),
            json!({"port": "http", "match": {"exact": "/"}, "value": {"any": {"thing": 1}},
                   "labels": {"x": "y"}, "weight": null, "items": [{"a": "b"}]})
        )
        .is_empty());
        assert!(check(schema.clone(), json!({"port": 8080})).is_empty());
        // Null fields are dropped by the API server, not rejected.
        assert!(check(
            schema.clone(),
            json!({"match": null, "items": [{"a": null}]})
        )
        .is_empty());
        assert_eq!(
            check(
                schema.clone(),
                json!({"items": [{"a": "b", "websocketUpgrade": true}]})
            ),
            ["/spec/items/0/websocketUpgrade unknown field \"spec.items[0].websocketUpgrade\""]
        );
        let typed = check(schema, json!({"weight": "heavy"}));
        assert_eq!(typed.len(), 1, "{typed:?}");
        assert!(
            typed[0].starts_with("/spec/weight spec.weight: "),
            "{typed:?}"
        );
    }
}
