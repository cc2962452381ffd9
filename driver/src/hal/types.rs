//! The shape of a board: board → spans → channels, after DAHDI's
//! `include/dahdi/kernel.h`.
//!
//! Channels are numbered from 1 across the whole board, span after span, as
//! DAHDI numbers them; technicians read and type these numbers. Spans are
//! numbered from 1 too. Channel kinds name the *port* on our card: an FXO port
//! plugs into a line from the central office (we detect ringing and go
//! off-hook), an FXS port feeds a phone (we ring it and detect its hook).
//! (DAHDI names signalling the other way round: `fxs_ls` runs on FXO ports.)

use serde::{Deserialize, Serialize};
use std::fmt;

use super::time::TickLength;

/// A channel number, 1-based across the board.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ChannelId(pub u16);

impl ChannelId {
    /// The channel with 0-based board index `i`.
    pub const fn from_index(i: usize) -> Self {
        ChannelId(i as u16 + 1)
    }
    /// 0-based index into per-channel arrays. Channel 0 does not exist; it
    /// maps to `usize::MAX` so that a lookup with it fails instead of
    /// aliasing channel 1.
    pub const fn index(self) -> usize {
        (self.0 as usize).wrapping_sub(1)
    }
}
impl fmt::Display for ChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// A span number, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SpanId(pub u8);

impl SpanId {
    pub const fn index(self) -> usize {
        (self.0 as usize).wrapping_sub(1)
    }
}
impl fmt::Display for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// G.711 companding law of a span's audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Law {
    /// A-law (Europe, China, Russia, E1).
    #[serde(rename = "alaw")]
    ALaw,
    /// μ-law (North America, Japan, T1).
    #[serde(rename = "ulaw")]
    MuLaw,
}

impl Law {
    /// The octet that decodes to (near) zero: the idle pattern of a channel.
    pub const fn silence(self) -> u8 {
        match self {
            Law::ALaw => 0xD5,
            Law::MuLaw => 0xFF,
        }
    }
    pub const fn name(self) -> &'static str {
        match self {
            Law::ALaw => "alaw",
            Law::MuLaw => "ulaw",
        }
    }
}
impl fmt::Display for Law {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// E1 signalling carried in timeslot 16.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum E1Signalling {
    /// Channel-associated signalling: ABCD bits per timeslot in a TS16
    /// multiframe (MFC/R2 line signalling). 30 bearer channels.
    Cas,
    /// Common-channel signalling: Q.921/Q.931 (ISDN PRI) in TS16 as a
    /// D-channel. 30 bearer channels and one D-channel.
    Ccs,
}

/// What kind of span this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum SpanKind {
    /// A group of analog FXO and/or FXS ports.
    Analog,
    /// A 2.048 Mbit/s E1 trunk.
    E1 { signalling: E1Signalling, crc4: bool },
}

impl fmt::Display for SpanKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpanKind::Analog => f.write_str("analog"),
            SpanKind::E1 { signalling: E1Signalling::Cas, crc4 } => {
                write!(f, "E1/CAS{}", if *crc4 { "/CRC4" } else { "" })
            }
            SpanKind::E1 { signalling: E1Signalling::Ccs, crc4 } => {
                write!(f, "E1/CCS{}", if *crc4 { "/CRC4" } else { "" })
            }
        }
    }
}

/// What a channel is on the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelKind {
    /// Port facing a central-office line: detects ringing, goes off-hook.
    Fxo,
    /// Port feeding a phone: rings it, detects its hook.
    Fxs,
    /// An E1 voice timeslot (1–15, 17–31).
    #[serde(rename = "e1")]
    E1Bearer,
    /// The E1 D-channel (TS16 on a CCS span): HDLC frames, no audio.
    #[serde(rename = "dchan")]
    DChannel,
}

impl ChannelKind {
    pub const fn name(self) -> &'static str {
        match self {
            ChannelKind::Fxo => "fxo",
            ChannelKind::Fxs => "fxs",
            ChannelKind::E1Bearer => "e1",
            ChannelKind::DChannel => "dchan",
        }
    }
    /// Whether the channel carries G.711 audio.
    pub const fn has_audio(self) -> bool {
        !matches!(self, ChannelKind::DChannel)
    }
}
impl fmt::Display for ChannelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One span of a board.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpanInfo {
    pub id: SpanId,
    pub kind: SpanKind,
    pub law: Law,
    /// First channel of the span; the span's channels are contiguous.
    pub first_channel: ChannelId,
    pub channel_count: u16,
}

impl SpanInfo {
    pub fn channels(&self) -> impl Iterator<Item = ChannelId> + use<> {
        let first = self.first_channel.0;
        (first..first + self.channel_count).map(ChannelId)
    }
    pub fn contains(&self, ch: ChannelId) -> bool {
        ch.0 >= self.first_channel.0 && ch.0 < self.first_channel.0 + self.channel_count
    }
}

