//! Notes and data that agents and supervisors attach to a call in progress
//! (`POST /calls/{id}/notes`, `POST /calls/{id}/data`).
//!
//! A note is kept on the call ([`Call::notes`](super::model::Call)) and a
//! data item is a call variable ([`Call::vars`](super::model::Call)); both
//! go to the journal as call events (`note`: `{author, text}`, `data`:
//! `{author, key, value}`), show in the call's view, and travel with the
//! call: the next agent's screen pop carries the variables and the notes.
//!
//! The checks ([`check_note`], [`check_data_key`], [`check_data_value`])
//! are pure; the API runs them to answer 400 naming the field, and the core
//! runs them again for any other client.
//!
//! Not done: editing or deleting a note (a note is a record of what was
//! said); notes of an ended call are only in its journal.

use super::api::{CallId, CallNote, CoreError, CoreReply};
use super::{Core, CoreResult};
use crate::records::JournalOp;

/// Longest note, in characters.
pub const NOTE_MAX_CHARS: usize = 2000;
/// Most notes one call keeps.
pub const NOTES_PER_CALL_MAX: usize = 100;
/// Longest data key, in characters.
pub const DATA_KEY_MAX_CHARS: usize = 64;
/// Longest data value, in characters.
pub const DATA_VALUE_MAX_CHARS: usize = 2000;

/// The call variables the core (and the IVR session starting a flow) sets
/// itself, which `POST /calls/{id}/data` may not set: who and what the
/// call is (`caller`, `caller_name`, `called`, `call_id`, `flow`,
/// `ivr_path`), the customer lookup (`customer_*`), the ACD's routing
/// inputs and results (`queue`, `priority`, `skills`, `agent`) and the
/// last transfer (`transferred_by`).
pub const SYSTEM_KEYS: [&str; 15] = [
    "agent",
    "call_id",
    "called",
    "caller",
    "caller_name",
    "customer_agent",
    "customer_id",
    "customer_name",
    "customer_vip",
    "flow",
    "ivr_path",
    "priority",
    "queue",
    "skills",
    "transferred_by",
];

/// A note or data item that cannot be attached.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DataError {
    #[error("empty (1 to {NOTE_MAX_CHARS} characters)")]
    EmptyNote,
    #[error("{chars} characters, more than {NOTE_MAX_CHARS}")]
    NoteTooLong { chars: usize },
    /// A control character other than newline and tab.
    #[error("control character U+{code:04X} at character {at}")]
    Control { field: &'static str, code: u32, at: usize },
    #[error("empty (letters, digits and `_`)")]
    EmptyKey,
    #[error("`{key}` is {chars} characters, more than {DATA_KEY_MAX_CHARS}")]
    KeyTooLong { key: String, chars: usize },
    #[error("`{key}` has {ch:?} at character {at}: only letters, digits and `_`")]
    KeyChar { key: String, ch: char, at: usize },
    #[error("`{key}` starts with a digit (flows could not use it as ${{{key}}})")]
    KeyDigit { key: String },
    #[error("`{key}` is set by the call core (system keys: {})", SYSTEM_KEYS.join(", "))]
    SystemKey { key: String },
    #[error("{chars} characters, more than {DATA_VALUE_MAX_CHARS}")]
    ValueTooLong { chars: usize },
    #[error("empty")]
    NoAuthor,
}

impl DataError {
    /// The request field to blame.
    pub fn field(&self) -> &'static str {
        match self {
            DataError::EmptyNote | DataError::NoteTooLong { .. } => "text",
            DataError::Control { field, .. } => field,
            DataError::EmptyKey
            | DataError::KeyTooLong { .. }
            | DataError::KeyChar { .. }
            | DataError::KeyDigit { .. }
            | DataError::SystemKey { .. } => "key",
            DataError::ValueTooLong { .. } => "value",
            DataError::NoAuthor => "author",
        }
    }
}

impl From<DataError> for CoreError {
    fn from(e: DataError) -> CoreError {
        CoreError::BadData { field: e.field().to_string(), problem: e.to_string() }
    }
}

