//! Caller ID sent as DTMF digits (ETSI EN 300 659-1 DTMF CLIP and the
//! national variants spandsp documents): the digit-string format, and a
//! receiver and generator on top of [`super::dtmf`].
//!
//! # Formats ([`DtmfCidFormat`])
//! - Variant 1 (BE, BR, DK, FI, IS, IN, NL, SA, SE, UY):
//!   `A<number>D<redirecting>B<code>C`, each field optional; codes `00`
//!   number unavailable, `10` restricted (private).
//! - Variant 2: `A<number>#`, or `D1#` restricted, `D2#` international,
//!   `D3#` unavailable.
//! - Variant 3 (TW, KW): `D<number>C`.
//! - Variant 4 (DK, NL): `<number>#`, no start marker; only taken when the
//!   receiver is told to expect it.
//!
//! The result is the same [`CallerId`] the FSK receiver produces:
//! absence reasons map to [`Absence::Private`] (restricted),
//! [`Absence::Unavailable`] and [`Absence::International`], other variant-1
//! codes to `Absence::Unknown(code)` with the code's value 0–99.
//!
//! # Receiver
//! [`DtmfCidReceiver`] runs a [`DtmfDetector`], starts a message only on a
//! start marker (`A`, `B`, `D`; any digit for variant 4), ends it on `C` or
//! `#`, and reports [`DtmfCidEvent::CallerId`] when the string parses, or
//! [`DtmfCidEvent::Error`] (bad string, too long, or no digit for
//! [`DtmfCidRxConfig::digit_timeout_ms`] before the end marker).
//!
//! # Not implemented
//! Polarity reversal and ring-pattern wake-up are the line's business, not
//! this module's; no check of inter-digit timing beyond the timeout.

use std::fmt;
use std::sync::Arc;

use super::cid::{Absence, CallerId, CidText, NUMBER_CAPACITY};
use super::dtmf::{DtmfDetector, DtmfEvent, DtmfGenerator, DtmfRxDescriptor, DtmfTxConfig, DtmfTxError};

/// Longest digit string handled, end marker included.
pub const MAX_DTMF_CID_DIGITS: usize = 64;
/// Samples fed to the DTMF detector at a time (keeps its event list
/// within the capacity reserved at construction).
const RX_SLICE: usize = 160;

/// Which DTMF caller-ID layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DtmfCidFormat {
    /// Variant 1: `A<number>D<redirecting>B<code>C`.
    StartAEndC,
    /// Variant 2: `A<number>#`, `D1#`, `D2#`, `D3#`.
    StartAEndHash,
    /// Variant 3: `D<number>C`.
    StartDEndC,
    /// Variant 4: `<number>#`.
    EndHash,
}

/// A malformed or unrepresentable digit string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DtmfCidError {
    #[error("empty DTMF caller-ID string")]
    Empty,
    #[error("'{0}' at position {1} is not allowed there")]
    Unexpected(char, usize),
    #[error("no end marker ('C' or '#')")]
    NoEnd,
    #[error("no start marker")]
    NoStart,
    #[error("code B{0}{1} must be two digits")]
    BadCode(char, char),
    #[error("more than {MAX_DTMF_CID_DIGITS} digits")]
    TooLong,
    #[error("field of {0} digits exceeds the number capacity")]
    NumberTooLong(usize),
    #[error("this caller ID cannot be written in the chosen format: {0}")]
    Unrepresentable(&'static str),
    #[error("no digit for the timeout after {0} digits: message cut short")]
    Timeout(usize),
}

/// A DTMF digit string stored inline.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct DtmfCidDigits {
    len: u8,
    buf: [u8; MAX_DTMF_CID_DIGITS],
}

