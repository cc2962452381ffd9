//! Wire format between the driver's `sim` backend and `ctibox-sim`.
//!
//! The simulator is a real board: the same tick / event / command model as
//! hardware, carried over a Unix stream socket. Every message is a frame:
//!
//! ```text
//! 0..4   length   u32 LE, bytes after this field (type + body), ≤ MAX_FRAME
//! 4      type     u8  (MessageType)
//! 5..    body
//! ```
//!
//! All integers are little-endian. Conversation:
//!
//! 1. driver → board `ATTACH` { version u16, name: str8 }
//! 2. board → driver `HELLO` (layout and current signalling state) or
//!    `REFUSE` { reason: str16 } (another driver is attached, bad version).
//! 3. then for every tick: board → driver `TICK` { number u64, start u64
//!    (board time in samples), slips u64, event count u16, events, audio },
//!    driver → board `REPLY` { number u64, command count u16, commands,
//!    audio }. Audio is the rest of the frame and must be exactly the
//!    board's tick size.
//! 4. either side may send `BYE` { reason: str16 } before closing.
//!
//! Events: at u64, target u8 (0 channel, 1 span), id u16, kind u8, then a
//! kind-specific body (CAS bits u8, alarms u8, HDLC frame u16 + bytes).
//! Commands: channel u16, kind u8, body (polarity u8, on u8, CAS u8, HDLC
//! u16 + bytes).
//!
//! Parsing never panics: every read is bounds-checked and every code point
//! is validated; errors say what was being read and at which offset.

use crate::hal::{
    Alarms, BoardCommand, BoardEvent, BoardInfo, BoardTime, CasBits, ChannelId, ChannelInfo, ChannelKind,
    ChannelSignal, CommandKind, E1Signalling, EventKind, HdlcFrame, Law, Polarity, SignalState, SpanId, SpanInfo,
    SpanKind, Target, TickLength,
};

/// Protocol version spoken by this build.
pub const VERSION: u16 = 1;
/// Largest frame accepted (type + body), far above the largest board.
pub const MAX_FRAME: usize = 4 << 20;
/// Bytes of the length prefix.
pub const LEN_BYTES: usize = 4;

/// Message type codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    Attach,
    Hello,
    Refuse,
    Tick,
    Reply,
    Bye,
    Unknown(u8),
}

impl From<u8> for MessageType {
    fn from(v: u8) -> Self {
        match v {
            0x01 => MessageType::Attach,
            0x02 => MessageType::Hello,
            0x03 => MessageType::Refuse,
            0x04 => MessageType::Tick,
            0x05 => MessageType::Reply,
            0x06 => MessageType::Bye,
            x => MessageType::Unknown(x),
        }
    }
}
impl From<MessageType> for u8 {
    fn from(t: MessageType) -> u8 {
        match t {
            MessageType::Attach => 0x01,
            MessageType::Hello => 0x02,
            MessageType::Refuse => 0x03,
            MessageType::Tick => 0x04,
            MessageType::Reply => 0x05,
            MessageType::Bye => 0x06,
            MessageType::Unknown(x) => x,
        }
    }
}

