//! Request input: JSON bodies (size-limited, every error naming its field)
//! and query strings (every parameter checked, unknown ones refused).

use std::collections::BTreeMap;
use std::pin::Pin;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_LENGTH;
use serde::de::DeserializeOwned;

use super::de;
use super::error::ApiError;

/// Largest JSON body, bytes.
pub const JSON_LIMIT: usize = 1 << 20;
/// Largest CSV import body, bytes.
pub const CSV_LIMIT: usize = 8 << 20;

/// Reads a whole body, refusing it with 413 as soon as it is known to be
/// larger than `limit`: at once from `Content-Length`, else when the bytes
/// received pass the limit. Never holds more than `limit` bytes.
pub async fn read_limited(req: Request, limit: usize) -> Result<Bytes, ApiError> {
    let declared =
        req.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::too_large(limit));
    }
    let mut body: Body = req.into_body();
    let mut data = Vec::with_capacity(declared.map_or(0, |n| n as usize));
    loop {
        let frame = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await;
        match frame {
            None => break,
            Some(Err(e)) => return Err(ApiError::bad_request(format!("cannot read the request body: {e}"))),
            Some(Ok(frame)) => {
                if let Ok(chunk) = frame.into_data() {
                    if data.len() + chunk.len() > limit {
                        return Err(ApiError::too_large(limit));
                    }
                    data.extend_from_slice(&chunk);
                }
            }
        }
    }
    Ok(Bytes::from(data))
}

/// Parses a JSON document into `T`; 400 naming the field on any problem.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        let what = if e.is_eof() && bytes.iter().all(u8::is_ascii_whitespace) {
            "the request body is empty (expected a JSON object)".to_string()
        } else {
            format!("malformed JSON: {e}")
        };
        ApiError::bad_field("body", what)
    })?;
    if !value.is_object() {
        return Err(ApiError::bad_field("body", "expected a JSON object"));
    }
    de::from_value(&value).map_err(|e| {
        let field = if e.path.is_empty() { "body".to_string() } else { e.path.clone() };
        ApiError::bad_field(field, e.to_string())
    })
}

/// A JSON request body of type `T` (at most [`JSON_LIMIT`] bytes).
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, ApiError> {
        let bytes = read_limited(req, JSON_LIMIT).await?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// A JSON body that may be left out (an empty body means `T::default()`).
#[derive(Debug, Clone)]
pub struct OptionalJson<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, ApiError> {
        let bytes = read_limited(req, JSON_LIMIT).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(T::default()));
        }
        parse_json(&bytes).map(OptionalJson)
    }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// `application/x-www-form-urlencoded` decoding of one component.
fn decode(part: &str) -> Result<String, String> {
    let bytes = part.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match (bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => return Err(format!("{part:?} has a bad %-escape")),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| format!("{part:?} is not UTF-8"))
}

/// The parameters of a query string, taken one by one by name; whatever is
/// left at [`Params::finish`] is refused as unknown.
#[derive(Debug, Default)]
pub struct Params {
    values: BTreeMap<String, String>,
}

impl Params {
    /// Parses a raw query string (`None`: no query).
    pub fn parse(query: Option<&str>) -> Result<Params, ApiError> {
        let mut values = BTreeMap::new();
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let key = decode(k).map_err(|e| ApiError::bad_field("query", e))?;
            let value = decode(v).map_err(|e| ApiError::bad_field(key.clone(), e))?;
            if values.insert(key.clone(), value).is_some() {
                return Err(ApiError::bad_field(key.clone(), format!("{key}: given twice")));
            }
        }
        Ok(Params { values })
    }

    /// A text parameter; empty counts as absent.
    pub fn text(&mut self, name: &str) -> Option<String> {
        self.values.remove(name).filter(|v| !v.is_empty())
    }

    /// A parameter parsed with `FromStr`.
    pub fn parsed<T: std::str::FromStr>(&mut self, name: &str, what: &str) -> Result<Option<T>, ApiError> {
        match self.text(name) {
            None => Ok(None),
            Some(v) => {
                v.parse().map(Some).map_err(|_| ApiError::bad_field(name, format!("{name}: {v:?} is not {what}")))
            }
        }
    }

    /// `true`/`false` (also `1`/`0`).
    pub fn flag(&mut self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.text(name).as_deref() {
            None => Ok(None),
            Some("true" | "1") => Ok(Some(true)),
            Some("false" | "0") => Ok(Some(false)),
            Some(v) => Err(ApiError::bad_field(name, format!("{name}: {v:?} is not true or false"))),
        }
    }

    /// One of a fixed set of words.
    pub fn choice<T: Copy>(&mut self, name: &str, choices: &[(&str, T)]) -> Result<Option<T>, ApiError> {
        match self.text(name) {
            None => Ok(None),
            Some(v) => match choices.iter().find(|(word, _)| *word == v) {
                Some((_, value)) => Ok(Some(*value)),
                None => {
                    let words: Vec<&str> = choices.iter().map(|(w, _)| *w).collect();
                    Err(ApiError::bad_field(name, format!("{name}: {v:?} is not one of {}", words.join(", "))))
                }
            },
        }
    }

    /// Refuses what was not taken.
    pub fn finish(self) -> Result<(), ApiError> {
        match self.values.into_keys().next() {
            None => Ok(()),
            Some(key) => Err(ApiError::bad_field(key.clone(), format!("unknown query parameter `{key}`"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_params() {
        let mut p = Params::parse(Some("q=Li+Wei%21&limit=20&offset=")).unwrap();
        assert_eq!(p.text("q").as_deref(), Some("Li Wei!"));
        assert_eq!(p.parsed::<u32>("limit", "a number").unwrap(), Some(20));
        assert_eq!(p.parsed::<u32>("offset", "a number").unwrap(), None, "empty counts as absent");
        assert!(p.finish().is_ok());
        let mut p = Params::parse(Some("limit=ten")).unwrap();
        assert_eq!(p.parsed::<u32>("limit", "a number").unwrap_err().field.as_deref(), Some("limit"));
        let p = Params::parse(Some("limt=1")).unwrap();
        assert_eq!(p.finish().unwrap_err().field.as_deref(), Some("limt"));
        assert!(Params::parse(Some("a=1&a=2")).is_err());
        assert!(Params::parse(Some("a=%zz")).is_err());
        let mut p = Params::parse(Some("dry_run=true&order=oldest")).unwrap();
        assert_eq!(p.flag("dry_run").unwrap(), Some(true));
        assert_eq!(p.choice("order", &[("newest", 1), ("oldest", 2)]).unwrap(), Some(2));
    }

    #[test]
    fn json_errors() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct B {
            to: String,
        }
        assert_eq!(parse_json::<B>(b"{").unwrap_err().field.as_deref(), Some("body"));
        assert_eq!(parse_json::<B>(b"").unwrap_err().field.as_deref(), Some("body"));
        assert_eq!(parse_json::<B>(b"[]").unwrap_err().field.as_deref(), Some("body"));
        assert_eq!(parse_json::<B>(br#"{"to": 1}"#).unwrap_err().field.as_deref(), Some("to"));
        assert_eq!(parse_json::<B>(br#"{"to": "1", "x": 1}"#).unwrap_err().field.as_deref(), Some("x"));
        assert!(parse_json::<B>(br#"{"to": "1"}"#).is_ok());
    }
}
