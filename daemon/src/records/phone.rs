//! Phone numbers: normalisation and the matching rule used by screen pop and
//! journal search.
//!
//! # The rule
//!
//! A number is reduced to its **match key**:
//!
//! 1. Separators are dropped: spaces, `-`, `.`, `/`, `(`, `)`. A customer's
//!    stored number may hold nothing else but digits and one leading `+`
//!    ([`PhoneNumber::parse`] refuses letters, `*`, `#`, extensions such as
//!    `x12`); caller ID from a line is read leniently ([`match_key_lenient`]):
//!    every non-digit is dropped.
//! 2. An international prefix is removed: a leading `+`, or `00` followed by a
//!    digit other than `0` (country codes never start with `0`). What follows
//!    is the country code and the national number (`+86 138-0013-8000` →
//!    `8613800138000`).
//! 3. Otherwise leading `0`s are removed: `0` is the national trunk prefix in
//!    most numbering plans, China's included (`010 6552 9988` → `1065529988`).
//!
//! Two keys **match** when they are equal, or when the shorter one has at
//! least [`MIN_LOOSE_DIGITS`] digits and is the tail of the longer one, which
//! adds at most [`MAX_EXTRA_DIGITS`] digits in front (a country code and/or an
//! area code). So `+86 138-0013-8000` matches `13800138000`, `0086 10
//! 65529988` matches `010-6552-9988` and the local `6552 9988`, and `+1 (555)
//! 123-4567` matches `5551234567` and `1 555 123 4567`; `+86 755 6552 9988`
//! does not match `6552 9988` (5 digits in front), and numbers shorter than 7
//! digits (extensions, short codes) only match exactly.
//!
//! Not covered: plans whose trunk prefix is not `0` (Russia's `8`): store
//! those numbers in international form (`+7 …`) so that they match both forms.
//!
//! Keys are stored reversed (`key_rev`) so that "ends with" becomes a prefix
//! range on an index: `key_rev >= r AND key_rev < r || ':'` (`:` sorts right
//! after `9`).

use std::fmt;

/// The shorter of two loosely matching numbers has at least this many digits.
pub const MIN_LOOSE_DIGITS: usize = 7;
/// The longer of two loosely matching numbers adds at most this many digits.
pub const MAX_EXTRA_DIGITS: usize = 4;
/// Longest digit string accepted (E.164 allows 15 after the country code's
/// `+`; room is left for `00` and trunk prefixes).
pub const MAX_DIGITS: usize = 20;

/// Why a string is not a phone number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("phone number is empty")]
    Empty,
    #[error(
        "phone number {number:?} has {character:?} at position {position}: only digits, one leading '+', spaces and - . / ( ) are allowed"
    )]
    BadCharacter { number: String, character: char, position: usize },
    #[error("phone number {number:?} has no digits")]
    NoDigits { number: String },
    #[error("phone number {number:?} has {digits} digits, more than {MAX_DIGITS}")]
    TooLong { number: String, digits: usize },
    #[error("phone number {number:?} is only a prefix (nothing is left after removing '+', '00' or trunk '0')")]
    OnlyPrefix { number: String },
}

/// A validated phone number: what was entered (for display) and its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneNumber {
    entered: String,
    digits: String,
    key: String,
}

impl PhoneNumber {
    /// Validates and normalises a number typed by a person or read from a file.
    pub fn parse(raw: &str) -> Result<PhoneNumber, PhoneError> {
        let entered = raw.trim();
        if entered.is_empty() {
            return Err(PhoneError::Empty);
        }
        let mut digits = String::with_capacity(entered.len());
        let mut plus = false;
        for (position, character) in entered.chars().enumerate() {
            match character {
                '0'..='9' => digits.push(character),
                '+' if position == 0 => plus = true,
                ' ' | '-' | '.' | '/' | '(' | ')' | '\u{a0}' => {}
                _ => {
                    return Err(PhoneError::BadCharacter {
                        number: entered.to_string(),
                        character,
                        position: position + 1,
                    });
                }
            }
        }
        if digits.is_empty() {
            return Err(PhoneError::NoDigits { number: entered.to_string() });
        }
        if digits.len() > MAX_DIGITS {
            return Err(PhoneError::TooLong { number: entered.to_string(), digits: digits.len() });
        }
        let key = key_of(&digits, plus).to_string();
        if key.is_empty() {
            return Err(PhoneError::OnlyPrefix { number: entered.to_string() });
        }
        let digits = if plus { format!("+{digits}") } else { digits };
        Ok(PhoneNumber { entered: entered.to_string(), digits, key })
    }

    /// The number as entered, trimmed.
    pub fn entered(&self) -> &str {
        &self.entered
    }

    /// Digits only, with the leading `+` kept when there was one.
    pub fn digits(&self) -> &str {
        &self.digits
    }

    /// The match key (see the module doc).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The key reversed, as stored in `customer_phones.key_rev`.
    pub fn key_rev(&self) -> String {
        reverse(&self.key)
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.entered)
    }
}

fn key_of(digits: &str, plus: bool) -> &str {
    if plus {
        digits
    } else if let Some(rest) = digits.strip_prefix("00").filter(|rest| !rest.starts_with('0')) {
        rest
    } else {
        digits.trim_start_matches('0')
    }
}

/// The match key of a number from a line or a search box: every character
/// that is not a digit is dropped (caller ID may carry `P`, `O`, `*`, spaces),
/// a leading `+` is honoured. Returns an empty string when nothing is left.
pub fn match_key_lenient(raw: &str) -> String {
    let raw = raw.trim();
    let plus = raw.starts_with('+');
    let digits: String = raw.chars().filter(char::is_ascii_digit).take(MAX_DIGITS * 2).collect();
    key_of(&digits, plus).to_string()
}

