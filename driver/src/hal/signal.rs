//! Signalling that crosses the board boundary each tick: events the board
//! reports (what the line or phone did) and commands the driver gives (what
//! our port should do).
//!
//! Events are raw line conditions, as a DAHDI card reports them: an FXS port
//! reports every hook transition of its phone, and hook debounce and flash
//! timing are the job of the analog signalling above. A backend whose
//! hardware already times a flash (DAHDI's `WINKFLASH`) reports
//! [`EventKind::Flash`] instead of the two transitions.

use serde::{Deserialize, Serialize};
use std::fmt;

use super::time::BoardTime;
use super::types::{ChannelId, SpanId};

/// The four CAS signalling bits of an E1 timeslot, ABCD in the low nibble
/// (A = bit 3 … D = bit 0), as carried in TS16 of the CAS multiframe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CasBits(u8);

impl CasBits {
    pub const fn new(abcd: u8) -> Self {
        CasBits(abcd & 0x0F)
    }
    pub const fn abcd(self) -> u8 {
        self.0
    }
    pub const fn a(self) -> bool {
        self.0 & 0b1000 != 0
    }
    pub const fn b(self) -> bool {
        self.0 & 0b0100 != 0
    }
    pub const fn c(self) -> bool {
        self.0 & 0b0010 != 0
    }
    pub const fn d(self) -> bool {
        self.0 & 0b0001 != 0
    }
}
impl fmt::Display for CasBits {
    /// `1001`: A, B, C, D.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04b}", self.0)
    }
}

/// A set of span alarms (G.775 / G.732 conditions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Alarms(u8);

impl Alarms {
    pub const NONE: Alarms = Alarms(0);
    /// Loss of signal (red).
    pub const LOS: Alarms = Alarms(1 << 0);
    /// Loss of frame alignment (red).
    pub const LOF: Alarms = Alarms(1 << 1);
    /// Alarm indication signal: all ones from upstream (blue).
    pub const AIS: Alarms = Alarms(1 << 2);
    /// Remote alarm indication: the far end is in alarm (yellow, A bit).
    pub const RAI: Alarms = Alarms(1 << 3);
    /// Loss of CAS multiframe alignment.
    pub const LOMF: Alarms = Alarms(1 << 4);
    /// Remote multiframe alarm (Y bit in TS16 frame 0).
    pub const RMAI: Alarms = Alarms(1 << 5);

    const NAMES: [(Alarms, &'static str); 6] = [
        (Alarms::LOS, "LOS"),
        (Alarms::LOF, "LOF"),
        (Alarms::AIS, "AIS"),
        (Alarms::RAI, "RAI"),
        (Alarms::LOMF, "LOMF"),
        (Alarms::RMAI, "RMAI"),
    ];

    pub const fn from_bits(bits: u8) -> Self {
        Alarms(bits & 0x3F)
    }
    pub const fn bits(self) -> u8 {
        self.0
    }
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub const fn contains(self, other: Alarms) -> bool {
        self.0 & other.0 == other.0
    }
    pub const fn union(self, other: Alarms) -> Alarms {
        Alarms(self.0 | other.0)
    }
}
impl fmt::Display for Alarms {
    /// `OK`, or the alarms joined by `+`: `LOS+AIS`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("OK");
        }
        let mut first = true;
        for (bit, name) in Self::NAMES {
            if self.contains(bit) {
                if !first {
                    f.write_str("+")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        Ok(())
    }
}

/// Longest HDLC frame carried (Q.921: 2 address + 2 control + N201 = 260
/// information octets), FCS excluded.
pub const HDLC_MAX_FRAME: usize = 264;

/// One HDLC frame, FCS stripped (received) or not yet added (to send). Held
/// inline so that events and commands never allocate.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct HdlcFrame {
    len: u16,
    data: [u8; HDLC_MAX_FRAME],
}

/// A frame longer than [`HDLC_MAX_FRAME`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("HDLC frame of {0} octets is longer than the {HDLC_MAX_FRAME} allowed")]
pub struct FrameTooLong(pub usize);

impl HdlcFrame {
    pub fn new(bytes: &[u8]) -> Result<Self, FrameTooLong> {
        if bytes.len() > HDLC_MAX_FRAME {
            return Err(FrameTooLong(bytes.len()));
        }
        let mut data = [0u8; HDLC_MAX_FRAME];
        data[..bytes.len()].copy_from_slice(bytes);
        Ok(HdlcFrame { len: bytes.len() as u16, data })
    }
    pub fn as_bytes(&self) -> &[u8] {
        &self.data[..self.len as usize]
    }
    pub fn len(&self) -> usize {
        self.len as usize
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}
impl fmt::Debug for HdlcFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HdlcFrame[")?;
        for (i, b) in self.as_bytes().iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{b:02x}")?;
        }
        write!(f, "]")
    }
}
impl Serialize for HdlcFrame {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.as_bytes())
    }
}
impl<'de> Deserialize<'de> for HdlcFrame {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v: Vec<u8> = Vec::deserialize(d)?;
        HdlcFrame::new(&v).map_err(serde::de::Error::custom)
    }
}

/// Line polarity an FXS port feeds (and an FXO port sees).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Polarity {
    #[default]
    Normal,
    Reversed,
}