/// What was wrong with a frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("frame truncated while reading {what} at byte {offset}")]
    Truncated { what: &'static str, offset: usize },
    #[error("frame of {0} bytes exceeds the {MAX_FRAME}-byte limit")]
    TooLong(usize),
    #[error("empty frame (no message type)")]
    Empty,
    #[error("expected a {expected:?} message, got {got:?}")]
    UnexpectedType { expected: MessageType, got: MessageType },
    #[error("invalid {what} code {value} at byte {offset}")]
    BadCode { what: &'static str, value: u32, offset: usize },
    #[error("{what} at byte {offset} is not valid UTF-8")]
    BadText { what: &'static str, offset: usize },
    #[error("audio is {got} bytes, the board's tick needs {expected}")]
    AudioSize { expected: usize, got: usize },
    #[error("{0} trailing bytes after the message")]
    Trailing(usize),
    #[error("board layout in HELLO is inconsistent: {0}")]
    Layout(String),
    #[error("HDLC frame at byte {offset} is {len} octets, longer than allowed")]
    HdlcTooLong { len: usize, offset: usize },
    #[error("protocol version {0} is not supported (this build speaks {VERSION})")]
    Version(u16),
}

/// Bounds-checked little-endian reader over a frame body.
#[derive(Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Offset of `buf[0]` within the frame, for error messages.
    base: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8], base: usize) -> Self {
        Reader { buf, pos: 0, base }
    }
    pub fn offset(&self) -> usize {
        self.base + self.pos
    }
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }
    pub fn bytes(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], WireError> {
        if self.remaining() < n {
            return Err(WireError::Truncated { what, offset: self.offset() });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    pub fn u8(&mut self, what: &'static str) -> Result<u8, WireError> {
        Ok(self.bytes(1, what)?[0])
    }
    pub fn u16(&mut self, what: &'static str) -> Result<u16, WireError> {
        let b = self.bytes(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    pub fn u64(&mut self, what: &'static str) -> Result<u64, WireError> {
        let b = self.bytes(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    fn text(&mut self, len: usize, what: &'static str) -> Result<String, WireError> {
        let at = self.offset();
        let b = self.bytes(len, what)?;
        std::str::from_utf8(b).map(str::to_owned).map_err(|_| WireError::BadText { what, offset: at })
    }
    pub fn str8(&mut self, what: &'static str) -> Result<String, WireError> {
        let n = self.u8(what)? as usize;
        self.text(n, what)
    }
    pub fn str16(&mut self, what: &'static str) -> Result<String, WireError> {
        let n = self.u16(what)? as usize;
        self.text(n, what)
    }
    pub fn rest(&mut self) -> &'a [u8] {
        let s = &self.buf[self.pos..];
        self.pos = self.buf.len();
        s
    }
    pub fn finish(&self) -> Result<(), WireError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(WireError::Trailing(n)),
        }
    }
}

/// Split a frame (without its length prefix) into type and body.
pub fn split_frame(frame: &[u8]) -> Result<(MessageType, Reader<'_>), WireError> {
    let (&t, body) = frame.split_first().ok_or(WireError::Empty)?;
    Ok((MessageType::from(t), Reader::new(body, 1)))
}

/// Builds one frame in a reusable buffer: `begin`, push fields, `finish`.
#[derive(Debug, Default)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    pub fn new() -> Self {
        Writer { buf: Vec::new() }
    }
    pub fn with_capacity(n: usize) -> Self {
        Writer { buf: Vec::with_capacity(n) }
    }
    /// Start a frame of type `t`, discarding any previous content.
    pub fn begin(&mut self, t: MessageType) -> &mut Self {
        self.buf.clear();
        self.buf.extend_from_slice(&[0, 0, 0, 0, u8::from(t)]);
        self
    }
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }
    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(b);
        self
    }
    /// A string with a one-byte length, cut to 255 bytes on a char boundary.
    pub fn str8(&mut self, s: &str) -> &mut Self {
        let s = truncate_utf8(s, u8::MAX as usize);
        self.u8(s.len() as u8).bytes(s.as_bytes())
    }
    /// A string with a two-byte length, cut to 65535 bytes.
    pub fn str16(&mut self, s: &str) -> &mut Self {
        let s = truncate_utf8(s, u16::MAX as usize);
        self.u16(s.len() as u16).bytes(s.as_bytes())
    }
    /// Fill in the length prefix and return the whole frame.
    pub fn finish(&mut self) -> &[u8] {
        self.finish_head(0)
    }
    /// Fill in the length prefix of a frame whose last `tail` bytes are not
    /// in the writer (they go out after it in the same vectored write), and
    /// return the frame's head.
    pub fn finish_head(&mut self, tail: usize) -> &[u8] {
        let len = (self.buf.len() - LEN_BYTES + tail) as u32;
        self.buf[..LEN_BYTES].copy_from_slice(&len.to_le_bytes());
        &self.buf
    }
}

fn truncate_utf8(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

// --- ATTACH -----------------------------------------------------------------

/// Driver's first message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attach {
    pub version: u16,
    /// Who is attaching, for the simulator's status (`ctibox board monitor`,
    /// `ctiboxd`).
    pub client: String,
}

impl Attach {
    pub fn parse(frame: &[u8]) -> Result<Attach, WireError> {
        let (t, mut r) = split_frame(frame)?;
        expect(MessageType::Attach, t)?;
        let version = r.u16("version")?;
        let client = r.str8("client name")?;
        r.finish()?;
        Ok(Attach { version, client })
    }
    pub fn emit<'w>(&self, w: &'w mut Writer) -> &'w [u8] {
        w.begin(MessageType::Attach).u16(self.version).str8(&self.client).finish()
    }
}

