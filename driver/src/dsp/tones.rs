//! Call-progress tones: country profiles, a streaming detector, and a
//! learner for the tones of real lines.
//!
//! # Profiles
//!
//! A [`ToneProfile`] is data: one [`ToneDef`] per [`ToneKind`] (dial,
//! ringback, busy, congestion, call waiting, SIT), each a
//! [`ToneSpec`] that [`super::tonegen`] plays (the
//! simulator's central office, FXS dial tone) and the detector reads.
//! [`Country`] parses the codes `CN`, `RU`, `US`, `UK` (`GB`) and `EU`
//! (`DE`); [`Country::profile`] gives the built-in table. Tones are written
//! as patterns in the dahdi/Asterisk `indications` notation —
//! `"480+620/500,0/500"`: steps of `f1[+f2]/ms`, `0` for silence, a last step
//! without `/ms` lasts forever (so `"425"` is continuous and
//! `"950/330,1400/330,1800/330,0"` plays once) — and a level in dBm0 per
//! frequency. [`ToneEntry`] is that triple as a config entry (serde, and a
//! small TOML reader/writer of its own for the `ctibox dsp learn` output).
//!
//! Frequencies and cadences are those of TELEPHONY_FACTS §3 (dahdi-tools
//! `zonedata.c`; the EU profile is the German, ETSI-style one; Russian SIT
//! uses Asterisk's 1400 Hz where dahdi writes 1440). Levels are not in that
//! table: US levels are the Precise Tone Plan's (dial −13, ringback −19,
//! busy/reorder −24 dBm0 per frequency); the others are −10 dBm0 per single
//! tone and −13 per dual-tone frequency, chosen inside the Russian
//! regulation's −15…−5 dB, and US call waiting and SIT levels are likewise
//! our choice. Config can override any of them.
//!
//! # Detector
//!
//! [`ToneDetectorDescriptor`] is built once from a profile and a
//! [`ToneDetectorConfig`] and shared (`Arc`) by every channel;
//! [`ToneDetector`] is the per-channel state. [`ToneDetector::rx`] takes any
//! number of samples and pushes [`ToneEvent`]s; positions are samples fed
//! since construction or reset.
//!
//! 1. **Blocks.** Audio is cut into 160-sample (20 ms) blocks. A block whose
//!    power is below the weakest tone minus 10 dB is not analysed, and while
//!    nothing is under way it only lengthens the current gap (an idle
//!    channel costs a copy and a sum of squares).
//! 2. **Filters.** Every distinct profile frequency gets one single-bin DFT
//!    (a Goertzel filter's result, at most [`MAX_DETECTOR_FREQS`]),
//!    computed as Σ x\[n\]·e^{−jωn} against a table of e^{−jωn} kept in the
//!    descriptor: eight samples (one `[f32; 8]` vector, an AVX register with
//!    FMA when the CPU has AVX2+FMA) per step and no recurrence, so a filter
//!    costs a fraction of a cycle per sample, and its window is a sum of
//!    rows: 160, 80 or 40 samples. Each frequency gets the longest window
//!    whose loss at the tolerance (±2 % by default) stays within 1 dB — 160
//!    (±25 Hz, which separates 440 from 480 Hz) below ~650 Hz, 80 or 40 for
//!    the SIT frequencies (the three-tone SIT's accept ±4 % at least: real
//!    US SITs use 913.8/985.2 Hz for the book's 950); shorter windows' powers are
//!    averaged. The two
//!    frequencies of a dual tone that lie closer than 37.5 Hz (413+438 Hz, a
//!    beating tone) share one filter at their centre with a window wide
//!    enough for both.
//! 3. **Frequency sets.** A block shows a tone's frequencies when each is
//!    above the minimum level, within the twist limit of the other, and
//!    together they hold at least [`ToneDetectorConfig::min_purity`] of the
//!    block's power (this rejects speech, music and off-frequency tones:
//!    a tone 5 % off its filter loses more than half its power).
//! 4. **Segments.** Tones whose frequencies are the same (say all of China's,
//!    on 450 Hz) share a segmenter, which turns blocks into on/off segments:
//!    a change must last two blocks (a one-block drop-out or glitch is
//!    bridged), and every edge is placed to a few samples from how much of
//!    the tone's power the boundary blocks hold. A burst whose block powers
//!    spread by more than [`ToneDetectorConfig::max_wobble_db`] (10 dB more
//!    for a beating pair) is unsteady, and a gap with more than its two edge
//!    blocks (plus one in ten) within [`ToneDetectorConfig::gap_quiet_db`] of
//!    the burst before it is not quiet; neither matches a cadence step. A
//!    cadence's gaps are silence, not merely "not this tone": speech or
//!    another tone in them breaks the cadence.
//! 5. **Cadence.** Each tone is a template of on/off steps, each accepting
//!    its nominal length ± [`ToneDetectorConfig::cadence_tolerance_pct`] ±
//!    [`ToneDetectorConfig::cadence_slack_ms`]. A tone is reported
//!    ([`ToneEvent::Tone`]) once the last `cycles × steps` segments match it
//!    from the start of a burst ([`CycleCounts`]: busy and congestion 2
//!    cycles, ringback 1 on/off, …); a continuous tone once it has lasted
//!    [`ToneDetectorConfig::dial_min_ms`] (or longer than any burst of the
//!    same frequencies, so a 1 s ringback burst is not a dial tone). The
//!    window must be a fresh start: not right after a burst of the same
//!    frequencies with a gap shorter than the tone's own (a busy burst is not
//!    a call-waiting burst). The last, still running segment counts once it
//!    has reached its minimum — but only when it has also reached the
//!    minimum of every other tone that fits so far: a 200/200/200 ms train
//!    may become EU congestion (gap ≤ 294 ms) or call waiting (gap ≥ 4.5 s),
//!    so the shorter reading waits for its gap to end. From then on every
//!    segment must fit the next step; the first that does not, or a segment
//!    that outlasts its step, ends the tone ([`ToneEvent::ToneEnd`],
//!    positioned at the end of the last burst that fitted), and its segments
//!    cannot start another report. Busy and congestion of the same
//!    frequencies are told apart by cadence alone.
//! 6. **Unknown cadence.** With [`ToneDetectorConfig::report_unknown`], a
//!    profile frequency switched on and off with a steady cadence that fits
//!    no template, for at least 3 cycles and as long as the longest template
//!    period of those frequencies, is reported as [`ToneKind::Unknown`].
//!
//! # Learner
//!
//! [`learner`] (file `tone_learn.rs`) measures the tones of a recording —
//! frequencies, level and cadence — and writes a [`ToneEntry`].
//!
//! # Not implemented
//!
//! - Only one tone is reported at a time per channel; a tone over speech
//!   (call waiting during a conversation) is not detected.
//! - Amplitude-modulated tones (dahdi `425*25`) and patterns that play a
//!   preamble once and then repeat a different part (dahdi `!` steps) are
//!   not expressible; a stutter dial tone is detected by its continuous tail.
//! - The detector cannot time bursts or gaps shorter than 50 ms; silences
//!   that short inside a pattern (the UK SIT's 15 ms gaps) are ignored.
//! - Frequencies must be below 4 kHz and at most [`MAX_DETECTOR_FREQS`]
//!   distinct ones per profile; 8 kHz sampling only.

use std::fmt;
use std::fmt::Write as _;
use std::str::FromStr;
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};

use super::level::{dbm0_to_power, power_to_dbm0};
use super::tonegen::{MAX_TONE_FREQS, MAX_TONE_STEPS, ToneFreq, ToneGenerator, ToneSpec, ToneSpecError, ToneStep};

#[path = "tone_learn.rs"]
pub mod learner;

pub use learner::{LearnError, LearnedTone, learn};

// ---------------------------------------------------------------------------
// Kinds and countries
// ---------------------------------------------------------------------------

/// What a call-progress tone means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToneKind {
    /// Dial tone (continuous).
    Dial,
    /// Ringback (audible ringing).
    Ringback,
    /// Busy (subscriber busy).
    Busy,
    /// Congestion (network busy, reorder, "fast busy").
    Congestion,
    /// Call waiting.
    CallWaiting,
    /// Special information tone (number unobtainable and the like).
    Sit,
    /// A profile frequency with a steady cadence that matches no profile
    /// tone, or a learned tone whose meaning nobody entered.
    Unknown,
}

impl ToneKind {
    pub const ALL: [ToneKind; 7] = [
        ToneKind::Dial,
        ToneKind::Ringback,
        ToneKind::Busy,
        ToneKind::Congestion,
        ToneKind::CallWaiting,
        ToneKind::Sit,
        ToneKind::Unknown,
    ];

    /// The name used in config and TOML (`call_waiting`, …).
    pub fn name(self) -> &'static str {
        match self {
            ToneKind::Dial => "dial",
            ToneKind::Ringback => "ringback",
            ToneKind::Busy => "busy",
            ToneKind::Congestion => "congestion",
            ToneKind::CallWaiting => "call_waiting",
            ToneKind::Sit => "sit",
            ToneKind::Unknown => "unknown",
        }
    }
}

impl fmt::Display for ToneKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A tone kind name that is not one of ours.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown tone kind {0:?} (dial, ringback, busy, congestion, call_waiting, sit or unknown)")]
pub struct UnknownToneKind(pub String);

impl FromStr for ToneKind {
    type Err = UnknownToneKind;

    /// Our names, case-insensitive, `-` or space for `_`, and the usual
    /// synonyms (`ring`, `reorder`, `fast_busy`, `info`, `cw`, …).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let key: String =
            s.trim().chars().map(|c| if c == '-' || c == ' ' { '_' } else { c.to_ascii_lowercase() }).collect();
        Ok(match key.as_str() {
            "dial" | "dialtone" | "dial_tone" => ToneKind::Dial,
            "ringback" | "ring" | "ringing" | "ringtone" | "ring_back" => ToneKind::Ringback,
            "busy" => ToneKind::Busy,
            "congestion" | "reorder" | "fast_busy" | "network_busy" => ToneKind::Congestion,
            "call_waiting" | "callwaiting" | "callwait" | "cw" => ToneKind::CallWaiting,
            "sit" | "info" | "special_information" => ToneKind::Sit,
            "unknown" => ToneKind::Unknown,
            _ => return Err(UnknownToneKind(s.to_string())),
        })
    }
}

/// The countries with a built-in profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Country {
    /// China.
    Cn,
    /// Russia.
    Ru,
    /// United States (North America, Precise Tone Plan).
    Us,
    /// United Kingdom (BT SIN 350).
    Uk,
    /// ETSI-style Europe, as Germany uses it.
    Eu,
}

/// A country code we have no profile for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown country code {0:?}: expected CN, RU, US, UK or EU")]
pub struct UnknownCountry(pub String);

impl Country {
    pub const ALL: [Country; 5] = [Country::Cn, Country::Ru, Country::Us, Country::Uk, Country::Eu];

    /// The code `FromStr` accepts and `Display` prints.
    pub fn code(self) -> &'static str {
        match self {
            Country::Cn => "CN",
            Country::Ru => "RU",
            Country::Us => "US",
            Country::Uk => "UK",
            Country::Eu => "EU",
        }
    }

    /// The detector descriptor of the built-in profile with the default
    /// [`ToneDetectorConfig`], built once and shared.
    pub fn detector(self) -> Arc<ToneDetectorDescriptor> {
        static SHARED: [OnceLock<Arc<ToneDetectorDescriptor>>; 5] =
            [OnceLock::new(), OnceLock::new(), OnceLock::new(), OnceLock::new(), OnceLock::new()];
        let i = Country::ALL.iter().position(|&c| c == self).unwrap_or(0);
        SHARED[i]
            .get_or_init(|| {
                self.profile()
                    .detector(&ToneDetectorConfig::default())
                    .expect("built-in profiles build a detector (checked by tests)")
            })
            .clone()
    }

    /// The built-in profile.
    pub fn profile(self) -> ToneProfile {
        let (tones, ring): (&[BuiltinTone], &[u32]) = match self {
            Country::Cn => (&CN_TONES, &[1000, 4000]),
            Country::Ru => (&RU_TONES, &[1000, 4000]),
            Country::Us => (&US_TONES, &[2000, 4000]),
            Country::Uk => (&UK_TONES, &[400, 200, 400, 2000]),
            Country::Eu => (&EU_TONES, &[1000, 4000]),
        };
        let tones = tones
            .iter()
            .map(|t| {
                ToneDef::parse(t.kind, t.pattern, t.level_dbm0).expect("built-in tone patterns are checked by tests")
            })
            .collect();
        ToneProfile { name: self.code().to_string(), tones, ring_cadence_ms: ring.to_vec() }
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Country {
    type Err = UnknownCountry;

    /// `CN`, `RU`, `US`, `UK` or `GB`, `EU` or `DE`; any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "CN" => Ok(Country::Cn),
            "RU" => Ok(Country::Ru),
            "US" => Ok(Country::Us),
            "UK" | "GB" => Ok(Country::Uk),
            "EU" | "DE" => Ok(Country::Eu),
            _ => Err(UnknownCountry(s.to_string())),
        }
    }
}

struct BuiltinTone {
    kind: ToneKind,
    pattern: &'static str,
    level_dbm0: f32,
}

const fn bt(kind: ToneKind, pattern: &'static str, level_dbm0: f32) -> BuiltinTone {
    BuiltinTone { kind, pattern, level_dbm0 }
}

/// Default level of a tone given without one.
pub const DEFAULT_TONE_LEVEL_DBM0: f32 = -10.0;

const CN_TONES: [BuiltinTone; 6] = [
    bt(ToneKind::Dial, "450", -10.0),
    bt(ToneKind::Ringback, "450/1000,0/4000", -10.0),
    bt(ToneKind::Busy, "450/350,0/350", -10.0),
    bt(ToneKind::Congestion, "450/700,0/700", -10.0),
    bt(ToneKind::CallWaiting, "450/400,0/4000", -10.0),
    bt(ToneKind::Sit, "450/100,0/100,450/100,0/100,450/100,0/100,450/400,0/400", -10.0),
];

const RU_TONES: [BuiltinTone; 6] = [
    bt(ToneKind::Dial, "425", -10.0),
    bt(ToneKind::Ringback, "425/1000,0/4000", -10.0),
    bt(ToneKind::Busy, "425/350,0/350", -10.0),
    bt(ToneKind::Congestion, "425/175,0/175", -10.0),
    bt(ToneKind::CallWaiting, "425/200,0/5000", -10.0),
    bt(ToneKind::Sit, "950/330,1400/330,1800/330,0/1000", -10.0),
];