impl DtmfCidDigits {
    pub fn new() -> Self {
        DtmfCidDigits { len: 0, buf: [0; MAX_DTMF_CID_DIGITS] }
    }
    fn push(&mut self, c: u8) -> Result<(), DtmfCidError> {
        if self.len as usize >= MAX_DTMF_CID_DIGITS {
            return Err(DtmfCidError::TooLong);
        }
        self.buf[self.len as usize] = c;
        self.len += 1;
        Ok(())
    }
    fn extend(&mut self, s: &[u8]) -> Result<(), DtmfCidError> {
        s.iter().try_for_each(|&c| self.push(c))
    }
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len as usize]
    }
    pub fn as_str(&self) -> &str {
        // Only DTMF characters (ASCII) are ever stored.
        std::str::from_utf8(self.as_bytes()).unwrap_or("")
    }
    pub fn len(&self) -> usize {
        self.len as usize
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl std::str::FromStr for DtmfCidDigits {
    type Err = DtmfCidError;
    /// Copy a string of DTMF characters (0-9 * # A-D).
    fn from_str(s: &str) -> Result<Self, DtmfCidError> {
        let mut d = Self::new();
        for (i, c) in s.chars().enumerate() {
            if !is_dtmf_char(c) {
                return Err(DtmfCidError::Unexpected(c, i));
            }
            d.push(c as u8)?;
        }
        Ok(d)
    }
}

impl Default for DtmfCidDigits {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for DtmfCidDigits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.as_str())
    }
}

impl fmt::Display for DtmfCidDigits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn is_dtmf_char(c: char) -> bool {
    c.is_ascii_digit() || matches!(c, '*' | '#' | 'A' | 'B' | 'C' | 'D')
}

/// Split `s` at the first non-digit: (digits, rest).
fn take_digits(s: &[u8]) -> (&[u8], &[u8]) {
    let n = s.iter().take_while(|c| c.is_ascii_digit()).count();
    s.split_at(n)
}

fn number(d: &[u8]) -> Result<Option<CidText<NUMBER_CAPACITY>>, DtmfCidError> {
    if d.is_empty() {
        return Ok(None);
    }
    CidText::new(d).map(Some).map_err(|_| DtmfCidError::NumberTooLong(d.len()))
}

/// Guess the format of a complete digit string from its first and last
/// characters. Variant 4 is never guessed (it has no start marker); `D…C`
/// is taken as variant 3.
pub fn detect_format(digits: &[u8]) -> Result<DtmfCidFormat, DtmfCidError> {
    let (&first, &last) = match (digits.first(), digits.last()) {
        (Some(f), Some(l)) => (f, l),
        _ => return Err(DtmfCidError::Empty),
    };
    match (first, last) {
        (b'A' | b'B', b'C') => Ok(DtmfCidFormat::StartAEndC),
        (b'A' | b'D', b'#') => Ok(DtmfCidFormat::StartAEndHash),
        (b'D', b'C') => Ok(DtmfCidFormat::StartDEndC),
        (b'A' | b'B' | b'D', _) => Err(DtmfCidError::NoEnd),
        (c, _) => Err(DtmfCidError::Unexpected(c as char, 0)),
    }
}