fn expect(expected: MessageType, got: MessageType) -> Result<(), WireError> {
    if expected == got { Ok(()) } else { Err(WireError::UnexpectedType { expected, got }) }
}

// --- HELLO ------------------------------------------------------------------

/// How the board paces ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pace {
    /// Lock-step: the next tick comes as soon as the driver replied.
    Fast,
    /// Paced by the board's clock like hardware; late replies are slips.
    RealTime,
}

/// Board's answer to ATTACH: layout, pace, and current signalling state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    pub version: u16,
    pub pace: Pace,
    /// Number of the next tick the board will send.
    pub next_tick: u64,
    pub info: BoardInfo,
    pub signals: SignalState,
}

const SPAN_ANALOG: u8 = 0;
const SPAN_E1_CAS: u8 = 1;
const SPAN_E1_CCS: u8 = 2;

fn kind_code(k: ChannelKind) -> u8 {
    match k {
        ChannelKind::Fxo => 0,
        ChannelKind::Fxs => 1,
        ChannelKind::E1Bearer => 2,
        ChannelKind::DChannel => 3,
    }
}

const SIG_OFF_HOOK: u8 = 1;
const SIG_RINGING: u8 = 2;
const SIG_LOOP_CURRENT: u8 = 4;
const SIG_REVERSED: u8 = 8;