const US_TONES: [BuiltinTone; 6] = [
    bt(ToneKind::Dial, "350+440", -13.0),
    bt(ToneKind::Ringback, "440+480/2000,0/4000", -19.0),
    bt(ToneKind::Busy, "480+620/500,0/500", -24.0),
    bt(ToneKind::Congestion, "480+620/250,0/250", -24.0),
    bt(ToneKind::CallWaiting, "440/300,0/10000", -13.0),
    bt(ToneKind::Sit, "950/330,1400/330,1800/330,0", -24.0),
];

const UK_TONES: [BuiltinTone; 6] = [
    bt(ToneKind::Dial, "350+440", -13.0),
    bt(ToneKind::Ringback, "400+450/400,0/200,400+450/400,0/2000", -13.0),
    bt(ToneKind::Busy, "400/375,0/375", -10.0),
    bt(ToneKind::Congestion, "400/400,0/350,400/225,0/525", -10.0),
    bt(ToneKind::CallWaiting, "400/100,0/4000", -10.0),
    bt(ToneKind::Sit, "950/330,0/15,1400/330,0/15,1800/330,0/1000", -10.0),
];

const EU_TONES: [BuiltinTone; 6] = [
    bt(ToneKind::Dial, "425", -10.0),
    bt(ToneKind::Ringback, "425/1000,0/4000", -10.0),
    bt(ToneKind::Busy, "425/480,0/480", -10.0),
    bt(ToneKind::Congestion, "425/240,0/240", -10.0),
    bt(ToneKind::CallWaiting, "425/200,0/200,425/200,0/5000", -10.0),
    bt(ToneKind::Sit, "950/330,1400/330,1800/330,0/1000", -10.0),
];

// ---------------------------------------------------------------------------
// Patterns and tone definitions
// ---------------------------------------------------------------------------

/// A tone pattern that does not parse.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PatternError {
    #[error("empty tone pattern")]
    Empty,
    #[error("a tone pattern has at most {MAX_TONE_STEPS} steps, this one has {0}")]
    TooManySteps(usize),
    #[error("step {step} ({text:?}): {why}")]
    BadStep { step: usize, text: String, why: &'static str },
    #[error("only the last step may omit its duration (step {0})")]
    ForeverInTheMiddle(usize),
    #[error("level {0} dBm0 is not a number")]
    BadLevel(f32),
    #[error(transparent)]
    Spec(#[from] ToneSpecError),
}

/// Parse a dahdi/Asterisk-style pattern (`"400+450/400,0/200,400+450/400,0/2000"`)
/// with every frequency at `level_dbm0`. The pattern repeats unless its last
/// step has no duration (then that step lasts forever).
pub fn parse_pattern(pattern: &str, level_dbm0: f32) -> Result<ToneSpec, PatternError> {
    if !level_dbm0.is_finite() {
        return Err(PatternError::BadLevel(level_dbm0));
    }
    let text = pattern.trim();
    if text.is_empty() {
        return Err(PatternError::Empty);
    }
    let n = text.split(',').count();
    if n > MAX_TONE_STEPS {
        return Err(PatternError::TooManySteps(n));
    }
    let mut steps = [ToneStep::default(); MAX_TONE_STEPS];
    for (i, part) in text.split(',').enumerate() {
        let part = part.trim();
        let bad = |why| PatternError::BadStep { step: i, text: part.to_string(), why };
        let (freq_text, dur_text) = match part.split_once('/') {
            Some((f, d)) => (f.trim(), Some(d.trim())),
            None => (part, None),
        };
        let duration_ms = match dur_text {
            Some(d) => match d.parse::<u32>() {
                Ok(ms) if ms > 0 => ms,
                _ => return Err(bad("the duration must be a whole number of milliseconds above 0")),
            },
            None if i + 1 == n => 0,
            None => return Err(PatternError::ForeverInTheMiddle(i)),
        };
        if freq_text.starts_with('!') {
            return Err(bad(
                "the '!' (play once) prefix is not supported; end the pattern with a step without duration",
            ));
        }
        if freq_text.contains('*') {
            return Err(bad("amplitude modulation (f*g) is not supported"));
        }
        if freq_text.is_empty() {
            return Err(bad("missing frequency (0 for silence)"));
        }
        let mut freqs = [ToneFreq::default(); MAX_TONE_FREQS];
        let mut count = 0usize;
        for f in freq_text.split('+') {
            let hz: f32 = f.trim().parse().map_err(|_| bad("a frequency must be a number of Hz"))?;
            if !hz.is_finite() || !(0.0..4000.0).contains(&hz) {
                return Err(bad("a frequency must be between 0 and 3999 Hz"));
            }
            if count == MAX_TONE_FREQS {
                return Err(bad("at most two frequencies may sound together"));
            }
            freqs[count] = ToneFreq { hz, dbm0: level_dbm0 };
            count += 1;
        }
        let silent = freqs[..count].iter().all(|f| f.hz == 0.0);
        if !silent && freqs[..count].iter().any(|f| f.hz == 0.0) {
            return Err(bad("0 (silence) cannot be mixed with a frequency"));
        }
        steps[i] = if silent { ToneStep::silence(duration_ms) } else { ToneStep::tone(&freqs[..count], duration_ms) };
    }
    let repeat = steps[n - 1].duration_ms != 0;
    Ok(ToneSpec::new(&steps[..n], repeat)?)
}

fn fmt_hz(out: &mut String, hz: f32) {
    if (hz - hz.round()).abs() < 0.05 {
        let _ = write!(out, "{:.0}", hz);
    } else {
        let _ = write!(out, "{:.1}", hz);
    }
}

/// The pattern text of `spec` (the inverse of [`parse_pattern`]; levels
/// are not part of it). A spec that plays once and then stops gets a final
/// `0` (silence forever).
pub fn format_pattern(spec: &ToneSpec) -> String {
    let mut s = String::new();
    let steps = spec.steps();
    for (i, st) in steps.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        if st.count == 0 {
            s.push('0');
        } else {
            for (j, f) in st.active().iter().enumerate() {
                if j > 0 {
                    s.push('+');
                }
                fmt_hz(&mut s, f.hz);
            }
        }
        if st.duration_ms != 0 {
            let _ = write!(s, "/{}", st.duration_ms);
        }
    }
    if !spec.repeat && steps.last().is_some_and(|st| st.duration_ms != 0) {
        s.push_str(",0");
    }
    s
}

/// One tone of a profile: what it means and how it sounds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ToneDef {
    pub kind: ToneKind,
    /// Frequencies, levels and cadence; what the generator plays and the
    /// detector expects.
    pub spec: ToneSpec,
}

impl ToneDef {
    pub fn new(kind: ToneKind, spec: ToneSpec) -> Self {
        ToneDef { kind, spec }
    }

    /// From a pattern (see [`parse_pattern`]).
    pub fn parse(kind: ToneKind, pattern: &str, level_dbm0: f32) -> Result<Self, PatternError> {
        Ok(ToneDef { kind, spec: parse_pattern(pattern, level_dbm0)? })
    }

    /// The pattern text.
    pub fn pattern(&self) -> String {
        format_pattern(&self.spec)
    }

    /// Level of the first sounding frequency (dBm0); `None` for a silent tone.
    pub fn level_dbm0(&self) -> Option<f32> {
        self.spec.steps().iter().flat_map(|s| s.active().iter()).map(|f| f.dbm0).next()
    }

    /// Distinct frequencies, in order of first appearance.
    pub fn frequencies(&self) -> Vec<f32> {
        let mut v: Vec<f32> = Vec::new();
        for f in self.spec.steps().iter().flat_map(|s| s.active().iter()) {
            if !v.contains(&f.hz) {
                v.push(f.hz);
            }
        }
        v
    }

    /// Whether the tone never stops (a dial tone).
    pub fn is_continuous(&self) -> bool {
        let steps = self.spec.steps();
        steps.len() == 1 && steps[0].count > 0
    }

    /// A generator playing this tone.
    pub fn generator(&self) -> ToneGenerator {
        ToneGenerator::new(&self.spec)
    }
}

// ---------------------------------------------------------------------------
// Profiles and config entries
// ---------------------------------------------------------------------------

/// The call-progress tones of one country or exchange.
#[derive(Debug, Clone, PartialEq)]
pub struct ToneProfile {
    /// For logs: the country code or the config's name.
    pub name: String,
    pub tones: Vec<ToneDef>,
    /// FXS ringing cadence (on, off, …) in ms.
    pub ring_cadence_ms: Vec<u32>,
}

impl ToneProfile {
    /// The first tone of `kind`.
    pub fn get(&self, kind: ToneKind) -> Option<&ToneDef> {
        self.tones.iter().find(|t| t.kind == kind)
    }

    /// Generator side: what to play for `kind`.
    pub fn spec(&self, kind: ToneKind) -> Option<ToneSpec> {
        self.get(kind).map(|t| t.spec)
    }

    /// Generator side: a generator for `kind`.
    pub fn generator(&self, kind: ToneKind) -> Option<ToneGenerator> {
        self.get(kind).map(ToneDef::generator)
    }

    /// Put `def` in the profile: it replaces the tone of the same kind, or
    /// is added (tones of kind [`ToneKind::Unknown`] are always added).
    pub fn insert(&mut self, def: ToneDef) {
        if def.kind != ToneKind::Unknown
            && let Some(t) = self.tones.iter_mut().find(|t| t.kind == def.kind)
        {
            *t = def;
            return;
        }
        self.tones.push(def);
    }

    /// A profile from config: the built-in profile of `base` (or none), with
    /// `entries` put in by [`Self::insert`].
    pub fn from_entries(name: &str, base: Option<Country>, entries: &[ToneEntry]) -> Result<Self, PatternError> {
        let mut p = match base {
            Some(c) => c.profile(),
            None => ToneProfile { name: String::new(), tones: Vec::new(), ring_cadence_ms: Vec::new() },
        };
        p.name = name.to_string();
        for e in entries {
            p.insert(e.to_def()?);
        }
        Ok(p)
    }

    /// The profile's tones as config entries.
    pub fn entries(&self) -> Vec<ToneEntry> {
        self.tones.iter().map(ToneEntry::from_def).collect()
    }

    /// The profile's tones as TOML (`[[tone]]` tables).
    pub fn to_toml(&self) -> String {
        let mut s = String::new();
        for (i, e) in self.entries().iter().enumerate() {
            if i > 0 {
                s.push('\n');
            }
            s.push_str(&e.to_toml());
        }
        s
    }

    /// Detector side: the shared descriptor for this profile.
    pub fn detector(&self, config: &ToneDetectorConfig) -> Result<Arc<ToneDetectorDescriptor>, DetectorBuildError> {
        ToneDetectorDescriptor::new(self, config).map(Arc::new)
    }
}

/// One tone as a config entry: `kind`, `pattern`, `level_dbm0`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToneEntry {
    pub kind: ToneKind,
    pub pattern: String,
    /// Level of every frequency; [`DEFAULT_TONE_LEVEL_DBM0`] if left out.
    #[serde(default = "default_level")]
    pub level_dbm0: f32,
}

fn default_level() -> f32 {
    DEFAULT_TONE_LEVEL_DBM0
}

/// A TOML tone entry that cannot be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EntryError {
    #[error("line {line}: {why}")]
    Syntax { line: usize, why: String },
    #[error("line {line}: unknown key {key:?} (expected kind, pattern, level_dbm0)")]
    UnknownKey { line: usize, key: String },
    #[error("line {line}: {err}")]
    Kind { line: usize, err: UnknownToneKind },
    #[error("tone entry {entry}: missing key `{key}`")]
    Missing { entry: usize, key: &'static str },
    #[error("tone entry {entry}: {err}")]
    Pattern { entry: usize, err: PatternError },
    #[error("no tone entry found")]
    Empty,
}

#[derive(Default)]
struct PartialEntry {
    kind: Option<ToneKind>,
    pattern: Option<String>,
    level: Option<f32>,
}

fn strip_comment(line: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' && q == '"' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '#' => return &line[..i],
            None => {}
        }
    }
    line
}

fn toml_string(v: &str) -> Option<String> {
    let v = v.trim();
    if v.len() >= 2 && v.starts_with('\'') && v.ends_with('\'') {
        return Some(v[1..v.len() - 1].to_string());
    }
    if !(v.len() >= 2 && v.starts_with('"') && v.ends_with('"')) {
        return None;
    }
    let mut out = String::new();
    let mut chars = v[1..v.len() - 1].chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next()? {
                '"' => out.push('"'),
                '\\' => out.push('\\'),
                'n' => out.push('\n'),
                't' => out.push('\t'),
                _ => return None,
            },
            '"' => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

fn toml_quote(v: &str) -> String {
    let mut s = String::from("\"");
    for c in v.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

impl ToneEntry {
    pub fn from_def(def: &ToneDef) -> Self {
        ToneEntry { kind: def.kind, pattern: def.pattern(), level_dbm0: def.level_dbm0().unwrap_or(default_level()) }
    }

    pub fn to_def(&self) -> Result<ToneDef, PatternError> {
        ToneDef::parse(self.kind, &self.pattern, self.level_dbm0)
    }

    /// This entry as one `[[tone]]` TOML table.
    pub fn to_toml(&self) -> String {
        format!(
            "[[tone]]\nkind = {}\npattern = {}\nlevel_dbm0 = {:.1}\n",
            toml_quote(self.kind.name()),
            toml_quote(&self.pattern),
            self.level_dbm0
        )
    }

    /// Read tone entries from TOML text: `[[tone]]` (or `[tone]`, or
    /// `[[…tones]]`) tables with `kind`, `pattern` and `level_dbm0`; a
    /// fragment without a table header is one entry. This reads exactly
    /// what [`Self::to_toml`] and the learner write (strings, numbers,
    /// comments); full configs go through serde. Every entry's pattern is
    /// checked.
    pub fn parse_toml(text: &str) -> Result<Vec<ToneEntry>, EntryError> {
        let mut raw: Vec<PartialEntry> = Vec::new();
        let mut current: Option<PartialEntry> = None;
        for (i, full) in text.lines().enumerate() {
            let line_no = i + 1;
            let line = strip_comment(full).trim();
            if line.is_empty() {
                continue;
            }
            let syntax = |why: &str| EntryError::Syntax { line: line_no, why: why.to_string() };
            if line.starts_with('[') {
                let name = line.trim_start_matches('[').trim_end_matches(']').trim();
                let last = name.rsplit('.').next().unwrap_or(name).trim();
                if !(line.ends_with(']') && (last == "tone" || last == "tones")) {
                    return Err(syntax("expected a [[tone]] table header"));
                }
                if let Some(e) = current.take() {
                    raw.push(e);
                }
                current = Some(PartialEntry::default());
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                return Err(syntax("expected `key = value`"));
            };
            let (key, value) = (key.trim(), value.trim());
            let e = current.get_or_insert_with(PartialEntry::default);
            match key {
                "kind" => {
                    let v = toml_string(value).ok_or_else(|| syntax("kind must be a quoted string"))?;
                    let k = v.parse().map_err(|err| EntryError::Kind { line: line_no, err })?;
                    if e.kind.replace(k).is_some() {
                        return Err(syntax("duplicate key kind"));
                    }
                }
                "pattern" => {
                    let v = toml_string(value).ok_or_else(|| syntax("pattern must be a quoted string"))?;
                    if e.pattern.replace(v).is_some() {
                        return Err(syntax("duplicate key pattern"));
                    }
                }
                "level_dbm0" => {
                    let v: f32 = value.parse().map_err(|_| syntax("level_dbm0 must be a number"))?;
                    if !v.is_finite() {
                        return Err(syntax("level_dbm0 must be a finite number"));
                    }
                    if e.level.replace(v).is_some() {
                        return Err(syntax("duplicate key level_dbm0"));
                    }
                }
                _ => return Err(EntryError::UnknownKey { line: line_no, key: key.to_string() }),
            }
        }
        if let Some(e) = current.take() {
            raw.push(e);
        }
        if raw.is_empty() {
            return Err(EntryError::Empty);
        }
        let mut out = Vec::with_capacity(raw.len());
        for (i, e) in raw.into_iter().enumerate() {
            let entry = i + 1;
            let kind = e.kind.ok_or(EntryError::Missing { entry, key: "kind" })?;
            let pattern = e.pattern.ok_or(EntryError::Missing { entry, key: "pattern" })?;
            let t = ToneEntry { kind, pattern, level_dbm0: e.level.unwrap_or(default_level()) };
            t.to_def().map_err(|err| EntryError::Pattern { entry, err })?;
            out.push(t);
        }
        Ok(out)
    }
}

impl fmt::Display for ToneEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_toml())
    }
}

