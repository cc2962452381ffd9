//! Caller ID over FSK: the message layer (SDMF and MDMF), a receiver that
//! finds messages in line audio and a generator that sends them.
//!
//! # Standards
//! - Bellcore GR-30-CORE (CLASS): Bell 202 FSK, SDMF caller ID (0x04),
//!   SDMF message waiting (0x06), MDMF caller ID (0x80) and message waiting
//!   (0x82),
//! - ETSI EN 300 659-1/-3 (CLIP): V.23 FSK, call set-up (0x80) and message
//!   waiting (0x82) with the same type–length–value parameters, optional
//!   dual-tone alerting signal (DT-AS, 2130 + 2750 Hz) before the data.
//!
//! A message is `type, length, body, checksum`, the checksum being the two's
//! complement of the mod-256 sum of the octets before it. It is sent as
//! 8N1 characters after a channel seizure (alternating bits) and a run of
//! marks.
//!
//! # Wire layer (smoltcp style)
//! [`Message`] is a view over a buffer: [`Message::new_checked`] validates
//! the length once, after which no accessor panics. [`ParamIter`] walks an
//! MDMF body as `(type, data)` pairs and [`Param`] is the meaning of one
//! parameter; code points are enums with an `Unknown(x)` catch-all
//! ([`MessageType`], [`ParamType`], [`Absence`], [`CallType`]). [`CidMessage`]
//! is the parsed meaning of a whole message with `parse` and `emit`;
//! unknown MDMF parameters are kept in [`CallerId::unknown`].
//!
//! # Receiver
//! [`CallerIdReceiver`] runs the [`fsk`](super::fsk) demodulator in 8N1 mode.
//! It counts `0x55` characters (channel seizure), waits for a known
//! message type after at least [`CidRxConfig::min_mark_bits`] marks,
//! collects `length + 3` octets and then reports either a message
//! ([`CidEvent::Message`]) or an error ([`CidEvent::Error`]: bad checksum,
//! carrier lost or a long pause before the end, a framing error inside the
//! message, or a body that does not parse). A message is only reported when
//! its checksum is right, no character had a framing error and every
//! parameter parses (numbers are digits, the date is a real date): a damaged
//! message never yields a number.
//!
//! # Generator
//! [`CallerIdGenerator`] plays, for Bell 202 or V.23: an optional DT-AS and
//! pause, the channel seizure (300 bits of 0101…), marks (180 bits), the
//! message in 8N1 and a few marks after it, phase continuous at a level in
//! dBm0.
//!
//! # Measured (tests/cid_conformance.rs, tests/cid_witness.rs, benches/cid.rs)
//! - Every message decoded from −5 to −40 dBm0, linear, A-law and μ-law,
//!   for both standards; every message decoded at 12 dB SNR (white noise
//!   0–4 kHz against the FSK level) at −10, −25 and −40 dBm0.
//! - Bit flips, dropped octets, truncation and noise bursts: an error event
//!   or nothing, never a caller ID other than what was on the wire.
//! - No caller ID out of the shared speech and music corpora or synthetic
//!   look-alike signals at −5, −15 and −30 dBm0.
//! - spandsp's `adsi_rx` decodes every message we send and we decode every
//!   message its `adsi_tx` sends (CLASS and CLIP).
//! - About 3× spandsp's `adsi_rx` in channels per core on the same audio.
//!
//! # Not implemented
//! Japanese (NTT) caller ID with its DLE framing and CRC, the DT-AS
//! *detector*, the CPE acknowledgement of type II (call-waiting) caller ID,
//! and the interpretation of advice-of-charge and SMS bodies (they are
//! reported as [`CidMessage::Other`] with their raw octets).

use std::fmt;

use super::fsk::{FskFraming, FskRx, FskRxDescriptor, FskRxEvent, FskSpec, FskTx};
use super::tonegen::{ToneFreq, ToneGenerator, ToneSpec};

/// Longest message on the wire: type, length, 255 body octets, checksum.
pub const MAX_MESSAGE_LEN: usize = 258;
/// Capacity of a number field (the standards allow 20 digits).
pub const NUMBER_CAPACITY: usize = 32;
/// Capacity of a name field (ETSI allows 50 characters).
pub const NAME_CAPACITY: usize = 64;
/// Unknown MDMF parameters kept in a [`CallerId`].
pub const MAX_UNKNOWN_PARAMS: usize = 4;
/// Longest unknown parameter kept, octets.
pub const UNKNOWN_PARAM_CAPACITY: usize = 32;

mod field {
    pub const TYPE: usize = 0;
    pub const LENGTH: usize = 1;
    pub const BODY: usize = 2;
}

/// Two's complement of the mod-256 sum of `bytes`: the checksum octet.
pub fn checksum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |a, &b| a.wrapping_add(b)).wrapping_neg()
}

/// Errors of the message layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CidError {
    #[error("caller-ID message truncated: needs {needed} octets, has {have}")]
    Truncated { needed: usize, have: usize },
    #[error("caller-ID checksum wrong: octets sum to {sum:#04x} instead of 0")]
    BadChecksum { sum: u8 },
    #[error("MDMF parameter at body offset {offset} runs past the end of the message")]
    ParamTruncated { offset: usize },
    #[error("parameter {kind:#04x} has length {len}, which its type does not allow")]
    BadParamLength { kind: u8, len: usize },
    #[error("date/time is not MMDDHHMM with a real month, day, hour and minute")]
    BadDateTime,
    #[error("number field holds a character that is not a digit: {0:#04x}")]
    BadNumber(u8),
    #[error("text field holds a control character: {0:#04x}")]
    BadText(u8),
    #[error("field of {len} octets exceeds this implementation's capacity of {capacity}")]
    FieldTooLong { len: usize, capacity: usize },
    #[error("message body of {0} octets exceeds 255")]
    MessageTooLong(usize),
    #[error("output buffer of {have} octets is too small for {needed}")]
    BufferTooSmall { needed: usize, have: usize },
    #[error("{0} is required in this message format")]
    Missing(&'static str),
    #[error("message-waiting indicator has an unknown value")]
    BadMessageWaiting,
    #[error("message type {0:#04x} cannot be emitted from parsed fields")]
    NotEmittable(u8),
}

macro_rules! code_enum {
    ($(#[$m:meta])* pub enum $name:ident { $($(#[$vm:meta])* $var:ident = $val:expr,)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vm])* $var,)*
            /// A code point this implementation does not name.
            Unknown(u8),
        }
        impl From<u8> for $name {
            fn from(v: u8) -> Self {
                match v {
                    $($val => $name::$var,)*
                    other => $name::Unknown(other),
                }
            }
        }
        impl From<$name> for u8 {
            fn from(v: $name) -> u8 {
                match v {
                    $($name::$var => $val,)*
                    $name::Unknown(other) => other,
                }
            }
        }
    };
}

code_enum! {
    /// Message type octet.
    pub enum MessageType {
        /// Bellcore single data message caller ID.
        SdmfCallerId = 0x04,
        /// Bellcore single data message message waiting.
        SdmfMessageWaiting = 0x06,
        /// Bellcore MDMF caller ID / ETSI call set-up.
        MdmfCallerId = 0x80,
        /// Bellcore MDMF message waiting / ETSI message-waiting indicator.
        MdmfMessageWaiting = 0x82,
        /// ETSI advice of charge.
        AdviceOfCharge = 0x86,
        /// ETSI short message service.
        ShortMessage = 0x89,
    }
}

code_enum! {
    /// MDMF parameter type octet.
    pub enum ParamType {
        /// Date and time, MMDDHHMM.
        DateTime = 0x01,
        /// Calling line identity.
        CallingNumber = 0x02,
        /// Called (dialled) line identity.
        CalledNumber = 0x03,
        /// Reason the calling number is absent ('O', 'P').
        NumberAbsent = 0x04,
        /// Bellcore call forwarding reason (redirect).
        RedirectReason = 0x05,
        /// Bellcore long-distance indicator ('L').
        LongDistance = 0x06,
        /// Calling party name.
        CallingName = 0x07,
        /// Reason the name is absent ('O', 'P').
        NameAbsent = 0x08,
        /// Message-waiting visual indicator (0xFF on, 0x00 off).
        VisualIndicator = 0x0B,
        /// ETSI call type.
        CallType = 0x11,
        /// ETSI number of messages waiting.
        MessageCount = 0x13,
        /// ETSI redirecting number.
        RedirectingNumber = 0x1A,
    }
}