/// One channel of a board.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelInfo {
    pub id: ChannelId,
    pub span: SpanId,
    pub kind: ChannelKind,
    /// E1 timeslot (1–31) for E1 channels; `None` on analog spans.
    pub timeslot: Option<u8>,
}

/// Everything a driver needs to know about a board's layout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardInfo {
    /// Human-readable name, e.g. `ctibox-sim 4fxo+4fxs`.
    pub name: String,
    pub tick: TickLength,
    pub spans: Vec<SpanInfo>,
    pub channels: Vec<ChannelInfo>,
}

/// A board layout that does not hold together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    #[error("board has no spans")]
    NoSpans,
    #[error("span {index} is numbered {found}; spans must be numbered 1, 2, 3… in order")]
    SpanNumbering { index: usize, found: SpanId },
    #[error("span {span} starts at channel {found}, expected {expected} (channels are contiguous across spans)")]
    SpanStart { span: SpanId, found: ChannelId, expected: ChannelId },
    #[error("span {span} claims {claimed} channels but the board lists {listed}")]
    ChannelCount { span: SpanId, claimed: u16, listed: usize },
    #[error("channel {channel} is listed at position {position}; channels must be numbered 1, 2, 3… in order")]
    ChannelNumbering { channel: ChannelId, position: usize },
    #[error("channel {channel} is {kind} but its span {span} is {span_kind}")]
    KindMismatch { channel: ChannelId, kind: ChannelKind, span: SpanId, span_kind: SpanKind },
    #[error("channel {channel}: E1 timeslot {timeslot:?} is invalid (bearers use 1–15 and 17–31, the D-channel 16)")]
    Timeslot { channel: ChannelId, timeslot: Option<u8> },
    #[error("board has {0} channels; at most {max} are supported", max = BoardInfo::MAX_CHANNELS)]
    TooManyChannels(usize),
}

impl BoardInfo {
    /// Most channels one board may have (16 E1 spans × 31 timeslots, with room).
    pub const MAX_CHANNELS: usize = 1024;

    pub fn channel(&self, id: ChannelId) -> Option<&ChannelInfo> {
        self.channels.get(id.index())
    }
    pub fn span(&self, id: SpanId) -> Option<&SpanInfo> {
        self.spans.get(id.index())
    }
    /// The span a channel belongs to.
    pub fn span_of(&self, id: ChannelId) -> Option<&SpanInfo> {
        self.channel(id).and_then(|c| self.span(c.span))
    }
    /// Companding law of a channel's audio (its span's law).
    pub fn law_of(&self, id: ChannelId) -> Option<Law> {
        self.span_of(id).map(|s| s.law)
    }
    pub fn channel_count(&self) -> usize {
        self.channels.len()
    }
    /// Bytes of G.711 audio per tick in one direction: every channel gets
    /// `tick.samples()` bytes, channel-major (a D-channel's slice stays idle).
    pub fn tick_bytes(&self) -> usize {
        self.channels.len() * self.tick.samples()
    }

    /// Check that spans and channels are numbered and typed consistently.
    pub fn validate(&self) -> Result<(), LayoutError> {
        if self.spans.is_empty() {
            return Err(LayoutError::NoSpans);
        }
        if self.channels.len() > Self::MAX_CHANNELS {
            return Err(LayoutError::TooManyChannels(self.channels.len()));
        }
        let mut next = 1u16;
        for (i, span) in self.spans.iter().enumerate() {
            if span.id.0 as usize != i + 1 {
                return Err(LayoutError::SpanNumbering { index: i, found: span.id });
            }
            if span.first_channel.0 != next {
                return Err(LayoutError::SpanStart {
                    span: span.id,
                    found: span.first_channel,
                    expected: ChannelId(next),
                });
            }
            let listed = self.channels.iter().filter(|c| c.span == span.id).count();
            if listed != span.channel_count as usize {
                return Err(LayoutError::ChannelCount { span: span.id, claimed: span.channel_count, listed });
            }
            next = next.saturating_add(span.channel_count);
        }
        for (pos, ch) in self.channels.iter().enumerate() {
            if ch.id.index() != pos {
                return Err(LayoutError::ChannelNumbering { channel: ch.id, position: pos });
            }
            let span = self.span(ch.span).ok_or(LayoutError::ChannelCount { span: ch.span, claimed: 0, listed: 1 })?;
            if !span.contains(ch.id) {
                return Err(LayoutError::ChannelNumbering { channel: ch.id, position: pos });
            }
            let ok = match (span.kind, ch.kind) {
                (SpanKind::Analog, ChannelKind::Fxo | ChannelKind::Fxs) => ch.timeslot.is_none(),
                (SpanKind::E1 { .. }, ChannelKind::E1Bearer) => {
                    matches!(ch.timeslot, Some(1..=15 | 17..=31))
                }
                (SpanKind::E1 { signalling: E1Signalling::Ccs, .. }, ChannelKind::DChannel) => ch.timeslot == Some(16),
                _ => {
                    return Err(LayoutError::KindMismatch {
                        channel: ch.id,
                        kind: ch.kind,
                        span: span.id,
                        span_kind: span.kind,
                    });
                }
            };
            if !ok {
                return Err(LayoutError::Timeslot { channel: ch.id, timeslot: ch.timeslot });
            }
        }
        Ok(())
    }
}

