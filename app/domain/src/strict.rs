//! Reading request bodies strictly. Serde's derived structs also accept a JSON array, read
//! positionally (`"spec": [1, 5]` as `{"minReplicas": 1, "maxReplicas": 5}`). A request must
//! spell its fields, so bodies are read through [`Strict`], which refuses an array wherever a
//! struct is expected and otherwise reads as `serde_json::Value` does. And a key must appear
//! once in an object: serde_json keeps the last of two (`"dryRun": true, "dryRun": false`
//! applies for real), so a repeated key is refused before anything else is read.

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor,
};
use serde_json::{Map, Value};

/// For `#[serde(default, deserialize_with = "not_null")]`: a field that may be left out, but
/// not given as `null`. In a Kubernetes merge patch `null` removes a field; in Paydeck's
/// requests leaving it out keeps it, so a `null` would mean one thing to one reader and
/// another to the next.
pub fn not_null<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    match <Option<T> as serde::Deserialize>::deserialize(d)? {
        Some(v) => Ok(Some(v)),
        None => Err(de::Error::custom(
            "null is not allowed here: leave the field out to keep its current value (only behavior, scaleUp and scaleDown take null, for Kubernetes' defaults)",
        )),
    }
}

/// The first problem in a body, with the path of the field it is in (`.` for the body).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StrictError {
    pub path: String,
    pub message: String,
}

/// Parses `body` as JSON (every key once per object) and reads a `T` from it strictly.
pub fn from_slice<T: DeserializeOwned>(body: &[u8]) -> Result<T, StrictError> {
    let repeated = std::cell::RefCell::new(None);
    let mut reader = serde_json::Deserializer::from_slice(body);
    let value = UniqueKeys { path: Vec::new(), repeated: &repeated }
        .deserialize(&mut reader)
        .and_then(|v| reader.end().map(|()| v))
        .map_err(|e| match repeated.take() {
            Some(path) => StrictError { path, message: e.to_string() },
            None => StrictError { path: ".".into(), message: e.to_string() },
        })?;
    serde_path_to_error::deserialize(Strict(value))
        .map_err(|e| StrictError { path: e.path().to_string(), message: e.into_inner().to_string() })
}

/// Reads a JSON value as `serde_json::Value` does, refusing an object with a key twice and
/// remembering where (`repeated`), for the error's path.
struct UniqueKeys<'a> {
    /// Keys and indexes down to the value being read.
    path: Vec<String>,
    repeated: &'a std::cell::RefCell<Option<String>>,
}

impl UniqueKeys<'_> {
    fn at(&self, step: String) -> Self {
        let mut path = self.path.clone();
        path.push(step);
        UniqueKeys { path, repeated: self.repeated }
    }
}

impl<'de> DeserializeSeed<'de> for UniqueKeys<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for UniqueKeys<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self.at(items.len().to_string()))? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                let inside = self.path.join(".");
                *self.repeated.borrow_mut() =
                    Some(if inside.is_empty() { key.clone() } else { format!("{inside}.{key}") });
                let object = if inside.is_empty() { "the body".to_string() } else { format!("`{inside}`") };
                return Err(de::Error::custom(format!(
                    "`{key}` appears twice in {object}: each field may be given once"
                )));
            }
            let value = map.next_value_seed(self.at(key.clone()))?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

/// A JSON value that reads as `serde_json::Value` does, but never as a struct from an array.
pub struct Strict(pub Value);

impl<'de> Deserializer<'de> for Strict {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Array(items) => visitor.visit_seq(Items(items.into_iter())),
            Value::Object(map) => visitor.visit_map(Fields::new(map)),
            scalar => scalar.deserialize_any(visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Object(map) => visitor.visit_map(Fields::new(map)),
            other => Err(de::Error::invalid_type(unexpected(&other), &visitor)),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        // Unit variants are strings; an enum with data would need its own reading.
        self.0.deserialize_enum(name, variants, visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map identifier ignored_any
    }
}

fn unexpected(value: &Value) -> de::Unexpected<'_> {
    match value {
        Value::Null => de::Unexpected::Unit,
        Value::Bool(b) => de::Unexpected::Bool(*b),
        Value::Number(_) => de::Unexpected::Other("number"),
        Value::String(s) => de::Unexpected::Str(s),
        Value::Array(_) => de::Unexpected::Seq,
        Value::Object(_) => de::Unexpected::Map,
    }
}