/// Reverses a digit string (ASCII only, which keys are).
pub fn reverse(key: &str) -> String {
    key.chars().rev().collect()
}

/// The exclusive upper bound of the `key_rev` range that holds every key
/// ending with `key_rev`'s reverse.
pub fn rev_upper(key_rev: &str) -> String {
    format!("{key_rev}:")
}

/// Whether two keys match under the rule of the module doc.
pub fn keys_match(a: &str, b: &str) -> bool {
    if a.is_empty() || b.is_empty() {
        return false;
    }
    if a == b {
        return true;
    }
    let (short, long) = if a.len() < b.len() { (a, b) } else { (b, a) };
    short.len() >= MIN_LOOSE_DIGITS && long.len() - short.len() <= MAX_EXTRA_DIGITS && long.ends_with(short)
}

/// How to find, by index, every stored key matching `key`: equality with
/// `key_rev`, a prefix range on `key_rev` for longer stored keys (only when
/// `key` is long enough), and equality with the reversed tails of `key` for
/// shorter stored keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchPlan {
    /// `key` reversed.
    pub key_rev: String,
    /// Whether stored keys ending with `key` (up to [`MAX_EXTRA_DIGITS`] longer) match.
    pub longer_allowed: bool,
    /// Reversed tails of `key` (shorter by 1..=[`MAX_EXTRA_DIGITS`] digits, each
    /// at least [`MIN_LOOSE_DIGITS`] long) that match exactly.
    pub shorter_revs: Vec<String>,
}

impl MatchPlan {
    /// The plan for a key; `None` when the key is empty.
    pub fn for_key(key: &str) -> Option<MatchPlan> {
        if key.is_empty() {
            return None;
        }
        let longer_allowed = key.len() >= MIN_LOOSE_DIGITS;
        let shorter_revs = (1..=MAX_EXTRA_DIGITS)
            .filter(|cut| key.len() >= cut + MIN_LOOSE_DIGITS)
            .map(|cut| reverse(&key[cut..]))
            .collect();
        Some(MatchPlan { key_rev: reverse(key), longer_allowed, shorter_revs })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(raw: &str) -> String {
        PhoneNumber::parse(raw).unwrap().key().to_string()
    }

    #[test]
    fn normalises_separators_and_prefixes() {
        assert_eq!(key("+86 138-0013-8000"), "8613800138000");
        assert_eq!(key("0086 138 0013 8000"), "8613800138000");
        assert_eq!(key("13800138000"), "13800138000");
        assert_eq!(key("010-6552-9988"), "1065529988");
        assert_eq!(key("(010) 6552.9988"), "1065529988");
        assert_eq!(key("+1 (555) 123-4567"), "15551234567");
        assert_eq!(PhoneNumber::parse(" +86 138 ").unwrap().digits(), "+86138");
        assert_eq!(PhoneNumber::parse("+86 138").unwrap().entered(), "+86 138");
    }

    #[test]
    fn refuses_bad_numbers() {
        assert_eq!(PhoneNumber::parse("  "), Err(PhoneError::Empty));
        assert!(matches!(
            PhoneNumber::parse("555-1234 x12"),
            Err(PhoneError::BadCharacter { character: 'x', position: 10, .. })
        ));
        assert!(matches!(PhoneNumber::parse("1+2"), Err(PhoneError::BadCharacter { character: '+', .. })));
        assert!(matches!(PhoneNumber::parse("--"), Err(PhoneError::NoDigits { .. })));
        assert!(matches!(PhoneNumber::parse("000"), Err(PhoneError::OnlyPrefix { .. })));
        assert!(matches!(PhoneNumber::parse("123456789012345678901"), Err(PhoneError::TooLong { digits: 21, .. })));
    }

    #[test]
    fn matching_rule() {
        assert!(keys_match(&key("+86 138-0013-8000"), &key("13800138000")));
        assert!(keys_match(&key("0086 10 65529988"), &key("010-6552-9988")));
        assert!(keys_match(&key("+1 555 123 4567"), &key("555 123 4567")));
        assert!(keys_match(&key("1 555 123 4567"), &key("+1 555 123 4567")));
        assert!(keys_match(&key("65529988"), &key("010 6552 9988")));
        // Too short for a loose match: only exact.
        assert!(!keys_match(&key("123456"), &key("9123456")));
        assert!(keys_match(&key("8001"), &key("8001")));
        // A local number against the international form (country and area code: 4 digits).
        assert!(keys_match(&key("+86 10 6552 9988"), &key("6552 9988")));
        // Too many extra digits.
        assert!(!keys_match(&key("+86 755 6552 9988"), &key("6552 9988")));
        assert!(!keys_match(&key("13800138000"), &key("13800138001")));
        assert!(!keys_match("", ""));
    }

    #[test]
    fn lenient_keys() {
        assert_eq!(match_key_lenient("P"), "");
        assert_eq!(match_key_lenient("+86 138 0013 8000"), "8613800138000");
        assert_eq!(match_key_lenient("013800138000*"), "13800138000");
    }

    #[test]
    fn plan_covers_the_rule() {
        let plan = MatchPlan::for_key("8613800138000").unwrap();
        assert_eq!(plan.key_rev, "0008310083168");
        assert!(plan.longer_allowed);
        assert_eq!(plan.shorter_revs, vec!["000831008316", "00083100831", "0008310083", "000831008"]);
        let short = MatchPlan::for_key("8001").unwrap();
        assert!(!short.longer_allowed);
        assert!(short.shorter_revs.is_empty());
        assert!(MatchPlan::for_key("").is_none());
        assert_eq!(rev_upper("12"), "12:");
    }
}