impl Hello {
    pub fn emit<'w>(&self, w: &'w mut Writer) -> &'w [u8] {
        let info = &self.info;
        w.begin(MessageType::Hello)
            .u16(self.version)
            .u8(match self.pace {
                Pace::Fast => 0,
                Pace::RealTime => 1,
            })
            .u64(self.next_tick)
            .u16(info.tick.samples() as u16)
            .str8(&info.name)
            .u8(info.spans.len() as u8)
            .u16(info.channels.len() as u16);
        for s in &info.spans {
            let (kind, crc4) = match s.kind {
                SpanKind::Analog => (SPAN_ANALOG, false),
                SpanKind::E1 { signalling: E1Signalling::Cas, crc4 } => (SPAN_E1_CAS, crc4),
                SpanKind::E1 { signalling: E1Signalling::Ccs, crc4 } => (SPAN_E1_CCS, crc4),
            };
            w.u8(s.id.0)
                .u8(kind)
                .u8(crc4 as u8)
                .u8(match s.law {
                    Law::ALaw => 0,
                    Law::MuLaw => 1,
                })
                .u16(s.first_channel.0)
                .u16(s.channel_count);
        }
        for c in &info.channels {
            w.u16(c.id.0).u8(c.span.0).u8(kind_code(c.kind)).u8(c.timeslot.unwrap_or(0));
        }
        for (i, _) in info.channels.iter().enumerate() {
            let s = self.signals.channels.get(i).copied().unwrap_or_default();
            let flags = (s.off_hook as u8 * SIG_OFF_HOOK)
                | (s.ringing as u8 * SIG_RINGING)
                | (s.loop_current as u8 * SIG_LOOP_CURRENT)
                | ((s.polarity == Polarity::Reversed) as u8 * SIG_REVERSED);
            w.u8(flags).u8(s.rx_cas.abcd()).u8(s.tx_cas.abcd());
        }
        for (i, _) in info.spans.iter().enumerate() {
            w.u8(self.signals.span_alarms.get(i).copied().unwrap_or_default().bits());
        }
        w.finish()
    }

    pub fn parse(frame: &[u8]) -> Result<Hello, WireError> {
        let (t, mut r) = split_frame(frame)?;
        expect(MessageType::Hello, t)?;
        let version = r.u16("version")?;
        if version != VERSION {
            return Err(WireError::Version(version));
        }
        let at = r.offset();
        let pace = match r.u8("pace")? {
            0 => Pace::Fast,
            1 => Pace::RealTime,
            v => return Err(WireError::BadCode { what: "pace", value: v as u32, offset: at }),
        };
        let next_tick = r.u64("next tick")?;
        let at = r.offset();
        let samples = r.u16("tick samples")?;
        let tick = TickLength::from_samples(samples as u32).map_err(|_| WireError::BadCode {
            what: "tick length",
            value: samples as u32,
            offset: at,
        })?;
        let name = r.str8("board name")?;
        let nspans = r.u8("span count")? as usize;
        let at = r.offset();
        let nchans = r.u16("channel count")? as usize;
        if nchans > BoardInfo::MAX_CHANNELS {
            return Err(WireError::BadCode { what: "channel count", value: nchans as u32, offset: at });
        }
        let mut spans = Vec::with_capacity(nspans);
        for _ in 0..nspans {
            let id = SpanId(r.u8("span id")?);
            let at = r.offset();
            let kind = r.u8("span kind")?;
            let crc4 = r.u8("span crc4")? != 0;
            let kind = match kind {
                SPAN_ANALOG => SpanKind::Analog,
                SPAN_E1_CAS => SpanKind::E1 { signalling: E1Signalling::Cas, crc4 },
                SPAN_E1_CCS => SpanKind::E1 { signalling: E1Signalling::Ccs, crc4 },
                v => return Err(WireError::BadCode { what: "span kind", value: v as u32, offset: at }),
            };
            let at = r.offset();
            let law = match r.u8("span law")? {
                0 => Law::ALaw,
                1 => Law::MuLaw,
                v => return Err(WireError::BadCode { what: "span law", value: v as u32, offset: at }),
            };
            let first_channel = ChannelId(r.u16("span first channel")?);
            let channel_count = r.u16("span channel count")?;
            spans.push(SpanInfo { id, kind, law, first_channel, channel_count });
        }
        let mut channels = Vec::with_capacity(nchans);
        for _ in 0..nchans {
            let id = ChannelId(r.u16("channel id")?);
            let span = SpanId(r.u8("channel span")?);
            let at = r.offset();
            let kind = match r.u8("channel kind")? {
                0 => ChannelKind::Fxo,
                1 => ChannelKind::Fxs,
                2 => ChannelKind::E1Bearer,
                3 => ChannelKind::DChannel,
                v => return Err(WireError::BadCode { what: "channel kind", value: v as u32, offset: at }),
            };
            let ts = r.u8("channel timeslot")?;
            channels.push(ChannelInfo { id, span, kind, timeslot: (ts != 0).then_some(ts) });
        }
        let info = BoardInfo { name, tick, spans, channels };
        info.validate().map_err(|e| WireError::Layout(e.to_string()))?;
        let mut sig_channels = Vec::with_capacity(nchans);
        for _ in 0..nchans {
            let flags = r.u8("channel signal flags")?;
            let rx_cas = CasBits::new(r.u8("rx CAS bits")?);
            let tx_cas = CasBits::new(r.u8("tx CAS bits")?);
            sig_channels.push(ChannelSignal {
                off_hook: flags & SIG_OFF_HOOK != 0,
                ringing: flags & SIG_RINGING != 0,
                loop_current: flags & SIG_LOOP_CURRENT != 0,
                polarity: if flags & SIG_REVERSED != 0 { Polarity::Reversed } else { Polarity::Normal },
                rx_cas,
                tx_cas,
            });
        }
        let mut alarms = Vec::with_capacity(nspans);
        for _ in 0..nspans {
            alarms.push(Alarms::from_bits(r.u8("span alarms")?));
        }
        r.finish()?;
        Ok(Hello {
            version,
            pace,
            next_tick,
            info,
            signals: SignalState { channels: sig_channels, span_alarms: alarms },
        })
    }
}

// --- REFUSE / BYE -----------------------------------------------------------

/// Emit a REFUSE or BYE with a reason.
pub fn emit_reason<'w>(w: &'w mut Writer, t: MessageType, reason: &str) -> &'w [u8] {
    w.begin(t).str16(reason).finish()
}

/// Parse the reason of a REFUSE or BYE body.
pub fn parse_reason(mut r: Reader<'_>) -> Result<String, WireError> {
    let s = r.str16("reason")?;
    r.finish()?;
    Ok(s)
}

// --- TICK -------------------------------------------------------------------

/// Header of a TICK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TickHeader {
    pub number: u64,
    pub start: BoardTime,
    /// Slips the board has counted since it started.
    pub slips: u64,
}

const EV_RING_ON: u8 = 1;
const EV_RING_OFF: u8 = 2;
const EV_POLARITY: u8 = 3;
const EV_LC_DROP: u8 = 4;
const EV_LC_RESTORE: u8 = 5;
const EV_OFF_HOOK: u8 = 6;
const EV_ON_HOOK: u8 = 7;
const EV_FLASH: u8 = 8;
const EV_CAS: u8 = 9;
const EV_ALARM: u8 = 10;
const EV_HDLC: u8 = 11;
const EV_HDLC_BAD: u8 = 12;