// ---------------------------------------------------------------------------
// Detector: configuration and descriptor
// ---------------------------------------------------------------------------

/// Samples per analysis block (20 ms).
pub const BLOCK_SAMPLES: usize = 160;
/// Most distinct filters (frequencies) per profile.
pub const MAX_DETECTOR_FREQS: usize = 8;
/// Samples per kernel step (one vector).
const ROW_SAMPLES: usize = 8;
/// Rows of a block: row t holds samples 8t … 8t + 7.
const ROWS: usize = BLOCK_SAMPLES / ROW_SAMPLES;
/// Most distinct frequency sets (the frequencies of one burst).
const MAX_SETS: usize = 12;
/// Most frequency sets one cadence may use (a SIT uses three).
const MAX_GROUP_SETS: usize = 4;
/// Most tone templates per profile.
const MAX_TEMPLATES: usize = 16;
/// Completed segments each segmenter keeps.
const HISTORY: usize = 16;
/// Blocks a change must last before a segment ends.
const MIN_RUN_BLOCKS: u8 = 2;
/// Shortest burst or gap the detector times.
pub const MIN_STEP_MS: u32 = 50;
/// SIT filters accept at least this much drift: real SITs (US 913.8 and
/// 985.2 Hz for a book 950) differ from the profiles' simplified values.
const SIT_FREQ_TOLERANCE: f32 = 0.04;
/// …those of the three-tone family (950/1400/1800 Hz); a SIT on the
/// country's usual tone frequency (China's 450 Hz) keeps the usual one.
const SIT_FAMILY_MIN_HZ: f32 = 900.0;
/// Two frequencies of a dual tone closer than this share one filter.
const MERGE_PAIR_HZ: f32 = 37.5;
/// A filter window is kept while the tolerance costs at most this phase
/// spread, π·Δf·N/fs (0.83 rad = 1 dB).
const MAX_WINDOW_SPREAD_RAD: f32 = 0.83;
/// Samples per ms.
const SAMPLES_PER_MS: u64 = 8;
/// A step that never ends.
const FOREVER: u64 = u64::MAX;
/// Shortest burst and gap of an unknown cadence.
const UNKNOWN_MIN_SEGMENT_MS: u64 = 100;
/// Cycles of an unknown cadence before it is reported.
const UNKNOWN_MIN_CYCLES: usize = 3;
/// Extra block-power spread allowed for a beating pair (10 dB).
const BEAT_WOBBLE_RATIO: f32 = 10.0;
/// Most templates waiting on one running segment.
const MAX_CANDIDATES: usize = 16;
/// An off segment may hold this many loud blocks (its edges) plus one in
/// `OFF_LOUD_PER_BLOCKS`.
const OFF_LOUD_EDGE_BLOCKS: u32 = 2;
const OFF_LOUD_PER_BLOCKS: u32 = 10;
/// A gap opens quiet: of its first blocks (the burst's edge and the two
/// after it) at most one is loud, or the burst did not end — the sound went
/// on without those frequencies (the rest of a burst of a tone a few
/// percent off, whose beat let them through for a while). Gaps shorter
/// than one more block are all edges.
const GAP_OPEN_BLOCKS: u32 = 3;

/// Cycles of cadence each kind needs before it is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CycleCounts {
    pub ringback: u8,
    pub busy: u8,
    pub congestion: u8,
    pub call_waiting: u8,
    pub sit: u8,
    /// Learned tones of unknown meaning.
    pub unknown: u8,
}

impl Default for CycleCounts {
    fn default() -> Self {
        CycleCounts { ringback: 1, busy: 2, congestion: 2, call_waiting: 1, sit: 1, unknown: 2 }
    }
}

impl CycleCounts {
    /// Cycles for `kind` (a dial tone is continuous: 1).
    pub fn get(&self, kind: ToneKind) -> u8 {
        match kind {
            ToneKind::Dial => 1,
            ToneKind::Ringback => self.ringback,
            ToneKind::Busy => self.busy,
            ToneKind::Congestion => self.congestion,
            ToneKind::CallWaiting => self.call_waiting,
            ToneKind::Sit => self.sit,
            ToneKind::Unknown => self.unknown,
        }
    }
}

/// Detector settings (the defaults suit every built-in profile).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ToneDetectorConfig {
    /// Weakest tone reported, per frequency.
    pub min_level_dbm0: f32,
    /// A frequency this far (±%) from the profile loses at most 1 dB in its
    /// filter; it sets the filter windows.
    pub freq_tolerance_pct: f32,
    /// Least share of a block's power the tone's frequencies must hold.
    pub min_purity: f32,
    /// Largest level difference between the two frequencies of a dual tone.
    pub max_twist_db: f32,
    /// Largest spread of block powers inside one burst.
    pub max_wobble_db: f32,
    /// The gaps of a cadence must be this much quieter than its bursts
    /// (6 dB: noise 8 dB below the tone still leaves gaps quiet).
    pub gap_quiet_db: f32,
    /// Each on or off segment may differ from nominal by this (±%)…
    pub cadence_tolerance_pct: f32,
    /// …plus this, the detector's own timing error.
    pub cadence_slack_ms: u32,
    /// A continuous tone is reported after this long (and after the longest
    /// burst of any other tone of the same frequencies).
    pub dial_min_ms: u32,
    pub cycles: CycleCounts,
    /// Report steady unknown cadences of profile frequencies.
    pub report_unknown: bool,
}

impl Default for ToneDetectorConfig {
    fn default() -> Self {
        ToneDetectorConfig {
            min_level_dbm0: -40.0,
            freq_tolerance_pct: 2.0,
            min_purity: 0.6,
            max_twist_db: 10.0,
            max_wobble_db: 6.0,
            gap_quiet_db: 6.0,
            cadence_tolerance_pct: 10.0,
            cadence_slack_ms: 30,
            dial_min_ms: 1000,
            cycles: CycleCounts::default(),
            report_unknown: true,
        }
    }
}

/// Why a detector cannot be built from a profile.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DetectorBuildError {
    #[error("the profile has no tone the detector can look for")]
    NoTones,
    #[error("the profile needs {0} filters; the detector has {MAX_DETECTOR_FREQS}")]
    TooManyFrequencies(usize),
    #[error("the profile has more than {MAX_SETS} distinct frequency combinations")]
    TooManySets,
    #[error("a {0} tone uses more than {MAX_GROUP_SETS} frequency combinations")]
    TooManySetsInTone(ToneKind),
    #[error("the profile has more than {MAX_TEMPLATES} tones")]
    TooManyTones,
    #[error("{kind} tone: a {ms} ms burst is shorter than the {MIN_STEP_MS} ms the detector can time")]
    StepTooShort { kind: ToneKind, ms: u32 },
    #[error("{kind} tone: {cycles} cycles of {steps} segments is more than the {HISTORY} segments the detector keeps")]
    TooManyCycles { kind: ToneKind, cycles: u8, steps: usize },
    #[error("bad detector setting: {0}")]
    BadConfig(&'static str),
}

/// One frequency set: the filters (1 or 2) that must all show power.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct FreqSet {
    lanes: [u8; 2],
    nlanes: u8,
    /// Number of nominal frequencies (2 for a merged pair).
    comps: u8,
    /// Sub-windows per block of its filters (1, 2 or 4).
    subs: u8,
    /// Two close frequencies on one filter: they beat, and block powers
    /// swing with the beat.
    beats: bool,
}

/// Frequency sets that share one segmenter: those of one or more tones.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Group {
    sets: [u8; MAX_GROUP_SETS],
    nsets: u8,
    /// Longest period of a repeating tone of this group (samples): how long
    /// an unknown cadence must hold.
    unknown_span: u64,
}

/// One step of a cadence template; lengths in samples.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Step {
    /// 0 = silence, k = set `k − 1` of the group.
    sym: u8,
    nominal: u64,
    min: u64,
    max: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// One on-step forever (dial tone).
    Continuous,
    /// The steps repeat.
    Repeating,
    /// The steps play once; the last is silence forever.
    Once,
}

/// A tone as the detector matches it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Template {
    kind: ToneKind,
    group: u8,
    mode: Mode,
    steps: [Step; MAX_TONE_STEPS],
    len: u8,
    /// Segments to match before reporting.
    need: u8,
    /// Steps a matching window may start at (bit mask).
    aligns: u8,
}

/// Everything the detector precomputes from a profile; shared by channels.
#[derive(Debug, Clone, PartialEq)]
pub struct ToneDetectorDescriptor {
    config: ToneDetectorConfig,
    nlanes: usize,
    /// Filter frequency (Hz) and sub-windows per block.
    lane_hz: [f32; MAX_DETECTOR_FREQS],
    lane_subs: [u8; MAX_DETECTOR_FREQS],
    /// e^{−jωn} for the 160 samples n of a block, per filter, laid out as
    /// the block is (row t, column k: n = 8t + k).
    tab_re: [kernel::Block; MAX_DETECTOR_FREQS],
    tab_im: [kernel::Block; MAX_DETECTOR_FREQS],
    /// Ranges of rows each group of four filters is summed over (the most
    /// sub-windows any of them needs: 1, 2 or 4).
    group_ranges: [u8; MAX_DETECTOR_FREQS / 4],
    /// |window DFT|² to sine power (mean square), averaged over windows.
    scale: [f32; MAX_DETECTOR_FREQS],
    sets: [FreqSet; MAX_SETS],
    nsets: usize,
    groups: [Group; MAX_TEMPLATES],
    ngroups: usize,
    templates: [Template; MAX_TEMPLATES],
    ntemplates: usize,
    min_power: f32,
    gate_power: f32,
    twist_ratio: f32,
    wobble_ratio: f32,
    quiet_ratio: f32,
    use_avx2_fma: bool,
}

/// Sub-windows per block for a filter at `hz` whose tones may lie `spread`
/// Hz away: the longest window (fewest sub-windows) that loses ≤ 1 dB.
fn subs_for(spread_hz: f32) -> u8 {
    for subs in [1u8, 2, 4] {
        let n = (BLOCK_SAMPLES / subs as usize) as f32;
        if std::f32::consts::PI * spread_hz * n / 8000.0 <= MAX_WINDOW_SPREAD_RAD {
            return subs;
        }
    }
    4
}

struct Builder {
    desc: ToneDetectorDescriptor,
    /// Each group's set list in order, for matching templates to groups.
    group_keys: Vec<Vec<u8>>,
}

impl Builder {
    fn lane(&mut self, hz: f32, subs: u8) -> Result<u8, DetectorBuildError> {
        let d = &mut self.desc;
        for i in 0..d.nlanes {
            if (d.lane_hz[i] - hz).abs() < 0.05 && d.lane_subs[i] == subs {
                return Ok(i as u8);
            }
        }
        if d.nlanes == MAX_DETECTOR_FREQS {
            return Err(DetectorBuildError::TooManyFrequencies(MAX_DETECTOR_FREQS + 1));
        }
        let i = d.nlanes;
        d.nlanes += 1;
        d.lane_hz[i] = hz;
        d.lane_subs[i] = subs;
        Ok(i as u8)
    }

    /// The set of the frequencies of one step of a `kind` tone.
    fn set(&mut self, kind: ToneKind, freqs: &[ToneFreq]) -> Result<u8, DetectorBuildError> {
        let mut tol = self.desc.config.freq_tolerance_pct / 100.0;
        if kind == ToneKind::Sit && freqs.iter().all(|f| f.hz >= SIT_FAMILY_MIN_HZ) {
            tol = tol.max(SIT_FREQ_TOLERANCE);
        }
        let mut s = FreqSet { comps: freqs.len() as u8, ..Default::default() };
        let mut hz: Vec<f32> = freqs.iter().map(|f| f.hz).collect();
        hz.sort_by(f32::total_cmp);
        if hz.len() == 2 && hz[1] - hz[0] < MERGE_PAIR_HZ {
            let centre = (hz[0] + hz[1]) / 2.0;
            let subs = subs_for((hz[1] - hz[0]) / 2.0 + centre * tol);
            s.lanes[0] = self.lane(centre, subs)?;
            s.nlanes = 1;
            s.subs = subs;
            s.beats = true;
        } else {
            for &f in &hz {
                let subs = subs_for(f * tol);
                s.lanes[s.nlanes as usize] = self.lane(f, subs)?;
                s.nlanes += 1;
                s.subs = s.subs.max(subs);
            }
        }
        let d = &mut self.desc;
        for i in 0..d.nsets {
            if d.sets[i] == s {
                return Ok(i as u8);
            }
        }
        if d.nsets == MAX_SETS {
            return Err(DetectorBuildError::TooManySets);
        }
        d.sets[d.nsets] = s;
        d.nsets += 1;
        Ok((d.nsets - 1) as u8)
    }