/// Parse a complete digit string in `format`.
pub fn parse(digits: &[u8], format: DtmfCidFormat) -> Result<CallerId, DtmfCidError> {
    if digits.is_empty() {
        return Err(DtmfCidError::Empty);
    }
    if digits.len() > MAX_DTMF_CID_DIGITS {
        return Err(DtmfCidError::TooLong);
    }
    let at = |rest: &[u8]| digits.len() - rest.len();
    let unexpected = |rest: &[u8]| match rest.first() {
        Some(&c) => DtmfCidError::Unexpected(c as char, at(rest)),
        None => DtmfCidError::NoEnd,
    };
    let mut cid = CallerId::default();
    match format {
        DtmfCidFormat::StartAEndC => {
            let mut rest = digits;
            if let [b'A', r @ ..] = rest {
                let (n, r) = take_digits(r);
                cid.number = number(n)?;
                rest = r;
            }
            if let [b'D', r @ ..] = rest {
                let (n, r) = take_digits(r);
                cid.redirecting_number = number(n)?;
                rest = r;
            }
            if let [b'B', r @ ..] = rest {
                match r {
                    [a, b, r2 @ ..] if a.is_ascii_digit() && b.is_ascii_digit() => {
                        cid.number_absence = Some(match (a, b) {
                            (b'0', b'0') => Absence::Unavailable,
                            (b'1', b'0') => Absence::Private,
                            _ => Absence::Unknown((a - b'0') * 10 + (b - b'0')),
                        });
                        rest = r2;
                    }
                    [a, b, ..] => return Err(DtmfCidError::BadCode(*a as char, *b as char)),
                    _ => return Err(DtmfCidError::NoEnd),
                }
            }
            if rest != b"C" {
                return Err(if rest.is_empty() { DtmfCidError::NoEnd } else { unexpected(rest) });
            }
            if rest.len() == digits.len() {
                return Err(DtmfCidError::NoStart);
            }
        }
        DtmfCidFormat::StartAEndHash => match digits {
            [b'D', c @ b'1'..=b'3', b'#'] => {
                cid.number_absence = Some(match c {
                    b'1' => Absence::Private,
                    b'2' => Absence::International,
                    _ => Absence::Unavailable,
                })
            }
            [b'A', r @ ..] => {
                let (n, rest) = take_digits(r);
                if rest != b"#" {
                    return Err(if rest.is_empty() { DtmfCidError::NoEnd } else { unexpected(rest) });
                }
                cid.number = number(n)?;
                if cid.number.is_none() {
                    return Err(DtmfCidError::Empty);
                }
            }
            _ => return Err(unexpected(digits)),
        },
        DtmfCidFormat::StartDEndC | DtmfCidFormat::EndHash => {
            let (body, end) = if format == DtmfCidFormat::StartDEndC {
                match digits {
                    [b'D', r @ ..] => (r, b'C'),
                    _ => return Err(DtmfCidError::NoStart),
                }
            } else {
                (digits, b'#')
            };
            let (n, rest) = take_digits(body);
            if rest != [end] {
                return Err(if rest.is_empty() { DtmfCidError::NoEnd } else { unexpected(rest) });
            }
            cid.number = number(n)?;
            if cid.number.is_none() {
                return Err(DtmfCidError::Empty);
            }
        }
    }
    Ok(cid)
}

fn digits_only(n: &CidText<NUMBER_CAPACITY>) -> Result<&[u8], DtmfCidError> {
    if n.as_bytes().iter().all(u8::is_ascii_digit) {
        Ok(n.as_bytes())
    } else {
        Err(DtmfCidError::Unrepresentable("DTMF numbers are digits only"))
    }
}

/// Write `cid` as a digit string in `format`.
pub fn format(cid: &CallerId, format: DtmfCidFormat) -> Result<DtmfCidDigits, DtmfCidError> {
    let mut d = DtmfCidDigits::new();
    match format {
        DtmfCidFormat::StartAEndC => {
            if let Some(n) = &cid.number {
                d.push(b'A')?;
                d.extend(digits_only(n)?)?;
            }
            if let Some(r) = &cid.redirecting_number {
                d.push(b'D')?;
                d.extend(digits_only(r)?)?;
            }
            if let Some(a) = cid.number_absence {
                let code = match a {
                    Absence::Unavailable => 0,
                    Absence::Private => 10,
                    Absence::Unknown(v) if v < 100 => v,
                    _ => return Err(DtmfCidError::Unrepresentable("variant 1 codes are 00 and 10")),
                };
                d.extend(&[b'B', b'0' + code / 10, b'0' + code % 10])?;
            }
            if d.is_empty() {
                return Err(DtmfCidError::Unrepresentable("no number, redirecting number or code"));
            }
            d.push(b'C')?;
        }
        DtmfCidFormat::StartAEndHash => match (&cid.number, cid.number_absence) {
            (Some(n), _) => {
                d.push(b'A')?;
                d.extend(digits_only(n)?)?;
                d.push(b'#')?;
            }
            (None, Some(Absence::Private)) => d.extend(b"D1#")?,
            (None, Some(Absence::International)) => d.extend(b"D2#")?,
            (None, Some(Absence::Unavailable)) => d.extend(b"D3#")?,
            _ => return Err(DtmfCidError::Unrepresentable("variant 2 needs a number or D1/D2/D3")),
        },
        DtmfCidFormat::StartDEndC | DtmfCidFormat::EndHash => {
            let n = cid.number.as_ref().ok_or(DtmfCidError::Unrepresentable("variants 3 and 4 carry a number only"))?;
            if format == DtmfCidFormat::StartDEndC {
                d.push(b'D')?;
            }
            d.extend(digits_only(n)?)?;
            d.push(if format == DtmfCidFormat::StartDEndC { b'C' } else { b'#' })?;
        }
    }
    Ok(d)
}