fn emit_event(w: &mut Writer, ev: &BoardEvent) {
    w.u64(ev.at.samples());
    match ev.target {
        Target::Channel(c) => w.u8(0).u16(c.0),
        Target::Span(s) => w.u8(1).u16(s.0 as u16),
    };
    match ev.kind {
        EventKind::RingOn => w.u8(EV_RING_ON),
        EventKind::RingOff => w.u8(EV_RING_OFF),
        EventKind::PolarityReversal => w.u8(EV_POLARITY),
        EventKind::LoopCurrentDrop => w.u8(EV_LC_DROP),
        EventKind::LoopCurrentRestore => w.u8(EV_LC_RESTORE),
        EventKind::OffHook => w.u8(EV_OFF_HOOK),
        EventKind::OnHook => w.u8(EV_ON_HOOK),
        EventKind::Flash => w.u8(EV_FLASH),
        EventKind::CasBits { bits } => w.u8(EV_CAS).u8(bits.abcd()),
        EventKind::Alarm { alarms } => w.u8(EV_ALARM).u8(alarms.bits()),
        EventKind::HdlcFrame { frame } => w.u8(EV_HDLC).u16(frame.len() as u16).bytes(frame.as_bytes()),
        EventKind::HdlcBadFrame => w.u8(EV_HDLC_BAD),
    };
}

fn parse_hdlc(r: &mut Reader<'_>) -> Result<HdlcFrame, WireError> {
    let at = r.offset();
    let len = r.u16("HDLC length")? as usize;
    let b = r.bytes(len, "HDLC frame")?;
    HdlcFrame::new(b).map_err(|_| WireError::HdlcTooLong { len, offset: at })
}

fn parse_event(r: &mut Reader<'_>) -> Result<BoardEvent, WireError> {
    let at = BoardTime::from_samples(r.u64("event time")?);
    let toff = r.offset();
    let target = match r.u8("event target")? {
        0 => Target::Channel(ChannelId(r.u16("event channel")?)),
        1 => {
            let off = r.offset();
            let id = r.u16("event span")?;
            let id =
                u8::try_from(id).map_err(|_| WireError::BadCode { what: "span id", value: id as u32, offset: off })?;
            Target::Span(SpanId(id))
        }
        v => return Err(WireError::BadCode { what: "event target", value: v as u32, offset: toff }),
    };
    let koff = r.offset();
    let kind = match r.u8("event kind")? {
        EV_RING_ON => EventKind::RingOn,
        EV_RING_OFF => EventKind::RingOff,
        EV_POLARITY => EventKind::PolarityReversal,
        EV_LC_DROP => EventKind::LoopCurrentDrop,
        EV_LC_RESTORE => EventKind::LoopCurrentRestore,
        EV_OFF_HOOK => EventKind::OffHook,
        EV_ON_HOOK => EventKind::OnHook,
        EV_FLASH => EventKind::Flash,
        EV_CAS => EventKind::CasBits { bits: CasBits::new(r.u8("CAS bits")?) },
        EV_ALARM => EventKind::Alarm { alarms: Alarms::from_bits(r.u8("alarms")?) },
        EV_HDLC => EventKind::HdlcFrame { frame: parse_hdlc(r)? },
        EV_HDLC_BAD => EventKind::HdlcBadFrame,
        v => return Err(WireError::BadCode { what: "event kind", value: v as u32, offset: koff }),
    };
    Ok(BoardEvent { at, target, kind })
}

/// Emit a TICK frame.
pub fn emit_tick<'w>(w: &'w mut Writer, h: &TickHeader, events: &[BoardEvent], audio: &[u8]) -> &'w [u8] {
    tick_head(w, h, events).bytes(audio).finish()
}

/// The head of a TICK frame (everything but the audio) whose audio is
/// `audio_len` bytes: sent with the audio after it in one vectored write,
/// it makes the same frame as [`emit_tick`] without copying the audio.
pub fn emit_tick_head<'w>(w: &'w mut Writer, h: &TickHeader, events: &[BoardEvent], audio_len: usize) -> &'w [u8] {
    tick_head(w, h, events).finish_head(audio_len)
}

