//! Digit maps: when has an extension dialled a whole number?
//!
//! An FXS extension dials digit by digit; the line must decide when the
//! number is complete without knowing the dial plan's meaning. A digit map
//! is a list of patterns, in the notation of MGCP digit maps (RFC 3435
//! §2.1.5) and of SIP phones, reduced to what a PBX extension needs:
//!
//! | Element | Matches |
//! |---|---|
//! | `0`–`9`, `*`, `#`, `A`–`D` | that key |
//! | `X` (or `x`) | any of `0`–`9` |
//! | `[2-4]`, `[135*]`, `[1-3#]` | any key in the set; ranges over `0`–`9` |
//! | `.` (last element only) | any further keys, none included, until the inter-digit timeout or the end key; `#` is never matched by `.` so that it can end dialling |
//!
//! Patterns are separated by `|`; an outer pair of parentheses is allowed
//! (`(1XX|8XXX|9.|0)`).
//!
//! After each key the collected digits are checked against every pattern
//! ([`DigitMap::check`]):
//! - [`MapMatch::Complete`]: some pattern is matched exactly and no pattern
//!   can take more keys: the number is complete now.
//! - [`MapMatch::CompleteMore`]: some pattern is matched, but a longer
//!   number could still match (`1XX` beside `1XXX`, or `9.`): complete when
//!   the short "match" timeout passes (Asterisk `matchdigittimeout`).
//! - [`MapMatch::Partial`]: a prefix of some pattern: wait for more keys
//!   (Asterisk `gendigittimeout`).
//! - [`MapMatch::NoMatch`]: no pattern can match any more: dialling failed.
//!
//! Matching is allocation-free; parsing (at configuration time) allocates
//! the pattern list once.

use std::fmt;

use crate::dsp::dtmf::DtmfDigit;

/// Longest pattern, in elements (the `.` not counted); equal to the longest
/// number a line collects.
pub const MAX_PATTERN_LEN: usize = 32;
/// Most patterns in one map.
pub const MAX_PATTERNS: usize = 64;

/// Bit of one key in an element's set: bit `DtmfDigit as u16`.
fn key_bit(c: u8) -> Option<u16> {
    DtmfDigit::from_char(c as char).map(|d| 1u16 << (d as u16))
}

const fn bit(d: DtmfDigit) -> u16 {
    1u16 << (d as u16)
}

/// `0`–`9`.
const DIGITS: u16 = bit(DtmfDigit::D0)
    | bit(DtmfDigit::D1)
    | bit(DtmfDigit::D2)
    | bit(DtmfDigit::D3)
    | bit(DtmfDigit::D4)
    | bit(DtmfDigit::D5)
    | bit(DtmfDigit::D6)
    | bit(DtmfDigit::D7)
    | bit(DtmfDigit::D8)
    | bit(DtmfDigit::D9);
/// What `.` accepts: every key but `#`.
const ANY_BUT_HASH: u16 = !bit(DtmfDigit::Hash);

/// A digit map that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigitMapError {
    #[error("the digit map has no patterns")]
    Empty,
    #[error("pattern {pattern} is empty")]
    EmptyPattern { pattern: usize },
    #[error("pattern {pattern} ({text:?}), character {pos}: {what}")]
    Syntax { pattern: usize, text: String, pos: usize, what: &'static str },
    #[error("pattern {pattern} ({text:?}) is longer than {MAX_PATTERN_LEN} keys")]
    TooLong { pattern: usize, text: String },
    #[error("the digit map has more than {MAX_PATTERNS} patterns")]
    TooMany,
}

/// How the collected digits stand against one pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternMatch {
    /// The digits cannot become this pattern.
    None,
    /// The digits are a proper prefix of the pattern.
    Partial,
    /// The digits are the whole pattern, which takes no more.
    Full,
    /// The digits match a pattern ending in `.`, which takes more.
    FullOpen,
}

/// How the collected digits stand against the whole map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapMatch {
    NoMatch,
    Partial,
    /// Matched; a longer number may match too.
    CompleteMore,
    /// Matched; nothing longer can.
    Complete,
}

