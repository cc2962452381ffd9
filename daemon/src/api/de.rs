//! Deserializing a parsed JSON value into a request type while keeping
//! track of where in the document each value sits, so that an error names
//! the field to blame (`to`, `phones[2]`, `assigned.user`).
//!
//! [`from_value`] walks a [`serde_json::Value`] with a small
//! [`serde::Deserializer`] of its own: objects hand out their keys and
//! values with the path extended, arrays their elements with the index. The
//! first (innermost) failure records its path; errors that serde raises at
//! the object level (`missing field`, `unknown field`) name the field in
//! their message, which is read back.

use std::fmt;

use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, Visitor};
use serde_json::{Number, Value};

/// A value that could not be turned into the requested type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathError {
    /// Dotted path of the field to blame (`""` for the whole body).
    pub path: String,
    pub message: String,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() { f.write_str(&self.message) } else { write!(f, "{}: {}", self.path, self.message) }
    }
}

impl std::error::Error for PathError {}

impl de::Error for PathError {
    fn custom<T: fmt::Display>(msg: T) -> PathError {
        PathError { path: String::new(), message: msg.to_string() }
    }
}

/// Marks errors from below as found at `path` unless they already know
/// where they come from. The `missing field` / `unknown field` messages of
/// a struct name their field: the path gets it appended.
fn locate(mut e: PathError, path: &str, located: &mut bool) -> PathError {
    if *located {
        return e;
    }
    *located = true;
    let named = ["missing field `", "unknown field `", "duplicate field `"]
        .iter()
        .find_map(|prefix| e.message.strip_prefix(prefix))
        .and_then(|rest| rest.split_once('`'))
        .map(|(name, _)| name.to_string());
    e.path = match named {
        Some(name) => join(path, &name),
        None => path.to_string(),
    };
    e
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

/// Deserializes `T` from `value`, naming the field at fault on error.
pub fn from_value<T: DeserializeOwned>(value: &Value) -> Result<T, PathError> {
    let mut located = false;
    T::deserialize(ValueDe { value, path: String::new(), located: &mut located })
}

/// The deserializer over one value at one path. `located` is shared by the
/// whole walk: set once the innermost failure has recorded its path.
struct ValueDe<'a, 'l> {
    value: &'a Value,
    path: String,
    located: &'l mut bool,
}

impl ValueDe<'_, '_> {
    fn fail(self, e: PathError) -> PathError {
        locate(e, &self.path, self.located)
    }
}

fn visit_number<'de, V: Visitor<'de>>(n: &Number, visitor: V) -> Result<V::Value, PathError> {
    if let Some(u) = n.as_u64() {
        visitor.visit_u64(u)
    } else if let Some(i) = n.as_i64() {
        visitor.visit_i64(i)
    } else {
        visitor.visit_f64(n.as_f64().unwrap_or(f64::NAN))
    }
}

impl<'de> de::Deserializer<'de> for ValueDe<'_, '_> {
    type Error = PathError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PathError> {
        let result = match self.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => visit_number(n, visitor),
            Value::String(s) => visitor.visit_str(s),
            Value::Array(items) => {
                visitor.visit_seq(SeqDe { items: items.iter().enumerate(), path: &self.path, located: self.located })
            }
            Value::Object(map) => {
                visitor.visit_map(MapDe { iter: map.iter(), value: None, path: &self.path, located: self.located })
            }
        };
        result.map_err(|e| locate(e, &self.path, self.located))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PathError> {
        match self.value {
            Value::Null => visitor.visit_none().map_err(|e| self.fail(e)),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, PathError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, PathError> {
        // Only unit variants, written as strings, are used in requests.
        let result = match self.value {
            Value::String(s) => visitor.visit_enum(s.as_str().into_deserializer()),
            other => Err(de::Error::invalid_type(unexpected(other), &OneOf(variants))),
        };
        result.map_err(|e| locate(e, &self.path, self.located))
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PathError> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier
    }
}

struct OneOf(&'static [&'static str]);

impl de::Expected for OneOf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "one of: {}", self.0.join(", "))
    }
}

