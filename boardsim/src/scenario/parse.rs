//! The scenario file format (TOML) and its translation into a world
//! configuration and timelines, with errors that name file, line and column.
//!
//! ```toml
//! [board]
//! fxo = 2
//! fxs = 2
//! law = "alaw"        # alaw | ulaw
//! country = "CN"      # CN RU US UK EU
//! tick_ms = 20
//! seed = 1
//! max_time = "10m"    # the scenario fails whatever is pending then
//!
//! [co]                # optional CO timers
//! inter_digit = "3s"
//! first_digit = "10s"
//! no_answer = "2m"
//! unknown_number = "congestion"   # or "sit"; default per country
//! abandon_after = "60s"
//!
//! [[line]]
//! port = 1
//! number = "88880001"
//! disconnect = ["loop_drop", "busy_tone"]   # loop_drop busy_tone polarity
//! loop_drop = "600ms"
//! answer_supervision = true
//! caller_id = "fsk"   # off | fsk | dtmf
//! gain_db = 0.0
//! noise_dbm0 = -60.0
//!
//! [[phone]]
//! port = 3
//! number = "801"
//! auto_answer = 2     # rings
//! dtmf_level_dbm0 = -8.0
//! dtmf_on = "80ms"
//! dtmf_off = "80ms"
//! flash = "600ms"
//! talk_for = "20s"            # hang up this long after answering a call
//! hang_up_on_release = "1s"   # hang up this long after the driver withdraws
//!                             # loop current (busy tone alone is not enough)
//! audio = { tone = [1000] }
//! steps = [ { wait_for = "ringing", timeout = "30s" }, { expect = "caller_id", number = "13800138000", within = "6s" } ]
//!
//! [[party]]
//! name = "bob"
//! number = "1234"
//! behaviour = "answer"   # answer | busy | no_answer | fax
//! answer_after = "3s"
//! talk_for = "20s"
//! audio = { wav = "hello.wav" }
//!
//! [[caller]]             # (callers, parties and phones may have
//! name = "alice"         #  record = "alice.wav": what they heard)
//! from = "13800138000"
//! line = 1
//! audio = { sequence = [ { silence = "1s" }, { pattern = 7, for = "5s" } ] }
//! steps = [
//!   { at = "0s", do = "call" },
//!   { wait_for = "answered", timeout = "30s" },
//!   { after = "1s", do = "dtmf", digits = "1" },
//!   { expect = "audio", within = "2s" },
//!   { at = "20s", do = "hangup" },
//! ]
//!
//! [[timeline]]        # steps for an actor declared elsewhere
//! actor = "party:bob" # caller:NAME | party:NAME | phone:PORT
//! steps = [ { expect = "dtmf", digits = "1", within = "60s" } ]
//! ```
//!
//! Step fields: timing (`at` board time, `after` the previous step, or
//! `wait_for` a condition with `timeout`), then an action (`do`) and/or an
//! expectation (`expect` a condition `within` a time). Conditions:
//! answered, ringing, rang (`rings`), dial_tone, ringback, busy, congestion,
//! sit, call_waiting, dtmf (`digits`), audio, silence (`for`), ended,
//! caller_id (`number`), off_hook, on_hook. `audio` with `pattern = N`:
//! hears the far end that speaks `audio = { pattern = N }` (recognised by
//! correlation, also in a conference mix); `silence` with `pattern = N`:
//! has not heard it for `for`. Actions: caller call / hangup /
//! dtmf; party hangup / dtmf; phone offhook / answer / hangup / flash /
//! dial. An optional `desc` names the step in the report.

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use ctibox_driver::dsp::dtmf::DtmfTxConfig;
use ctibox_driver::dsp::tonegen::{ToneFreq, ToneSpec};
use ctibox_driver::hal::{Duration, Law, TickLength};

use crate::world::{
    Action, AudioSource, Behaviour, CallerIdMode, CoTimers, Condition, Country, DisconnectSignal, Impairment,
    LineConfig, PartyConfig, PhoneConfig, ProgressTone, SequenceItem, WavAudio, WorldConfig,
};