/// Receiver settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtmfCidRxConfig {
    /// Expected format; `None` guesses variants 1–3 from the markers.
    pub format: Option<DtmfCidFormat>,
    /// Longest silence between two digits of one message.
    pub digit_timeout_ms: u32,
}

impl Default for DtmfCidRxConfig {
    fn default() -> Self {
        DtmfCidRxConfig { format: None, digit_timeout_ms: 1000 }
    }
}

/// What the DTMF caller-ID receiver reports; `start` is the first digit's
/// first sample, `end` the sample after the end marker's tone.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DtmfCidEvent {
    CallerId { caller_id: CallerId, format: DtmfCidFormat, digits: DtmfCidDigits, start: u64, end: u64 },
    Error { error: DtmfCidError, digits: DtmfCidDigits, start: u64, end: u64 },
}

impl DtmfCidEvent {
    pub fn caller_id(&self) -> Option<&CallerId> {
        match self {
            DtmfCidEvent::CallerId { caller_id, .. } => Some(caller_id),
            DtmfCidEvent::Error { .. } => None,
        }
    }
}

/// Per-channel DTMF caller-ID receiver.
#[derive(Debug, Clone)]
pub struct DtmfCidReceiver {
    config: DtmfCidRxConfig,
    det: DtmfDetector,
    /// Detector events of one slice (capacity reserved at construction).
    scratch: Vec<DtmfEvent>,
    digits: DtmfCidDigits,
    start: u64,
    last_end: u64,
}

impl DtmfCidReceiver {
    pub fn new(config: DtmfCidRxConfig) -> Self {
        Self::with_detector(config, DtmfRxDescriptor::shared_default())
    }

    pub fn with_detector(config: DtmfCidRxConfig, desc: Arc<DtmfRxDescriptor>) -> Self {
        DtmfCidReceiver {
            config,
            det: DtmfDetector::new(desc),
            scratch: Vec::with_capacity(16),
            digits: DtmfCidDigits::new(),
            start: 0,
            last_end: 0,
        }
    }

    pub fn reset(&mut self) {
        self.det.reset();
        self.digits = DtmfCidDigits::new();
    }

    /// Samples fed since construction or reset.
    pub fn position(&self) -> u64 {
        self.det.position()
    }

    /// Feed audio (any block length); events are appended to `out`.
    pub fn rx(&mut self, samples: &[i16], out: &mut Vec<DtmfCidEvent>) {
        self.rx_with(samples, &mut |e| out.push(e));
    }

    /// Feed audio, handing events to `sink`.
    pub fn rx_with(&mut self, samples: &[i16], sink: &mut impl FnMut(DtmfCidEvent)) {
        for slice in samples.chunks(RX_SLICE) {
            self.scratch.clear();
            self.det.rx(slice, &mut self.scratch);
            self.drain(sink);
        }
        self.check_timeout(sink);
    }

    /// End of the stream: a digit still sounding ends now, and an
    /// unfinished message is reported.
    pub fn flush(&mut self, sink: &mut impl FnMut(DtmfCidEvent)) {
        self.scratch.clear();
        self.det.flush(&mut self.scratch);
        self.drain(sink);
        if !self.digits.is_empty() {
            self.fail(DtmfCidError::Timeout(self.digits.len()), sink);
        }
    }