code_enum! {
    /// Why a number or name is not given.
    pub enum Absence {
        /// 'O': unavailable (out of area).
        Unavailable = b'O',
        /// 'P': private (withheld by the caller).
        Private = b'P',
        /// 'I': international (Taiwan/Kuwait code, DTMF `D2#`).
        International = b'I',
    }
}

code_enum! {
    /// ETSI call type (parameter 0x11).
    pub enum CallType {
        Voice = 0x01,
        RingBackWhenFree = 0x02,
        CallingNameDelivery = 0x03,
        MessageWaiting = 0x81,
    }
}

/// A read-only view over a caller-ID message in a buffer.
#[derive(Debug, Clone, Copy)]
pub struct Message<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Message<T> {
    /// Wrap without checking; accessors may panic on a short buffer.
    pub fn new_unchecked(buffer: T) -> Self {
        Message { buffer }
    }

    /// Wrap and check that the buffer holds the whole message the length
    /// octet announces (the checksum is not verified here).
    pub fn new_checked(buffer: T) -> Result<Self, CidError> {
        let m = Message { buffer };
        m.check_len()?;
        Ok(m)
    }

    pub fn check_len(&self) -> Result<(), CidError> {
        let b = self.buffer.as_ref();
        if b.len() < field::BODY + 1 {
            return Err(CidError::Truncated { needed: field::BODY + 1, have: b.len() });
        }
        let needed = field::BODY + b[field::LENGTH] as usize + 1;
        if b.len() < needed {
            return Err(CidError::Truncated { needed, have: b.len() });
        }
        Ok(())
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }
    pub fn message_type(&self) -> MessageType {
        self.buffer.as_ref()[field::TYPE].into()
    }
    /// The length octet: octets in the body.
    pub fn length(&self) -> u8 {
        self.buffer.as_ref()[field::LENGTH]
    }
    /// Octets on the wire, checksum included.
    pub fn total_len(&self) -> usize {
        field::BODY + self.length() as usize + 1
    }
    pub fn body(&self) -> &[u8] {
        &self.buffer.as_ref()[field::BODY..field::BODY + self.length() as usize]
    }
    pub fn checksum(&self) -> u8 {
        self.buffer.as_ref()[field::BODY + self.length() as usize]
    }
    /// Whether all octets, checksum included, sum to zero.
    pub fn verify_checksum(&self) -> bool {
        self.sum() == 0
    }
    fn sum(&self) -> u8 {
        self.buffer.as_ref()[..self.total_len()].iter().fold(0u8, |a, &b| a.wrapping_add(b))
    }
    /// The MDMF parameters of the body.
    pub fn params(&self) -> ParamIter<'_> {
        ParamIter::new(self.body())
    }
    /// The whole message as bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buffer.as_ref()[..self.total_len()]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Message<T> {
    pub fn set_message_type(&mut self, t: MessageType) {
        self.buffer.as_mut()[field::TYPE] = t.into();
    }
    pub fn set_length(&mut self, len: u8) {
        self.buffer.as_mut()[field::LENGTH] = len;
    }
    pub fn body_mut(&mut self) -> &mut [u8] {
        let len = self.length() as usize;
        &mut self.buffer.as_mut()[field::BODY..field::BODY + len]
    }
    /// Compute and store the checksum.
    pub fn fill_checksum(&mut self) {
        let end = field::BODY + self.length() as usize;
        let c = checksum(&self.buffer.as_ref()[..end]);
        self.buffer.as_mut()[end] = c;
    }
}

/// Iterator over the `(type, data)` parameters of an MDMF body. Yields an
/// error (once) when a parameter runs past the end.
#[derive(Debug, Clone)]
pub struct ParamIter<'a> {
    body: &'a [u8],
    pos: usize,
}

impl<'a> ParamIter<'a> {
    pub fn new(body: &'a [u8]) -> Self {
        ParamIter { body, pos: 0 }
    }
}

impl<'a> Iterator for ParamIter<'a> {
    type Item = Result<(u8, &'a [u8]), CidError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.body.len() {
            return None;
        }
        let offset = self.pos;
        let rest = &self.body[offset..];
        let len = match rest.get(1) {
            Some(&l) => l as usize,
            None => {
                self.pos = self.body.len();
                return Some(Err(CidError::ParamTruncated { offset }));
            }
        };
        if rest.len() < 2 + len {
            self.pos = self.body.len();
            return Some(Err(CidError::ParamTruncated { offset }));
        }
        self.pos += 2 + len;
        Some(Ok((rest[0], &rest[2..2 + len])))
    }
}

/// Date and time of a call (no year: MMDDHHMM).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DateTime {
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
}

impl DateTime {
    /// Parse `MMDDHHMM` in ASCII.
    pub fn parse(data: &[u8]) -> Result<Self, CidError> {
        if data.len() != 8 {
            return Err(CidError::BadDateTime);
        }
        let mut v = [0u8; 4];
        for (i, pair) in data.chunks_exact(2).enumerate() {
            let (a, b) = (pair[0], pair[1]);
            if !a.is_ascii_digit() || !b.is_ascii_digit() {
                return Err(CidError::BadDateTime);
            }
            v[i] = (a - b'0') * 10 + (b - b'0');
        }
        let dt = DateTime { month: v[0], day: v[1], hour: v[2], minute: v[3] };
        if dt.is_valid() { Ok(dt) } else { Err(CidError::BadDateTime) }
    }

    pub fn is_valid(&self) -> bool {
        (1..=12).contains(&self.month) && (1..=31).contains(&self.day) && self.hour < 24 && self.minute < 60
    }

    /// The eight ASCII digits.
    pub fn to_ascii(&self) -> [u8; 8] {
        let d = |v: u8| [b'0' + v / 10 % 10, b'0' + v % 10];
        let (m, dd, h, mi) = (d(self.month), d(self.day), d(self.hour), d(self.minute));
        [m[0], m[1], dd[0], dd[1], h[0], h[1], mi[0], mi[1]]
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}-{:02} {:02}:{:02}", self.month, self.day, self.hour, self.minute)
    }
}

/// A short byte string stored inline (no allocation), for numbers and
/// names. Display maps each octet to the Latin-1 character of that value.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CidText<const N: usize> {
    len: u8,
    bytes: [u8; N],
}

/// A number field.
pub type CidNumber = CidText<NUMBER_CAPACITY>;
/// A name field.
pub type CidName = CidText<NAME_CAPACITY>;

impl<const N: usize> CidText<N> {
    /// Copy `bytes` in; fails when longer than `N` (or 255).
    pub fn new(bytes: &[u8]) -> Result<Self, CidError> {
        if bytes.len() > N || bytes.len() > 255 {
            return Err(CidError::FieldTooLong { len: bytes.len(), capacity: N.min(255) });
        }
        let mut b = [0u8; N];
        b[..bytes.len()].copy_from_slice(bytes);
        Ok(CidText { len: bytes.len() as u8, bytes: b })
    }
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }
    /// The text as `&str` when it is ASCII/UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(self.as_bytes()).ok()
    }
    pub fn len(&self) -> usize {
        self.len as usize
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<const N: usize> TryFrom<&str> for CidText<N> {
    type Error = CidError;
    fn try_from(s: &str) -> Result<Self, CidError> {
        Self::new(s.as_bytes())
    }
}

impl<const N: usize> fmt::Display for CidText<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &b in self.as_bytes() {
            fmt::Write::write_char(f, b as char)?;
        }
        Ok(())
    }
}

impl<const N: usize> fmt::Debug for CidText<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