use super::ScenarioError;
use super::timeline::{ActorRef, Step, Timing, TrackDef};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDef {
    board: Spanned<BoardDef>,
    #[serde(default)]
    co: Option<Spanned<CoDef>>,
    #[serde(default, rename = "line")]
    lines: Vec<Spanned<LineDef>>,
    #[serde(default, rename = "phone")]
    phones: Vec<Spanned<PhoneDef>>,
    #[serde(default, rename = "party")]
    parties: Vec<Spanned<PartyDef>>,
    #[serde(default, rename = "caller")]
    callers: Vec<Spanned<CallerDef>>,
    #[serde(default, rename = "timeline")]
    timelines: Vec<Spanned<TimelineDef>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BoardDef {
    #[serde(default = "default_ports")]
    fxo: Spanned<u16>,
    #[serde(default = "default_ports")]
    fxs: Spanned<u16>,
    #[serde(default)]
    law: Option<Spanned<String>>,
    #[serde(default)]
    country: Option<Spanned<String>>,
    #[serde(default)]
    tick_ms: Option<Spanned<u32>>,
    #[serde(default)]
    seed: Option<u64>,
    #[serde(default)]
    max_time: Option<Spanned<String>>,
}

fn default_ports() -> Spanned<u16> {
    Spanned::new(0..0, 4)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CoDef {
    first_digit: Option<Spanned<String>>,
    inter_digit: Option<Spanned<String>>,
    no_answer: Option<Spanned<String>>,
    unknown_number: Option<Spanned<String>>,
    abandon_after: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LineDef {
    port: Spanned<u16>,
    number: Option<String>,
    disconnect: Option<Spanned<Vec<String>>>,
    loop_drop: Option<Spanned<String>>,
    #[serde(default)]
    answer_supervision: bool,
    caller_id: Option<Spanned<String>>,
    #[serde(default)]
    gain_db: f64,
    noise_dbm0: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PhoneDef {
    record: Option<Spanned<String>>,
    port: Spanned<u16>,
    number: Option<String>,
    auto_answer: Option<u32>,
    dtmf_level_dbm0: Option<f32>,
    dtmf_on: Option<Spanned<String>>,
    dtmf_off: Option<Spanned<String>>,
    flash: Option<Spanned<String>>,
    talk_for: Option<Spanned<String>>,
    hang_up_on_release: Option<Spanned<String>>,
    audio: Option<Spanned<AudioDef>>,
    #[serde(default)]
    steps: Vec<Spanned<StepDef>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PartyDef {
    record: Option<Spanned<String>>,
    name: Option<Spanned<String>>,
    number: Spanned<String>,
    behaviour: Spanned<String>,
    answer_after: Option<Spanned<String>>,
    talk_for: Option<Spanned<String>>,
    audio: Option<Spanned<AudioDef>>,
    #[serde(default)]
    steps: Vec<Spanned<StepDef>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CallerDef {
    record: Option<Spanned<String>>,
    name: Spanned<String>,
    from: Spanned<String>,
    line: Spanned<u16>,
    audio: Option<Spanned<AudioDef>>,
    hangup_after: Option<Spanned<String>>,
    abandon_after: Option<Spanned<String>>,
    #[serde(default)]
    steps: Vec<Spanned<StepDef>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TimelineDef {
    actor: Spanned<String>,
    steps: Vec<Spanned<StepDef>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StepDef {
    at: Option<Spanned<String>>,
    after: Option<Spanned<String>>,
    wait_for: Option<Spanned<String>>,
    timeout: Option<Spanned<String>>,
    #[serde(rename = "do")]
    action: Option<Spanned<String>>,
    expect: Option<Spanned<String>>,
    within: Option<Spanned<String>>,
    digits: Option<Spanned<String>>,
    rings: Option<u32>,
    number: Option<String>,
    #[serde(rename = "for")]
    for_: Option<Spanned<String>>,
    pattern: Option<Spanned<u64>>,
    desc: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AudioDef {
    silence: Option<Spanned<String>>,
    tone: Option<Vec<f32>>,
    cadence: Option<Vec<u32>>,
    level_dbm0: Option<f32>,
    wav: Option<Spanned<String>>,
    dtmf: Option<Spanned<String>>,
    noise: Option<f64>,
    pattern: Option<u64>,
    sequence: Option<Vec<Spanned<AudioDef>>>,
    #[serde(default)]
    repeat: bool,
    #[serde(rename = "for")]
    for_: Option<Spanned<String>>,
}

/// A scenario, parsed and checked.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub path: PathBuf,
    pub world: WorldConfig,
    /// Inbound callers: name, number, audio, line.
    pub callers: Vec<CallerSetup>,
    pub tracks: Vec<TrackDef>,
    pub max_time: Duration,
    /// Recordings to save after the run: whose, and where (a 16-bit 8 kHz
    /// WAV file).
    pub recordings: Vec<(ActorRef, PathBuf)>,
}

/// One declared inbound caller.
#[derive(Debug, Clone)]
pub struct CallerSetup {
    pub name: String,
    pub from: String,
    pub line: u16,
    pub audio: AudioSource,
    pub hangup_after: Option<Duration>,
    pub abandon_after: Option<Duration>,
}

/// Turns byte offsets into line:column and builds errors.
struct Ctx<'a> {
    file: &'a Path,
    text: &'a str,
}

impl Ctx<'_> {
    fn err(&self, span: Range<usize>, msg: impl Into<String>) -> ScenarioError {
        let (line, column) = line_col(self.text, span.start);
        ScenarioError::Invalid { file: self.file.to_path_buf(), line, column, message: msg.into() }
    }
    fn dur(&self, s: &Spanned<String>, field: &str) -> Result<Duration, ScenarioError> {
        parse_duration(s.get_ref()).map_err(|m| self.err(s.span(), format!("{field}: {m}")))
    }
    fn opt_dur(&self, s: &Option<Spanned<String>>, field: &str) -> Result<Option<Duration>, ScenarioError> {
        s.as_ref().map(|s| self.dur(s, field)).transpose()
    }
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..text.floor_char_boundary_compat(offset)];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
    (line, col)
}

trait FloorBoundary {
    fn floor_char_boundary_compat(&self, i: usize) -> usize;
}
impl FloorBoundary for str {
    fn floor_char_boundary_compat(&self, mut i: usize) -> usize {
        while i > 0 && !self.is_char_boundary(i) {
            i -= 1;
        }
        i
    }
}

/// Parse a duration: `250ms`, `3s`, `1.5s`, `2m`, `1h`, or `0`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let bad = || format!("bad duration \"{s}\": write a number with ms, s, m or h (500ms, 3s, 1.5m)");
    if t == "0" {
        return Ok(Duration::ZERO);
    }
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or_else(bad)?;
    let (num, unit) = t.split_at(split);
    let v: f64 = num.parse().map_err(|_| bad())?;
    let ms = match unit.trim() {
        "ms" => v,
        "s" => v * 1000.0,
        "m" | "min" => v * 60_000.0,
        "h" => v * 3_600_000.0,
        _ => return Err(bad()),
    };
    if !ms.is_finite() || !(0.0..=1e12).contains(&ms) {
        return Err(bad());
    }
    Ok(Duration::from_samples((ms * 8.0).round() as u64))
}

/// Parse a scenario text. `file` is only for messages; WAV paths are
/// relative to its directory.
pub fn parse(text: &str, file: &Path) -> Result<Scenario, ScenarioError> {
    let cx = Ctx { file, text };
    let def: FileDef = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        cx.err(span, e.message().trim().to_string())
    })?;
    let base = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let b = def.board.get_ref();
    let fxo = *b.fxo.get_ref();
    let fxs = *b.fxs.get_ref();
    if fxo as u32 + fxs as u32 == 0 || fxo as u32 + fxs as u32 > 64 {
        return Err(
            cx.err(def.board.span(), format!("board: fxo + fxs must be 1–64 ports, not {}", fxo as u32 + fxs as u32))
        );
    }
    let law = match &b.law {
        None => Law::ALaw,
        Some(s) => match s.get_ref().to_ascii_lowercase().as_str() {
            "alaw" | "a-law" | "a" => Law::ALaw,
            "ulaw" | "mulaw" | "u-law" | "μlaw" | "u" => Law::MuLaw,
            other => return Err(cx.err(s.span(), format!("law: unknown law \"{other}\" (alaw or ulaw)"))),
        },
    };
    let country = match &b.country {
        None => Country::Cn,
        Some(s) => s.get_ref().parse::<Country>().map_err(|e| cx.err(s.span(), format!("country: {e}")))?,
    };
    let tick = match &b.tick_ms {
        None => TickLength::DEFAULT,
        Some(t) => TickLength::from_ms(*t.get_ref()).map_err(|e| cx.err(t.span(), format!("tick_ms: {e}")))?,
    };
    let max_time = match &b.max_time {
        None => Duration::from_secs(600),
        Some(s) => cx.dur(s, "max_time")?,
    };
    let mut timers = CoTimers::default();
    if let Some(co) = &def.co {
        let co = co.get_ref();
        if let Some(d) = cx.opt_dur(&co.first_digit, "first_digit")? {
            timers.first_digit = d;
        }
        if let Some(d) = cx.opt_dur(&co.inter_digit, "inter_digit")? {
            timers.inter_digit = d;
        }
        if let Some(d) = cx.opt_dur(&co.no_answer, "no_answer")? {
            timers.no_answer = d;
        }
        if let Some(d) = cx.opt_dur(&co.abandon_after, "abandon_after")? {
            timers.abandon_after = d;
        }
        if let Some(u) = &co.unknown_number {
            timers.unknown_number = Some(match u.get_ref().as_str() {
                "sit" => ProgressTone::Sit,
                "congestion" => ProgressTone::Congestion,
                "busy" => ProgressTone::Busy,
                other => {
                    return Err(cx.err(u.span(), format!("unknown_number: \"{other}\" is not sit, congestion or busy")));
                }
            });
        }
    }
    let fxo_range = |p: &Spanned<u16>, what: &str| -> Result<u16, ScenarioError> {
        let v = *p.get_ref();
        if v >= 1 && v <= fxo {
            Ok(v)
        } else if v > fxo && v <= fxo + fxs {
            Err(cx.err(p.span(), format!("{what}: port {v} is an FXS port (phones); lines are ports 1–{fxo}")))
        } else {
            Err(cx.err(p.span(), format!("{what}: there is no line {v} on a board with {fxo} FXO ports")))
        }
    };
    let fxs_range = |p: &Spanned<u16>, what: &str| -> Result<u16, ScenarioError> {
        let v = *p.get_ref();
        if v > fxo && v <= fxo + fxs {
            Ok(v)
        } else {
            Err(cx.err(
                p.span(),
                format!("{what}: there is no phone {v}; phones are on FXS ports {}–{}", fxo + 1, fxo + fxs),
            ))
        }
    };

    // Lines.
    let mut lines: Vec<Option<LineConfig>> = vec![None; fxo as usize];
    for l in &def.lines {
        let ld = l.get_ref();
        let port = fxo_range(&ld.port, "line")?;
        if lines[port as usize - 1].is_some() {
            return Err(cx.err(ld.port.span(), format!("line {port} is described twice")));
        }
        let mut lc = LineConfig::new(ld.number.clone().unwrap_or_else(|| format!("{}", 8000 + port)));
        if let Some(d) = &ld.disconnect {
            let mut sig = DisconnectSignal { loop_drop: None, busy_tone: false, polarity_reversal: false };
            for what in d.get_ref() {
                match what.as_str() {
                    "loop_drop" => sig.loop_drop = Some(Duration::from_ms(600)),
                    "busy_tone" => sig.busy_tone = true,
                    "polarity" => sig.polarity_reversal = true,
                    other => {
                        return Err(cx.err(
                            d.span(),
                            format!("disconnect: \"{other}\" is not loop_drop, busy_tone or polarity"),
                        ));
                    }
                }
            }
            lc.disconnect = sig;
        }
        if let Some(ld_ms) = &ld.loop_drop {
            let dd = cx.dur(ld_ms, "loop_drop")?;
            if ld.disconnect.is_none() || lc.disconnect.loop_drop.is_some() {
                lc.disconnect.loop_drop = Some(dd);
            }
        }
        lc.answer_supervision = ld.answer_supervision;
        if let Some(c) = &ld.caller_id {
            lc.caller_id = match c.get_ref().as_str() {
                "off" | "none" => CallerIdMode::Off,
                "fsk" => CallerIdMode::Fsk,
                "dtmf" => CallerIdMode::Dtmf,
                other => return Err(cx.err(c.span(), format!("caller_id: \"{other}\" is not off, fsk or dtmf"))),
            };
        }
        lc.impairment = Impairment { gain_db: ld.gain_db, noise_dbm0: ld.noise_dbm0 };
        lines[port as usize - 1] = Some(lc);
    }

    // Phones.
    let mut phones: Vec<Option<PhoneConfig>> = vec![None; fxs as usize];
    let mut tracks: Vec<TrackDef> = Vec::new();
    let mut recordings: Vec<(ActorRef, PathBuf)> = Vec::new();
    let record_path = |r: &Spanned<String>| -> Result<PathBuf, ScenarioError> {
        if r.get_ref().is_empty() {
            return Err(cx.err(r.span(), "record: empty path"));
        }
        Ok(base.join(r.get_ref()))
    };
    for p in &def.phones {
        let pd = p.get_ref();
        let port = fxs_range(&pd.port, "phone")?;
        let slot = (port - fxo - 1) as usize;
        if phones[slot].is_some() {
            return Err(cx.err(pd.port.span(), format!("phone {port} is described twice")));
        }
        let mut pc = PhoneConfig::new(pd.number.clone().unwrap_or_else(|| format!("{}", 800 + port)));
        pc.auto_answer_rings = pd.auto_answer;
        let on = cx.opt_dur(&pd.dtmf_on, "dtmf_on")?.map(|d| d.as_ms() as u32).unwrap_or(pc.dtmf.on_ms);
        let off = cx.opt_dur(&pd.dtmf_off, "dtmf_off")?.map(|d| d.as_ms() as u32).unwrap_or(pc.dtmf.off_ms);
        let level = pd.dtmf_level_dbm0.unwrap_or(-9.0);
        if !(-40.0..=0.0).contains(&level) {
            return Err(cx.err(p.span(), format!("dtmf_level_dbm0: {level} is outside −40…0 dBm0")));
        }
        if on == 0 {
            return Err(cx.err(p.span(), "dtmf_on: a DTMF tone must last at least 1 ms"));
        }
        pc.dtmf = DtmfTxConfig::new(level, 2.0, on, off);
        if let Some(f) = cx.opt_dur(&pd.flash, "flash")? {
            pc.flash = f;
        }
        pc.talk_for = cx.opt_dur(&pd.talk_for, "talk_for")?;
        if let (Some(Duration::ZERO), Some(t)) = (pc.talk_for, &pd.talk_for) {
            return Err(cx.err(t.span(), "talk_for: 0 would hang up as the phone answers; give a time above 0"));
        }
        pc.hang_up_on_release = cx.opt_dur(&pd.hang_up_on_release, "hang_up_on_release")?;
        if let Some(a) = &pd.audio {
            pc.audio = audio(&cx, a, &base)?;
        }
        if let Some(r) = &pd.record {
            recordings.push((ActorRef::Phone(port), record_path(r)?));
        }
        if !pd.steps.is_empty() {
            tracks.push(TrackDef {
                actor: ActorRef::Phone(port),
                name: format!("phone {port}"),
                steps: steps(&cx, &pd.steps, Kind::Phone)?,
            });
        }
        phones[slot] = Some(pc);
    }

    // Parties.
    let mut parties: Vec<PartyConfig> = Vec::new();
    for p in &def.parties {
        let pd = p.get_ref();
        let number = pd.number.get_ref().clone();
        if number.is_empty() || crate::world::audio::check_digits(&number).is_err() {
            return Err(cx.err(pd.number.span(), format!("number: \"{number}\" is not dialable (0-9 * # A-D)")));
        }
        let name = pd.name.as_ref().map(|n| n.get_ref().clone()).unwrap_or_else(|| number.clone());
        if parties.iter().any(|q| q.number == number) {
            return Err(cx.err(pd.number.span(), format!("two parties have the number {number}")));
        }
        if parties.iter().any(|q| q.name == name) {
            let span = pd.name.as_ref().map(|n| n.span()).unwrap_or(p.span());
            return Err(cx.err(span, format!("two parties are called \"{name}\"")));
        }
        let after = cx.opt_dur(&pd.answer_after, "answer_after")?.unwrap_or(Duration::from_secs(3));
        let behaviour = match pd.behaviour.get_ref().as_str() {
            "answer" => Behaviour::Answer { after },
            "busy" => Behaviour::Busy,
            "no_answer" => Behaviour::NoAnswer,
            "fax" => Behaviour::Fax { after },
            other => {
                return Err(cx.err(
                    pd.behaviour.span(),
                    format!("behaviour: \"{other}\" is not answer, busy, no_answer or fax"),
                ));
            }
        };
        let mut pc = PartyConfig::new(number, behaviour);
        pc.name = name.clone();
        pc.talk_for = cx.opt_dur(&pd.talk_for, "talk_for")?;
        if let Some(r) = &pd.record {
            recordings.push((ActorRef::Party(name.clone()), record_path(r)?));
        }
        if let Some(a) = &pd.audio {
            pc.audio = audio(&cx, a, &base)?;
        }
        if !pd.steps.is_empty() {
            tracks.push(TrackDef {
                actor: ActorRef::Party(name.clone()),
                name,
                steps: steps(&cx, &pd.steps, Kind::Party)?,
            });
        }
        parties.push(pc);
    }

    // Callers.
    let mut callers: Vec<CallerSetup> = Vec::new();
    for c in &def.callers {
        let cd = c.get_ref();
        let name = cd.name.get_ref().clone();
        if callers.iter().any(|x| x.name == name) {
            return Err(cx.err(cd.name.span(), format!("two callers are called \"{name}\"")));
        }
        let line = fxo_range(&cd.line, "caller line")?;
        if let Some(r) = &cd.record {
            recordings.push((ActorRef::Caller(name.clone()), record_path(r)?));
        }
        let setup = CallerSetup {
            name: name.clone(),
            from: cd.from.get_ref().clone(),
            line,
            audio: cd.audio.as_ref().map(|a| audio(&cx, a, &base)).transpose()?.unwrap_or_default(),
            hangup_after: cx.opt_dur(&cd.hangup_after, "hangup_after")?,
            abandon_after: cx.opt_dur(&cd.abandon_after, "abandon_after")?,
        };
        if !cd.steps.is_empty() {
            let mut st = steps(&cx, &cd.steps, Kind::Caller)?;
            for s in &mut st {
                if let Some(Action::Call { line: l, hangup_after, abandon_after }) = &mut s.action {
                    *l = line;
                    *hangup_after = setup.hangup_after;
                    *abandon_after = setup.abandon_after;
                }
            }
            tracks.push(TrackDef { actor: ActorRef::Caller(name.clone()), name, steps: st });
        }
        callers.push(setup);
    }

    // Timelines for actors declared elsewhere.
    for t in &def.timelines {
        let td = t.get_ref();
        let a = td.actor.get_ref();
        let (kind, rest) = a.split_once(':').unwrap_or(("", a.as_str()));
        let (actor, k, name) = match kind {
            "caller" => {
                let Some(c) = callers.iter().find(|c| c.name == rest) else {
                    return Err(cx.err(td.actor.span(), format!("actor: there is no caller \"{rest}\"")));
                };
                (ActorRef::Caller(c.name.clone()), Kind::Caller, c.name.clone())
            }
            "party" => {
                let Some(p) = parties.iter().find(|p| p.name == rest || p.number == rest) else {
                    return Err(cx.err(td.actor.span(), format!("actor: there is no party \"{rest}\"")));
                };
                (ActorRef::Party(p.name.clone()), Kind::Party, p.name.clone())
            }
            "phone" => {
                let port: u16 = rest
                    .parse()
                    .map_err(|_| cx.err(td.actor.span(), format!("actor: \"{rest}\" is not a phone port number")))?;
                let port = fxs_range(&Spanned::new(td.actor.span(), port), "actor")?;
                (ActorRef::Phone(port), Kind::Phone, format!("phone {port}"))
            }
            _ => {
                return Err(
                    cx.err(td.actor.span(), format!("actor: \"{a}\" must be caller:NAME, party:NAME or phone:PORT"))
                );
            }
        };
        let mut st = steps(&cx, &td.steps, k)?;
        if let ActorRef::Caller(n) = &actor {
            if let Some(c) = callers.iter().find(|c| &c.name == n) {
                for s in &mut st {
                    if let Some(Action::Call { line, hangup_after, abandon_after }) = &mut s.action {
                        *line = c.line;
                        *hangup_after = c.hangup_after;
                        *abandon_after = c.abandon_after;
                    }
                }
            }
        }
        tracks.push(TrackDef { actor, name, steps: st });
    }

    let world = WorldConfig {
        fxo,
        fxs,
        law,
        tick,
        country,
        seed: b.seed.unwrap_or(1),
        lines: lines
            .into_iter()
            .enumerate()
            .map(|(i, l)| l.unwrap_or_else(|| LineConfig::new(format!("{}", 8000 + i + 1))))
            .collect(),
        phones: phones
            .into_iter()
            .enumerate()
            .map(|(i, p)| p.unwrap_or_else(|| PhoneConfig::new(format!("{}", 800 + fxo as usize + i + 1))))
            .collect(),
        parties,
        timers,
        record_limit: crate::world::audio::DEFAULT_RECORD_LIMIT,
    };
    Ok(Scenario { path: file.to_path_buf(), world, callers, tracks, max_time, recordings })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Caller,
    Party,
    Phone,
}

fn steps(cx: &Ctx<'_>, defs: &[Spanned<StepDef>], kind: Kind) -> Result<Vec<Step>, ScenarioError> {
    defs.iter().map(|s| step(cx, s, kind)).collect()
}

fn step(cx: &Ctx<'_>, s: &Spanned<StepDef>, kind: Kind) -> Result<Step, ScenarioError> {
    let d = s.get_ref();
    let (line, _) = line_col(cx.text, s.span().start);
    let timings = [d.at.is_some(), d.after.is_some(), d.wait_for.is_some()].iter().filter(|&&b| b).count();
    if timings > 1 {
        return Err(cx.err(s.span(), "a step has one of at, after and wait_for, not several"));
    }
    if d.timeout.is_some() && d.wait_for.is_none() {
        return Err(cx.err(s.span(), "timeout belongs to wait_for (an expectation has within)"));
    }
    if d.within.is_some() && d.expect.is_none() {
        return Err(cx.err(s.span(), "within belongs to expect"));
    }
    let timing = if let Some(a) = &d.at {
        Timing::At(cx.dur(a, "at")?)
    } else if let Some(a) = &d.after {
        Timing::After(cx.dur(a, "after")?)
    } else if let Some(w) = &d.wait_for {
        let c = condition(cx, w, d, kind)?;
        let t = cx.opt_dur(&d.timeout, "timeout")?.unwrap_or(Duration::from_secs(60));
        Timing::WaitFor(c, t)
    } else {
        Timing::Now
    };
    let action = match &d.action {
        None => None,
        Some(a) => Some(action(cx, a, d, kind)?),
    };
    let expect = match &d.expect {
        None => None,
        Some(e) => {
            let c = condition(cx, e, d, kind)?;
            let within = cx.opt_dur(&d.within, "within")?.unwrap_or(Duration::from_secs(10));
            Some((c, within))
        }
    };
    if action.is_none() && expect.is_none() && timing == Timing::Now {
        return Err(cx.err(s.span(), "an empty step: give it at/after/wait_for, do, or expect"));
    }
    Ok(Step { timing, action, expect, desc: d.desc.clone(), line })
}

fn digits_of(cx: &Ctx<'_>, d: &StepDef, span: Range<usize>, what: &str) -> Result<String, ScenarioError> {
    let Some(dg) = &d.digits else {
        return Err(cx.err(span, format!("{what} needs digits = \"…\"")));
    };
    crate::world::audio::check_digits(dg.get_ref()).map_err(|e| cx.err(dg.span(), format!("digits: {e}")))?;
    if dg.get_ref().is_empty() {
        return Err(cx.err(dg.span(), "digits: empty"));
    }
    Ok(dg.get_ref().to_ascii_uppercase())
}

fn condition(cx: &Ctx<'_>, c: &Spanned<String>, d: &StepDef, kind: Kind) -> Result<Condition, ScenarioError> {
    let name = c.get_ref().as_str();
    if let Some(p) = &d.pattern
        && !matches!(name, "audio" | "silence")
    {
        return Err(cx.err(p.span(), format!("pattern belongs to audio or silence, not {name}")));
    }
    let cond = match name {
        "answered" => Condition::Answered,
        "ringing" => Condition::Ringing,
        "rang" => Condition::Rang(d.rings.ok_or_else(|| cx.err(c.span(), "rang needs rings = N"))?),
        "dial_tone" => Condition::Hears(ProgressTone::Dial),
        "ringback" => Condition::Hears(ProgressTone::Ringback),
        "busy" => Condition::Hears(ProgressTone::Busy),
        "congestion" => Condition::Hears(ProgressTone::Congestion),
        "sit" => Condition::Hears(ProgressTone::Sit),
        "call_waiting" => Condition::Hears(ProgressTone::CallWaiting),
        "dtmf" => Condition::HearsDtmf(digits_of(cx, d, c.span(), "dtmf")?),
        "audio" => match &d.pattern {
            Some(p) => Condition::HearsPattern(*p.get_ref()),
            None => Condition::HearsAudio,
        },
        "silence" => {
            let quiet = cx.opt_dur(&d.for_, "for")?.unwrap_or(Duration::from_secs(1));
            match &d.pattern {
                Some(p) => Condition::MissesPattern(*p.get_ref(), quiet),
                None => Condition::HearsSilence(quiet),
            }
        }
        "ended" => Condition::Ended,
        "caller_id" => {
            let n = d.number.clone().ok_or_else(|| cx.err(c.span(), "caller_id needs number = \"…\""))?;
            if kind != Kind::Phone {
                return Err(cx.err(c.span(), "caller_id is something a phone receives"));
            }
            Condition::CallerId(n)
        }
        "off_hook" => Condition::OffHook,
        "on_hook" => Condition::OnHook,
        other => {
            return Err(cx.err(
                c.span(),
                format!(
                    "unknown condition \"{other}\" (answered, ringing, rang, dial_tone, ringback, busy, congestion, sit, \
                     call_waiting, dtmf, audio, silence, ended, caller_id, off_hook, on_hook)"
                ),
            ));
        }
    };
    Ok(cond)
}

fn action(cx: &Ctx<'_>, a: &Spanned<String>, d: &StepDef, kind: Kind) -> Result<Action, ScenarioError> {
    let name = a.get_ref().as_str();
    let act = match (kind, name) {
        (Kind::Caller, "call") => Action::Call { line: 0, hangup_after: None, abandon_after: None },
        (_, "hangup") => Action::Hangup,
        (Kind::Caller | Kind::Party, "dtmf") | (Kind::Phone, "dial" | "dtmf") => {
            Action::Dtmf(digits_of(cx, d, a.span(), name)?)
        }
        (Kind::Phone, "offhook" | "off_hook") => Action::OffHook,
        (Kind::Phone, "answer") => Action::Answer,
        (Kind::Phone, "flash") => Action::Flash,
        _ => {
            let can = match kind {
                Kind::Caller => "call, hangup, dtmf",
                Kind::Party => "hangup, dtmf",
                Kind::Phone => "offhook, answer, hangup, flash, dial",
            };
            let who = match kind {
                Kind::Caller => "a caller",
                Kind::Party => "a party",
                Kind::Phone => "a phone",
            };
            return Err(cx.err(a.span(), format!("do: {who} cannot \"{name}\" (it can: {can})")));
        }
    };
    Ok(act)
}

fn audio(cx: &Ctx<'_>, a: &Spanned<AudioDef>, base: &Path) -> Result<AudioSource, ScenarioError> {
    let d = a.get_ref();
    let kinds = [
        d.silence.is_some(),
        d.tone.is_some(),
        d.wav.is_some(),
        d.dtmf.is_some(),
        d.noise.is_some(),
        d.pattern.is_some(),
        d.sequence.is_some(),
    ];
    let n = kinds.iter().filter(|&&b| b).count();
    if n != 1 {
        return Err(cx.err(
            a.span(),
            "audio: give exactly one of silence, tone, wav, dtmf, noise, pattern, sequence".to_string(),
        ));
    }
    let level = d.level_dbm0.unwrap_or(-10.0);
    let src = if d.silence.is_some() {
        AudioSource::Silence
    } else if let Some(f) = &d.tone {
        if f.is_empty() || f.len() > 2 {
            return Err(cx.err(a.span(), "tone: one or two frequencies"));
        }
        let freqs: Vec<ToneFreq> = f.iter().map(|&hz| ToneFreq { hz, dbm0: level }).collect();
        let spec = match &d.cadence {
            None => ToneSpec::continuous(&freqs),
            Some(c) => ToneSpec::cadence(&freqs, c),
        };
        AudioSource::Tone(spec.map_err(|e| cx.err(a.span(), format!("tone: {e}")))?)
    } else if let Some(w) = &d.wav {
        let p = base.join(w.get_ref());
        AudioSource::Wav(WavAudio::load(&p).map_err(|e| cx.err(w.span(), format!("wav: {e}")))?)
    } else if let Some(dg) = &d.dtmf {
        let cfg = DtmfTxConfig::new(level.min(-3.0), 2.0, 80, 80);
        AudioSource::Dtmf(
            crate::world::audio::DtmfAudio::new(dg.get_ref(), cfg)
                .map_err(|e| cx.err(dg.span(), format!("dtmf: {e}")))?,
        )
    } else if let Some(nz) = d.noise {
        AudioSource::Noise { dbm0: nz, seed: 1 }
    } else if let Some(seed) = d.pattern {
        AudioSource::Pattern { seed }
    } else if let Some(seq) = &d.sequence {
        let mut items = Vec::with_capacity(seq.len());
        for it in seq {
            let duration = cx.opt_dur(&it.get_ref().for_, "for")?;
            items.push(SequenceItem { source: audio(cx, it, base)?, duration });
        }
        AudioSource::sequence(items, d.repeat).map_err(|e| cx.err(a.span(), format!("sequence: {e}")))?
    } else {
        AudioSource::Silence
    };
    // `silence = "2s"` is silence for a time.
    if let Some(s) = &d.silence {
        let dur = cx.dur(s, "silence")?;
        if d.for_.is_none() {
            return Ok(AudioSource::Sequence {
                items: vec![SequenceItem { source: AudioSource::Silence, duration: Some(dur) }].into(),
                repeat: false,
            });
        }
    }
    Ok(src)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PHONES: &str =
        "[board]\nfxo = 0\nfxs = 2\n\n[[phone]]\nport = 2\naudio = { pattern = 11 }\n\n[[phone]]\nport = 1\n";

    fn scenario(steps: &str) -> Result<Scenario, ScenarioError> {
        parse(&format!("{PHONES}steps = [ {steps} ]\n"), Path::new("s.toml"))
    }

    #[test]
    fn pattern_turns_audio_and_silence_into_whose_voice() {
        let s = scenario(r#"{ expect = "audio", pattern = 11 }, { expect = "silence", pattern = 11, for = "2s" }"#)
            .unwrap();
        let conds: Vec<&Condition> = s.tracks[0].steps.iter().filter_map(|s| s.expect.as_ref().map(|e| &e.0)).collect();
        assert_eq!(conds, [&Condition::HearsPattern(11), &Condition::MissesPattern(11, Duration::from_secs(2))]);
        // The world watches phone 1 for pattern 11 (spoken by phone 2).
        assert!(s.build_world().is_ok());
        let e = scenario(r#"{ expect = "busy", pattern = 11 }"#).unwrap_err().to_string();
        assert!(e.contains("pattern belongs to audio or silence"), "{e}");
        // Nobody speaks pattern 5.
        let e = scenario(r#"{ expect = "audio", pattern = 5 }"#).unwrap().build_world().unwrap_err().to_string();
        assert!(e.contains("nobody else speaks pattern 5"), "{e}");
    }

    fn phone(keys: &str) -> Result<Scenario, ScenarioError> {
        parse(
            &format!("[board]\nfxo = 0\nfxs = 1\n\n[[phone]]\nport = 1\nauto_answer = 1\n{keys}"),
            Path::new("s.toml"),
        )
    }

    #[test]
    fn phone_hang_up_rules_parse_and_bad_durations_name_the_line() {
        let s = phone("talk_for = \"20s\"\nhang_up_on_release = \"1.5s\"\n").unwrap();
        let pc = &s.world.phones[0];
        assert_eq!(pc.talk_for, Some(Duration::from_secs(20)));
        assert_eq!(pc.hang_up_on_release, Some(Duration::from_ms(1500)));
        let s = phone("").unwrap();
        assert_eq!((s.world.phones[0].talk_for, s.world.phones[0].hang_up_on_release), (None, None));
        // Release hang-up may be immediate; talk_for may not be 0.
        assert_eq!(
            phone("hang_up_on_release = \"0\"\n").unwrap().world.phones[0].hang_up_on_release,
            Some(Duration::ZERO)
        );
        let e = phone("talk_for = \"0\"\n").unwrap_err().to_string();
        assert_eq!(e, "s.toml:8:12: talk_for: 0 would hang up as the phone answers; give a time above 0");
        let e = phone("talk_for = \"20 sec\"\n").unwrap_err().to_string();
        assert!(e.starts_with("s.toml:8:12: talk_for: bad duration \"20 sec\""), "{e}");
        let e = phone("flash = \"600ms\"\nhang_up_on_release = \"soon\"\n").unwrap_err().to_string();
        assert!(e.starts_with("s.toml:9:22: hang_up_on_release: bad duration \"soon\""), "{e}");
        let e = phone("talk_for = 20\n").unwrap_err().to_string();
        assert!(e.starts_with("s.toml:8:12:") && e.contains("expected a string"), "{e}");
    }
}