    fn timeout_samples(&self) -> u64 {
        self.config.digit_timeout_ms as u64 * 8
    }

    fn check_timeout(&mut self, sink: &mut impl FnMut(DtmfCidEvent)) {
        if !self.digits.is_empty()
            && self.det.current().is_none()
            && self.det.position() > self.last_end + self.timeout_samples()
        {
            self.fail(DtmfCidError::Timeout(self.digits.len()), sink);
        }
    }

    fn fail(&mut self, error: DtmfCidError, sink: &mut impl FnMut(DtmfCidEvent)) {
        sink(DtmfCidEvent::Error { error, digits: self.digits, start: self.start, end: self.last_end });
        self.digits = DtmfCidDigits::new();
    }

    fn drain(&mut self, sink: &mut impl FnMut(DtmfCidEvent)) {
        for i in 0..self.scratch.len() {
            if let DtmfEvent::Digit(t) = self.scratch[i] {
                self.on_digit(t.digit.as_char() as u8, t.start, t.end, sink);
            }
        }
    }

    fn on_digit(&mut self, c: u8, start: u64, end: u64, sink: &mut impl FnMut(DtmfCidEvent)) {
        if !self.digits.is_empty() && start > self.last_end + self.timeout_samples() {
            self.fail(DtmfCidError::Timeout(self.digits.len()), sink);
        }
        if self.digits.is_empty() {
            let starts = match self.config.format {
                None => matches!(c, b'A' | b'B' | b'D'),
                Some(DtmfCidFormat::StartAEndC) => matches!(c, b'A' | b'B' | b'D'),
                Some(DtmfCidFormat::StartAEndHash) => matches!(c, b'A' | b'D'),
                Some(DtmfCidFormat::StartDEndC) => c == b'D',
                Some(DtmfCidFormat::EndHash) => c.is_ascii_digit(),
            };
            if !starts {
                return;
            }
            self.start = start;
        }
        self.last_end = end;
        if self.digits.push(c).is_err() {
            self.fail(DtmfCidError::TooLong, sink);
            return;
        }
        if c == b'C' || c == b'#' {
            let digits = self.digits;
            self.digits = DtmfCidDigits::new();
            let parsed = match self.config.format {
                Some(f) => Ok(f),
                None => detect_format(digits.as_bytes()),
            }
            .and_then(|f| parse(digits.as_bytes(), f).map(|c| (f, c)));
            sink(match parsed {
                Ok((format, caller_id)) => DtmfCidEvent::CallerId { caller_id, format, digits, start: self.start, end },
                Err(error) => DtmfCidEvent::Error { error, digits, start: self.start, end },
            });
        }
    }
}

/// Plays a caller ID as DTMF digits.
#[derive(Debug, Clone)]
pub struct DtmfCidGenerator {
    tones_tx: DtmfGenerator,
    digits: DtmfCidDigits,
}