/// Builds a [`BoardInfo`] span by span, numbering channels as DAHDI does.
#[derive(Debug, Clone)]
pub struct BoardLayout {
    info: BoardInfo,
}

impl BoardLayout {
    pub fn new(name: impl Into<String>, tick: TickLength) -> Self {
        BoardLayout { info: BoardInfo { name: name.into(), tick, spans: Vec::new(), channels: Vec::new() } }
    }

    /// Add an analog span: `fxo` FXO ports, then `fxs` FXS ports.
    pub fn analog_span(mut self, law: Law, fxo: u16, fxs: u16) -> Self {
        let kinds = std::iter::repeat_n(ChannelKind::Fxo, fxo as usize)
            .chain(std::iter::repeat_n(ChannelKind::Fxs, fxs as usize))
            .map(|k| (k, None))
            .collect::<Vec<_>>();
        self.push_span(SpanKind::Analog, law, kinds);
        self
    }

    /// Add an E1 span with all 30 bearer timeslots (and the D-channel on TS16
    /// for CCS).
    pub fn e1_span(mut self, law: Law, signalling: E1Signalling, crc4: bool) -> Self {
        let mut chans = Vec::with_capacity(31);
        for ts in 1u8..=31 {
            if ts == 16 {
                if signalling == E1Signalling::Ccs {
                    chans.push((ChannelKind::DChannel, Some(ts)));
                }
                continue;
            }
            chans.push((ChannelKind::E1Bearer, Some(ts)));
        }
        self.push_span(SpanKind::E1 { signalling, crc4 }, law, chans);
        self
    }

    fn push_span(&mut self, kind: SpanKind, law: Law, chans: Vec<(ChannelKind, Option<u8>)>) {
        let id = SpanId(self.info.spans.len() as u8 + 1);
        let first = ChannelId(self.info.channels.len() as u16 + 1);
        for (i, (ckind, timeslot)) in chans.iter().enumerate() {
            self.info.channels.push(ChannelInfo {
                id: ChannelId(first.0 + i as u16),
                span: id,
                kind: *ckind,
                timeslot: *timeslot,
            });
        }
        self.info.spans.push(SpanInfo { id, kind, law, first_channel: first, channel_count: chans.len() as u16 });
    }

    pub fn build(self) -> Result<BoardInfo, LayoutError> {
        self.info.validate()?;
        Ok(self.info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analog_and_e1_layout_numbering() {
        let info = BoardLayout::new("test", TickLength::DEFAULT)
            .analog_span(Law::ALaw, 4, 4)
            .e1_span(Law::ALaw, E1Signalling::Ccs, true)
            .e1_span(Law::ALaw, E1Signalling::Cas, false)
            .build()
            .unwrap();
        assert_eq!(info.channel_count(), 8 + 31 + 30);
        assert_eq!(info.channel(ChannelId(1)).unwrap().kind, ChannelKind::Fxo);
        assert_eq!(info.channel(ChannelId(5)).unwrap().kind, ChannelKind::Fxs);
        let d = info.channel(ChannelId(8 + 16)).unwrap();
        assert_eq!((d.kind, d.timeslot), (ChannelKind::DChannel, Some(16)));
        let ts17 = info.channel(ChannelId(8 + 17)).unwrap();
        assert_eq!(ts17.timeslot, Some(17));
        let span3 = info.span(SpanId(3)).unwrap();
        assert_eq!(span3.first_channel, ChannelId(40));
        assert_eq!(span3.channels().count(), 30);
        assert_eq!(info.channel(ChannelId(40)).unwrap().timeslot, Some(1));
        assert_eq!(info.channel(ChannelId(55)).unwrap().timeslot, Some(17));
        assert_eq!(info.tick_bytes(), 69 * 160);
        assert!(info.channel(ChannelId(0)).is_none());
        assert!(info.channel(ChannelId(70)).is_none());
    }

    #[test]
    fn validate_rejects_inconsistent_layouts() {
        let good = BoardLayout::new("t", TickLength::DEFAULT).analog_span(Law::MuLaw, 2, 0).build().unwrap();
        let mut bad = good.clone();
        bad.channels[1].id = ChannelId(3);
        assert!(matches!(bad.validate(), Err(LayoutError::ChannelNumbering { .. })));
        let mut bad = good.clone();
        bad.channels[0].kind = ChannelKind::E1Bearer;
        assert!(matches!(bad.validate(), Err(LayoutError::KindMismatch { .. })));
        let mut bad = good.clone();
        bad.spans[0].channel_count = 3;
        assert!(matches!(bad.validate(), Err(LayoutError::ChannelCount { .. })));
        let mut bad = good;
        bad.spans.clear();
        assert_eq!(bad.validate(), Err(LayoutError::NoSpans));
    }
}