fn tick_head<'w>(w: &'w mut Writer, h: &TickHeader, events: &[BoardEvent]) -> &'w mut Writer {
    w.begin(MessageType::Tick).u64(h.number).u64(h.start.samples()).u64(h.slips);
    let n = events.len().min(u16::MAX as usize);
    w.u16(n as u16);
    for ev in &events[..n] {
        emit_event(w, ev);
    }
    w
}

/// Parse a TICK body into the caller's buffers. `audio` must have the
/// board's tick size; events are appended to `events`.
pub fn parse_tick(mut r: Reader<'_>, audio: &mut [u8], events: &mut Vec<BoardEvent>) -> Result<TickHeader, WireError> {
    let number = r.u64("tick number")?;
    let start = BoardTime::from_samples(r.u64("tick start")?);
    let slips = r.u64("slips")?;
    let n = r.u16("event count")?;
    for _ in 0..n {
        events.push(parse_event(&mut r)?);
    }
    let rest = r.rest();
    if rest.len() != audio.len() {
        return Err(WireError::AudioSize { expected: audio.len(), got: rest.len() });
    }
    audio.copy_from_slice(rest);
    Ok(TickHeader { number, start, slips })
}

// --- REPLY ------------------------------------------------------------------

const CMD_OFF_HOOK: u8 = 1;
const CMD_ON_HOOK: u8 = 2;
const CMD_RING_START: u8 = 3;
const CMD_RING_STOP: u8 = 4;
const CMD_POLARITY: u8 = 5;
const CMD_LOOP_CURRENT: u8 = 6;
const CMD_CAS: u8 = 7;
const CMD_HDLC: u8 = 8;

/// Emit a REPLY frame for tick `number`.
pub fn emit_reply<'w>(w: &'w mut Writer, number: u64, commands: &[BoardCommand], audio: &[u8]) -> &'w [u8] {
    reply_head(w, number, commands).bytes(audio).finish()
}

/// The head of a REPLY frame (everything but the audio) whose audio is
/// `audio_len` bytes, for a vectored write (see [`emit_tick_head`]).
pub fn emit_reply_head<'w>(w: &'w mut Writer, number: u64, commands: &[BoardCommand], audio_len: usize) -> &'w [u8] {
    reply_head(w, number, commands).finish_head(audio_len)
}

fn reply_head<'w>(w: &'w mut Writer, number: u64, commands: &[BoardCommand]) -> &'w mut Writer {
    w.begin(MessageType::Reply).u64(number);
    let n = commands.len().min(u16::MAX as usize);
    w.u16(n as u16);
    for c in &commands[..n] {
        w.u16(c.channel.0);
        match c.kind {
            CommandKind::OffHook => w.u8(CMD_OFF_HOOK),
            CommandKind::OnHook => w.u8(CMD_ON_HOOK),
            CommandKind::RingStart => w.u8(CMD_RING_START),
            CommandKind::RingStop => w.u8(CMD_RING_STOP),
            CommandKind::SetPolarity { polarity } => w.u8(CMD_POLARITY).u8((polarity == Polarity::Reversed) as u8),
            CommandKind::SetLoopCurrent { on } => w.u8(CMD_LOOP_CURRENT).u8(on as u8),
            CommandKind::SetCasBits { bits } => w.u8(CMD_CAS).u8(bits.abcd()),
            CommandKind::SendHdlc { frame } => w.u8(CMD_HDLC).u16(frame.len() as u16).bytes(frame.as_bytes()),
        };
    }
    w
}