    fn template(&mut self, def: &ToneDef) -> Result<(), DetectorBuildError> {
        let cfg = self.desc.config;
        let kind = def.kind;
        // (set or None for silence, ms; 0 = forever)
        let mut raw: Vec<(Option<u8>, u32)> = Vec::new();
        for st in def.spec.steps() {
            let sym = if st.count == 0 { None } else { Some(self.set(kind, st.active())?) };
            raw.push((sym, st.duration_ms));
        }
        let repeating = def.spec.repeat;
        // Merge equal neighbours; drop silences too short to time.
        let merge = |v: &mut Vec<(Option<u8>, u32)>| {
            let mut i = 0;
            while i + 1 < v.len() {
                if v[i].0 == v[i + 1].0 {
                    let d = if v[i].1 == 0 || v[i + 1].1 == 0 { 0 } else { v[i].1 + v[i + 1].1 };
                    v[i].1 = d;
                    v.remove(i + 1);
                } else {
                    i += 1;
                }
            }
        };
        merge(&mut raw);
        let mut i = 0;
        while i < raw.len() {
            let (sym, d) = raw[i];
            let n = raw.len();
            let interior = repeating || (i > 0 && i + 1 < n);
            if sym.is_none() && d != 0 && d < MIN_STEP_MS && n > 1 && interior {
                let prev = (i + n - 1) % n;
                let next = (i + 1) % n;
                if raw[prev].1 != 0 {
                    raw[prev].1 += d / 2;
                }
                if raw[next].1 != 0 {
                    raw[next].1 += d - d / 2;
                }
                raw.remove(i);
                merge(&mut raw);
                continue;
            }
            i += 1;
        }
        if repeating {
            while raw.len() > 1 && raw[0].0 == raw[raw.len() - 1].0 {
                let last = raw.pop().map(|s| s.1).unwrap_or(0);
                raw[0].1 += last;
            }
        }
        // Leading silence of a one-shot tone is not part of it.
        if !repeating {
            while raw.len() > 1 && raw[0].0.is_none() {
                raw.remove(0);
            }
        }
        if raw.iter().all(|s| s.0.is_none()) {
            return Ok(());
        }
        let mode = match raw.last() {
            _ if raw.len() == 1 => Mode::Continuous,
            Some((Some(_), 0)) => {
                // A preamble then a steady tone: detect the steady tail.
                let tail = raw[raw.len() - 1];
                raw = vec![tail];
                Mode::Continuous
            }
            Some((None, 0)) => Mode::Once,
            _ => Mode::Repeating,
        };
        for &(sym, ms) in &raw {
            if sym.is_some() && ms != 0 && ms < MIN_STEP_MS {
                return Err(DetectorBuildError::StepTooShort { kind, ms });
            }
        }
        // The group: this tone's distinct sets in order.
        let mut key: Vec<u8> = Vec::new();
        for s in raw.iter().filter_map(|s| s.0) {
            if !key.contains(&s) {
                key.push(s);
            }
        }
        if key.len() > MAX_GROUP_SETS {
            return Err(DetectorBuildError::TooManySetsInTone(kind));
        }
        let mut sorted = key.clone();
        sorted.sort_unstable();
        let g = match self.group_keys.iter().position(|k| {
            let mut k2 = k.clone();
            k2.sort_unstable();
            k2 == sorted
        }) {
            Some(g) => g,
            None => {
                if self.desc.ngroups == MAX_TEMPLATES {
                    return Err(DetectorBuildError::TooManyTones);
                }
                let g = self.desc.ngroups;
                let grp = &mut self.desc.groups[g];
                for (i, &s) in key.iter().enumerate() {
                    grp.sets[i] = s;
                }
                grp.nsets = key.len() as u8;
                self.desc.ngroups += 1;
                self.group_keys.push(key.clone());
                g
            }
        };
        let gkey = &self.group_keys[g];
        let tol = cfg.cadence_tolerance_pct as f64 / 100.0;
        let slack = cfg.cadence_slack_ms as u64 * SAMPLES_PER_MS;
        let mut steps = [Step::default(); MAX_TONE_STEPS];
        for (i, &(sym, ms)) in raw.iter().enumerate() {
            let sym = match sym {
                Some(s) => gkey.iter().position(|&k| k == s).map_or(0, |p| p as u8 + 1),
                None => 0,
            };
            steps[i] = if ms == 0 {
                Step { sym, nominal: FOREVER, min: 0, max: FOREVER }
            } else {
                let n = ms as u64 * SAMPLES_PER_MS;
                let min = ((n as f64 * (1.0 - tol)) as u64).saturating_sub(slack);
                let max = (n as f64 * (1.0 + tol)) as u64 + slack;
                Step { sym, nominal: n, min, max }
            };
        }
        let len = raw.len();
        let (need, aligns) = match mode {
            Mode::Continuous => (1usize, 1u8),
            Mode::Once => (len - 1, 1u8),
            Mode::Repeating => {
                let cycles = cfg.cycles.get(kind).max(1);
                let need = cycles as usize * len;
                if need > HISTORY {
                    return Err(DetectorBuildError::TooManyCycles { kind, cycles, steps: len });
                }
                let mut aligns = 0u8;
                for j in 0..len {
                    if steps[j].sym != 0 && steps[(j + len - 1) % len].sym == 0 {
                        aligns |= 1 << j;
                    }
                }
                if aligns == 0 {
                    for (j, s) in steps[..len].iter().enumerate() {
                        if s.sym != 0 {
                            aligns |= 1 << j;
                        }
                    }
                }
                (need, aligns)
            }
        };
        if self.desc.ntemplates == MAX_TEMPLATES {
            return Err(DetectorBuildError::TooManyTones);
        }
        self.desc.templates[self.desc.ntemplates] =
            Template { kind, group: g as u8, mode, steps, len: len as u8, need: need as u8, aligns };
        self.desc.ntemplates += 1;
        Ok(())
    }
}

impl ToneDetectorDescriptor {
    /// Build the filters, frequency sets and cadence templates of `profile`.
    pub fn new(profile: &ToneProfile, config: &ToneDetectorConfig) -> Result<Self, DetectorBuildError> {
        let c = *config;
        if !(-70.0..=0.0).contains(&c.min_level_dbm0) {
            return Err(DetectorBuildError::BadConfig("min_level_dbm0 must be between -70 and 0"));
        }
        if !(0.0..=10.0).contains(&c.freq_tolerance_pct) {
            return Err(DetectorBuildError::BadConfig("freq_tolerance_pct must be between 0 and 10"));
        }
        if !(0.1..=1.0).contains(&c.min_purity) {
            return Err(DetectorBuildError::BadConfig("min_purity must be between 0.1 and 1"));
        }
        if !(0.0..=30.0).contains(&c.max_twist_db)
            || !(0.0..=40.0).contains(&c.max_wobble_db)
            || !(0.0..=40.0).contains(&c.gap_quiet_db)
        {
            return Err(DetectorBuildError::BadConfig(
                "max_twist_db must be 0–30, max_wobble_db and gap_quiet_db 0–40",
            ));
        }
        if !(0.0..=50.0).contains(&c.cadence_tolerance_pct) || c.cadence_slack_ms > 500 {
            return Err(DetectorBuildError::BadConfig("cadence_tolerance_pct must be 0–50 and cadence_slack_ms ≤ 500"));
        }
        if c.dial_min_ms > 60_000 {
            return Err(DetectorBuildError::BadConfig("dial_min_ms must be at most 60000"));
        }
        let desc = ToneDetectorDescriptor {
            config: c,
            nlanes: 0,
            lane_hz: [0.0; MAX_DETECTOR_FREQS],
            lane_subs: [1; MAX_DETECTOR_FREQS],
            tab_re: [[[0.0; ROW_SAMPLES]; ROWS]; MAX_DETECTOR_FREQS],
            tab_im: [[[0.0; ROW_SAMPLES]; ROWS]; MAX_DETECTOR_FREQS],
            group_ranges: [1; MAX_DETECTOR_FREQS / 4],
            scale: [0.0; MAX_DETECTOR_FREQS],
            sets: [FreqSet::default(); MAX_SETS],
            nsets: 0,
            groups: [Group::default(); MAX_TEMPLATES],
            ngroups: 0,
            templates: [Template {
                kind: ToneKind::Unknown,
                group: 0,
                mode: Mode::Repeating,
                steps: [Step::default(); MAX_TONE_STEPS],
                len: 0,
                need: 0,
                aligns: 0,
            }; MAX_TEMPLATES],
            ntemplates: 0,
            min_power: dbm0_to_power(c.min_level_dbm0 as f64) as f32,
            gate_power: dbm0_to_power(c.min_level_dbm0 as f64 - 10.0) as f32,
            twist_ratio: 10f32.powf(-c.max_twist_db / 10.0),
            wobble_ratio: 10f32.powf(c.max_wobble_db / 10.0),
            quiet_ratio: 10f32.powf(-c.gap_quiet_db / 10.0),
            use_avx2_fma: super::simd::avx2_fma_available(),
        };
        let mut b = Builder { desc, group_keys: Vec::new() };
        // Count frequencies first for a useful error.
        for def in &profile.tones {
            if let Err(e) = b.template(def) {
                if let DetectorBuildError::TooManyFrequencies(_) = e {
                    let mut all: Vec<f32> = profile.tones.iter().flat_map(|t| t.frequencies()).collect();
                    all.sort_by(f32::total_cmp);
                    all.dedup();
                    return Err(DetectorBuildError::TooManyFrequencies(all.len().max(MAX_DETECTOR_FREQS + 1)));
                }
                return Err(e);
            }
        }
        let mut d = b.desc;
        if d.ntemplates == 0 {
            return Err(DetectorBuildError::NoTones);
        }
        // Continuous tones wait out every burst of their group, and unknown
        // cadences must hold as long as the group's longest period.
        for t in 0..d.ntemplates {
            let g = d.templates[t].group as usize;
            let mut longest_on = 0u64;
            let mut longest_period = 0u64;
            for o in d.templates[..d.ntemplates].iter().filter(|o| o.group as usize == g && o.mode != Mode::Continuous)
            {
                for s in &o.steps[..o.len as usize] {
                    if s.sym != 0 && s.max != FOREVER {
                        longest_on = longest_on.max(s.max);
                    }
                }
                if o.mode == Mode::Repeating {
                    longest_period = longest_period.max(o.steps[..o.len as usize].iter().map(|s| s.nominal).sum());
                }
            }
            d.groups[g].unknown_span = longest_period;
            let tm = &mut d.templates[t];
            if tm.mode == Mode::Continuous {
                let confirm = (c.dial_min_ms as u64 * SAMPLES_PER_MS).max(longest_on + BLOCK_SAMPLES as u64);
                tm.steps[0] = Step { sym: tm.steps[0].sym, nominal: FOREVER, min: confirm, max: FOREVER };
            }
        }
        d.sort_lanes();
        for i in 0..d.nlanes {
            let w = 2.0 * std::f64::consts::PI * d.lane_hz[i] as f64 / 8000.0;
            for n in 0..BLOCK_SAMPLES {
                d.tab_re[i][n / ROW_SAMPLES][n % ROW_SAMPLES] = (w * n as f64).cos() as f32;
                d.tab_im[i][n / ROW_SAMPLES][n % ROW_SAMPLES] = -(w * n as f64).sin() as f32;
            }
            let subs = d.lane_subs[i] as usize;
            let n = (BLOCK_SAMPLES / subs) as f32;
            d.scale[i] = 2.0 / (n * n * subs as f32);
        }
        Ok(d)
    }

    pub fn config(&self) -> &ToneDetectorConfig {
        &self.config
    }

    /// The same descriptor using the portable kernel even where AVX2+FMA
    /// is available (for tests and benchmarks; results agree to rounding).
    pub fn portable(mut self) -> Self {
        self.use_avx2_fma = false;
        self
    }

    /// Whether the AVX2+FMA kernel runs.
    pub fn uses_avx2_fma(&self) -> bool {
        self.use_avx2_fma
    }

    /// The filter frequencies (Hz).
    pub fn frequencies(&self) -> &[f32] {
        &self.lane_hz[..self.nlanes]
    }

    /// Order filters by sub-windows, so that each group of four the kernel
    /// runs together needs as few ranges as possible.
    fn sort_lanes(&mut self) {
        let n = self.nlanes;
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&i| self.lane_subs[i]);
        let mut new_of_old = [0u8; MAX_DETECTOR_FREQS];
        for (new, &old) in order.iter().enumerate() {
            new_of_old[old] = new as u8;
        }
        let (hz, subs) = (self.lane_hz, self.lane_subs);
        for (new, &old) in order.iter().enumerate() {
            self.lane_hz[new] = hz[old];
            self.lane_subs[new] = subs[old];
        }
        for s in self.sets[..self.nsets].iter_mut() {
            for l in s.lanes[..s.nlanes as usize].iter_mut() {
                *l = new_of_old[*l as usize];
            }
        }
        for (g, r) in self.group_ranges.iter_mut().enumerate() {
            *r = self.lane_subs[(g * 4).min(MAX_DETECTOR_FREQS)..(g * 4 + 4).min(n.max(g * 4))]
                .iter()
                .copied()
                .max()
                .unwrap_or(1);
        }
    }

    /// Analyse one block: per-filter sine power (mean square) into `p`.
    fn analyse(&self, x: &kernel::Block, p: &mut [f32; MAX_DETECTOR_FREQS]) {
        let mut l0 = 0;
        while l0 < self.nlanes {
            let n = (self.nlanes - l0).min(4);
            let ranges = self.group_ranges[l0 / 4].max(1) as usize;
            let rows = ROWS / ranges;
            // Window sums (complex) of each filter.
            let mut xr = [[0f32; 4]; 4];
            let mut xi = [[0f32; 4]; 4];
            for r in 0..ranges {
                let (a, b) = (r * rows, (r + 1) * rows);
                let out = kernel_run(self, l0, n, a, b, x);
                for j in 0..n {
                    let w = r * self.lane_subs[l0 + j] as usize / ranges;
                    xr[j][w] += out.re[j].iter().sum::<f32>();
                    xi[j][w] += out.im[j].iter().sum::<f32>();
                }
            }
            for j in 0..n {
                let lane = l0 + j;
                let subs = self.lane_subs[lane] as usize;
                let e: f32 = (0..subs).map(|w| xr[j][w] * xr[j][w] + xi[j][w] * xi[j][w]).sum();
                p[lane] = e * self.scale[lane];
            }
            l0 += 4;
        }
    }
}

// ---------------------------------------------------------------------------
// Filter kernel
// ---------------------------------------------------------------------------