/// What the board saw on a channel or span.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    /// FXO: ringing voltage appeared on the line.
    RingOn,
    /// FXO: ringing voltage went away.
    RingOff,
    /// FXO: the CO reversed the line polarity (answer or disconnect
    /// supervision, or a caller-ID pre-alert).
    PolarityReversal,
    /// FXO: loop current (battery) went away: the CO's disconnect signal
    /// (CPC, open switch interval) or a cut line.
    LoopCurrentDrop,
    /// FXO: loop current is back.
    LoopCurrentRestore,
    /// FXS: the phone went off-hook (raw, not debounced).
    OffHook,
    /// FXS: the phone went on-hook (raw, not debounced).
    OnHook,
    /// FXS: a hook flash timed by the hardware itself.
    Flash,
    /// E1: the ABCD bits received for this timeslot changed.
    CasBits { bits: CasBits },
    /// E1: the span's alarm set changed (empty = alarms cleared).
    Alarm { alarms: Alarms },
    /// D-channel: a good HDLC frame arrived (FCS checked and stripped).
    HdlcFrame { frame: HdlcFrame },
    /// D-channel: a frame was aborted or failed its FCS.
    HdlcBadFrame,
}

impl EventKind {
    /// Short lower-case name for tables and logs.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::RingOn => "ring_on",
            EventKind::RingOff => "ring_off",
            EventKind::PolarityReversal => "polarity_reversal",
            EventKind::LoopCurrentDrop => "loop_current_drop",
            EventKind::LoopCurrentRestore => "loop_current_restore",
            EventKind::OffHook => "off_hook",
            EventKind::OnHook => "on_hook",
            EventKind::Flash => "flash",
            EventKind::CasBits { .. } => "cas_bits",
            EventKind::Alarm { .. } => "alarm",
            EventKind::HdlcFrame { .. } => "hdlc_frame",
            EventKind::HdlcBadFrame => "hdlc_bad_frame",
        }
    }
}

/// Where an event happened: most happen on a channel, alarms on a span.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    Channel(ChannelId),
    Span(SpanId),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Channel(c) => write!(f, "channel {c}"),
            Target::Span(s) => write!(f, "span {s}"),
        }
    }
}

/// One event from the board, stamped with the board time it happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardEvent {
    pub at: BoardTime,
    pub target: Target,
    #[serde(flatten)]
    pub kind: EventKind,
}

impl BoardEvent {
    pub fn channel(at: BoardTime, ch: ChannelId, kind: EventKind) -> Self {
        BoardEvent { at, target: Target::Channel(ch), kind }
    }
    pub fn span(at: BoardTime, span: SpanId, kind: EventKind) -> Self {
        BoardEvent { at, target: Target::Span(span), kind }
    }
}

/// What the driver tells a port to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum CommandKind {
    /// FXO: close the loop (seize the line or answer).
    OffHook,
    /// FXO: open the loop (release the line).
    OnHook,
    /// FXS: start ringing the phone (the board applies its cadence).
    RingStart,
    /// FXS: stop ringing.
    RingStop,
    /// FXS: feed the line with this polarity.
    SetPolarity { polarity: Polarity },
    /// FXS: feed (true) or withdraw (false) loop current; withdrawing it for
    /// a few hundred ms tells the phone's answering machine the caller left.
    SetLoopCurrent { on: bool },
    /// E1: send these ABCD bits on this timeslot.
    SetCasBits { bits: CasBits },
    /// D-channel: send one HDLC frame (the board adds flags and FCS).
    SendHdlc { frame: HdlcFrame },
}

impl CommandKind {
    pub fn name(&self) -> &'static str {
        match self {
            CommandKind::OffHook => "off_hook",
            CommandKind::OnHook => "on_hook",
            CommandKind::RingStart => "ring_start",
            CommandKind::RingStop => "ring_stop",
            CommandKind::SetPolarity { .. } => "set_polarity",
            CommandKind::SetLoopCurrent { .. } => "set_loop_current",
            CommandKind::SetCasBits { .. } => "set_cas_bits",
            CommandKind::SendHdlc { .. } => "send_hdlc",
        }
    }
}

/// One command to a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardCommand {
    pub channel: ChannelId,
    #[serde(flatten)]
    pub kind: CommandKind,
}

impl BoardCommand {
    pub fn new(channel: ChannelId, kind: CommandKind) -> Self {
        BoardCommand { channel, kind }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cas_bits_and_alarms_display() {
        let b = CasBits::new(0b1001);
        assert!(b.a() && !b.b() && !b.c() && b.d());
        assert_eq!(b.to_string(), "1001");
        assert_eq!(CasBits::new(0xFF).abcd(), 0x0F);
        assert_eq!(Alarms::NONE.to_string(), "OK");
        assert_eq!(Alarms::LOS.union(Alarms::AIS).to_string(), "LOS+AIS");
    }

    #[test]
    fn hdlc_frame_limits() {
        let f = HdlcFrame::new(&[0x02, 0x01, 0x7f]).unwrap();
        assert_eq!(f.as_bytes(), &[0x02, 0x01, 0x7f]);
        assert_eq!(format!("{f:?}"), "HdlcFrame[02 01 7f]");
        assert!(HdlcFrame::new(&[0; HDLC_MAX_FRAME]).is_ok());
        assert_eq!(HdlcFrame::new(&[0; HDLC_MAX_FRAME + 1]), Err(FrameTooLong(HDLC_MAX_FRAME + 1)));
    }

    #[test]
    fn events_serialize_flat() {
        let e = BoardEvent::channel(BoardTime::from_ms(20), ChannelId(3), EventKind::RingOn);
        let j = serde_json::to_string(&e).unwrap();
        assert_eq!(j, r#"{"at":160,"target":{"channel":3},"event":"ring_on"}"#);
        let back: BoardEvent = serde_json::from_str(&j).unwrap();
        assert_eq!(back, e);
    }
}