/// One pattern: up to [`MAX_PATTERN_LEN`] key sets, and whether it ends in
/// `.`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Pattern {
    elems: [u16; MAX_PATTERN_LEN],
    len: u8,
    open: bool,
}

impl Pattern {
    /// Parse one pattern; `index` (1-based) only names it in errors.
    fn parse_indexed(text: &str, index: usize) -> Result<Self, DigitMapError> {
        let err = |pos: usize, what: &'static str| DigitMapError::Syntax {
            pattern: index,
            text: text.to_string(),
            pos: pos + 1,
            what,
        };
        let b = text.as_bytes();
        let mut p = Pattern { elems: [0; MAX_PATTERN_LEN], len: 0, open: false };
        let mut i = 0;
        while i < b.len() {
            if p.open {
                return Err(err(i, "'.' must be the last element"));
            }
            let set = match b[i] {
                b'.' => {
                    p.open = true;
                    i += 1;
                    continue;
                }
                b'X' | b'x' => DIGITS,
                b'[' => {
                    let start = i;
                    let mut set = 0u16;
                    i += 1;
                    loop {
                        match b.get(i) {
                            None => return Err(err(start, "'[' without ']'")),
                            Some(b']') => break,
                            Some(&lo) => {
                                let lo_bit = key_bit(lo).ok_or_else(|| err(i, "not a key inside [...]"))?;
                                if b.get(i + 1) == Some(&b'-') && b.get(i + 2).is_some_and(|&c| c != b']') {
                                    let hi = b[i + 2];
                                    if !lo.is_ascii_digit() || !hi.is_ascii_digit() {
                                        return Err(err(i, "ranges run over 0-9 only"));
                                    }
                                    if hi < lo {
                                        return Err(err(i, "range runs backwards"));
                                    }
                                    for c in lo..=hi {
                                        set |= key_bit(c).unwrap_or(0);
                                    }
                                    i += 3;
                                } else {
                                    set |= lo_bit;
                                    i += 1;
                                }
                            }
                        }
                    }
                    if set == 0 {
                        return Err(err(start, "empty set []"));
                    }
                    set
                }
                c => key_bit(c).ok_or_else(|| err(i, "not a key, X, [set] or '.'"))?,
            };
            if p.len as usize == MAX_PATTERN_LEN {
                return Err(DigitMapError::TooLong { pattern: index, text: text.to_string() });
            }
            p.elems[p.len as usize] = set;
            p.len += 1;
            i += 1;
        }
        if p.len == 0 && !p.open {
            return Err(DigitMapError::EmptyPattern { pattern: index });
        }
        Ok(p)
    }

    /// Parse one pattern.
    pub fn parse(text: &str) -> Result<Self, DigitMapError> {
        Self::parse_indexed(text.trim(), 1)
    }

    /// Keys before the `.`.
    pub fn len(&self) -> usize {
        self.len as usize
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// Whether the pattern ends in `.`.
    pub fn is_open(&self) -> bool {
        self.open
    }

    /// How `digits` (ASCII keys) stand against this pattern. A byte that
    /// is not a key matches nothing.
    pub fn check(&self, digits: &[u8]) -> PatternMatch {
        let n = self.len as usize;
        for (i, &c) in digits.iter().enumerate() {
            let Some(k) = key_bit(c) else { return PatternMatch::None };
            let set = if i < n {
                self.elems[i]
            } else if self.open {
                ANY_BUT_HASH
            } else {
                return PatternMatch::None;
            };
            if set & k == 0 {
                return PatternMatch::None;
            }
        }
        if digits.len() < n {
            PatternMatch::Partial
        } else if self.open {
            PatternMatch::FullOpen
        } else {
            PatternMatch::Full
        }
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &set in &self.elems[..self.len as usize] {
            if set == DIGITS {
                f.write_str("X")?;
            } else if set.count_ones() == 1 {
                let d = DtmfDigit::ALL[set.trailing_zeros() as usize];
                write!(f, "{d}")?;
            } else {
                f.write_str("[")?;
                for d in DtmfDigit::ALL {
                    if set & bit(d) != 0 {
                        write!(f, "{d}")?;
                    }
                }
                f.write_str("]")?;
            }
        }
        if self.open {
            f.write_str(".")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pattern({self})")
    }
}

/// A list of patterns; see the module doc.
#[derive(Clone, PartialEq, Eq)]
pub struct DigitMap {
    patterns: Vec<Pattern>,
}

impl DigitMap {
    /// Parse `1XX|8XXX|9.|0`, optionally inside parentheses.
    pub fn parse(text: &str) -> Result<Self, DigitMapError> {
        let mut t = text.trim();
        if let Some(inner) = t.strip_prefix('(').and_then(|s| s.strip_suffix(')')) {
            t = inner;
        }
        if t.trim().is_empty() {
            return Err(DigitMapError::Empty);
        }
        Self::from_patterns(t.split('|'))
    }

    /// One pattern per string.
    pub fn from_patterns<'a>(patterns: impl IntoIterator<Item = &'a str>) -> Result<Self, DigitMapError> {
        let mut v = Vec::new();
        for (i, text) in patterns.into_iter().enumerate() {
            if v.len() == MAX_PATTERNS {
                return Err(DigitMapError::TooMany);
            }
            v.push(Pattern::parse_indexed(text.trim(), i + 1)?);
        }
        if v.is_empty() {
            return Err(DigitMapError::Empty);
        }
        Ok(DigitMap { patterns: v })
    }

    pub fn patterns(&self) -> &[Pattern] {
        &self.patterns
    }

    /// How `digits` (ASCII keys) stand against the map.
    pub fn check(&self, digits: &[u8]) -> MapMatch {
        let (mut full, mut more) = (false, false);
        for p in &self.patterns {
            match p.check(digits) {
                PatternMatch::None => {}
                PatternMatch::Partial => more = true,
                PatternMatch::Full => full = true,
                PatternMatch::FullOpen => {
                    full = true;
                    more = true;
                }
            }
        }
        match (full, more) {
            (true, false) => MapMatch::Complete,
            (true, true) => MapMatch::CompleteMore,
            (false, true) => MapMatch::Partial,
            (false, false) => MapMatch::NoMatch,
        }
    }
}

