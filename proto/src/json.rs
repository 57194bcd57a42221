//! `google.protobuf.Struct` (user attributes, tenant settings) ⇄ JSON objects, for the service,
//! which stores them as JSON, and for clients that hold them as JSON.

use prost_types::value::Kind;
use prost_types::{ListValue, Struct, Value as ProtoValue};
use serde_json::{Map, Number, Value};

/// A JSON object as a `Struct`.
pub fn to_struct(object: Map<String, Value>) -> Struct {
    Struct {
        fields: object
            .into_iter()
            .map(|(key, value)| (key, to_value(value)))
            .collect(),
    }
}

/// A `Struct` as a JSON object. Numbers that are whole and within ±2⁵³ come back as integers
/// (a `Struct` holds every number as a double).
pub fn from_struct(value: &Struct) -> Map<String, Value> {
    value
        .fields
        .iter()
        .map(|(key, value)| (key.clone(), from_value(value)))
        .collect()
}

fn to_value(value: Value) -> ProtoValue {
    let kind = match value {
        Value::Null => Kind::NullValue(0),
        Value::Bool(flag) => Kind::BoolValue(flag),
        Value::Number(number) => Kind::NumberValue(number.as_f64().unwrap_or(0.0)),
        Value::String(text) => Kind::StringValue(text),
        Value::Array(values) => Kind::ListValue(ListValue {
            values: values.into_iter().map(to_value).collect(),
        }),
        Value::Object(object) => Kind::StructValue(to_struct(object)),
    };
    ProtoValue { kind: Some(kind) }
}

/// Integers up to this magnitude are exact in a double.
const MAX_EXACT_INTEGER: f64 = 9_007_199_254_740_992.0;

fn from_value(value: &ProtoValue) -> Value {
    match &value.kind {
        None | Some(Kind::NullValue(_)) => Value::Null,
        Some(Kind::BoolValue(flag)) => Value::Bool(*flag),
        Some(Kind::NumberValue(number))
            if number.fract() == 0.0 && number.abs() <= MAX_EXACT_INTEGER =>
        {
            Value::Number(Number::from(*number as i64))
        }
        Some(Kind::NumberValue(number)) => {
            Number::from_f64(*number).map_or(Value::Null, Value::Number)
        }
        Some(Kind::StringValue(text)) => Value::String(text.clone()),
        Some(Kind::ListValue(list)) => Value::Array(list.values.iter().map(from_value).collect()),
        Some(Kind::StructValue(object)) => Value::Object(from_struct(object)),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn json_objects_round_trip() {
        let object = json!({
            "title": "Countess", "level": 3, "ratio": 0.5, "on": true, "none": null,
            "tags": ["a", 1], "urn:x:User": {"manager": {"value": "m"}}
        });
        let Value::Object(object) = object else {
            unreachable!()
        };
        assert_eq!(from_struct(&to_struct(object.clone())), object);
    }
}