fn unexpected(value: &Value) -> de::Unexpected<'_> {
    match value {
        Value::Null => de::Unexpected::Unit,
        Value::Bool(b) => de::Unexpected::Bool(*b),
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => de::Unexpected::Unsigned(u),
            (None, Some(i)) => de::Unexpected::Signed(i),
            _ => de::Unexpected::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => de::Unexpected::Str(s),
        Value::Array(_) => de::Unexpected::Seq,
        Value::Object(_) => de::Unexpected::Map,
    }
}

struct SeqDe<'a, 'p, 'l> {
    items: std::iter::Enumerate<std::slice::Iter<'a, Value>>,
    path: &'p str,
    located: &'l mut bool,
}

impl<'de> de::SeqAccess<'de> for SeqDe<'_, '_, '_> {
    type Error = PathError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, PathError> {
        match self.items.next() {
            None => Ok(None),
            Some((i, value)) => {
                let path = format!("{}[{i}]", self.path);
                seed.deserialize(ValueDe { value, path, located: self.located }).map(Some)
            }
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct MapDe<'a, 'p, 'l> {
    iter: serde_json::map::Iter<'a>,
    value: Option<(&'a String, &'a Value)>,
    path: &'p str,
    located: &'l mut bool,
}

impl<'de> de::MapAccess<'de> for MapDe<'_, '_, '_> {
    type Error = PathError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, PathError> {
        match self.iter.next() {
            None => Ok(None),
            Some((key, value)) => {
                self.value = Some((key, value));
                // `unknown field` names the key itself: locate at the object.
                seed.deserialize(key.as_str().into_deserializer())
                    .map(Some)
                    .map_err(|e: PathError| locate(e, self.path, self.located))
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, PathError> {
        match self.value.take() {
            Some((key, value)) => {
                seed.deserialize(ValueDe { value, path: join(self.path, key), located: self.located })
            }
            None => Err(de::Error::custom("value asked for before its key")),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

/// For `Option<Option<T>>` fields: absent → `None`, `null` → `Some(None)`,
/// a value → `Some(Some(v))`. Use with `#[serde(default, deserialize_with = "nullable")]`.
pub fn nullable<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: de::Deserializer<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        user: Option<i64>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "snake_case")]
    enum Mode {
        Blind,
        Attended,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Body {
        name: String,
        #[serde(default)]
        vip: u8,
        #[serde(default)]
        phones: Vec<String>,
        #[serde(default, deserialize_with = "nullable")]
        assigned: Option<Option<Inner>>,
        mode: Option<Mode>,
    }

    fn err(v: Value) -> PathError {
        from_value::<Body>(&v).unwrap_err()
    }

    #[test]
    fn good_body() {
        let b: Body =
            from_value(&json!({"name": "A", "vip": 3, "phones": ["1"], "assigned": null, "mode": "attended"})).unwrap();
        assert_eq!(b.vip, 3);
        assert_eq!(b.assigned, Some(None));
        assert_eq!(b.mode, Some(Mode::Attended));
        let b: Body = from_value(&json!({"name": "A", "assigned": {"user": 4}})).unwrap();
        assert_eq!(b.assigned, Some(Some(Inner { user: Some(4) })));
        assert_eq!(from_value::<Body>(&json!({"name": "A"})).unwrap().assigned, None);
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(err(json!({"name": 5})).path, "name");
        assert_eq!(err(json!({"name": "A", "vip": 300})).path, "vip");
        assert_eq!(err(json!({"name": "A", "vip": "high"})).path, "vip");
        assert_eq!(err(json!({"name": "A", "phones": ["1", 2]})).path, "phones[1]");
        assert_eq!(err(json!({"name": "A", "nmae": 1})).path, "nmae");
        assert_eq!(err(json!({"vip": 1})).path, "name");
        assert_eq!(err(json!({"name": "A", "assigned": {"usr": 1}})).path, "assigned.usr");
        assert_eq!(err(json!({"name": "A", "assigned": {"user": "x"}})).path, "assigned.user");
        assert_eq!(err(json!({"name": "A", "mode": "warm"})).path, "mode");
        assert_eq!(err(json!({"name": "A", "mode": 1})).path, "mode");
        assert_eq!(err(json!([1])).path, "[0]");
        assert!(err(json!({"name": "A", "vip": -1})).message.contains("-1"));
    }
}