/// Why a DTMF caller-ID generator could not be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DtmfCidTxError {
    #[error(transparent)]
    Format(#[from] DtmfCidError),
    #[error(transparent)]
    Dtmf(#[from] DtmfTxError),
}

impl DtmfCidGenerator {
    /// `cid` written in `format`, played with `tones` (level, on/off times).
    pub fn new(cid: &CallerId, layout: DtmfCidFormat, tones: DtmfTxConfig) -> Result<Self, DtmfCidTxError> {
        Self::from_digits(format(cid, layout)?, tones)
    }

    /// Play these digits as given.
    pub fn from_digits(digits: DtmfCidDigits, tones: DtmfTxConfig) -> Result<Self, DtmfCidTxError> {
        let mut tones_tx = DtmfGenerator::new(tones)?;
        tones_tx.push(digits.as_str())?;
        Ok(DtmfCidGenerator { tones_tx, digits })
    }

    pub fn digits(&self) -> &DtmfCidDigits {
        &self.digits
    }

    /// Samples the whole string lasts.
    pub fn total_samples(&self) -> u64 {
        let c = self.tones_tx.config();
        self.digits.len() as u64 * (c.on_ms as u64 + c.off_ms as u64) * 8
    }

    pub fn is_done(&self) -> bool {
        self.tones_tx.is_idle()
    }

    /// Fill `out`; returns the samples written (fewer at the end).
    pub fn tx(&mut self, out: &mut [i16]) -> usize {
        self.tones_tx.tx(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::noise::NoiseGenerator;

    fn p(s: &str) -> Result<CallerId, DtmfCidError> {
        parse(s.as_bytes(), detect_format(s.as_bytes())?)
    }

    #[test]
    fn variant_1_fields() {
        let c = p("A0123456789C").unwrap();
        assert_eq!(c.number.unwrap(), "0123456789");
        let c = p("A123D456B10C").unwrap();
        assert_eq!(
            (c.number.unwrap(), c.redirecting_number.unwrap(), c.number_absence),
            (CidText::new(b"123").unwrap(), CidText::new(b"456").unwrap(), Some(Absence::Private))
        );
        assert_eq!(p("B00C").unwrap().number_absence, Some(Absence::Unavailable));
        assert_eq!(p("B10C").unwrap().number_absence, Some(Absence::Private));
        assert_eq!(p("B42C").unwrap().number_absence, Some(Absence::Unknown(42)));
        assert_eq!(parse(b"D555C", DtmfCidFormat::StartAEndC).unwrap().redirecting_number.unwrap(), "555");
        assert_eq!(p("A12B1C"), Err(DtmfCidError::BadCode('1', 'C')));
        assert_eq!(p("A12*3C"), Err(DtmfCidError::Unexpected('*', 3)));
        assert_eq!(p("A123"), Err(DtmfCidError::NoEnd));
        assert_eq!(parse(b"C", DtmfCidFormat::StartAEndC), Err(DtmfCidError::NoStart));
    }

    #[test]
    fn variant_2_3_4() {
        assert_eq!(p("A5551234#").unwrap().number.unwrap(), "5551234");
        assert_eq!(p("D1#").unwrap().number_absence, Some(Absence::Private));
        assert_eq!(p("D2#").unwrap().number_absence, Some(Absence::International));
        assert_eq!(p("D3#").unwrap().number_absence, Some(Absence::Unavailable));
        assert_eq!(p("D4#"), Err(DtmfCidError::Unexpected('D', 0)));
        assert_eq!(p("A#"), Err(DtmfCidError::Empty));
        assert_eq!(p("D886223456789C").unwrap().number.unwrap(), "886223456789");
        assert_eq!(parse(b"12345#", DtmfCidFormat::EndHash).unwrap().number.unwrap(), "12345");
        assert_eq!(p("12345#"), Err(DtmfCidError::Unexpected('1', 0)));
        assert_eq!(p(""), Err(DtmfCidError::Empty));
        assert_eq!(parse(&[b'1'; 70], DtmfCidFormat::EndHash), Err(DtmfCidError::TooLong));
        assert_eq!(parse(&[b'1'; 40], DtmfCidFormat::EndHash), Err(DtmfCidError::NoEnd));
    }

    #[test]
    fn format_round_trips() {
        let mut c = CallerId::with_number("0201234567").unwrap();
        assert_eq!(format(&c, DtmfCidFormat::StartAEndC).unwrap().as_str(), "A0201234567C");
        assert_eq!(format(&c, DtmfCidFormat::StartAEndHash).unwrap().as_str(), "A0201234567#");
        assert_eq!(format(&c, DtmfCidFormat::StartDEndC).unwrap().as_str(), "D0201234567C");
        assert_eq!(format(&c, DtmfCidFormat::EndHash).unwrap().as_str(), "0201234567#");
        c.redirecting_number = Some(CidText::new(b"777").unwrap());
        assert_eq!(format(&c, DtmfCidFormat::StartAEndC).unwrap().as_str(), "A0201234567D777C");
        let private = CallerId { number_absence: Some(Absence::Private), ..Default::default() };
        assert_eq!(format(&private, DtmfCidFormat::StartAEndC).unwrap().as_str(), "B10C");
        assert_eq!(format(&private, DtmfCidFormat::StartAEndHash).unwrap().as_str(), "D1#");
        assert!(format(&private, DtmfCidFormat::StartDEndC).is_err());
        assert!(format(&CallerId::with_number("12+3").unwrap(), DtmfCidFormat::EndHash).is_err());
        for f in
            [DtmfCidFormat::StartAEndC, DtmfCidFormat::StartAEndHash, DtmfCidFormat::StartDEndC, DtmfCidFormat::EndHash]
        {
            let d = format(&c, f).unwrap();
            let back = parse(d.as_bytes(), f).unwrap();
            assert_eq!(back.number, c.number, "{f:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(s in "[0-9A-D*#]{0,80}") {
            for f in [DtmfCidFormat::StartAEndC, DtmfCidFormat::StartAEndHash, DtmfCidFormat::StartDEndC, DtmfCidFormat::EndHash] {
                if let Ok(c) = parse(s.as_bytes(), f) {
                    // Whatever parses formats back to a string that parses the same.
                    if let Ok(d) = format(&c, f) {
                        proptest::prop_assert_eq!(parse(d.as_bytes(), f).unwrap(), c);
                    }
                }
            }
            let _ = detect_format(s.as_bytes());
        }
    }

    fn play(cid: &CallerId, f: DtmfCidFormat, noise_dbm0: Option<f64>) -> Vec<i16> {
        let mut g = DtmfCidGenerator::new(cid, f, DtmfTxConfig::default()).unwrap();
        let mut sig = vec![0i16; 800];
        let mut buf = vec![0i16; g.total_samples() as usize];
        assert_eq!(g.tx(&mut buf), buf.len());
        assert!(g.is_done());
        sig.extend(buf);
        sig.extend(vec![0i16; 800]);
        if let Some(n) = noise_dbm0 {
            NoiseGenerator::new(3, n).add_to(&mut sig);
        }
        sig
    }

    #[test]
    fn audio_loopback_every_format() {
        let c = CallerId::with_number("0123456789").unwrap();
        for f in
            [DtmfCidFormat::StartAEndC, DtmfCidFormat::StartAEndHash, DtmfCidFormat::StartDEndC, DtmfCidFormat::EndHash]
        {
            let sig = play(&c, f, Some(-40.0));
            let mut rx = DtmfCidReceiver::new(DtmfCidRxConfig { format: Some(f), ..Default::default() });
            let mut ev = Vec::new();
            for chunk in sig.chunks(97) {
                rx.rx(chunk, &mut ev);
            }
            rx.flush(&mut |e| ev.push(e));
            assert_eq!(ev.len(), 1, "{f:?}: {ev:?}");
            assert_eq!(ev[0].caller_id().unwrap().number, c.number);
            if let DtmfCidEvent::CallerId { start, .. } = ev[0] {
                assert!((start as i64 - 800).abs() < 40, "{start}");
            }
        }
    }

    #[test]
    fn unfinished_message_times_out() {
        let d = "A123".parse::<DtmfCidDigits>().unwrap();
        let mut g = DtmfCidGenerator::from_digits(d, DtmfTxConfig::default()).unwrap();
        let mut sig = vec![0i16; 8000 * 2];
        g.tx(&mut sig);
        let mut rx = DtmfCidReceiver::new(DtmfCidRxConfig::default());
        let mut ev = Vec::new();
        rx.rx(&sig, &mut ev);
        assert!(matches!(ev[..], [DtmfCidEvent::Error { error: DtmfCidError::Timeout(4), .. }]), "{ev:?}");
        assert!("A1x".parse::<DtmfCidDigits>().is_err());
    }
}