/// A control character other than newline or tab, with its position
/// (1-based, in characters).
fn control(field: &'static str, text: &str) -> Result<(), DataError> {
    match text.chars().enumerate().find(|(_, c)| c.is_control() && *c != '\n' && *c != '\t') {
        Some((i, c)) => Err(DataError::Control { field, code: c as u32, at: i + 1 }),
        None => Ok(()),
    }
}

/// A note's text, trimmed: 1 to [`NOTE_MAX_CHARS`] characters, no control
/// characters but newlines and tabs.
pub fn check_note(text: &str) -> Result<&str, DataError> {
    let text = text.trim();
    let chars = text.chars().count();
    if chars == 0 {
        return Err(DataError::EmptyNote);
    }
    if chars > NOTE_MAX_CHARS {
        return Err(DataError::NoteTooLong { chars });
    }
    control("text", text)?;
    Ok(text)
}

/// A data key: 1 to [`DATA_KEY_MAX_CHARS`] ASCII letters, digits and `_`,
/// not starting with a digit, not one of [`SYSTEM_KEYS`].
pub fn check_data_key(key: &str) -> Result<(), DataError> {
    if key.is_empty() {
        return Err(DataError::EmptyKey);
    }
    let chars = key.chars().count();
    if chars > DATA_KEY_MAX_CHARS {
        return Err(DataError::KeyTooLong { key: key.to_string(), chars });
    }
    if let Some((i, ch)) = key.chars().enumerate().find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_')) {
        return Err(DataError::KeyChar { key: key.to_string(), ch, at: i + 1 });
    }
    if key.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(DataError::KeyDigit { key: key.to_string() });
    }
    if SYSTEM_KEYS.contains(&key) {
        return Err(DataError::SystemKey { key: key.to_string() });
    }
    Ok(())
}

/// A data value: up to [`DATA_VALUE_MAX_CHARS`] characters (empty is a
/// value), no control characters but newlines and tabs.
pub fn check_data_value(value: &str) -> Result<(), DataError> {
    let chars = value.chars().count();
    if chars > DATA_VALUE_MAX_CHARS {
        return Err(DataError::ValueTooLong { chars });
    }
    control("value", value)
}

impl Core {
    /// Attach a note to a call in progress.
    pub(crate) fn add_note(&mut self, call: CallId, author: &str, text: &str) -> CoreResult {
        let text = check_note(text)?;
        if author.trim().is_empty() {
            return Err(DataError::NoAuthor.into());
        }
        let at_ms = self.now.as_ms();
        let c = self.calls.get_mut(&call).ok_or(CoreError::NoSuchCall(call))?;
        if c.notes.len() >= NOTES_PER_CALL_MAX {
            return Err(CoreError::InvalidState(format!("call {call} already has {NOTES_PER_CALL_MAX} notes")));
        }
        c.notes.push(CallNote { author: author.to_string(), text: text.to_string(), at_ms });
        self.dirty_calls.insert(call);
        self.journal(JournalOp::CallEvent {
            call,
            leg: None,
            at: self.stamp(),
            kind: "note".into(),
            detail: serde_json::json!({"author": author, "text": text}),
        });
        Ok(CoreReply::Ok { call: Some(call) })
    }