impl<const N: usize> PartialEq<&str> for CidText<N> {
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

/// Characters allowed in a number field: digits and the few symbols
/// networks put there.
fn check_number(data: &[u8]) -> Result<(), CidError> {
    match data.iter().find(|&&c| !(c.is_ascii_digit() || matches!(c, b'*' | b'#' | b'+' | b' ' | b'-'))) {
        Some(&c) => Err(CidError::BadNumber(c)),
        None => Ok(()),
    }
}

fn check_text(data: &[u8]) -> Result<(), CidError> {
    match data.iter().find(|&&c| c < 0x20 || c == 0x7F) {
        Some(&c) => Err(CidError::BadText(c)),
        None => Ok(()),
    }
}

/// The meaning of one MDMF parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param<'a> {
    DateTime(DateTime),
    CallingNumber(&'a [u8]),
    CalledNumber(&'a [u8]),
    NumberAbsent(Absence),
    RedirectReason(u8),
    LongDistance(u8),
    CallingName(&'a [u8]),
    NameAbsent(Absence),
    VisualIndicator(u8),
    CallType(CallType),
    MessageCount(u8),
    RedirectingNumber(&'a [u8]),
    Unknown { kind: u8, data: &'a [u8] },
}

impl<'a> Param<'a> {
    /// Interpret one `(type, data)` pair, checking its length and content.
    pub fn parse(kind: u8, data: &'a [u8]) -> Result<Self, CidError> {
        let one =
            || if data.len() == 1 { Ok(data[0]) } else { Err(CidError::BadParamLength { kind, len: data.len() }) };
        Ok(match ParamType::from(kind) {
            ParamType::DateTime => Param::DateTime(DateTime::parse(data)?),
            ParamType::CallingNumber => {
                check_number(data)?;
                Param::CallingNumber(data)
            }
            ParamType::CalledNumber => {
                check_number(data)?;
                Param::CalledNumber(data)
            }
            ParamType::RedirectingNumber => {
                check_number(data)?;
                Param::RedirectingNumber(data)
            }
            ParamType::CallingName => {
                check_text(data)?;
                Param::CallingName(data)
            }
            ParamType::NumberAbsent => Param::NumberAbsent(one()?.into()),
            ParamType::NameAbsent => Param::NameAbsent(one()?.into()),
            ParamType::RedirectReason => Param::RedirectReason(one()?),
            ParamType::LongDistance => Param::LongDistance(one()?),
            ParamType::VisualIndicator => Param::VisualIndicator(one()?),
            ParamType::CallType => Param::CallType(one()?.into()),
            ParamType::MessageCount => Param::MessageCount(one()?),
            ParamType::Unknown(k) => Param::Unknown { kind: k, data },
        })
    }

    pub fn kind(&self) -> ParamType {
        match self {
            Param::DateTime(_) => ParamType::DateTime,
            Param::CallingNumber(_) => ParamType::CallingNumber,
            Param::CalledNumber(_) => ParamType::CalledNumber,
            Param::NumberAbsent(_) => ParamType::NumberAbsent,
            Param::RedirectReason(_) => ParamType::RedirectReason,
            Param::LongDistance(_) => ParamType::LongDistance,
            Param::CallingName(_) => ParamType::CallingName,
            Param::NameAbsent(_) => ParamType::NameAbsent,
            Param::VisualIndicator(_) => ParamType::VisualIndicator,
            Param::CallType(_) => ParamType::CallType,
            Param::MessageCount(_) => ParamType::MessageCount,
            Param::RedirectingNumber(_) => ParamType::RedirectingNumber,
            Param::Unknown { kind, .. } => ParamType::Unknown(*kind),
        }
    }

    /// Octets of data (without type and length).
    pub fn data_len(&self) -> usize {
        match self {
            Param::DateTime(_) => 8,
            Param::CallingNumber(d) | Param::CalledNumber(d) | Param::CallingName(d) | Param::RedirectingNumber(d) => {
                d.len()
            }
            Param::Unknown { data, .. } => data.len(),
            _ => 1,
        }
    }

    /// Octets on the wire: type, length, data.
    pub fn buffer_len(&self) -> usize {
        2 + self.data_len()
    }

    /// Write type, length and data at the start of `buf`; returns the
    /// octets written.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, CidError> {
        let n = self.buffer_len();
        if self.data_len() > 255 {
            return Err(CidError::FieldTooLong { len: self.data_len(), capacity: 255 });
        }
        if buf.len() < n {
            return Err(CidError::BufferTooSmall { needed: n, have: buf.len() });
        }
        buf[0] = self.kind().into();
        buf[1] = self.data_len() as u8;
        let d = &mut buf[2..n];
        match *self {
            Param::DateTime(dt) => d.copy_from_slice(&dt.to_ascii()),
            Param::CallingNumber(s) | Param::CalledNumber(s) | Param::CallingName(s) | Param::RedirectingNumber(s) => {
                d.copy_from_slice(s)
            }
            Param::Unknown { data, .. } => d.copy_from_slice(data),
            Param::NumberAbsent(a) | Param::NameAbsent(a) => d[0] = a.into(),
            Param::CallType(t) => d[0] = t.into(),
            Param::RedirectReason(v) | Param::LongDistance(v) | Param::VisualIndicator(v) | Param::MessageCount(v) => {
                d[0] = v
            }
        }
        Ok(n)
    }
}

/// An MDMF parameter this implementation does not interpret, kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownParam {
    pub kind: u8,
    pub data: CidText<UNKNOWN_PARAM_CAPACITY>,
}

/// Who is calling: what a caller-ID message (FSK SDMF/MDMF or DTMF) says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CallerId {
    pub date_time: Option<DateTime>,
    pub number: Option<CidNumber>,
    pub number_absence: Option<Absence>,
    pub name: Option<CidName>,
    pub name_absence: Option<Absence>,
    /// Called (dialled) number, parameter 0x03.
    pub called_number: Option<CidNumber>,
    /// Redirecting (diverting) number: ETSI parameter 0x1A, DTMF `D…` of
    /// variant 1.
    pub redirecting_number: Option<CidNumber>,
    /// Bellcore call-forward reason octet (parameter 0x05).
    pub redirect_reason: Option<u8>,
    /// Bellcore long-distance indicator (parameter 0x06, 'L').
    pub long_distance: bool,
    pub call_type: Option<CallType>,
    /// Unknown parameters in order (at most [`MAX_UNKNOWN_PARAMS`], each at
    /// most [`UNKNOWN_PARAM_CAPACITY`] octets: the rest are counted in
    /// `unknown_dropped`; the event's raw octets still hold them).
    pub unknown: [Option<UnknownParam>; MAX_UNKNOWN_PARAMS],
    pub unknown_dropped: u8,
}

impl CallerId {
    /// A caller ID with a number.
    pub fn with_number(number: &str) -> Result<Self, CidError> {
        check_number(number.as_bytes())?;
        Ok(CallerId { number: Some(CidText::try_from(number)?), ..Default::default() })
    }

    /// The known and unknown parameters in MDMF order.
    fn params(&self) -> impl Iterator<Item = Param<'_>> {
        [
            self.date_time.map(Param::DateTime),
            self.number.as_ref().map(|n| Param::CallingNumber(n.as_bytes())),
            self.number_absence.map(Param::NumberAbsent),
            self.name.as_ref().map(|n| Param::CallingName(n.as_bytes())),
            self.name_absence.map(Param::NameAbsent),
            self.called_number.as_ref().map(|n| Param::CalledNumber(n.as_bytes())),
            self.redirecting_number.as_ref().map(|n| Param::RedirectingNumber(n.as_bytes())),
            self.redirect_reason.map(Param::RedirectReason),
            if self.long_distance { Some(Param::LongDistance(b'L')) } else { None },
            self.call_type.map(Param::CallType),
        ]
        .into_iter()
        .flatten()
        .chain(self.unknown.iter().flatten().map(|u| Param::Unknown { kind: u.kind, data: u.data.as_bytes() }))
    }

    fn apply(&mut self, p: Param<'_>) -> Result<(), CidError> {
        match p {
            Param::DateTime(dt) => self.date_time = Some(dt),
            Param::CallingNumber(n) => self.number = Some(CidText::new(n)?),
            Param::CalledNumber(n) => self.called_number = Some(CidText::new(n)?),
            Param::RedirectingNumber(n) => self.redirecting_number = Some(CidText::new(n)?),
            Param::CallingName(n) => self.name = Some(CidText::new(n)?),
            Param::NumberAbsent(a) => self.number_absence = Some(a),
            Param::NameAbsent(a) => self.name_absence = Some(a),
            Param::RedirectReason(r) => self.redirect_reason = Some(r),
            Param::LongDistance(_) => self.long_distance = true,
            Param::CallType(t) => self.call_type = Some(t),
            Param::Unknown { kind, data } => self.keep_unknown(kind, data),
            // Message-waiting parameters in a call set-up: kept as unknown.
            p @ (Param::VisualIndicator(_) | Param::MessageCount(_)) => {
                let mut b = [0u8; 3];
                let n = p.emit(&mut b)?;
                self.keep_unknown(b[0], &b[2..n]);
            }
        }
        Ok(())
    }

    fn keep_unknown(&mut self, kind: u8, data: &[u8]) {
        let free = self.unknown.iter_mut().find(|u| u.is_none());
        match (free, CidText::new(data)) {
            (Some(slot), Ok(data)) => *slot = Some(UnknownParam { kind, data }),
            _ => self.unknown_dropped = self.unknown_dropped.saturating_add(1),
        }
    }
}

/// A message-waiting indication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MessageWaiting {
    /// Turn the indicator on (true) or off.
    pub active: bool,
    /// Messages waiting (ETSI parameter 0x13).
    pub count: Option<u8>,
    pub date_time: Option<DateTime>,
}