impl Default for DigitMap {
    /// `1XX|8XXX|9.|0|[2-4]XX|*XX`: three-digit extensions 1xx and
    /// 2xx–4xx, four-digit 8xxx, 9 for an outside line (anything after it
    /// until the timeout or `#`), 0 for the operator, `*XX` features.
    fn default() -> Self {
        DigitMap::parse("1XX|8XXX|9.|0|[2-4]XX|*XX").unwrap_or(DigitMap { patterns: Vec::new() })
    }
}

impl fmt::Display for DigitMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.patterns.iter().enumerate() {
            if i > 0 {
                f.write_str("|")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for DigitMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DigitMap({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(map: &DigitMap, s: &str) -> MapMatch {
        map.check(s.as_bytes())
    }

    #[test]
    fn default_map_parses_and_prints() {
        let d = DigitMap::default();
        assert_eq!(d.patterns().len(), 6);
        assert_eq!(d.to_string(), "1XX|8XXX|9.|0|[234]XX|*XX");
    }

    #[test]
    fn elements() {
        let p = Pattern::parse("[2-4]X*#A").unwrap();
        assert_eq!(p.len(), 5);
        assert_eq!(p.check(b"30*#A"), PatternMatch::Full);
        assert_eq!(p.check(b"30*#a"), PatternMatch::Full, "lower-case A-D are keys");
        assert_eq!(p.check(b"50*#A"), PatternMatch::None);
        assert_eq!(p.check(b"3"), PatternMatch::Partial);
        assert_eq!(p.check(b""), PatternMatch::Partial);
        assert_eq!(p.check(b"3Z"), PatternMatch::None, "a byte that is no key matches nothing");
        assert_eq!(Pattern::parse("[135*]").unwrap().check(b"*"), PatternMatch::Full);
        assert_eq!(Pattern::parse("[1-3#]").unwrap().check(b"#"), PatternMatch::Full);
        assert_eq!(Pattern::parse("[1-3#]").unwrap().check(b"4"), PatternMatch::None);
        assert_eq!(Pattern::parse("x").unwrap().check(b"7"), PatternMatch::Full);
        assert_eq!(Pattern::parse("x").unwrap().check(b"*"), PatternMatch::None);
    }

    #[test]
    fn open_patterns() {
        let p = Pattern::parse("9.").unwrap();
        assert!(p.is_open());
        assert_eq!(p.check(b""), PatternMatch::Partial);
        assert_eq!(p.check(b"9"), PatternMatch::FullOpen);
        assert_eq!(p.check(b"9123*A"), PatternMatch::FullOpen);
        assert_eq!(p.check(b"91#"), PatternMatch::None, "'.' never takes the end key");
        assert_eq!(p.check(b"8"), PatternMatch::None);
        let any = Pattern::parse(".").unwrap();
        assert_eq!(any.check(b""), PatternMatch::FullOpen);
    }

    #[test]
    fn map_outcomes() {
        let d = DigitMap::default();
        assert_eq!(m(&d, ""), MapMatch::Partial);
        assert_eq!(m(&d, "1"), MapMatch::Partial);
        assert_eq!(m(&d, "12"), MapMatch::Partial);
        assert_eq!(m(&d, "123"), MapMatch::Complete);
        assert_eq!(m(&d, "1234"), MapMatch::NoMatch);
        assert_eq!(m(&d, "0"), MapMatch::Complete);
        assert_eq!(m(&d, "9"), MapMatch::CompleteMore);
        assert_eq!(m(&d, "9555"), MapMatch::CompleteMore);
        assert_eq!(m(&d, "5"), MapMatch::NoMatch);
        assert_eq!(m(&d, "*7"), MapMatch::Partial);
        assert_eq!(m(&d, "*72"), MapMatch::Complete);
        assert_eq!(m(&d, "812"), MapMatch::Partial);
        assert_eq!(m(&d, "8123"), MapMatch::Complete);
        let d = DigitMap::parse("(1XX|1XXX)").unwrap();
        assert_eq!(m(&d, "123"), MapMatch::CompleteMore);
        assert_eq!(m(&d, "1234"), MapMatch::Complete);
    }

    #[test]
    fn errors_name_the_pattern_and_position() {
        assert_eq!(DigitMap::parse(""), Err(DigitMapError::Empty));
        assert_eq!(DigitMap::parse("()"), Err(DigitMapError::Empty));
        assert_eq!(DigitMap::parse("1XX||0"), Err(DigitMapError::EmptyPattern { pattern: 2 }));
        let e = DigitMap::parse("1XX|9.1").unwrap_err();
        assert_eq!(e.to_string(), "pattern 2 (\"9.1\"), character 3: '.' must be the last element");
        let e = DigitMap::parse("1|[2-4").unwrap_err();
        assert!(matches!(e, DigitMapError::Syntax { pattern: 2, pos: 1, what: "'[' without ']'", .. }), "{e}");
        let e = DigitMap::parse("[2-4XX").unwrap_err();
        assert!(matches!(e, DigitMapError::Syntax { pos: 5, what: "not a key inside [...]", .. }), "{e}");
        assert!(matches!(DigitMap::parse("[4-2]"), Err(DigitMapError::Syntax { what: "range runs backwards", .. })));
        assert!(matches!(
            DigitMap::parse("[*-9]"),
            Err(DigitMapError::Syntax { what: "ranges run over 0-9 only", .. })
        ));
        assert!(matches!(DigitMap::parse("[]"), Err(DigitMapError::Syntax { what: "empty set []", .. })));
        assert!(matches!(DigitMap::parse("1Y"), Err(DigitMapError::Syntax { pos: 2, .. })));
        let long = "X".repeat(MAX_PATTERN_LEN + 1);
        assert!(matches!(DigitMap::parse(&long), Err(DigitMapError::TooLong { pattern: 1, .. })));
        assert!(DigitMap::parse(&"X".repeat(MAX_PATTERN_LEN)).is_ok());
        let many = vec!["1"; MAX_PATTERNS + 1].join("|");
        assert_eq!(DigitMap::parse(&many), Err(DigitMapError::TooMany));
        // A trailing '-' inside a set is the key '-'? No: it is not a key.
        assert!(DigitMap::parse("[1-]").is_err());
    }
}