/// Single-bin DFTs of up to four filters over a range of rows of a block:
/// for each sample, x·e^{−jωn} is accumulated, eight samples (one row, one
/// vector) at a time, in eight partial sums per filter. It is the Goertzel
/// filter's result without its recurrence: no loop-carried multiply, and a
/// window of any length is a sum of rows.
mod kernel {
    use super::{ROW_SAMPLES, ROWS};

    /// A block as it came: row t is samples 8t … 8t + 7.
    pub type Block = [[f32; ROW_SAMPLES]; ROWS];

    /// Partial sums (real, imaginary) of four filters, one per column.
    #[derive(Debug, Clone, Copy, Default)]
    pub struct Out {
        pub re: [[f32; ROW_SAMPLES]; 4],
        pub im: [[f32; ROW_SAMPLES]; 4],
    }

    #[inline(always)]
    pub fn run<const FMA: bool, const N: usize>(
        tab_re: [&[[f32; ROW_SAMPLES]]; N],
        tab_im: [&[[f32; ROW_SAMPLES]]; N],
        x: &[[f32; ROW_SAMPLES]],
    ) -> Out {
        let mut re = [[0f32; ROW_SAMPLES]; N];
        let mut im = [[0f32; ROW_SAMPLES]; N];
        for (t, row) in x.iter().enumerate() {
            for l in 0..N {
                let (cr, ci) = (&tab_re[l][t], &tab_im[l][t]);
                for k in 0..ROW_SAMPLES {
                    if FMA {
                        re[l][k] = row[k].mul_add(cr[k], re[l][k]);
                        im[l][k] = row[k].mul_add(ci[k], im[l][k]);
                    } else {
                        re[l][k] += row[k] * cr[k];
                        im[l][k] += row[k] * ci[k];
                    }
                }
            }
        }
        let mut out = Out::default();
        out.re[..N].copy_from_slice(&re);
        out.im[..N].copy_from_slice(&im);
        out
    }

    /// `run` for 1–4 filters, chosen at run time.
    #[inline(always)]
    pub fn run_n<const FMA: bool>(
        tab_re: &[Block],
        tab_im: &[Block],
        n: usize,
        a: usize,
        b: usize,
        x: &[[f32; ROW_SAMPLES]],
    ) -> Out {
        let x = &x[a..b];
        let r = |l: usize| &tab_re[l][a..b];
        let i = |l: usize| &tab_im[l][a..b];
        match n {
            1 => run::<FMA, 1>([r(0)], [i(0)], x),
            2 => run::<FMA, 2>([r(0), r(1)], [i(0), i(1)], x),
            3 => run::<FMA, 3>([r(0), r(1), r(2)], [i(0), i(1), i(2)], x),
            _ => run::<FMA, 4>([r(0), r(1), r(2), r(3)], [i(0), i(1), i(2), i(3)], x),
        }
    }

    /// The kernel compiled for AVX2 and FMA.
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    #[allow(unsafe_code)]
    pub unsafe fn run_avx2_fma(
        tab_re: &[Block],
        tab_im: &[Block],
        n: usize,
        a: usize,
        b: usize,
        x: &[[f32; ROW_SAMPLES]],
    ) -> Out {
        run_n::<true>(tab_re, tab_im, n, a, b, x)
    }
}

/// Filters `l0 .. l0 + n` (n ≤ 4) over rows `a .. b` of `x`.
#[inline]
#[allow(unsafe_code)]
fn kernel_run(
    desc: &ToneDetectorDescriptor,
    l0: usize,
    n: usize,
    a: usize,
    b: usize,
    x: &kernel::Block,
) -> kernel::Out {
    let (tr, ti) = (&desc.tab_re[l0..l0 + n], &desc.tab_im[l0..l0 + n]);
    #[cfg(target_arch = "x86_64")]
    if desc.use_avx2_fma {
        // SAFETY: `use_avx2_fma` is set only when the running CPU reported
        // both AVX2 and FMA (`avx2_fma_available`).
        return unsafe { kernel::run_avx2_fma(tr, ti, n, a, b, x) };
    }
    kernel::run_n::<false>(tr, ti, n, a, b, x)
}

// ---------------------------------------------------------------------------
// Detector: per-channel state
// ---------------------------------------------------------------------------

/// What the detector reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ToneEvent {
    /// A tone's cadence was confirmed.
    Tone {
        kind: ToneKind,
        /// Where its first matching burst began.
        start: u64,
        /// Where it was confirmed (the end of the block that did it).
        at: u64,
        /// Level per frequency (mean over the matched bursts).
        level_dbm0: f32,
    },
    /// The tone reported last has ended.
    ToneEnd {
        kind: ToneKind,
        /// End of the last burst (or continuous tone) that fitted.
        end: u64,
        /// Where the end was seen.
        at: u64,
    },
}

impl ToneEvent {
    pub fn kind(&self) -> ToneKind {
        match *self {
            ToneEvent::Tone { kind, .. } | ToneEvent::ToneEnd { kind, .. } => kind,
        }
    }
}

/// A completed segment.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Seg {
    start: u64,
    len: u64,
    /// Set power (mean square) of its loudest block.
    power: f32,
    sym: u8,
    /// A burst: its block powers held within the wobble limit; a gap: it
    /// was quiet.
    steady: bool,
    /// A gap: the mean power, over its blocks, of the set of the burst
    /// before it (whether those frequencies went away).
    set_power: f32,
}

/// A confirmation waiting for the running segment to grow.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Pending {
    /// Position the running segment must reach.
    at: u64,
    template: u8,
    /// Template step of the running segment.
    step: u8,
    start: u64,
    power: f32,
    comps: u8,
}

/// Per-group segmenter state.
#[derive(Debug, Clone, Copy)]
struct GroupState {
    /// Running segment: symbol, start, loudest block power.
    sym: u8,
    start: u64,
    ref_power: f32,
    /// Range and sum of interior block powers (wobble test, level).
    int_min: f32,
    int_max: f32,
    int_sum: f32,
    int_n: u32,
    /// Last block's power, waiting to learn whether it was interior.
    held: Option<f32>,
    /// Blocks of the running segment, and of them those too loud for a gap.
    blocks: u32,
    loud: u32,
    /// The running gap did not open quiet (see `GAP_OPEN_BLOCKS`).
    opened_loud: bool,
    /// Loud blocks among the candidate's.
    cand_loud: u32,
    /// Power and symbol of the last burst (gaps are measured against it).
    last_on_power: f32,
    last_on_sym: u8,
    /// Sum over the running segment's blocks of the power of the set of
    /// the burst running or last, and of that the candidate's blocks'.
    set_sum: f32,
    cand_set_sum: f32,
    /// End of the last reported tone: no new match may start before it.
    consumed: u64,
    prev_sym: u8,
    /// Refined end of the running burst, set on the first block after it.
    pending_end: u64,
    cand_sym: u8,
    cand_blocks: u8,
    cand_block_start: u64,
    cand_p_before: f32,
    /// …and in the block before that.
    cand_p_before2: f32,
    cand_p_first: f32,
    hist: [Seg; HISTORY],
    hist_len: usize,
    /// Index of the oldest entry.
    hist_head: usize,
    pending: Option<Pending>,
}

impl GroupState {
    fn new() -> Self {
        GroupState {
            sym: 0,
            start: 0,
            ref_power: 0.0,
            int_min: f32::INFINITY,
            int_max: 0.0,
            int_sum: 0.0,
            int_n: 0,
            held: None,
            blocks: 0,
            loud: 0,
            opened_loud: false,
            cand_loud: 0,
            last_on_power: 0.0,
            last_on_sym: 0,
            set_sum: 0.0,
            cand_set_sum: 0.0,
            consumed: 0,
            prev_sym: 0,
            pending_end: 0,
            cand_sym: 0,
            cand_blocks: 0,
            cand_block_start: 0,
            cand_p_before: 0.0,
            cand_p_before2: 0.0,
            cand_p_first: 0.0,
            hist: [Seg::default(); HISTORY],
            hist_len: 0,
            hist_head: 0,
            pending: None,
        }
    }

    fn push(&mut self, s: Seg) {
        let idx = (self.hist_head + self.hist_len) % HISTORY;
        self.hist[idx] = s;
        if self.hist_len == HISTORY {
            self.hist_head = (self.hist_head + 1) % HISTORY;
        } else {
            self.hist_len += 1;
        }
    }

    /// Power of the running burst: the mean of its interior blocks (a
    /// maximum would be biased by the beat of close pairs, +1.8 dB for
    /// 440+480 Hz), or its loudest block while it has none.
    fn burst_power(&self) -> f32 {
        if self.int_n > 0 { self.int_sum / self.int_n as f32 } else { self.ref_power }
    }

    /// In a gap with nothing pending: a silent block changes nothing but
    /// the gap's counts.
    fn is_idle(&self) -> bool {
        self.sym == 0 && self.prev_sym == 0 && self.cand_blocks == 0 && self.pending.is_none()
    }

    /// Whether the running segment, a gap, has been quiet enough so far.
    fn gap_is_quiet(&self) -> bool {
        !self.opened_loud && self.loud <= OFF_LOUD_EDGE_BLOCKS + self.blocks / OFF_LOUD_PER_BLOCKS
    }

    /// The `i`-th newest completed segment (0 = newest).
    fn back(&self, i: usize) -> &Seg {
        &self.hist[(self.hist_head + self.hist_len - 1 - i) % HISTORY]
    }
}

/// The tone being reported.
#[derive(Debug, Clone, Copy)]
struct Active {
    kind: ToneKind,
    group: u8,
    tmpl: Template,
    /// Step of the running segment.
    step: u8,
    /// End of the last burst that fitted.
    last_end: u64,
}

/// What a segmenter is told about one block.
struct Block {
    start: u64,
    /// Mean square of the block.
    total: f32,
    /// Slots of [`Channel::set_p`] holding the power of each frequency set
    /// in this block, the one before and the one before that.
    cur: usize,
    prev: usize,
    prev2: usize,
}

/// Fraction of a block a tone covers, from its power there against a full
/// block's; `subs` sub-windows per block (power ∝ coverage² per window).
fn coverage(p: f32, reference: f32, subs: u8) -> f32 {
    if reference.is_nan() || p.is_nan() || reference <= 0.0 || p <= 0.0 {
        return 0.0;
    }
    let s = subs.max(1) as f32;
    let r = (p / reference).clamp(0.0, 1.0) * s;
    let k = r.floor().min(s - 1.0);
    ((k + (r - k).max(0.0).sqrt()) / s).clamp(0.0, 1.0)
}

/// [`coverage`] of the block before a burst's first, whose set power is
/// `p`, after one whose set power was `p2`: what that earlier block held
/// on these frequencies is other audio's (a dial tone's 440 Hz before a
/// 440 Hz tone, DTMF's 941 Hz before a SIT's 950 Hz, a louder neighbour's
/// leakage), not the tone's. (Taking all of it off places an onset right
/// after much louder audio up to a few ms late; leaving it places one a
/// block early.)
fn onset_coverage(p: f32, p2: f32, reference: f32, subs: u8) -> f32 {
    coverage((p - p2).max(0.0), reference, subs)
}

/// [`coverage`] of a block at a burst's edge, or 0 when the set holds less
/// than `min_purity` of the block power that coverage implies: the rest of
/// the block is other audio (DTMF, speech, a tone sharing a frequency)
/// whose leakage would pass for the tone.
fn edge_coverage(p: f32, reference: f32, subs: u8, total: f32, min_purity: f32) -> f32 {
    let c = coverage(p, reference, subs);
    if p >= min_purity * c * total { c } else { 0.0 }
}

fn cover_samples(c: f32) -> u64 {
    (c.clamp(0.0, 2.0) * BLOCK_SAMPLES as f32).round() as u64
}

/// Per-channel call-progress tone detector. See the module doc.
#[derive(Debug, Clone)]
pub struct ToneDetector {
    desc: Arc<ToneDetectorDescriptor>,
    ch: Channel,
}

/// The per-channel state proper (apart from the shared descriptor).
#[derive(Debug, Clone)]
struct Channel {
    /// The block being filled.
    buf: kernel::Block,
    fill: usize,
    /// Samples fed since start.
    position: u64,
    /// Per-set power of the last three blocks, a ring; `set_at` is the
    /// slot of the block being analysed.
    set_p: [[f32; MAX_SETS]; 3],
    set_at: u8,
    groups: Box<[GroupState]>,
    active: Option<Active>,
}

impl ToneDetector {
    pub fn new(desc: Arc<ToneDetectorDescriptor>) -> Self {
        let groups = vec![GroupState::new(); desc.ngroups].into_boxed_slice();
        let ch = Channel {
            buf: [[0.0; ROW_SAMPLES]; ROWS],
            fill: 0,
            position: 0,
            set_p: [[0.0; MAX_SETS]; 3],
            set_at: 0,
            groups,
            active: None,
        };
        ToneDetector { desc, ch }
    }

    /// Forget everything; positions count from 0 again.
    pub fn reset(&mut self) {
        let ch = &mut self.ch;
        ch.buf = [[0.0; ROW_SAMPLES]; ROWS];
        ch.fill = 0;
        ch.position = 0;
        ch.set_p = [[0.0; MAX_SETS]; 3];
        ch.set_at = 0;
        for g in ch.groups.iter_mut() {
            *g = GroupState::new();
        }
        ch.active = None;
    }

    pub fn descriptor(&self) -> &Arc<ToneDetectorDescriptor> {
        &self.desc
    }

    /// Samples fed since construction or reset.
    pub fn position(&self) -> u64 {
        self.ch.position
    }

    /// The tone now being reported, if any.
    pub fn current(&self) -> Option<ToneKind> {
        self.ch.active.map(|a| a.kind)
    }

    /// Feed samples (any count); events are pushed onto `out`.
    pub fn rx(&mut self, samples: &[i16], out: &mut Vec<ToneEvent>) {
        let ch = &mut self.ch;
        let mut rest = samples;
        while !rest.is_empty() {
            let n = (BLOCK_SAMPLES - ch.fill).min(rest.len());
            let (chunk, tail) = rest.split_at(n);
            for (d, &s) in ch.buf.as_flattened_mut()[ch.fill..ch.fill + n].iter_mut().zip(chunk) {
                *d = s as f32;
            }
            ch.fill += n;
            ch.position += n as u64;
            rest = tail;
            if ch.fill == BLOCK_SAMPLES {
                ch.fill = 0;
                ch.end_block(&self.desc, out);
            }
        }
    }

    /// Account for `samples` of lost audio (as silence).
    pub fn fillin(&mut self, samples: usize, out: &mut Vec<ToneEvent>) {
        const ZEROS: [i16; BLOCK_SAMPLES] = [0; BLOCK_SAMPLES];
        let mut left = samples;
        while left > 0 {
            let n = left.min(BLOCK_SAMPLES);
            self.rx(&ZEROS[..n], out);
            left -= n;
        }
    }