/// The meaning of a whole caller-ID message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CidMessage {
    /// 0x04: date/time and number (or 'O'/'P').
    SdmfCallerId(CallerId),
    /// 0x80: parameters.
    MdmfCallerId(CallerId),
    /// 0x06: three octets 0x42 (on) or 0x6F (off).
    SdmfMessageWaiting(MessageWaiting),
    /// 0x82: parameters 0x0B (and 0x13, 0x01).
    MdmfMessageWaiting(MessageWaiting),
    /// A type whose body is not interpreted here.
    Other(MessageType),
}

const SDMF_MWI_ON: u8 = 0x42;
const SDMF_MWI_OFF: u8 = 0x6F;

impl CidMessage {
    /// Interpret a checked message; the checksum must be right.
    pub fn parse<T: AsRef<[u8]>>(msg: &Message<T>) -> Result<Self, CidError> {
        if !msg.verify_checksum() {
            return Err(CidError::BadChecksum { sum: msg.sum() });
        }
        let body = msg.body();
        Ok(match msg.message_type() {
            MessageType::SdmfCallerId => {
                if body.len() < 8 {
                    return Err(CidError::Missing("date/time"));
                }
                let mut c = CallerId { date_time: Some(DateTime::parse(&body[..8])?), ..Default::default() };
                let rest = &body[8..];
                match rest {
                    [] => return Err(CidError::Missing("number or reason for absence")),
                    [a @ (b'O' | b'P')] => c.number_absence = Some((*a).into()),
                    n => {
                        check_number(n)?;
                        c.number = Some(CidText::new(n)?);
                    }
                }
                CidMessage::SdmfCallerId(c)
            }
            MessageType::MdmfCallerId => {
                let mut c = CallerId::default();
                for p in msg.params() {
                    let (kind, data) = p?;
                    c.apply(Param::parse(kind, data)?)?;
                }
                if c.number.is_none() && c.number_absence.is_none() && c.name.is_none() && c.name_absence.is_none() {
                    return Err(CidError::Missing("number, name or reason for absence"));
                }
                CidMessage::MdmfCallerId(c)
            }
            MessageType::SdmfMessageWaiting => {
                let active = match body {
                    [SDMF_MWI_ON, SDMF_MWI_ON, SDMF_MWI_ON] => true,
                    [SDMF_MWI_OFF, SDMF_MWI_OFF, SDMF_MWI_OFF] => false,
                    _ => return Err(CidError::BadMessageWaiting),
                };
                CidMessage::SdmfMessageWaiting(MessageWaiting { active, ..Default::default() })
            }
            MessageType::MdmfMessageWaiting => {
                let mut m = MessageWaiting::default();
                let mut indicator = None;
                for p in msg.params() {
                    let (kind, data) = p?;
                    match Param::parse(kind, data)? {
                        Param::VisualIndicator(0xFF) => indicator = Some(true),
                        Param::VisualIndicator(0x00) => indicator = Some(false),
                        Param::VisualIndicator(_) => return Err(CidError::BadMessageWaiting),
                        Param::MessageCount(n) => m.count = Some(n),
                        Param::DateTime(dt) => m.date_time = Some(dt),
                        _ => {}
                    }
                }
                m.active = match (indicator, m.count) {
                    (Some(a), _) => a,
                    (None, Some(n)) => n > 0,
                    (None, None) => return Err(CidError::Missing("visual indicator or message count")),
                };
                CidMessage::MdmfMessageWaiting(m)
            }
            t => CidMessage::Other(t),
        })
    }

    pub fn message_type(&self) -> MessageType {
        match self {
            CidMessage::SdmfCallerId(_) => MessageType::SdmfCallerId,
            CidMessage::MdmfCallerId(_) => MessageType::MdmfCallerId,
            CidMessage::SdmfMessageWaiting(_) => MessageType::SdmfMessageWaiting,
            CidMessage::MdmfMessageWaiting(_) => MessageType::MdmfMessageWaiting,
            CidMessage::Other(t) => *t,
        }
    }

    pub fn caller_id(&self) -> Option<&CallerId> {
        match self {
            CidMessage::SdmfCallerId(c) | CidMessage::MdmfCallerId(c) => Some(c),
            _ => None,
        }
    }

    pub fn message_waiting(&self) -> Option<&MessageWaiting> {
        match self {
            CidMessage::SdmfMessageWaiting(m) | CidMessage::MdmfMessageWaiting(m) => Some(m),
            _ => None,
        }
    }

    /// Write the body at the start of `buf`; returns its length.
    fn emit_body(&self, buf: &mut [u8]) -> Result<usize, CidError> {
        let mut at = 0;
        let mut put = |buf: &mut [u8], bytes: &[u8]| -> Result<(), CidError> {
            let end = at + bytes.len();
            if end > buf.len() {
                return Err(CidError::BufferTooSmall { needed: end, have: buf.len() });
            }
            buf[at..end].copy_from_slice(bytes);
            at = end;
            Ok(())
        };
        match self {
            CidMessage::SdmfCallerId(c) => {
                let dt = c.date_time.ok_or(CidError::Missing("date/time"))?;
                put(buf, &dt.to_ascii())?;
                match (&c.number, c.number_absence) {
                    (Some(n), _) => {
                        check_number(n.as_bytes())?;
                        put(buf, n.as_bytes())?
                    }
                    (None, Some(a @ (Absence::Unavailable | Absence::Private))) => put(buf, &[a.into()])?,
                    _ => return Err(CidError::Missing("number or reason 'O'/'P'")),
                }
            }
            CidMessage::MdmfCallerId(c) => {
                for p in c.params() {
                    let mut tmp = [0u8; 2 + 255];
                    let n = p.emit(&mut tmp)?;
                    put(buf, &tmp[..n])?;
                }
            }
            CidMessage::SdmfMessageWaiting(m) => put(buf, &[if m.active { SDMF_MWI_ON } else { SDMF_MWI_OFF }; 3])?,
            CidMessage::MdmfMessageWaiting(m) => {
                let ps = [
                    m.date_time.map(Param::DateTime),
                    Some(Param::VisualIndicator(if m.active { 0xFF } else { 0x00 })),
                    m.count.map(Param::MessageCount),
                ];
                for p in ps.into_iter().flatten() {
                    let mut tmp = [0u8; 10];
                    let n = p.emit(&mut tmp)?;
                    put(buf, &tmp[..n])?;
                }
            }
            CidMessage::Other(t) => return Err(CidError::NotEmittable((*t).into())),
        }
        Ok(at)
    }

    /// Write the whole message (type, length, body, checksum) into `buf`;
    /// returns the octets written.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, CidError> {
        let mut body = [0u8; 512];
        let n = self.emit_body(&mut body)?;
        if n > 255 {
            return Err(CidError::MessageTooLong(n));
        }
        let total = n + 3;
        if buf.len() < total {
            return Err(CidError::BufferTooSmall { needed: total, have: buf.len() });
        }
        buf[field::BODY..field::BODY + n].copy_from_slice(&body[..n]);
        let mut m = Message::new_unchecked(&mut buf[..total]);
        m.set_message_type(self.message_type());
        m.set_length(n as u8);
        m.fill_checksum();
        Ok(total)
    }

    /// The message on the wire, in a fixed buffer.
    pub fn to_raw(&self) -> Result<RawMessage, CidError> {
        let mut r = RawMessage { len: 0, bytes: [0; MAX_MESSAGE_LEN] };
        r.len = self.emit(&mut r.bytes)? as u16;
        Ok(r)
    }
}

