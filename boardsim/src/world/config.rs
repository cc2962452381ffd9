//! How a world is set up: the board, its lines and phones, and the parties
//! outbound calls can reach.

use ctibox_driver::dsp::dtmf::DtmfTxConfig;
use ctibox_driver::hal::{Duration, Law, TickLength};

use super::audio::AudioSource;
use super::country::{Country, ProgressTone};

/// How the CO tells an FXO port that the far end hung up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DisconnectSignal {
    /// Drop loop current for this long (CPC / open switch interval), then
    /// restore it.
    pub loop_drop: Option<Duration>,
    /// Play the busy tone until the port goes on-hook.
    pub busy_tone: bool,
    /// Reverse the line polarity.
    pub polarity_reversal: bool,
}

impl DisconnectSignal {
    /// Loop-current drop of `ms`.
    pub fn loop_drop_ms(ms: u64) -> Self {
        DisconnectSignal { loop_drop: Some(Duration::from_ms(ms)), busy_tone: false, polarity_reversal: false }
    }
    pub const BUSY_TONE: DisconnectSignal =
        DisconnectSignal { loop_drop: None, busy_tone: true, polarity_reversal: false };
    pub const POLARITY: DisconnectSignal =
        DisconnectSignal { loop_drop: None, busy_tone: false, polarity_reversal: true };
}

impl Default for DisconnectSignal {
    /// Loop-current drop of 600 ms, then busy tone.
    fn default() -> Self {
        DisconnectSignal { loop_drop: Some(Duration::from_ms(600)), busy_tone: true, polarity_reversal: false }
    }
}

/// When the CO sends caller ID to a ringing FXO port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CallerIdMode {
    /// Never.
    #[default]
    Off,
    /// FSK after the first ring, in the country's modulation.
    Fsk,
    /// DTMF digits (`A<number>C`... as configured) before the first ring.
    Dtmf,
}

/// Line impairments, applied to what the FXO port receives.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Impairment {
    /// Gain, dB (0 = none).
    pub gain_db: f64,
    /// White noise added, dBm0 (`None` = none).
    pub noise_dbm0: Option<f64>,
}

impl Impairment {
    pub fn is_none(&self) -> bool {
        self.gain_db == 0.0 && self.noise_dbm0.is_none()
    }
}

/// One CO line, behind one FXO port.
#[derive(Debug, Clone, PartialEq)]
pub struct LineConfig {
    /// The line's own number (what callers dial to reach it).
    pub number: String,
    pub disconnect: DisconnectSignal,
    /// Reverse polarity when the called party answers an outbound call.
    pub answer_supervision: bool,
    pub caller_id: CallerIdMode,
    pub impairment: Impairment,
}

impl LineConfig {
    pub fn new(number: impl Into<String>) -> Self {
        LineConfig {
            number: number.into(),
            disconnect: DisconnectSignal::default(),
            answer_supervision: false,
            caller_id: CallerIdMode::Off,
            impairment: Impairment::default(),
        }
    }
}

/// One phone, on one FXS port.
#[derive(Debug, Clone, PartialEq)]
pub struct PhoneConfig {
    /// Its number or extension.
    pub number: String,
    /// Go off-hook by itself after this many rings.
    pub auto_answer_rings: Option<u32>,
    /// How it dials.
    pub dtmf: DtmfTxConfig,
    /// How long a hook flash keeps the phone on-hook.
    pub flash: Duration,
    /// What it says while off-hook and not dialling.
    pub audio: AudioSource,
    /// Hang up this long after answering a call (going off-hook while rung,
    /// by itself or on request); `None`: stay off-hook until told. A flash
    /// does not restart it.
    pub talk_for: Option<Duration>,
    /// Hang up this long after the driver withdraws loop current while the
    /// phone is off-hook (the exchange's release); `None`: stay off-hook
    /// until told. Loop current coming back meanwhile does not stop it.
    pub hang_up_on_release: Option<Duration>,
}

impl PhoneConfig {
    pub fn new(number: impl Into<String>) -> Self {
        PhoneConfig {
            number: number.into(),
            auto_answer_rings: None,
            dtmf: DtmfTxConfig::new(-8.0, 2.0, 80, 80),
            flash: Duration::from_ms(600),
            audio: AudioSource::Silence,
            talk_for: None,
            hang_up_on_release: None,
        }
    }
}