/// Parse a REPLY body into the caller's buffers; returns the tick number.
pub fn parse_reply(mut r: Reader<'_>, audio: &mut [u8], commands: &mut Vec<BoardCommand>) -> Result<u64, WireError> {
    let number = r.u64("reply tick number")?;
    let n = r.u16("command count")?;
    for _ in 0..n {
        let channel = ChannelId(r.u16("command channel")?);
        let koff = r.offset();
        let kind = match r.u8("command kind")? {
            CMD_OFF_HOOK => CommandKind::OffHook,
            CMD_ON_HOOK => CommandKind::OnHook,
            CMD_RING_START => CommandKind::RingStart,
            CMD_RING_STOP => CommandKind::RingStop,
            CMD_POLARITY => {
                let off = r.offset();
                CommandKind::SetPolarity {
                    polarity: match r.u8("polarity")? {
                        0 => Polarity::Normal,
                        1 => Polarity::Reversed,
                        v => return Err(WireError::BadCode { what: "polarity", value: v as u32, offset: off }),
                    },
                }
            }
            CMD_LOOP_CURRENT => CommandKind::SetLoopCurrent { on: r.u8("loop current")? != 0 },
            CMD_CAS => CommandKind::SetCasBits { bits: CasBits::new(r.u8("CAS bits")?) },
            CMD_HDLC => CommandKind::SendHdlc { frame: parse_hdlc(&mut r)? },
            v => return Err(WireError::BadCode { what: "command kind", value: v as u32, offset: koff }),
        };
        commands.push(BoardCommand { channel, kind });
    }
    let rest = r.rest();
    if rest.len() != audio.len() {
        return Err(WireError::AudioSize { expected: audio.len(), got: rest.len() });
    }
    audio.copy_from_slice(rest);
    Ok(number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hal::BoardLayout;

    fn body(frame: &[u8]) -> &[u8] {
        let len = u32::from_le_bytes([frame[0], frame[1], frame[2], frame[3]]) as usize;
        assert_eq!(len, frame.len() - 4);
        &frame[4..]
    }

    #[test]
    fn attach_literal_bytes() {
        let mut w = Writer::new();
        let f = Attach { version: 1, client: "ab".into() }.emit(&mut w).to_vec();
        assert_eq!(f, [6, 0, 0, 0, 0x01, 1, 0, 2, b'a', b'b']);
        assert_eq!(Attach::parse(body(&f)).unwrap(), Attach { version: 1, client: "ab".into() });
        assert_eq!(Attach::parse(&[0x01, 1]), Err(WireError::Truncated { what: "version", offset: 1 }));
        assert_eq!(Attach::parse(&[0x01, 1, 0, 3, b'a']), Err(WireError::Truncated { what: "client name", offset: 4 }));
        assert_eq!(
            Attach::parse(&[0x02, 1, 0, 0]),
            Err(WireError::UnexpectedType { expected: MessageType::Attach, got: MessageType::Hello })
        );
        assert_eq!(Attach::parse(&[0x01, 1, 0, 0, 9]), Err(WireError::Trailing(1)));
        assert_eq!(Attach::parse(&[0x01, 1, 0, 1, 0xFF]), Err(WireError::BadText { what: "client name", offset: 4 }));
    }

    #[test]
    fn tick_literal_bytes() {
        let mut w = Writer::new();
        let ev = BoardEvent::channel(
            BoardTime::from_samples(0x0102),
            ChannelId(3),
            EventKind::CasBits { bits: CasBits::new(0b1001) },
        );
        let h = TickHeader { number: 7, start: BoardTime::from_samples(0x0100), slips: 0 };
        let f = emit_tick(&mut w, &h, &[ev], &[0xD5, 0xD4]).to_vec();
        #[rustfmt::skip]
        let want = [
            42, 0, 0, 0, 0x04,
            7, 0, 0, 0, 0, 0, 0, 0,          // number
            0, 1, 0, 0, 0, 0, 0, 0,          // start
            0, 0, 0, 0, 0, 0, 0, 0,          // slips
            1, 0,                            // one event
            2, 1, 0, 0, 0, 0, 0, 0, 0, 3, 0, // at, channel 3
            9, 0b1001,                       // CAS bits
            0xD5, 0xD4,                      // audio
        ];
        assert_eq!(f, want);
        // The head for a vectored write, followed by the audio, is the same
        // frame.
        let mut head = emit_tick_head(&mut w, &h, &[ev], 2).to_vec();
        head.extend_from_slice(&[0xD5, 0xD4]);
        assert_eq!(head, want);
        let (t, r) = split_frame(body(&f)).unwrap();
        assert_eq!(t, MessageType::Tick);
        let mut audio = [0u8; 2];
        let mut evs = Vec::new();
        assert_eq!(parse_tick(r, &mut audio, &mut evs).unwrap(), h);
        assert_eq!(evs, [ev]);
        assert_eq!(audio, [0xD5, 0xD4]);
        // Wrong audio size is an error, not a panic.
        let (_, r) = split_frame(body(&f)).unwrap();
        assert_eq!(parse_tick(r, &mut [0u8; 3], &mut Vec::new()), Err(WireError::AudioSize { expected: 3, got: 2 }));
        // An unknown event kind is named with its offset.
        let mut bad = body(&f).to_vec();
        bad[1 + 24 + 2 + 11] = 99;
        let (_, r) = split_frame(&bad).unwrap();
        assert_eq!(
            parse_tick(r, &mut audio, &mut Vec::new()),
            Err(WireError::BadCode { what: "event kind", value: 99, offset: 38 })
        );
    }

    #[test]
    fn reply_round_trip_all_commands() {
        let frame = HdlcFrame::new(&[0x02, 0x01, 0x7F]).unwrap();
        let cmds = [
            BoardCommand::new(ChannelId(1), CommandKind::OffHook),
            BoardCommand::new(ChannelId(1), CommandKind::OnHook),
            BoardCommand::new(ChannelId(2), CommandKind::RingStart),
            BoardCommand::new(ChannelId(2), CommandKind::RingStop),
            BoardCommand::new(ChannelId(2), CommandKind::SetPolarity { polarity: Polarity::Reversed }),
            BoardCommand::new(ChannelId(2), CommandKind::SetLoopCurrent { on: false }),
            BoardCommand::new(ChannelId(3), CommandKind::SetCasBits { bits: CasBits::new(0b1101) }),
            BoardCommand::new(ChannelId(18), CommandKind::SendHdlc { frame }),
        ];
        let mut w = Writer::new();
        let f = emit_reply(&mut w, 42, &cmds, &[1, 2, 3]).to_vec();
        let mut head = emit_reply_head(&mut w, 42, &cmds, 3).to_vec();
        head.extend_from_slice(&[1, 2, 3]);
        assert_eq!(head, f, "head + audio is the whole frame");
        let (t, r) = split_frame(body(&f)).unwrap();
        assert_eq!(t, MessageType::Reply);
        let mut audio = [0u8; 3];
        let mut got = Vec::new();
        assert_eq!(parse_reply(r, &mut audio, &mut got).unwrap(), 42);
        assert_eq!(got, cmds);
        assert_eq!(audio, [1, 2, 3]);
    }

    #[test]
    fn hello_round_trip_and_layout_check() {
        let info = BoardLayout::new("sim 2+2", TickLength::MS_10)
            .analog_span(Law::MuLaw, 2, 2)
            .e1_span(Law::ALaw, E1Signalling::Ccs, true)
            .build()
            .unwrap();
        let mut signals = SignalState::idle(&info);
        signals.channels[0].off_hook = true;
        signals.channels[2].ringing = true;
        signals.channels[3].polarity = Polarity::Reversed;
        signals.channels[5].rx_cas = CasBits::new(0b1001);
        signals.span_alarms[1] = Alarms::RAI;
        let hello = Hello { version: VERSION, pace: Pace::RealTime, next_tick: 99, info, signals };
        let mut w = Writer::new();
        let f = hello.emit(&mut w).to_vec();
        assert_eq!(Hello::parse(body(&f)).unwrap(), hello);
        // Every prefix of the frame is a clean error, never a panic.
        for n in 0..f.len() - 4 {
            assert!(Hello::parse(&body(&f)[..n]).is_err(), "prefix {n}");
        }
        // A layout that does not hold together is refused.
        let mut bad = body(&f).to_vec();
        // First channel's kind byte: after the header and the span table.
        let header = 1 + 2 + 1 + 8 + 2 + 1 + hello.info.name.len() + 1 + 2;
        let kind_at = header + 2 * 8 + 3;
        bad[kind_at] = 1; // FXO 1 claims to be FXS: fine; claim E1 instead
        bad[kind_at] = 2;
        assert!(matches!(Hello::parse(&bad), Err(WireError::Layout(_))));
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // A cheap deterministic fuzz; the cargo-fuzz target goes further.
        let mut x: u64 = 0x1234_5678;
        let mut audio = [0u8; 16];
        for len in 0..400 {
            let mut buf = Vec::with_capacity(len);
            for _ in 0..len {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                buf.push(x as u8);
            }
            for t in [0x01u8, 0x02, 0x04, 0x05] {
                if let Some(b) = buf.first_mut() {
                    *b = t;
                }
                let _ = Attach::parse(&buf);
                let _ = Hello::parse(&buf);
                if let Ok((_, r)) = split_frame(&buf) {
                    let _ = parse_tick(r, &mut audio, &mut Vec::new());
                }
                if let Ok((_, r)) = split_frame(&buf) {
                    let _ = parse_reply(r, &mut audio, &mut Vec::new());
                }
            }
        }
    }
}