struct Items(std::vec::IntoIter<Value>);

impl<'de> SeqAccess<'de> for Items {
    type Error = serde_json::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Self::Error> {
        self.0.next().map(|v| seed.deserialize(Strict(v))).transpose()
    }
}

struct Fields {
    entries: serde_json::map::IntoIter,
    value: Option<Value>,
}

impl Fields {
    fn new(map: Map<String, Value>) -> Self {
        Fields { entries: map.into_iter(), value: None }
    }
}

impl<'de> MapAccess<'de> for Fields {
    type Error = serde_json::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Self::Error> {
        match self.entries.next() {
            Some((key, value)) => {
                self.value = Some(value);
                seed.deserialize(key.into_deserializer()).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Self::Error> {
        let value = self.value.take().ok_or_else(|| de::Error::custom("a value was read before its key"))?;
        seed.deserialize(Strict(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scaling::request::ScalingRequest;

    #[test]
    fn structs_must_be_objects() {
        let e = from_slice::<ScalingRequest>(br#"{"spec": [1, 5], "reason": "x"}"#).unwrap_err();
        assert_eq!(e.path, "spec");
        assert!(e.message.contains("invalid type: sequence, expected struct SpecChange"), "{}", e.message);
        let e =
            from_slice::<ScalingRequest>(br#"{"spec": {"behavior": [null]}, "reason": "x"}"#).unwrap_err();
        assert_eq!(e.path, "spec.behavior");
    }

    #[test]
    fn a_key_given_twice_is_refused_where_it_is() {
        let e = from_slice::<ScalingRequest>(
            br#"{"replicas": 3, "reason": "x", "dryRun": true, "dryRun": false}"#,
        )
        .unwrap_err();
        assert_eq!(e.path, "dryRun");
        assert!(e.message.contains("`dryRun` appears twice in the body"), "{}", e.message);
        let e = from_slice::<ScalingRequest>(
            br#"{"spec": {"behavior": {"scaleUp": {"selectPolicy": "Max", "selectPolicy": "Min"}}}, "reason": "x"}"#,
        )
        .unwrap_err();
        assert_eq!(e.path, "spec.behavior.scaleUp.selectPolicy");
        assert!(e.message.contains("in `spec.behavior.scaleUp`"), "{}", e.message);
        // The same key in different objects, or in list items, is no repeat.
        let ok = from_slice::<ScalingRequest>(
            br#"{"spec": {"metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization"}}},
                {"type": "Resource", "resource": {"name": "memory", "target": {"type": "Utilization"}}}]}, "reason": "x"}"#,
        );
        assert!(ok.is_ok(), "{ok:?}");
        assert_eq!(
            from_slice::<ScalingRequest>(br#"{"reason": "x"} {}"#).unwrap_err().path,
            ".",
            "trailing input"
        );
    }

    #[test]
    fn everything_else_reads_as_before() {
        let body = br#"{"spec": {"minReplicas": 2, "maxReplicas": 9, "metrics": [{"type": "Resource",
            "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}],
            "behavior": {"scaleDown": {"policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]}}},
            "reason": "peak", "dryRun": true, "generation": 3}"#;
        let strict = from_slice::<ScalingRequest>(body).unwrap();
        assert_eq!(strict, serde_json::from_slice::<ScalingRequest>(body).unwrap());
        let e = from_slice::<ScalingRequest>(br#"{"replicas": 3, "reason": "x", "extra": 1}"#).unwrap_err();
        assert!(e.message.contains("unknown field `extra`"), "{}", e.message);
        let e = from_slice::<ScalingRequest>(br#"{"replicas": "3", "reason": "x"}"#).unwrap_err();
        assert_eq!(e.path, "replicas");
        assert!(from_slice::<ScalingRequest>(b"{").unwrap_err().message.contains("EOF"));
    }
}