    /// Set a variable of a call in progress.
    pub(crate) fn set_call_data(&mut self, call: CallId, author: &str, key: &str, value: &str) -> CoreResult {
        check_data_key(key)?;
        check_data_value(value)?;
        if author.trim().is_empty() {
            return Err(DataError::NoAuthor.into());
        }
        let c = self.calls.get_mut(&call).ok_or(CoreError::NoSuchCall(call))?;
        c.vars.insert(key.to_string(), value.to_string());
        self.dirty_calls.insert(call);
        self.journal(JournalOp::CallEvent {
            call,
            leg: None,
            at: self.stamp(),
            kind: "data".into(),
            detail: serde_json::json!({"author": author, "key": key, "value": value}),
        });
        Ok(CoreReply::Ok { call: Some(call) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_note_is_trimmed_and_holds_1_to_2000_characters() {
        assert_eq!(check_note("  called about order 10001\n"), Ok("called about order 10001"));
        assert_eq!(check_note("line one\n\tline two"), Ok("line one\n\tline two"));
        assert_eq!(check_note(""), Err(DataError::EmptyNote));
        assert_eq!(check_note(" \n\t "), Err(DataError::EmptyNote));
        // Characters, not bytes: 2000 Chinese characters are 6000 bytes.
        let han = "话".repeat(NOTE_MAX_CHARS);
        assert_eq!(check_note(&han), Ok(han.as_str()));
        assert_eq!(check_note(&format!("{han}x")), Err(DataError::NoteTooLong { chars: 2001 }));
        let e = check_note("ab\u{7}c").unwrap_err();
        assert_eq!(e, DataError::Control { field: "text", code: 7, at: 3 });
        assert_eq!((e.field(), e.to_string().as_str()), ("text", "control character U+0007 at character 3"));
        assert_eq!(DataError::EmptyNote.field(), "text");
    }

    #[test]
    fn a_data_key_is_letters_digits_and_underscore_and_not_a_system_key() {
        for ok in ["order", "order_no", "A1", "_x", &"k".repeat(DATA_KEY_MAX_CHARS)] {
            assert_eq!(check_data_key(ok), Ok(()), "{ok}");
        }
        assert_eq!(check_data_key(""), Err(DataError::EmptyKey));
        assert_eq!(check_data_key("order-no"), Err(DataError::KeyChar { key: "order-no".into(), ch: '-', at: 6 }));
        assert_eq!(check_data_key("a.b"), Err(DataError::KeyChar { key: "a.b".into(), ch: '.', at: 2 }));
        assert_eq!(check_data_key("订单"), Err(DataError::KeyChar { key: "订单".into(), ch: '订', at: 1 }));
        assert_eq!(check_data_key("9x"), Err(DataError::KeyDigit { key: "9x".into() }));
        let long = "k".repeat(DATA_KEY_MAX_CHARS + 1);
        assert_eq!(check_data_key(&long), Err(DataError::KeyTooLong { key: long.clone(), chars: 65 }));
        for key in SYSTEM_KEYS {
            let e = check_data_key(key).unwrap_err();
            assert_eq!(e, DataError::SystemKey { key: key.to_string() });
            assert_eq!(e.field(), "key");
            assert!(e.to_string().contains("transferred_by"), "{e}");
        }
        assert_eq!(
            DataError::KeyChar { key: "a b".into(), ch: ' ', at: 2 }.to_string(),
            "`a b` has ' ' at character 2: only letters, digits and `_`"
        );
        assert_eq!(
            DataError::KeyDigit { key: "9x".into() }.to_string(),
            "`9x` starts with a digit (flows could not use it as ${9x})"
        );
    }

    #[test]
    fn a_data_value_may_be_empty_and_holds_at_most_2000_characters() {
        assert_eq!(check_data_value(""), Ok(()));
        assert_eq!(check_data_value(&"v".repeat(DATA_VALUE_MAX_CHARS)), Ok(()));
        assert_eq!(check_data_value(&"v".repeat(2001)), Err(DataError::ValueTooLong { chars: 2001 }));
        assert_eq!(check_data_value("a\u{0}"), Err(DataError::Control { field: "value", code: 0, at: 2 }));
        assert_eq!(DataError::ValueTooLong { chars: 2001 }.field(), "value");
    }

    #[test]
    fn a_data_error_becomes_a_core_error_naming_the_field() {
        let e: CoreError = DataError::SystemKey { key: "queue".into() }.into();
        match &e {
            CoreError::BadData { field, problem } => {
                assert_eq!(field, "key");
                assert!(problem.starts_with("`queue` is set by the call core"), "{problem}");
            }
            other => panic!("{other:?}"),
        }
        assert!(e.to_string().starts_with("key: `queue` is set by the call core"), "{e}");
    }
}