/// The octets of one message as received or to send.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct RawMessage {
    len: u16,
    bytes: [u8; MAX_MESSAGE_LEN],
}

impl RawMessage {
    /// Copy up to [`MAX_MESSAGE_LEN`] octets (anything: corrupt messages
    /// too, for tests).
    pub fn new(bytes: &[u8]) -> Result<Self, CidError> {
        if bytes.len() > MAX_MESSAGE_LEN {
            return Err(CidError::MessageTooLong(bytes.len().saturating_sub(3)));
        }
        let mut r = RawMessage { len: bytes.len() as u16, bytes: [0; MAX_MESSAGE_LEN] };
        r.bytes[..bytes.len()].copy_from_slice(bytes);
        Ok(r)
    }
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }
}

impl fmt::Debug for RawMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RawMessage[")?;
        for (i, b) in self.as_bytes().iter().enumerate() {
            write!(f, "{}{b:02X}", if i > 0 { " " } else { "" })?;
        }
        write!(f, "]")
    }
}

/// Which FSK caller-ID signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CidStandard {
    /// Bellcore GR-30: Bell 202 at 1200 bit/s.
    Bell202,
    /// ETSI EN 300 659: V.23 forward channel at 1200 bit/s.
    V23,
}

impl CidStandard {
    pub fn fsk_spec(self) -> FskSpec {
        match self {
            CidStandard::Bell202 => FskSpec::BELL202,
            CidStandard::V23 => FskSpec::V23_FORWARD,
        }
    }
}

/// Receiver settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CidRxConfig {
    pub standard: CidStandard,
    /// Fewest idle marks before a message-type octet (the standards send
    /// 180, or 80 for call-waiting caller ID).
    pub min_mark_bits: u16,
    /// Longest pause (in mark bits) allowed between two octets of a message.
    pub max_gap_bits: u16,
    /// Carrier-on threshold, dBm0 (off is 3 dB lower).
    pub carrier_on_dbm0: f32,
}

impl CidRxConfig {
    pub fn new(standard: CidStandard) -> Self {
        CidRxConfig { standard, min_mark_bits: 40, max_gap_bits: 20, carrier_on_dbm0: -46.0 }
    }
}

/// Why a received message was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CidRxError {
    #[error("checksum wrong")]
    BadChecksum,
    #[error("message ended after {got} of {expected} octets")]
    Truncated { got: usize, expected: usize },
    #[error("framing error inside the message")]
    Framing,
    #[error("message does not parse: {0}")]
    Malformed(CidError),
}

/// What the caller-ID receiver reports. Positions are samples fed since
/// construction or reset: `start` is the message type's start bit, `end`
/// the end of the checksum's stop bit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CidEvent {
    Message {
        message: CidMessage,
        raw: RawMessage,
        /// Whether a channel seizure (at least 10 octets of 0x55) came first.
        seizure: bool,
        start: u64,
        end: u64,
    },
    Error {
        error: CidRxError,
        start: u64,
        end: u64,
    },
}

impl CidEvent {
    pub fn caller_id(&self) -> Option<&CallerId> {
        match self {
            CidEvent::Message { message, .. } => message.caller_id(),
            CidEvent::Error { .. } => None,
        }
    }
}

/// Octets of 0x55 that count as a channel seizure.
const SEIZURE_MIN_OCTETS: u16 = 10;

/// Message assembly from 8N1 characters (the part of the receiver after
/// the demodulator).
#[derive(Debug, Clone)]
struct Assembler {
    config: CidRxConfig,
    collecting: bool,
    buf: [u8; MAX_MESSAGE_LEN],
    len: usize,
    expected: usize,
    start: u64,
    damaged: bool,
    seizure_run: u16,
    seizure: bool,
    samples_per_bit: f32,
}

/// Per-channel FSK caller-ID receiver.
#[derive(Debug, Clone)]
pub struct CallerIdReceiver {
    fsk: FskRx,
    asm: Assembler,
}

impl CallerIdReceiver {
    /// A receiver with the default settings of `standard`.
    pub fn new(standard: CidStandard) -> Self {
        Self::with_config(CidRxConfig::new(standard))
    }

    pub fn with_config(config: CidRxConfig) -> Self {
        let spec = config.standard.fsk_spec();
        let desc = if config.carrier_on_dbm0 == CidRxConfig::new(config.standard).carrier_on_dbm0 {
            FskRxDescriptor::shared(spec)
        } else {
            FskRxDescriptor::with_thresholds(spec, config.carrier_on_dbm0, config.carrier_on_dbm0 - 3.0)
                .map(std::sync::Arc::new)
        };
        // The two presets always validate.
        let desc = match desc {
            Ok(d) => d,
            Err(_) => unreachable_preset(),
        };
        CallerIdReceiver {
            fsk: FskRx::new(desc, FskFraming::Async8N1),
            asm: Assembler {
                config,
                collecting: false,
                buf: [0; MAX_MESSAGE_LEN],
                len: 0,
                expected: 0,
                start: 0,
                damaged: false,
                seizure_run: 0,
                seizure: false,
                samples_per_bit: spec.samples_per_bit(),
            },
        }
    }

    pub fn config(&self) -> &CidRxConfig {
        &self.asm.config
    }

    /// Back to the state of a new receiver (the descriptor is kept).
    pub fn reset(&mut self) {
        self.fsk.reset();
        self.asm.collecting = false;
        self.asm.seizure = false;
        self.asm.seizure_run = 0;
    }

    /// Samples fed since construction or reset.
    pub fn position(&self) -> u64 {
        self.fsk.position()
    }

    /// Whether FSK carrier is present (a message may be on its way).
    pub fn carrier(&self) -> bool {
        self.fsk.carrier()
    }

    /// Feed audio (any block length); events are appended to `out`.
    pub fn rx(&mut self, samples: &[i16], out: &mut Vec<CidEvent>) {
        self.rx_with(samples, &mut |e| out.push(e));
    }

    /// Feed audio, handing events to `sink` (no allocation).
    pub fn rx_with(&mut self, samples: &[i16], sink: &mut impl FnMut(CidEvent)) {
        let asm = &mut self.asm;
        self.fsk.rx_with(samples, &mut |e| asm.on_fsk(e, sink));
    }

    /// Account for `n` lost samples (a message in progress is reported
    /// truncated).
    pub fn fillin(&mut self, n: usize, sink: &mut impl FnMut(CidEvent)) {
        let asm = &mut self.asm;
        self.fsk.fillin(n, &mut |e| asm.on_fsk(e, sink));
    }
}

impl Assembler {
    fn bits_to_samples(&self, bits: f32) -> u64 {
        (bits * self.samples_per_bit).round() as u64
    }

    fn on_fsk(&mut self, e: FskRxEvent, sink: &mut impl FnMut(CidEvent)) {
        match e {
            FskRxEvent::CarrierUp { .. } => {
                self.seizure_run = 0;
                self.seizure = false;
            }
            FskRxEvent::CarrierDown { at } => {
                if self.collecting {
                    self.truncated(at, sink);
                }
                self.seizure_run = 0;
                self.seizure = false;
            }
            FskRxEvent::Byte { byte, at, marks_before } => {
                if self.collecting && marks_before > self.config.max_gap_bits {
                    let end = at.saturating_sub(self.bits_to_samples(marks_before as f32));
                    self.truncated(end, sink);
                }
                if self.collecting {
                    self.push(byte, at, sink);
                } else {
                    self.hunt(byte, at, marks_before);
                }
            }
            FskRxEvent::FramingError { byte, at } => {
                if self.collecting {
                    self.damaged = true;
                    self.push(byte, at, sink);
                } else {
                    self.seizure_run = 0;
                }
            }
            FskRxEvent::Bit { .. } => {}
        }
    }