    /// End the tone now reported, if any (end of call or stream): a tone
    /// still sounding ends at the current position.
    pub fn flush(&mut self, out: &mut Vec<ToneEvent>) {
        let ch = &mut self.ch;
        if let Some(a) = ch.active.take() {
            let st = &ch.groups[a.group as usize];
            let step = a.tmpl.steps[a.step as usize];
            let end = if st.sym != 0 && st.sym == step.sym { ch.position } else { a.last_end };
            out.push(ToneEvent::ToneEnd { kind: a.kind, end, at: ch.position });
        }
    }
}

impl Channel {
    fn end_block(&mut self, d: &ToneDetectorDescriptor, out: &mut Vec<ToneEvent>) {
        let block_end = self.position;
        let block_start = block_end - BLOCK_SAMPLES as u64;
        // Power of the block.
        let mut acc = [0f32; ROW_SAMPLES];
        for row in &self.buf {
            for k in 0..ROW_SAMPLES {
                acc[k] += row[k] * row[k];
            }
        }
        let total = acc.iter().sum::<f32>() / BLOCK_SAMPLES as f32;
        let cur = self.set_at as usize;
        self.set_at = ((cur + 1) % 3) as u8;
        let mut p = [0f32; MAX_DETECTOR_FREQS];
        if total >= d.gate_power {
            d.analyse(&self.buf, &mut p);
        } else if self.active.is_none() && self.groups.iter().all(GroupState::is_idle) {
            // Too quiet for any tone and nothing under way: the block only
            // lengthens every gap (which is what the long way would do).
            for st in self.groups.iter_mut() {
                st.blocks = st.blocks.saturating_add(1);
                st.loud = st.loud.saturating_add((total > st.last_on_power * d.quiet_ratio) as u32);
                st.opened_loud |= st.blocks == GAP_OPEN_BLOCKS && st.loud > 1 && st.last_on_power > 0.0;
            }
            self.set_p[cur] = [0.0; MAX_SETS];
            return;
        }
        // Frequency sets.
        let set_p = &mut self.set_p[cur];
        let mut purity = [0f32; MAX_SETS];
        for (i, s) in d.sets[..d.nsets].iter().enumerate() {
            let lanes = &s.lanes[..s.nlanes as usize];
            let sum: f32 = lanes.iter().map(|&l| p[l as usize]).sum();
            let mx = lanes.iter().map(|&l| p[l as usize]).fold(0.0, f32::max);
            let mn = lanes.iter().map(|&l| p[l as usize]).fold(f32::INFINITY, f32::min);
            set_p[i] = sum;
            let ok = mn >= d.min_power && mn >= mx * d.twist_ratio && sum >= d.config.min_purity * total;
            purity[i] = if ok { sum / total } else { 0.0 };
        }
        for g in 0..d.ngroups {
            let grp = d.groups[g];
            let mut sym = 0u8;
            let mut best = 0f32;
            for (i, &s) in grp.sets[..grp.nsets as usize].iter().enumerate() {
                if purity[s as usize] > best {
                    best = purity[s as usize];
                    sym = i as u8 + 1;
                }
            }
            let b = Block { start: block_start, total, cur, prev: (cur + 2) % 3, prev2: (cur + 1) % 3 };
            self.group_block(d, g, sym, &b, out);
        }
    }

    /// Power of group `g`'s symbol `sym` in a per-set power array.
    fn sym_power(d: &ToneDetectorDescriptor, g: usize, sym: u8, set_p: &[f32; MAX_SETS]) -> f32 {
        if sym == 0 { 0.0 } else { set_p[d.groups[g].sets[sym as usize - 1] as usize] }
    }

    fn sym_set(d: &ToneDetectorDescriptor, g: usize, sym: u8) -> FreqSet {
        if sym == 0 { FreqSet::default() } else { d.sets[d.groups[g].sets[sym as usize - 1] as usize] }
    }

    fn group_block(&mut self, d: &ToneDetectorDescriptor, g: usize, sym: u8, b: &Block, out: &mut Vec<ToneEvent>) {
        let (bs, total) = (b.start, b.total);
        let be = bs + BLOCK_SAMPLES as u64;
        let (set_p, prev_set_p, prev2_set_p) = (&self.set_p[b.cur], &self.set_p[b.prev], &self.set_p[b.prev2]);
        let p_sym = Self::sym_power(d, g, sym, set_p);
        let st = &mut self.groups[g];
        st.blocks = st.blocks.saturating_add(1);
        // Loud for a gap: against the burst running now or the last one.
        let (burst_power, burst_sym) =
            if st.sym != 0 { (st.burst_power(), st.sym) } else { (st.last_on_power, st.last_on_sym) };
        let loud = total > burst_power * d.quiet_ratio;
        st.loud = st.loud.saturating_add(loud as u32);
        let burst_set_p = Self::sym_power(d, g, burst_sym, set_p);
        st.set_sum += burst_set_p;
        st.opened_loud |= st.sym == 0 && st.blocks == GAP_OPEN_BLOCKS && st.loud > 1 && st.last_on_power > 0.0;
        // The first block after the running burst's last: place its end.
        if st.sym != 0 && st.prev_sym == st.sym && sym != st.sym {
            let set = Self::sym_set(d, g, st.sym);
            let level = st.burst_power();
            let c_prev = coverage(Self::sym_power(d, g, st.sym, prev_set_p), level, set.subs);
            let p_cur = Self::sym_power(d, g, st.sym, set_p);
            let c_cur = edge_coverage(p_cur, level, set.subs, total, d.config.min_purity);
            st.pending_end = (bs.saturating_sub(BLOCK_SAMPLES as u64) + cover_samples(c_prev + c_cur)).max(st.start);
        }
        let mut committed = false;
        if sym == st.sym {
            st.cand_blocks = 0;
            if sym != 0 {
                let pw = p_sym;
                st.ref_power = st.ref_power.max(pw);
                if let Some(h) = st.held
                    && st.prev_sym == sym
                {
                    st.int_min = st.int_min.min(h);
                    st.int_max = st.int_max.max(h);
                    st.int_sum += h;
                    st.int_n += 1;
                }
                st.held = if st.prev_sym == sym { Some(pw) } else { None };
            }
        } else {
            st.held = None;
            if st.cand_blocks > 0 && st.cand_sym == sym {
                st.cand_blocks += 1;
                st.cand_loud += loud as u32;
                st.cand_set_sum += burst_set_p;
            } else {
                st.cand_sym = sym;
                st.cand_blocks = 1;
                st.cand_loud = loud as u32;
                st.cand_set_sum = burst_set_p;
                st.cand_block_start = bs;
                st.cand_p_before = Self::sym_power(d, g, sym, prev_set_p);
                st.cand_p_before2 = Self::sym_power(d, g, sym, prev2_set_p);
                st.cand_p_first = p_sym;
            }
            if st.cand_blocks >= MIN_RUN_BLOCKS {
                committed = true;
            }
        }
        st.prev_sym = sym;
        if committed {
            self.commit(d, g, p_sym, be, out);
        }
        // Running checks.
        let st = &self.groups[g];
        if st.sym == sym {
            if let Some(a) = self.active {
                if a.group as usize == g {
                    let step = a.tmpl.steps[a.step as usize];
                    if step.max != FOREVER && be > st.start.saturating_add(step.max) {
                        self.end_active(be, out);
                    }
                }
            }
            let pending = self.groups[g].pending;
            let ref_power = self.groups[g].burst_power();
            if let Some(p) = pending
                && be >= p.at
                && be
                    <= self.groups[g].start.saturating_add(d.templates[p.template as usize].steps[p.step as usize].max)
                && (sym != 0 || self.groups[g].gap_is_quiet())
                && self.make_room(g, p.start, be, out)
            {
                self.groups[g].pending = None;
                let tmpl = d.templates[p.template as usize];
                // A continuous tone's level is its running burst's.
                let power = if p.power == 0.0 { ref_power } else { p.power };
                self.begin(g, tmpl, p.step, p.start, power, p.comps, be, out);
                // A one-shot tone ends once its last burst has been heard.
                if let Some(a) = self.active
                    && a.tmpl.mode == Mode::Once
                    && a.tmpl.steps[a.step as usize].max == FOREVER
                {
                    self.end_active(be, out);
                }
            }
        }
    }

    /// The candidate has lasted: end the running segment, start the next.
    fn commit(&mut self, d: &ToneDetectorDescriptor, g: usize, p_second: f32, now: u64, out: &mut Vec<ToneEvent>) {
        let st = &mut self.groups[g];
        let new_sym = st.cand_sym;
        let steady = if st.sym == 0 {
            // The candidate's blocks belong to the next segment.
            let blocks = st.blocks.saturating_sub(st.cand_blocks as u32);
            let opened_loud = st.opened_loud && blocks > GAP_OPEN_BLOCKS;
            !opened_loud && st.loud.saturating_sub(st.cand_loud) <= OFF_LOUD_EDGE_BLOCKS + blocks / OFF_LOUD_PER_BLOCKS
        } else {
            // A beating pair swings by up to ~7 dB from block to block.
            let beats = Self::sym_set(d, g, st.sym).beats;
            let ratio = if beats { d.wobble_ratio * BEAT_WOBBLE_RATIO } else { d.wobble_ratio };
            st.int_max <= st.int_min * ratio || st.int_min == f32::INFINITY
        };
        let set_power = if st.sym == 0 {
            let blocks = st.blocks.saturating_sub(st.cand_blocks as u32).max(1);
            (st.set_sum - st.cand_set_sum).max(0.0) / blocks as f32
        } else {
            0.0
        };
        let old = Seg { start: st.start, len: 0, power: st.burst_power(), sym: st.sym, steady, set_power };
        let new_ref = st.cand_p_first.max(p_second);
        let on_start = if new_sym != 0 {
            let set = Self::sym_set(d, g, new_sym);
            let c = onset_coverage(st.cand_p_before, st.cand_p_before2, new_ref, set.subs)
                + coverage(st.cand_p_first, new_ref, set.subs);
            (st.cand_block_start + BLOCK_SAMPLES as u64).saturating_sub(cover_samples(c))
        } else {
            0
        };
        let mut pushed = [Seg::default(); 2];
        let npushed;
        let new_start;
        match (old.sym, new_sym) {
            (0, _) => {
                let end = on_start.max(old.start);
                pushed[0] = Seg { len: end - old.start, ..old };
                npushed = 1;
                new_start = end;
            }
            (_, 0) => {
                let end = st.pending_end.max(old.start);
                pushed[0] = Seg { len: end - old.start, ..old };
                npushed = 1;
                new_start = end;
            }
            _ => {
                let e = st.pending_end.max(old.start);
                let s = on_start.max(old.start);
                if s > e + MIN_STEP_MS as u64 * SAMPLES_PER_MS {
                    pushed[0] = Seg { len: e - old.start, ..old };
                    pushed[1] = Seg { start: e, len: s - e, power: 0.0, sym: 0, steady: true, set_power: 0.0 };
                    npushed = 2;
                    new_start = s;
                } else {
                    let m = ((e + s) / 2).max(old.start);
                    pushed[0] = Seg { len: m - old.start, ..old };
                    npushed = 1;
                    new_start = m;
                }
            }
        }
        for s in &pushed[..npushed] {
            st.push(*s);
        }
        if old.sym != 0 {
            st.last_on_power = old.power;
            st.last_on_sym = old.sym;
        }
        st.blocks = st.cand_blocks as u32;
        st.loud = st.cand_loud;
        st.opened_loud = false;
        st.set_sum = st.cand_set_sum;
        st.sym = new_sym;
        st.start = new_start;
        st.ref_power = if new_sym != 0 { new_ref } else { 0.0 };
        st.int_min = f32::INFINITY;
        st.int_max = 0.0;
        st.int_sum = 0.0;
        st.int_n = 0;
        st.held = if new_sym != 0 { Some(p_second) } else { None };
        st.cand_blocks = 0;
        st.pending = None;
        // Follow the tone being reported.
        if let Some(mut a) = self.active
            && a.group as usize == g
        {
            let mut ok = true;
            for s in &pushed[..npushed] {
                let step = a.tmpl.steps[a.step as usize];
                if s.sym != step.sym || s.len < step.min || s.len > step.max || !s.steady {
                    ok = false;
                    break;
                }
                if s.sym != 0 {
                    a.last_end = s.start + s.len;
                }
                a.step = next_step(&a.tmpl, a.step);
            }
            self.active = Some(a);
            let running_fits = a.tmpl.steps[a.step as usize].sym == new_sym;
            let once_done = a.tmpl.mode == Mode::Once && a.tmpl.steps[a.step as usize].max == FOREVER;
            if !ok || !running_fits || once_done {
                self.end_active(now, out);
            }
        }
        self.try_match(d, g, now, out);
    }

    fn end_active(&mut self, now: u64, out: &mut Vec<ToneEvent>) {
        if let Some(a) = self.active.take() {
            // Its segments are spent: a confirmation pending on them goes;
            // one of a tone that began after its last burst (a dial tone
            // after a busy tone) stays.
            let st = &mut self.groups[a.group as usize];
            st.consumed = st.consumed.max(a.last_end);
            if st.pending.is_some_and(|p| p.start < st.consumed) {
                st.pending = None;
            }
            out.push(ToneEvent::ToneEnd { kind: a.kind, end: a.last_end, at: now });
        }
    }

