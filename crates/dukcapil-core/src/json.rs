//! JSON read strictly: a key that appears twice in any object makes the whole text invalid.
//!
//! `serde_json::Value` keeps the last of two equal keys, so `{"match":false,"match":true}` would
//! read as a match. Everything that reads JSON from outside (upstream answers, our own answers
//! in the browser, caller tokens) reads it through here instead.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// A `Value` whose objects had no duplicate keys.
struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        f.write_str("JSON without duplicate keys")
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
        // serde_json never hands over a non-finite number.
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
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
        while let Some(Strict(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Strict(v) = map.next_value()?;
            if out.insert(key, v).is_some() {
                return Err(de::Error::custom("duplicate key"));
            }
        }
        Ok(Value::Object(out))
    }
}

/// Parses `bytes` as one JSON value, or `None` when it is not JSON, has trailing data or has a
/// duplicate key in any object.
pub fn parse_strict(bytes: &[u8]) -> Option<Value> {
    serde_json::from_slice::<Strict>(bytes).ok().map(|s| s.0)
}

/// [`parse_strict`], and the value must be an object.
pub fn parse_object(bytes: &[u8]) -> Option<Map<String, Value>> {
    match parse_strict(bytes)? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_json_type_reads_as_itself() {
        let text = br#"{"neg":-5,"pos":7,"big":18446744073709551615,"f":1.5,"t":true,"n":null,"s":"a\"b","a":[1,"x",{}]}"#;
        let want = serde_json::json!({"neg": -5, "pos": 7, "big": 18446744073709551615u64, "f": 1.5,
            "t": true, "n": null, "s": "a\"b", "a": [1, "x", {}]});
        assert_eq!(parse_strict(text), Some(want));
        assert_eq!(parse_strict(b"-1"), Some(serde_json::json!(-1)));
    }

    #[test]
    fn duplicates_anywhere_are_refused() {
        let ok = [
            r#"{"a":1,"b":{"a":2}}"#,
            "[1,{\"x\":[{}]}]",
            "null",
            r#""s""#,
            "1.5",
        ];
        for text in ok {
            assert_eq!(
                parse_strict(text.as_bytes()),
                serde_json::from_str::<Value>(text).ok(),
                "{text}"
            );
        }
        let refused = [
            r#"{"a":1,"a":1}"#,
            r#"{"a":{"b":1,"b":2}}"#,
            r#"[{"k":1,"k":2}]"#,
            r#"{"a":1} x"#,
            "",
            "{",
        ];
        for text in refused {
            assert_eq!(parse_strict(text.as_bytes()), None, "{text}");
        }
        assert!(parse_object(b"[]").is_none());
        assert!(parse_object(b"{}").is_some());
    }
}