/// What a called party does when rung.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Answer after ringing this long.
    Answer { after: Duration },
    /// The party's line is busy: busy tone.
    Busy,
    /// Ring and never answer.
    NoAnswer,
    /// A fax machine: answers after this long and sends CED (2100 Hz) then
    /// silence; no T.30 session follows.
    Fax { after: Duration },
}

/// A party outbound calls can reach.
#[derive(Debug, Clone, PartialEq)]
pub struct PartyConfig {
    /// Name for scenarios and status (defaults to the number).
    pub name: String,
    /// The number the driver dials.
    pub number: String,
    pub behaviour: Behaviour,
    /// Hang up this long after answering (`None`: never by itself).
    pub talk_for: Option<Duration>,
    pub audio: AudioSource,
}

impl PartyConfig {
    pub fn new(number: impl Into<String>, behaviour: Behaviour) -> Self {
        let number = number.into();
        PartyConfig { name: number.clone(), number, behaviour, talk_for: None, audio: AudioSource::Silence }
    }
}

/// CO timers and policies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CoTimers {
    /// Dial tone without a digit for this long → congestion.
    pub first_digit: Duration,
    /// No further digit for this long → the number is complete.
    pub inter_digit: Duration,
    /// Ringback without answer for this long → congestion.
    pub no_answer: Duration,
    /// What an unknown number hears (`None`: the country's default).
    pub unknown_number: Option<ProgressTone>,
    /// An inbound caller gives up after ringing this long, unless the call
    /// says otherwise.
    pub abandon_after: Duration,
}

impl Default for CoTimers {
    fn default() -> Self {
        CoTimers {
            first_digit: Duration::from_secs(10),
            inter_digit: Duration::from_secs(3),
            no_answer: Duration::from_secs(120),
            unknown_number: None,
            abandon_after: Duration::from_secs(60),
        }
    }
}

/// Everything a [`super::World`] is built from.
#[derive(Debug, Clone, PartialEq)]
pub struct WorldConfig {
    /// FXO ports (channels 1..=fxo), each on a CO line.
    pub fxo: u16,
    /// FXS ports (channels fxo+1..=fxo+fxs), each with a phone.
    pub fxs: u16,
    pub law: Law,
    pub tick: TickLength,
    pub country: Country,
    /// Seed of every pseudo-random thing in the world (noise).
    pub seed: u64,
    /// Per FXO port, in order; missing ones get [`LineConfig::new`] with a
    /// number made up from the port.
    pub lines: Vec<LineConfig>,
    /// Per FXS port, in order; missing ones get [`PhoneConfig::new`] with
    /// extension `80N`.
    pub phones: Vec<PhoneConfig>,
    pub parties: Vec<PartyConfig>,
    pub timers: CoTimers,
    /// Longest recording kept per party.
    pub record_limit: Duration,
}

impl Default for WorldConfig {
    /// 4 FXO + 4 FXS, A-law, 20 ms ticks, China.
    fn default() -> Self {
        WorldConfig {
            fxo: 4,
            fxs: 4,
            law: Law::ALaw,
            tick: TickLength::DEFAULT,
            country: Country::Cn,
            seed: 1,
            lines: Vec::new(),
            phones: Vec::new(),
            parties: Vec::new(),
            timers: CoTimers::default(),
            record_limit: super::audio::DEFAULT_RECORD_LIMIT,
        }
    }
}

/// A world configuration that does not hold together.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    #[error("a board needs at least one port (fxo + fxs is 0)")]
    NoPorts,
    #[error("fxo + fxs = {0} ports; a simulated board has at most {max}", max = super::MAX_PORTS)]
    TooManyPorts(u32),
    #[error("{kind} config lists {listed} entries but the board has {ports} {kind} ports")]
    TooManyEntries { kind: &'static str, listed: usize, ports: u16 },
    #[error("two parties share the number {0}")]
    DuplicateParty(String),
    #[error("party number `{0}` is not dialable (only 0-9 * # A-D)")]
    BadPartyNumber(String),
    #[error("two lines share the number {0}")]
    DuplicateLine(String),
    #[error("phone {port}: {reason}")]
    Phone { port: u16, reason: String },
    #[error("board layout: {0}")]
    Layout(String),
}