    fn hunt(&mut self, byte: u8, at: u64, marks_before: u16) {
        if marks_before >= self.config.min_mark_bits && !matches!(MessageType::from(byte), MessageType::Unknown(_)) {
            self.collecting = true;
            self.buf[0] = byte;
            self.len = 1;
            self.expected = MAX_MESSAGE_LEN;
            self.start = at;
            self.damaged = false;
        } else if byte == 0x55 && marks_before < 10 {
            self.seizure_run = self.seizure_run.saturating_add(1);
            if self.seizure_run >= SEIZURE_MIN_OCTETS {
                self.seizure = true;
            }
        } else {
            self.seizure_run = 0;
        }
    }

    fn push(&mut self, byte: u8, at: u64, sink: &mut impl FnMut(CidEvent)) {
        self.buf[self.len] = byte;
        self.len += 1;
        if self.len == 2 {
            self.expected = byte as usize + 3;
        }
        if self.len < self.expected {
            return;
        }
        self.collecting = false;
        let end = at + self.bits_to_samples(10.0);
        let start = self.start;
        let raw = &self.buf[..self.len];
        let msg = Message::new_unchecked(raw);
        let ev = if !msg.verify_checksum() {
            CidEvent::Error { error: CidRxError::BadChecksum, start, end }
        } else if self.damaged {
            CidEvent::Error { error: CidRxError::Framing, start, end }
        } else {
            match CidMessage::parse(&msg) {
                Ok(message) => match RawMessage::new(raw) {
                    Ok(raw) => CidEvent::Message { message, raw, seizure: self.seizure, start, end },
                    Err(e) => CidEvent::Error { error: CidRxError::Malformed(e), start, end },
                },
                Err(e) => CidEvent::Error { error: CidRxError::Malformed(e), start, end },
            }
        };
        self.seizure = false;
        self.seizure_run = 0;
        sink(ev);
    }

    fn truncated(&mut self, end: u64, sink: &mut impl FnMut(CidEvent)) {
        self.collecting = false;
        let expected = if self.len >= 2 { self.expected } else { 3 };
        sink(CidEvent::Error { error: CidRxError::Truncated { got: self.len, expected }, start: self.start, end });
    }
}

#[cold]
fn unreachable_preset() -> ! {
    panic!("Bell 202 and V.23 FSK specs always validate")
}

/// The dual-tone alerting signal sent before ETSI caller ID.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AlertTone {
    /// Level of each of the two tones, dBm0.
    pub level_dbm0: f32,
    /// Length of the tone (ETSI: 100 ms ± 10).
    pub duration_ms: u32,
    /// Silence between the tone and the FSK.
    pub gap_ms: u32,
}

/// DT-AS frequencies, Hz.
pub const DTAS_FREQS_HZ: [f32; 2] = [2130.0, 2750.0];

impl Default for AlertTone {
    fn default() -> Self {
        AlertTone { level_dbm0: -16.0, duration_ms: 100, gap_ms: 100 }
    }
}

/// Generator settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CidTxConfig {
    pub standard: CidStandard,
    /// FSK level, dBm0.
    pub level_dbm0: f32,
    /// Channel seizure: alternating bits, starting with a space.
    pub seizure_bits: u16,
    /// Marks between seizure and message.
    pub mark_bits: u16,
    /// Marks after the checksum.
    pub postamble_bits: u16,
    /// ETSI DT-AS before the FSK.
    pub alert: Option<AlertTone>,
}

impl CidTxConfig {
    /// 300 bits of seizure, 180 marks, −13.5 dBm0, no alert.
    pub fn new(standard: CidStandard) -> Self {
        CidTxConfig { standard, level_dbm0: -13.5, seizure_bits: 300, mark_bits: 180, postamble_bits: 8, alert: None }
    }
    /// ETSI before-ring caller ID: DT-AS, pause, V.23.
    pub fn etsi_dtas() -> Self {
        CidTxConfig { alert: Some(AlertTone::default()), ..Self::new(CidStandard::V23) }
    }
}