    /// Whether a tone of group `g` that began at `start` may be reported
    /// now: nothing is, or the tone reported is another group's, waiting in
    /// a gap after its last burst, and the new tone began after that burst.
    /// Then the new tone sounds in that gap, and the old one has ended.
    fn make_room(&mut self, g: usize, start: u64, now: u64, out: &mut Vec<ToneEvent>) -> bool {
        match self.active {
            None => true,
            Some(a) if a.group as usize != g && a.tmpl.steps[a.step as usize].sym == 0 && start >= a.last_end => {
                self.end_active(now, out);
                true
            }
            Some(_) => false,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn begin(
        &mut self,
        g: usize,
        tmpl: Template,
        step: u8,
        start: u64,
        power: f32,
        comps: u8,
        now: u64,
        out: &mut Vec<ToneEvent>,
    ) {
        let level = power_to_dbm0(power as f64 / comps.max(1) as f64) as f32;
        out.push(ToneEvent::Tone { kind: tmpl.kind, start, at: now, level_dbm0: level });
        let st = &self.groups[g];
        // End of the last burst already heard (the running one if on).
        let mut last_end = start;
        for i in 0..st.hist_len {
            let s = st.back(i);
            if s.sym != 0 {
                last_end = last_end.max(s.start + s.len);
                break;
            }
        }
        self.active = Some(Active { kind: tmpl.kind, group: g as u8, tmpl, step, last_end });
    }

    /// Look for a tone in group `g`'s segments after a commit.
    fn try_match(&mut self, d: &ToneDetectorDescriptor, g: usize, now: u64, out: &mut Vec<ToneEvent>) {
        let st = &self.groups[g];
        // Best immediate match (score, template, align, start, power, comps)
        let mut now_best: Option<(f32, u8, u8, u64, f32, u8)> = None;
        // Templates that fit if the running segment grows long enough:
        // (score, its step's min and max length, what to confirm).
        let mut cands = [(0f32, 0u64, 0u64, None::<Pending>); MAX_CANDIDATES];
        let mut ncands = 0;
        let mut add = |c: (f32, u64, u64, Option<Pending>)| {
            if ncands < MAX_CANDIDATES {
                cands[ncands] = c;
                ncands += 1;
            }
        };
        for (ti, t) in d.templates[..d.ntemplates].iter().enumerate() {
            if t.group as usize != g {
                continue;
            }
            let len = t.len as usize;
            let comps = t.steps[..len].iter().find(|s| s.sym != 0).map_or(1, |s| Self::sym_set(d, g, s.sym).comps);
            if t.mode == Mode::Continuous {
                if st.sym == t.steps[0].sym && st.sym != 0 && st.start >= st.consumed {
                    let p = Pending { at: 0, template: ti as u8, step: 0, start: st.start, power: 0.0, comps };
                    add((0.0, t.steps[0].min, t.steps[0].max, Some(p)));
                }
                continue;
            }
            let need = t.need as usize;
            for align in 0..len {
                if t.aligns & (1 << align) == 0 {
                    continue;
                }
                // (a) `need` completed segments.
                if st.hist_len >= need
                    && let Some((score, power)) = fit_window(t, align, st, need)
                    && fresh_start(d, ti, align, st, need - 1)
                {
                    let next = (align + need) % len;
                    let next_ok = t.mode == Mode::Once || t.steps[next].sym == st.sym;
                    let start = st.back(need - 1).start;
                    if next_ok && start >= st.consumed && now_best.is_none_or(|b| score < b.0) {
                        now_best = Some((score, ti as u8, ((align + need) % len) as u8, start, power, comps));
                    }
                }
                // (b) `need − 1` completed segments and the running one.
                if need >= 1 && st.hist_len >= need - 1 {
                    let run_step = (align + need - 1) % len;
                    if t.steps[run_step].sym != st.sym || (t.mode == Mode::Once && run_step >= len - 1) {
                        continue;
                    }
                    let fit = if need == 1 {
                        Some((0.0, 0.0))
                    } else {
                        fit_window(t, align, st, need - 1).filter(|_| fresh_start(d, ti, align, st, need - 2))
                    };
                    let start = if need == 1 { st.start } else { st.back(need - 2).start };
                    if let Some((score, power)) = fit
                        && start >= st.consumed
                    {
                        let p = Pending { at: 0, template: ti as u8, step: run_step as u8, start, power, comps };
                        let step = t.steps[run_step];
                        add((score, step.min, step.max, Some(p)));
                    }
                }
            }
        }
        let run_start = st.start;
        if let Some((_, ti, step, start, power, comps)) = now_best {
            if self.make_room(g, start, now, out) {
                let tmpl = d.templates[ti as usize];
                let mut step = step;
                if tmpl.mode == Mode::Once {
                    step = tmpl.len - 1;
                }
                self.begin(g, tmpl, step, start, power, comps, now, out);
                if tmpl.mode == Mode::Once {
                    self.end_active(now, out);
                }
                return;
            }
            // The tone being reported goes on (this is a later window of
            // it): what else may start here still waits below.
        }
        // The running segment decides between candidates only once it has
        // reached all their minimums: a candidate whose longest step is
        // shorter than that must wait for the segment to end (above).
        let cands = &cands[..ncands];
        let reach = cands.iter().map(|c| c.1).max().unwrap_or(0);
        let mut pend_best: Option<(f32, Pending)> = None;
        for &(score, _, max, p) in cands {
            if let Some(p) = p
                && max >= reach
                && pend_best.is_none_or(|b| score < b.0)
            {
                pend_best = Some((score, Pending { at: run_start + reach, ..p }));
            }
        }
        let cadence_pending =
            cands.iter().any(|c| c.3.is_some_and(|p| d.templates[p.template as usize].mode != Mode::Continuous));
        if let Some((_, p)) = pend_best {
            self.groups[g].pending = Some(p);
        }
        // A continuous tone may be pending on any burst; an unknown cadence
        // yields only to a cadence template about to match.
        if !cadence_pending && d.config.report_unknown && self.active.is_none() && d.groups[g].nsets == 1 {
            self.try_unknown(d, g, now, out);
        }
    }

    /// A steady cadence of the group's frequencies that fits no template.
    fn try_unknown(&mut self, d: &ToneDetectorDescriptor, g: usize, now: u64, out: &mut Vec<ToneEvent>) {
        let st = &self.groups[g];
        if st.sym == 0 || st.hist_len < 2 * UNKNOWN_MIN_CYCLES {
            return;
        }
        let off = *st.back(0);
        let on = *st.back(1);
        let min_len = UNKNOWN_MIN_SEGMENT_MS * SAMPLES_PER_MS;
        if off.sym != 0 || on.sym != st.sym || !on.steady || on.len < min_len || off.len < min_len {
            return;
        }
        let close = |a: u64, b: u64| a.abs_diff(b) as f64 <= 0.25 * a.max(b) as f64 + 80.0;
        let mut cycles = 0usize;
        let mut span = 0u64;
        let mut power = 0f32;
        while 2 * cycles + 1 < st.hist_len {
            let (o, n) = (st.back(2 * cycles), st.back(2 * cycles + 1));
            if o.sym != 0
                || n.sym != on.sym
                || !n.steady
                || !o.steady
                || n.start < st.consumed
                || !close(o.len, off.len)
                || !close(n.len, on.len)
            {
                break;
            }
            span += o.len + n.len;
            power += n.power;
            cycles += 1;
        }
        if cycles < UNKNOWN_MIN_CYCLES || span < d.groups[g].unknown_span {
            return;
        }
        let tol = d.config.cadence_tolerance_pct as f64 / 100.0;
        let slack = d.config.cadence_slack_ms as u64 * SAMPLES_PER_MS;
        let step = |sym: u8, n: u64| Step {
            sym,
            nominal: n,
            min: ((n as f64 * (1.0 - tol)) as u64).saturating_sub(slack),
            max: (n as f64 * (1.0 + tol)) as u64 + slack,
        };
        let mut steps = [Step::default(); MAX_TONE_STEPS];
        steps[0] = step(on.sym, on.len);
        steps[1] = step(0, off.len);
        let tmpl = Template {
            kind: ToneKind::Unknown,
            group: g as u8,
            mode: Mode::Repeating,
            steps,
            len: 2,
            need: (2 * cycles) as u8,
            aligns: 1,
        };
        let start = st.back(2 * cycles - 1).start;
        let comps = Self::sym_set(d, g, on.sym).comps;
        self.begin(g, tmpl, 0, start, power / cycles as f32, comps, now, out);
    }
}

fn next_step(t: &Template, step: u8) -> u8 {
    match t.mode {
        Mode::Continuous => 0,
        Mode::Repeating => (step + 1) % t.len,
        Mode::Once => (step + 1).min(t.len - 1),
    }
}

/// Whether the window of template `ti` from step `align`, whose first burst
/// is segment `back(first)`, is a fresh start. It is not when that burst
/// goes on with what came just before it, a burst of the same frequencies
/// (that a reported tone has not already declined by ending) and a gap:
///
/// - a quiet gap, when that burst and gap fit two steps of a repeating
///   tone of the group whose next step the burst fits too (a busy burst
///   after a busy burst and gap is not the first burst of a call-waiting
///   tone, whether or not the busy tone was reported). The window's own
///   tone at its own alignment is not such a tone: it is the same cadence,
///   heard from a later burst;
/// - a loud gap through which those frequencies stayed, on average, within
///   [`ToneDetectorConfig::gap_quiet_db`] of the burst: they did not go
///   away but sounded impure, mixed with something else (a tone a few
///   percent off whose beat comes and goes in the filters); no cadence
///   starts inside one sound.
///
/// Anything else before the burst — a tone that cannot go on with it, a
/// dial tone, DTMF, speech, noise, a broken cadence — leaves it fresh.
fn fresh_start(d: &ToneDetectorDescriptor, ti: usize, align: usize, st: &GroupState, first: usize) -> bool {
    if st.hist_len < first + 3 {
        return true;
    }
    let (burst, gap, before) = (st.back(first), st.back(first + 1), st.back(first + 2));
    if gap.sym != 0 || before.sym == 0 || before.start < st.consumed {
        return true;
    }
    if gap.set_power >= before.power * d.quiet_ratio {
        return false;
    }
    if !gap.steady {
        return true;
    }
    let group = d.templates[ti].group;
    if !before.steady {
        return true;
    }
    let fits = |step: &Step, seg: &Seg| seg.sym == step.sym && (step.min..=step.max).contains(&seg.len);
    for (ui, u) in d.templates[..d.ntemplates].iter().enumerate() {
        if u.group != group || u.mode != Mode::Repeating {
            continue;
        }
        let len = u.len as usize;
        for j in 0..len {
            if ui == ti && (j + 2) % len == align {
                continue;
            }
            let (a, b, c) = (&u.steps[j], &u.steps[(j + 1) % len], &u.steps[(j + 2) % len]);
            if fits(a, before) && fits(b, gap) && fits(c, burst) {
                return false;
            }
        }
    }
    true
}

/// Whether the newest `count` completed segments of `st` fit `t` from step
/// `align`: the sum of relative timing errors and the mean burst power.
fn fit_window(t: &Template, align: usize, st: &GroupState, count: usize) -> Option<(f32, f32)> {
    let len = t.len as usize;
    let mut score = 0f32;
    let mut power = 0f32;
    let mut bursts = 0u32;
    for i in 0..count {
        let seg = st.back(count - 1 - i);
        let j = align + i;
        if t.mode == Mode::Once && j >= len - 1 {
            return None;
        }
        let step = t.steps[j % len];
        if seg.sym != step.sym || seg.len < step.min || seg.len > step.max || !seg.steady {
            return None;
        }
        score += seg.len.abs_diff(step.nominal) as f32 / step.nominal.max(1) as f32;
        if seg.sym != 0 {
            power += seg.power;
            bursts += 1;
        }
    }
    Some((score, if bursts > 0 { power / bursts as f32 } else { 0.0 }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::level::dbm0_to_peak;
    use crate::dsp::noise::NoiseGenerator;

    fn play(spec: &ToneSpec, ms: usize) -> Vec<i16> {
        let mut g = ToneGenerator::new(spec);
        let mut v = vec![0i16; ms * 8];
        g.tx(&mut v);
        v
    }

    fn detect(profile: &ToneProfile, sig: &[i16]) -> Vec<ToneEvent> {
        let desc = profile.detector(&ToneDetectorConfig::default()).unwrap();
        let mut det = ToneDetector::new(desc);
        let mut ev = Vec::new();
        for chunk in sig.chunks(77) {
            det.rx(chunk, &mut ev);
        }
        det.flush(&mut ev);
        ev
    }

    fn kinds(ev: &[ToneEvent]) -> Vec<ToneKind> {
        ev.iter().filter_map(|e| if let ToneEvent::Tone { kind, .. } = e { Some(*kind) } else { None }).collect()
    }

    #[test]
    fn country_codes() {
        for c in Country::ALL {
            assert_eq!(c.code().parse::<Country>(), Ok(c));
            assert_eq!(c.to_string().to_lowercase().parse::<Country>(), Ok(c));
        }
        assert_eq!(" gb ".parse::<Country>(), Ok(Country::Uk));
        assert_eq!("DE".parse::<Country>(), Ok(Country::Eu));
        assert_eq!("FR".parse::<Country>(), Err(UnknownCountry("FR".into())));
        for k in ToneKind::ALL {
            assert_eq!(k.name().parse::<ToneKind>(), Ok(k));
        }
        assert_eq!("Call-Waiting".parse::<ToneKind>(), Ok(ToneKind::CallWaiting));
        assert_eq!("reorder".parse::<ToneKind>(), Ok(ToneKind::Congestion));
        assert!("beep".parse::<ToneKind>().is_err());
    }

    #[test]
    fn builtin_profiles_match_the_table() {
        for c in Country::ALL {
            let p = c.profile();
            for k in [
                ToneKind::Dial,
                ToneKind::Ringback,
                ToneKind::Busy,
                ToneKind::Congestion,
                ToneKind::CallWaiting,
                ToneKind::Sit,
            ] {
                assert!(p.get(k).is_some(), "{c} lacks {k}");
            }
            assert!(p.get(ToneKind::Dial).unwrap().is_continuous());
            p.detector(&ToneDetectorConfig::default()).unwrap();
            assert!(Arc::ptr_eq(&c.detector(), &c.detector()));
        }
        let cn = Country::Cn.profile();
        assert_eq!(cn.get(ToneKind::Congestion).unwrap().pattern(), "450/700,0/700");
        let us = Country::Us.profile();
        assert_eq!(us.get(ToneKind::Busy).unwrap().pattern(), "480+620/500,0/500");
        assert_eq!(us.get(ToneKind::Busy).unwrap().level_dbm0(), Some(-24.0));
        assert_eq!(us.get(ToneKind::Sit).unwrap().pattern(), "950/330,1400/330,1800/330,0");
        assert!(!us.spec(ToneKind::Sit).unwrap().repeat);
        let uk = Country::Uk.profile();
        assert_eq!(uk.ring_cadence_ms, vec![400, 200, 400, 2000]);
        assert_eq!(uk.get(ToneKind::Congestion).unwrap().pattern(), "400/400,0/350,400/225,0/525");
        assert_eq!(Country::Ru.profile().get(ToneKind::Congestion).unwrap().pattern(), "425/175,0/175");
        assert_eq!(Country::Eu.profile().get(ToneKind::Busy).unwrap().pattern(), "425/480,0/480");
    }

    #[test]
    fn patterns_parse_and_print() {
        let s = parse_pattern("400+450/400,0/200,400+450/400,0/2000", -13.0).unwrap();
        assert!(s.repeat);
        assert_eq!(s.steps().len(), 4);
        assert_eq!(s.steps()[0].active(), &[ToneFreq { hz: 400.0, dbm0: -13.0 }, ToneFreq { hz: 450.0, dbm0: -13.0 }]);
        assert_eq!(s.steps()[1].count, 0);
        assert_eq!(s.period_ms(), Some(3000));
        assert_eq!(format_pattern(&s), "400+450/400,0/200,400+450/400,0/2000");
        let once = parse_pattern(" 950/330, 1400/330 ,1800/330,0 ", -24.0).unwrap();
        assert!(!once.repeat);
        assert_eq!(format_pattern(&once), "950/330,1400/330,1800/330,0");
        let cont = parse_pattern("413.5+437", -10.0).unwrap();
        assert_eq!(format_pattern(&cont), "413.5+437");
        assert_eq!(
            format_pattern(&ToneSpec::burst(&[ToneFreq { hz: 440.0, dbm0: -10.0 }], 300, 700).unwrap()),
            "440/300,0/700,0"
        );
        assert_eq!(parse_pattern("", -10.0), Err(PatternError::Empty));
        assert_eq!(parse_pattern("425,0/100", -10.0), Err(PatternError::ForeverInTheMiddle(0)));
        assert!(matches!(parse_pattern("425/0", -10.0), Err(PatternError::BadStep { step: 0, .. })));
        assert!(matches!(parse_pattern("425/x", -10.0), Err(PatternError::BadStep { .. })));
        assert!(matches!(parse_pattern("!425/100,0", -10.0), Err(PatternError::BadStep { .. })));
        assert!(matches!(parse_pattern("425*25", -10.0), Err(PatternError::BadStep { .. })));
        assert!(matches!(parse_pattern("350+375+400", -10.0), Err(PatternError::BadStep { .. })));
        assert!(matches!(parse_pattern("4200", -10.0), Err(PatternError::BadStep { .. })));
        assert!(matches!(parse_pattern("0+425/100", -10.0), Err(PatternError::BadStep { .. })));
        assert!(matches!(parse_pattern("nan/100", -10.0), Err(PatternError::BadStep { .. })));
        assert!(matches!(parse_pattern("425", f32::NAN), Err(PatternError::BadLevel(_))));
        assert_eq!(parse_pattern("425", 6.0), Err(PatternError::Spec(ToneSpecError::TooLoud(6.0))));
        assert_eq!(
            parse_pattern("1/100,0/100,1/100,0/100,1/100,0/100,1/100,0/100,1/100", -10.0),
            Err(PatternError::TooManySteps(9))
        );
    }

    #[test]
    fn toml_entries_round_trip() {
        let p = Country::Uk.profile();
        let text = p.to_toml();
        let back = ToneEntry::parse_toml(&text).unwrap();
        assert_eq!(back, p.entries());
        let p2 = ToneProfile::from_entries("UK again", None, &back).unwrap();
        assert_eq!(p2.tones, p.tones);
        let one =
            "# learned\n[[tone]]\nkind = \"busy\"   # guessed\npattern = '413+437/330,0/370'\nlevel_dbm0 = -12.5\n";
        let e = ToneEntry::parse_toml(one).unwrap();
        assert_eq!(e, vec![ToneEntry { kind: ToneKind::Busy, pattern: "413+437/330,0/370".into(), level_dbm0: -12.5 }]);
        assert_eq!(ToneEntry::parse_toml("kind = \"dial\"\npattern = \"425\"").unwrap()[0].level_dbm0, -10.0);
        assert!(matches!(ToneEntry::parse_toml(""), Err(EntryError::Empty)));
        assert!(matches!(
            ToneEntry::parse_toml("kind = \"dial\"\nfreq = 3"),
            Err(EntryError::UnknownKey { line: 2, .. })
        ));
        assert!(matches!(
            ToneEntry::parse_toml("kind = \"hum\"\npattern = \"425\""),
            Err(EntryError::Kind { line: 1, .. })
        ));
        assert!(matches!(
            ToneEntry::parse_toml("pattern = \"425\""),
            Err(EntryError::Missing { entry: 1, key: "kind" })
        ));
        assert!(matches!(
            ToneEntry::parse_toml("kind = \"dial\"\npattern = \"425,\""),
            Err(EntryError::Pattern { entry: 1, .. })
        ));
        assert!(matches!(ToneEntry::parse_toml("[other]\nkind = \"dial\""), Err(EntryError::Syntax { line: 1, .. })));
        assert!(matches!(ToneEntry::parse_toml("kind = dial"), Err(EntryError::Syntax { .. })));
        assert!(matches!(
            ToneEntry::parse_toml("kind = \"dial\"\nkind = \"busy\""),
            Err(EntryError::Syntax { line: 2, .. })
        ));
        // Serde sees the same fields.
        let json = serde_json::to_string(&e[0]).unwrap();
        assert_eq!(json, r#"{"kind":"busy","pattern":"413+437/330,0/370","level_dbm0":-12.5}"#);
        let back: ToneEntry = serde_json::from_str(r#"{"kind":"call_waiting","pattern":"440/300,0/10000"}"#).unwrap();
        assert_eq!(back.level_dbm0, DEFAULT_TONE_LEVEL_DBM0);
        let mut p3 = Country::Cn.profile();
        p3.insert(ToneDef::parse(ToneKind::Busy, "450/330,0/370", -12.0).unwrap());
        assert_eq!(p3.get(ToneKind::Busy).unwrap().pattern(), "450/330,0/370");
        assert_eq!(p3.tones.len(), 6);
    }

    #[test]
    fn filter_windows_follow_the_tolerance() {
        let d = ToneDetectorDescriptor::new(&Country::Us.profile(), &ToneDetectorConfig::default()).unwrap();
        let f: Vec<(f32, u8)> = d.frequencies().iter().zip(&d.lane_subs).map(|(&f, &s)| (f, s)).collect();
        assert_eq!(f, vec![(350.0, 1), (440.0, 1), (480.0, 1), (620.0, 1), (950.0, 4), (1400.0, 4), (1800.0, 4)]);
        // 413+438 share one filter at the centre.
        let mut p = ToneProfile::from_entries("au", None, &[]).unwrap();
        p.insert(ToneDef::parse(ToneKind::Dial, "413+438", -10.0).unwrap());
        let d = ToneDetectorDescriptor::new(&p, &ToneDetectorConfig::default()).unwrap();
        assert_eq!(d.frequencies(), &[425.5]);
        assert_eq!(d.sets[0].comps, 2);
    }

    #[test]
    fn descriptor_refuses_what_it_cannot_do() {
        let mut p = ToneProfile::from_entries("x", None, &[]).unwrap();
        assert_eq!(ToneDetectorDescriptor::new(&p, &ToneDetectorConfig::default()), Err(DetectorBuildError::NoTones));
        p.insert(ToneDef::parse(ToneKind::Busy, "425/40,0/500", -10.0).unwrap());
        assert_eq!(
            ToneDetectorDescriptor::new(&p, &ToneDetectorConfig::default()),
            Err(DetectorBuildError::StepTooShort { kind: ToneKind::Busy, ms: 40 })
        );
        let mut many = ToneProfile::from_entries("x", None, &[]).unwrap();
        for f in [300, 500, 700, 900, 1100, 1300, 1500, 1700, 1900] {
            many.tones.push(ToneDef::parse(ToneKind::Unknown, &format!("{f}/500,0/500"), -10.0).unwrap());
        }
        assert!(matches!(
            ToneDetectorDescriptor::new(&many, &ToneDetectorConfig::default()),
            Err(DetectorBuildError::TooManyFrequencies(9))
        ));
        let cfg = ToneDetectorConfig { min_purity: 0.0, ..Default::default() };
        assert!(matches!(
            ToneDetectorDescriptor::new(&Country::Cn.profile(), &cfg),
            Err(DetectorBuildError::BadConfig(_))
        ));
        let cfg =
            ToneDetectorConfig { cycles: CycleCounts { congestion: 5, ..Default::default() }, ..Default::default() };
        assert_eq!(
            ToneDetectorDescriptor::new(&Country::Uk.profile(), &cfg),
            Err(DetectorBuildError::TooManyCycles { kind: ToneKind::Congestion, cycles: 5, steps: 4 })
        );
    }

    #[test]
    fn filters_measure_the_level() {
        let d = ToneDetectorDescriptor::new(&Country::Us.profile(), &ToneDetectorConfig::default()).unwrap();
        for (i, &hz) in d.frequencies().iter().enumerate() {
            let a = dbm0_to_peak(-20.0);
            let mut x: kernel::Block = [[0.0; ROW_SAMPLES]; ROWS];
            for n in 0..BLOCK_SAMPLES {
                x[n / ROW_SAMPLES][n % ROW_SAMPLES] =
                    (a * (2.0 * std::f64::consts::PI * hz as f64 * n as f64 / 8000.0 + 0.3).sin()) as f32;
            }
            let mut p = [0f32; MAX_DETECTOR_FREQS];
            d.analyse(&x, &mut p);
            let lvl = power_to_dbm0(p[i] as f64);
            assert!((lvl + 20.0).abs() < 0.1, "{hz} Hz: {lvl}");
            // Both kernels agree.
            let a = kernel::run_n::<false>(&d.tab_re[i..i + 1], &d.tab_im[i..i + 1], 1, 0, ROWS, &x);
            let b = kernel::run_n::<true>(&d.tab_re[i..i + 1], &d.tab_im[i..i + 1], 1, 0, ROWS, &x);
            for k in 0..ROW_SAMPLES {
                assert!((a.re[0][k] - b.re[0][k]).abs() <= 1e-3 * a.re[0][k].abs().max(1.0));
            }
        }
        let z: kernel::Block = [[0.0; ROW_SAMPLES]; ROWS];
        let mut p = [1f32; MAX_DETECTOR_FREQS];
        d.analyse(&z, &mut p);
        assert!(p[..d.nlanes].iter().all(|&v| v == 0.0));
    }

    #[test]
    fn coverage_inverts_partial_blocks() {
        for subs in [1u8, 2, 4] {
            for m in [0usize, 13, 40, 80, 100, 159, 160] {
                let c = m as f32 / 160.0;
                let s = subs as f32;
                let k = (c * s).floor().min(s - 1.0);
                let u = c * s - k;
                let p = (k + u * u) / s;
                assert!((coverage(p, 1.0, subs) - c).abs() < 1e-4, "subs {subs} m {m}");
            }
        }
        assert_eq!(coverage(1.0, 0.0, 1), 0.0);
        assert_eq!(coverage(f32::NAN, 1.0, 1), 0.0);
    }

    #[test]
    fn china_busy_and_congestion_by_cadence() {
        let cn = Country::Cn.profile();
        let busy = play(&cn.spec(ToneKind::Busy).unwrap(), 3000);
        let ev = detect(&cn, &busy);
        assert_eq!(kinds(&ev), vec![ToneKind::Busy]);
        let ToneEvent::Tone { start, at, level_dbm0, .. } = ev[0] else { panic!("{ev:?}") };
        assert!(start <= 8, "start {start}");
        // Confirmed during the second off (350+350+350+≥285 ms).
        assert!((1330 * 8..=1500 * 8).contains(&at), "at {at}");
        assert!((level_dbm0 + 10.0).abs() < 0.5, "{level_dbm0}");
        let ToneEvent::ToneEnd { end, .. } = ev[1] else { panic!("{ev:?}") };
        // 3000 ms = 4 cycles + 200 ms of a burst: flushed while sounding.
        assert_eq!(end, 3000 * 8);
        let cong = play(&cn.spec(ToneKind::Congestion).unwrap(), 4000);
        assert_eq!(kinds(&detect(&cn, &cong)), vec![ToneKind::Congestion]);
    }

    #[test]
    fn dial_tone_waits_out_a_ringback_burst() {
        let cn = Country::Cn.profile();
        let ring = play(&cn.spec(ToneKind::Ringback).unwrap(), 11_000);
        let ev = detect(&cn, &ring);
        assert_eq!(kinds(&ev), vec![ToneKind::Ringback], "{ev:?}");
        let mut dial = play(&cn.spec(ToneKind::Dial).unwrap(), 3000);
        dial.extend(std::iter::repeat_n(0, 8000));
        let ev = detect(&cn, &dial);
        assert_eq!(kinds(&ev), vec![ToneKind::Dial]);
        let ToneEvent::ToneEnd { end, .. } = ev[1] else { panic!("{ev:?}") };
        assert!(end.abs_diff(24_000) <= 8, "end {end}");
    }

    #[test]
    fn silence_noise_and_off_frequency_tones_are_not_tones() {
        let us = Country::Us.profile();
        assert!(detect(&us, &vec![0i16; 80_000]).is_empty());
        let mut n = vec![0i16; 80_000];
        NoiseGenerator::new(3, -20.0).tx(&mut n);
        assert!(detect(&us, &n).is_empty());
        let cn = Country::Cn.profile();
        let off = ToneSpec::cadence(&[ToneFreq { hz: 495.0, dbm0: -10.0 }], &[350, 350]).unwrap();
        assert!(detect(&cn, &play(&off, 4000)).is_empty());
        let near = ToneSpec::cadence(&[ToneFreq { hz: 459.0, dbm0: -10.0 }], &[350, 350]).unwrap();
        assert_eq!(kinds(&detect(&cn, &play(&near, 4000))), vec![ToneKind::Busy]);
    }

    #[test]
    fn unknown_cadence_is_reported_after_the_longest_period() {
        let cn = Country::Cn.profile();
        let odd = ToneSpec::cadence(&[ToneFreq { hz: 450.0, dbm0: -10.0 }], &[250, 1250]).unwrap();
        let ev = detect(&cn, &play(&odd, 12_000));
        assert_eq!(kinds(&ev), vec![ToneKind::Unknown], "{ev:?}");
        let ToneEvent::Tone { at, .. } = ev[0] else { panic!() };
        assert!(at >= 5000 * 8, "{at}");
        let quiet = ToneDetectorConfig { report_unknown: false, ..Default::default() };
        let mut det = ToneDetector::new(cn.detector(&quiet).unwrap());
        let mut ev = Vec::new();
        det.rx(&play(&odd, 12_000), &mut ev);
        assert!(ev.is_empty());
    }

    #[test]
    fn garbage_input_never_panics() {
        let mut det = ToneDetector::new(Country::Uk.profile().detector(&ToneDetectorConfig::default()).unwrap());
        let mut ev = Vec::new();
        let mut x = 12345u32;
        let mut buf = vec![0i16; 50_000];
        for s in buf.iter_mut() {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            *s = if (x >> 20) % 7 == 0 { i16::MIN } else { (x >> 16) as i16 };
        }
        det.rx(&buf, &mut ev);
        det.rx(&[i16::MAX; 3000], &mut ev);
        det.fillin(1000, &mut ev);
        det.flush(&mut ev);
        assert_eq!(det.position(), 54_000);
        det.reset();
        assert_eq!(det.position(), 0);
        assert_eq!(det.current(), None);
    }
}