/// Errors building a generator.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CidTxError {
    #[error(transparent)]
    Message(#[from] CidError),
    #[error(transparent)]
    Fsk(#[from] super::fsk::FskSpecError),
    #[error(transparent)]
    Alert(#[from] super::tonegen::ToneSpecError),
}

/// Bit sequencer: seizure, marks, 8N1 octets, postamble.
#[derive(Debug, Clone)]
struct BitPlan {
    raw: RawMessage,
    seizure: u32,
    marks: u32,
    post: u32,
    /// Bits sent so far.
    n: u32,
}

impl BitPlan {
    fn total(&self) -> u32 {
        self.seizure + self.marks + 10 * self.raw.len as u32 + self.post
    }
    fn next(&mut self) -> Option<bool> {
        let i = self.n;
        if i >= self.total() {
            return None;
        }
        self.n += 1;
        if i < self.seizure {
            return Some(i & 1 == 1);
        }
        let i = i - self.seizure;
        if i < self.marks {
            return Some(true);
        }
        let i = i - self.marks;
        let (octet, bit) = ((i / 10) as usize, i % 10);
        if octet >= self.raw.len as usize {
            return Some(true);
        }
        Some(match bit {
            0 => false,
            9 => true,
            b => (self.raw.bytes[octet] >> (b - 1)) & 1 == 1,
        })
    }
}

/// Plays one caller-ID message: optional DT-AS, seizure, marks, message.
#[derive(Debug, Clone)]
pub struct CallerIdGenerator {
    alert: Option<ToneGenerator>,
    fsk: FskTx,
    plan: BitPlan,
    total_samples: u64,
    pos: u64,
}

impl CallerIdGenerator {
    /// Send `message` (checksum computed here).
    pub fn new(config: &CidTxConfig, message: &CidMessage) -> Result<Self, CidTxError> {
        Self::from_raw(config, message.to_raw()?)
    }

    /// Send these octets as they are (corrupt ones too, for tests).
    pub fn from_wire(config: &CidTxConfig, octets: &[u8]) -> Result<Self, CidTxError> {
        Self::from_raw(config, RawMessage::new(octets)?)
    }

    fn from_raw(config: &CidTxConfig, raw: RawMessage) -> Result<Self, CidTxError> {
        let spec = config.standard.fsk_spec();
        let alert = match config.alert {
            Some(a) => {
                let f = DTAS_FREQS_HZ.map(|hz| ToneFreq { hz, dbm0: a.level_dbm0 });
                Some(ToneGenerator::new(&ToneSpec::burst(&f, a.duration_ms, a.gap_ms)?))
            }
            None => None,
        };
        let plan = BitPlan {
            raw,
            seizure: config.seizure_bits as u32,
            marks: config.mark_bits as u32,
            post: config.postamble_bits as u32,
            n: 0,
        };
        let alert_samples = config.alert.map_or(0, |a| 8 * (a.duration_ms.max(1) as u64 + a.gap_ms as u64));
        let bits = plan.total() as u64;
        let fsk_samples = (bits * 8000).div_ceil(spec.baud as u64);
        Ok(CallerIdGenerator {
            alert,
            fsk: FskTx::new(spec, config.level_dbm0)?,
            plan,
            total_samples: alert_samples + fsk_samples,
            pos: 0,
        })
    }

    /// Samples the whole signal lasts.
    pub fn total_samples(&self) -> u64 {
        self.total_samples
    }

    pub fn is_done(&self) -> bool {
        self.fsk.is_done()
    }

    /// Samples from the start of the signal to the start bit of the
    /// message type octet.
    pub fn message_start(&self) -> u64 {
        let alert = self.total_samples - (self.plan.total() as u64 * 8000).div_ceil(self.fsk.spec().baud as u64);
        alert + ((self.plan.seizure + self.plan.marks) as u64 * 8000).div_ceil(self.fsk.spec().baud as u64)
    }

    /// Fill `out`; returns the samples written (fewer at the end).
    pub fn tx(&mut self, out: &mut [i16]) -> usize {
        let mut n = 0;
        if let Some(a) = &mut self.alert {
            n = a.tx(out);
            if a.is_done() {
                self.alert = None;
            }
        }
        let plan = &mut self.plan;
        n += self.fsk.tx_with(&mut out[n..], &mut || plan.next());
        self.pos += n as u64;
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::g711;
    use crate::dsp::noise::NoiseGenerator;
    use crate::hal::Law;

    /// The Bellcore SDMF example: 09-30 12:24, 609 555 1212.
    const SDMF: [u8; 21] = [
        0x04, 0x12, 0x30, 0x39, 0x33, 0x30, 0x31, 0x32, 0x32, 0x34, 0x36, 0x30, 0x39, 0x35, 0x35, 0x35, 0x31, 0x32,
        0x31, 0x32, 0x51,
    ];
    /// MDMF: 03-24 09:30, 5551212345, "JOHN DOE".
    const MDMF: [u8; 35] = [
        0x80, 0x20, 0x01, 0x08, 0x30, 0x33, 0x32, 0x34, 0x30, 0x39, 0x33, 0x30, 0x02, 0x0A, 0x35, 0x35, 0x35, 0x31,
        0x32, 0x31, 0x32, 0x33, 0x34, 0x35, 0x07, 0x08, 0x4A, 0x4F, 0x48, 0x4E, 0x20, 0x44, 0x4F, 0x45, 0x7F,
    ];
    /// MDMF private number, unavailable name: 11-28 15:30, 'P', 'O'.
    const MDMF_PRIVATE: [u8; 19] = [
        0x80, 0x10, 0x01, 0x08, 0x31, 0x31, 0x32, 0x38, 0x31, 0x35, 0x33, 0x30, 0x04, 0x01, 0x50, 0x08, 0x01, 0x4F,
        0x25,
    ];

    #[test]
    fn checksums_by_hand() {
        assert_eq!(checksum(&SDMF[..20]), 0x51);
        assert_eq!(checksum(&MDMF[..34]), 0x7F);
        assert_eq!(checksum(&[0x06, 0x03, 0x42, 0x42, 0x42]), 0x31);
        assert_eq!(checksum(&[]), 0);
        assert_eq!(checksum(&[0x01]), 0xFF);
    }

    #[test]
    fn sdmf_parse_and_emit() {
        let m = Message::new_checked(&SDMF[..]).unwrap();
        assert_eq!(m.message_type(), MessageType::SdmfCallerId);
        assert_eq!(m.length(), 18);
        assert_eq!(m.checksum(), 0x51);
        assert!(m.verify_checksum());
        let p = CidMessage::parse(&m).unwrap();
        let c = p.caller_id().unwrap();
        assert_eq!(c.date_time, Some(DateTime { month: 9, day: 30, hour: 12, minute: 24 }));
        assert_eq!(c.number.unwrap(), "6095551212");
        assert_eq!(c.name, None);
        let mut out = [0u8; 64];
        assert_eq!(p.emit(&mut out), Ok(21));
        assert_eq!(out[..21], SDMF);
        // Private SDMF.
        let c = CallerId {
            date_time: Some(DateTime { month: 1, day: 2, hour: 3, minute: 4 }),
            number_absence: Some(Absence::Private),
            ..Default::default()
        };
        let n = CidMessage::SdmfCallerId(c).emit(&mut out).unwrap();
        assert_eq!(n, 12);
        assert_eq!(out[..11], [0x04, 0x09, b'0', b'1', b'0', b'2', b'0', b'3', b'0', b'4', b'P']);
        // 0x04 + 0x09 + 4·0x30 + 0x31 + 0x32 + 0x33 + 0x34 + 0x50 = 0x1E7 → 0x19.
        assert_eq!(out[11], 0x19);
        let back = CidMessage::parse(&Message::new_checked(&out[..n]).unwrap()).unwrap();
        assert_eq!(back.caller_id().unwrap().number_absence, Some(Absence::Private));
    }

    #[test]
    fn mdmf_parse_and_emit() {
        let m = Message::new_checked(&MDMF[..]).unwrap();
        let params: Vec<_> = m.params().map(|p| p.unwrap()).collect();
        assert_eq!(params.len(), 3);
        assert_eq!(params[2], (0x07, &b"JOHN DOE"[..]));
        let p = CidMessage::parse(&m).unwrap();
        let c = p.caller_id().unwrap();
        assert_eq!(c.number.unwrap(), "5551212345");
        assert_eq!(c.name.unwrap(), "JOHN DOE");
        assert_eq!(c.date_time.unwrap().to_string(), "03-24 09:30");
        let mut out = [0u8; 64];
        assert_eq!(p.emit(&mut out), Ok(35));
        assert_eq!(out[..35], MDMF);

        let p = CidMessage::parse(&Message::new_checked(&MDMF_PRIVATE[..]).unwrap()).unwrap();
        let c = p.caller_id().unwrap();
        assert_eq!(
            (c.number, c.number_absence, c.name_absence),
            (None, Some(Absence::Private), Some(Absence::Unavailable))
        );
        assert_eq!(p.emit(&mut out), Ok(19));
        assert_eq!(out[..19], MDMF_PRIVATE);
    }

    #[test]
    fn etsi_fields_and_unknown_params_survive() {
        // ETSI call set-up: call type 1, number, redirecting number, and an
        // unknown parameter 0x55 (service information).
        let mut msg = vec![
            0x80, 0, 0x11, 0x01, 0x01, 0x02, 0x04, b'1', b'2', b'3', b'4', 0x1A, 0x03, b'9', b'8', b'7', 0x55, 0x02,
            0xAB, 0xCD,
        ];
        msg[1] = (msg.len() - 2) as u8;
        msg.push(checksum(&msg));
        let m = Message::new_checked(&msg[..]).unwrap();
        let p = CidMessage::parse(&m).unwrap();
        let c = p.caller_id().unwrap();
        assert_eq!(c.call_type, Some(CallType::Voice));
        assert_eq!(c.redirecting_number.unwrap(), "987");
        assert_eq!(c.unknown[0].unwrap().kind, 0x55);
        assert_eq!(c.unknown[0].unwrap().data.as_bytes(), [0xAB, 0xCD]);
        let mut out = [0u8; 64];
        let n = p.emit(&mut out).unwrap();
        // Our parameter order differs from the sender's; the meaning is the same.
        let again = CidMessage::parse(&Message::new_checked(&out[..n]).unwrap()).unwrap();
        assert_eq!(again, p);
        assert_eq!(n, msg.len());
        assert_eq!(u8::from(ParamType::Unknown(0x55)), 0x55);
        assert_eq!(MessageType::from(0x86), MessageType::AdviceOfCharge);
        assert_eq!(Absence::from(b'X'), Absence::Unknown(b'X'));
    }

    #[test]
    fn message_waiting() {
        let on = [0x06, 0x03, 0x42, 0x42, 0x42, 0x31];
        let p = CidMessage::parse(&Message::new_checked(&on[..]).unwrap()).unwrap();
        assert_eq!(p, CidMessage::SdmfMessageWaiting(MessageWaiting { active: true, ..Default::default() }));
        // 0x06 + 0x03 + 3·0x6F = 0x156 → 0xAA.
        let off = [0x06, 0x03, 0x6F, 0x6F, 0x6F, 0xAA];
        let p = CidMessage::parse(&Message::new_checked(&off[..]).unwrap()).unwrap();
        assert!(!p.message_waiting().unwrap().active);
        let mdmf = [0x82, 0x03, 0x0B, 0x01, 0xFF, 0x70];
        let p = CidMessage::parse(&Message::new_checked(&mdmf[..]).unwrap()).unwrap();
        assert_eq!(p, CidMessage::MdmfMessageWaiting(MessageWaiting { active: true, ..Default::default() }));
        let mut out = [0u8; 16];
        assert_eq!(p.emit(&mut out), Ok(6));
        assert_eq!(out[..6], mdmf);
        let bad = [0x06, 0x03, 0x42, 0x6F, 0x42, checksum(&[0x06, 0x03, 0x42, 0x6F, 0x42])];
        assert_eq!(CidMessage::parse(&Message::new_checked(&bad[..]).unwrap()), Err(CidError::BadMessageWaiting));
    }

    #[test]
    fn typed_errors_never_panics() {
        assert_eq!(Message::new_checked(&[0x04u8][..]).unwrap_err(), CidError::Truncated { needed: 3, have: 1 });
        assert_eq!(Message::new_checked(&SDMF[..20]).unwrap_err(), CidError::Truncated { needed: 21, have: 20 });
        let mut bad = SDMF;
        bad[5] ^= 0x01;
        let m = Message::new_checked(&bad[..]).unwrap();
        assert!(!m.verify_checksum());
        assert!(matches!(CidMessage::parse(&m), Err(CidError::BadChecksum { .. })));
        // A parameter that runs past the body.
        let mut t = vec![0x80, 0x04, 0x02, 0x05, b'1', b'2'];
        t.push(checksum(&t));
        let m = Message::new_checked(&t[..]).unwrap();
        assert_eq!(CidMessage::parse(&m), Err(CidError::ParamTruncated { offset: 0 }));
        // A letter in a number, a bad date.
        let mut t = vec![0x80, 0x04, 0x02, 0x02, b'1', b'x'];
        t.push(checksum(&t));
        assert_eq!(CidMessage::parse(&Message::new_checked(&t[..]).unwrap()), Err(CidError::BadNumber(b'x')));
        let mut t = vec![0x04, 0x09, b'1', b'3', b'0', b'1', b'0', b'0', b'0', b'0', b'5'];
        t.push(checksum(&t));
        assert_eq!(CidMessage::parse(&Message::new_checked(&t[..]).unwrap()), Err(CidError::BadDateTime));
        // Emitting without the fields a format needs.
        let mut out = [0u8; 300];
        assert_eq!(CidMessage::SdmfCallerId(CallerId::default()).emit(&mut out), Err(CidError::Missing("date/time")));
        assert_eq!(CidMessage::Other(MessageType::ShortMessage).emit(&mut out), Err(CidError::NotEmittable(0x89)));
        assert!(matches!(
            CidMessage::MdmfCallerId(CallerId::with_number("123").unwrap()).emit(&mut out[..5]),
            Err(CidError::BufferTooSmall { .. })
        ));
        assert!(CallerId::with_number("12a").is_err());
        assert!(CidName::new(&[b'x'; 65]).is_err());
    }

    proptest::proptest! {
        #[test]
        fn parsers_never_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            if let Ok(m) = Message::new_checked(&bytes[..]) {
                let _ = m.verify_checksum();
                for (k, d) in m.params().flatten() {
                    let _ = Param::parse(k, d);
                }
                if let Ok(parsed) = CidMessage::parse(&m) {
                    // What parses emits, and emits something that parses the same.
                    let mut out = [0u8; 600];
                    if let Ok(n) = parsed.emit(&mut out) {
                        let again = CidMessage::parse(&Message::new_checked(&out[..n]).unwrap()).unwrap();
                        proptest::prop_assert_eq!(again, parsed);
                    }
                }
            }
        }

        #[test]
        fn receiver_never_panics_on_arbitrary_audio(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..4000), split in 1usize..300) {
            let samples: Vec<i16> = bytes.chunks_exact(2).map(|c| i16::from_le_bytes([c[0], c[1]])).collect();
            let mut rx = CallerIdReceiver::new(CidStandard::Bell202);
            let mut ev = Vec::new();
            for c in samples.chunks(split) {
                rx.rx(c, &mut ev);
            }
            proptest::prop_assert!(ev.iter().all(|e| e.caller_id().is_none()));
        }
    }

    fn generate(config: &CidTxConfig, wire: &[u8], lead: usize, tail: usize) -> (Vec<i16>, u64) {
        let mut g = CallerIdGenerator::from_wire(config, wire).unwrap();
        let mut sig = vec![0i16; lead];
        let start = g.message_start() + lead as u64;
        let mut buf = vec![0i16; g.total_samples() as usize + 10];
        let n = g.tx(&mut buf);
        assert_eq!(n as u64, g.total_samples());
        assert!(g.is_done());
        sig.extend_from_slice(&buf[..n]);
        sig.extend(vec![0i16; tail]);
        (sig, start)
    }

    fn receive(standard: CidStandard, sig: &[i16], block: usize) -> Vec<CidEvent> {
        let mut rx = CallerIdReceiver::new(standard);
        let mut ev = Vec::new();
        for c in sig.chunks(block) {
            rx.rx(c, &mut ev);
        }
        ev
    }

    #[test]
    fn loopback_both_standards_with_positions() {
        for (standard, wire) in [(CidStandard::Bell202, &SDMF[..]), (CidStandard::V23, &MDMF[..])] {
            let (sig, start) = generate(&CidTxConfig::new(standard), wire, 1234, 800);
            let ev = receive(standard, &sig, 160);
            assert_eq!(ev.len(), 1, "{ev:?}");
            let CidEvent::Message { raw, seizure, start: s, end, .. } = ev[0] else { panic!("{ev:?}") };
            assert_eq!(raw.as_bytes(), wire);
            assert!(seizure);
            assert!((s as i64 - start as i64).abs() <= 4, "start {s} vs {start}");
            let want_end = start as f64 + wire.len() as f64 * 10.0 * 8000.0 / 1200.0;
            assert!((end as f64 - want_end).abs() <= 5.0, "end {end} vs {want_end}");
        }
    }

    #[test]
    fn etsi_alert_tone_then_message_through_alaw() {
        let (mut sig, _) = generate(&CidTxConfig::etsi_dtas(), &MDMF_PRIVATE, 100, 400);
        for s in sig.iter_mut() {
            *s = g711::alaw_to_linear(g711::linear_to_alaw(*s));
        }
        let ev = receive(CidStandard::V23, &sig, 7);
        assert_eq!(ev.len(), 1, "{ev:?}");
        assert_eq!(ev[0].caller_id().unwrap().number_absence, Some(Absence::Private));
    }

    #[test]
    fn corrupt_and_truncated_messages_are_errors() {
        let cfg = CidTxConfig::new(CidStandard::Bell202);
        let mut bad = SDMF;
        bad[12] ^= 0x04;
        let (sig, _) = generate(&cfg, &bad, 100, 400);
        let ev = receive(CidStandard::Bell202, &sig, 160);
        assert!(matches!(ev[..], [CidEvent::Error { error: CidRxError::BadChecksum, .. }]), "{ev:?}");
        // Cut after 12 octets: the carrier drops.
        let (sig, _) = generate(&CidTxConfig { postamble_bits: 0, ..cfg }, &SDMF[..12], 100, 400);
        let ev = receive(CidStandard::Bell202, &sig, 160);
        assert!(
            matches!(ev[..], [CidEvent::Error { error: CidRxError::Truncated { got: 12, expected: 21 }, .. }]),
            "{ev:?}"
        );
        // Right checksum, impossible date: malformed, no number.
        let mut t = SDMF;
        t[2] = b'2';
        t[20] = checksum(&t[..20]);
        let (sig, _) = generate(&cfg, &t, 100, 400);
        let ev = receive(CidStandard::Bell202, &sig, 160);
        assert!(
            matches!(ev[..], [CidEvent::Error { error: CidRxError::Malformed(CidError::BadDateTime), .. }]),
            "{ev:?}"
        );
    }

    #[test]
    fn wrong_standard_and_noise_give_no_number() {
        // Bell 202 and V.23 tones are close enough that each receiver reads
        // the other's signal (as many CPE do): the number is still right.
        let (sig, _) = generate(&CidTxConfig::new(CidStandard::Bell202), &SDMF, 100, 400);
        let ev = receive(CidStandard::V23, &sig, 160);
        assert!(ev.iter().all(|e| e.caller_id().is_none_or(|c| c.number.unwrap() == "6095551212")));
        let mut noise = vec![0i16; 80_000];
        NoiseGenerator::new(1, -20.0).add_to(&mut noise);
        assert!(receive(CidStandard::Bell202, &noise, 160).is_empty());
        // μ-law round trip at −40 dBm0.
        let (mut sig, _) =
            generate(&CidTxConfig { level_dbm0: -40.0, ..CidTxConfig::new(CidStandard::Bell202) }, &MDMF, 100, 400);
        let law = Law::MuLaw;
        for s in sig.iter_mut() {
            *s = g711::decode(law, g711::encode(law, *s));
        }
        let ev = receive(CidStandard::Bell202, &sig, 33);
        assert_eq!(ev.len(), 1, "{ev:?}");
        assert_eq!(ev[0].caller_id().unwrap().name.unwrap(), "JOHN DOE");
    }
}
