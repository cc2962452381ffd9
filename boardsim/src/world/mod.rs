//! The simulated world behind an analog board: a central office with its
//! callers and called parties behind the FXO ports, phones on the FXS ports.
//!
//! [`World`] implements [`SimWorld`]. Each tick it:
//! 1. takes the driver's commands (FXO hook, FXS ringing/feed) at the
//!    tick's start;
//! 2. drains live control requests ([`request`]) and runs the director (a
//!    scenario's timeline, [`Director`]);
//! 3. runs every line's and phone's timers (ring cadence, caller give-up,
//!    inter-digit timeout, party answer and talk time, flash), stamping
//!    events at their exact board times;
//! 4. moves the tick's audio both ways.
//!
//! Events of one tick are sorted by time before they go out.
//!
//! Real-time rules: no file I/O, no blocking, no wall clock. Allocation on
//! the tick happens only for recordings (amortised growth, see
//! [`audio::Recorder`]), when a control request builds its reply (status),
//! and when the director reports an expectation's result.
//!
//! Caller ID: a line configured for it sends FSK (MDMF calling number,
//! Bell 202 or V.23 per country) between the first and second ring, or DTMF
//! (`A<number>C`) before the first ring; phones decode both while on-hook
//! ([`ctibox_driver::dsp::cid`], [`ctibox_driver::dsp::cid_dtmf`]).
//!
//! What far ends hear: callers and parties record the codes the driver
//! sends them and run their listeners (DTMF and tone detectors, level
//! meter: [`listen`]) only while someone can look: from the moment a
//! director (a scenario's timeline) is installed, or after
//! [`World::observe_far_ends`]. A world served live (`ctibox-sim serve`,
//! the `builtin` board) has no director: its far ends' hearing conditions
//! never hold and their recordings stay empty, which keeps 240 lines in
//! calls cheap. Phones always record and listen (their status shows the
//! tone they hear).
//!
//! Whose voice a far end hears: far ends that speak seeded patterns are
//! recognised in what others hear by correlation ([`voice`]), for the
//! scenario conditions [`Condition::HearsPattern`] and
//! [`Condition::MissesPattern`].
//!
//! Call-progress tones and ring cadences are the shared country profiles
//! ([`ctibox_driver::dsp::tones`]); far ends recognise tones with the shared
//! detector.
//!
//! Not implemented yet: a fax party sends CED only (no T.30); no ETSI DT-AS
//! or polarity-reversal caller-ID alerting; no glare (a call to a line whose
//! port is off-hook is refused); no pulse dialling.

pub mod audio;
pub mod config;
pub mod country;
pub mod line;
pub mod listen;
pub mod peer;
pub mod phone;
pub mod request;
pub mod ring;
pub mod voice;

use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender, bounded};
use ctibox_driver::dsp::dtmf::DtmfRxDescriptor;
use ctibox_driver::dsp::tonegen::{ToneFreq, ToneSpec};
use ctibox_driver::hal::{
    BoardCommand, BoardEvent, BoardInfo, BoardLayout, BoardTime, ChannelId, ChannelKind, CommandKind, Duration,
};

use crate::board::SimWorld;

pub use audio::{AudioPlayer, AudioSource, PatternGenerator, Recorder, SequenceItem, WavAudio};
pub use config::{
    Behaviour, CallerIdMode, CoTimers, ConfigError, DisconnectSignal, Impairment, LineConfig, PartyConfig, PhoneConfig,
    WorldConfig,
};
pub use country::{Country, CountryProfile, ProgressTone};
pub use line::{Line, LineState, Party};
pub use peer::{EndReason, Peer, PeerState};
pub use phone::Phone;
pub use request::{CallRequest, ControlError, ControlHandle, PortRef, Reply, Request, WorldStatus};

use request::{CONTROL_QUEUE, ControlMsg, PeerStatus, PrepareContext, Prepared};

/// Something that acts in the world each tick: a scenario's timeline.
pub trait Director: Send + std::fmt::Debug {
    /// Act for the tick `[now, end)`: perform due actions (at their board
    /// times, within the tick) and check conditions.
    fn direct(&mut self, world: &mut World, now: BoardTime, end: BoardTime, events: &mut Vec<BoardEvent>);
    /// Whether the director has nothing more to do.
    fn finished(&self) -> bool;
    /// For downcasting to the concrete director after a run.
    fn as_any(&self) -> &dyn std::any::Any;
}

/// Who in the world a scenario step is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// An inbound caller (index into the callers).
    Caller(usize),
    /// A called party (index into the parties).
    Party(usize),
    /// The phone on an FXS port (index into the phones).
    Phone(usize),
}

/// Something that may hold for an actor.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// Caller: the port answered. Party: it answered. Phone: it went
    /// off-hook while rung.
    Answered,
    /// Caller: its line is ringing (or alerting). Party: it is being rung.
    /// Phone: the driver rings it.
    Ringing,
    /// At least this many rings in the current call.
    Rang(u32),
    /// Hears a call-progress tone.
    Hears(ProgressTone),
    /// Hears these DTMF digits, back to back.
    HearsDtmf(String),
    /// Hears something louder than the audio threshold.
    HearsAudio,
    /// Has heard nothing for this long.
    HearsSilence(Duration),
    /// Hears the voice of a far end that speaks the pattern of this seed
    /// (found by correlation, also in a mix: [`voice`]).
    HearsPattern(u64),
    /// Has not heard the voice of pattern `seed` for this long.
    MissesPattern(u64, Duration),
    /// The call ended (phone: it hung up or the driver dropped loop
    /// current).
    Ended,
    /// Phone: the last caller ID received is this number.
    CallerId(String),
    /// Phone: off-hook.
    OffHook,
    /// Phone: on-hook.
    OnHook,
}

impl Condition {
    /// Words for reports ("answered", "hears busy"…).
    pub fn describe(&self) -> String {
        match self {
            Condition::Answered => "answered".into(),
            Condition::Ringing => "ringing".into(),
            Condition::Rang(n) => format!("rang {n} times"),
            Condition::Hears(t) => format!("hears {}", country::tone_words(*t)),
            Condition::HearsDtmf(d) => format!("hears DTMF \"{d}\""),
            Condition::HearsAudio => "hears audio".into(),
            Condition::HearsSilence(d) => format!("hears silence for {d}"),
            Condition::HearsPattern(p) => format!("hears pattern {p}"),
            Condition::MissesPattern(p, d) => format!("hears no pattern {p} for {d}"),
            Condition::Ended => "call ended".into(),
            Condition::CallerId(n) => format!("caller ID \"{n}\" received"),
            Condition::OffHook => "off-hook".into(),
            Condition::OnHook => "on-hook".into(),
        }
    }
}

/// An action an actor takes.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Caller: ring this line.
    Call { line: u16, hangup_after: Option<Duration>, abandon_after: Option<Duration> },
    /// Caller/party: hang up. Phone: go on-hook.
    Hangup,
    /// Caller/party: key DTMF. Phone: dial.
    Dtmf(String),
    /// Phone: off-hook.
    OffHook,
    /// Phone: answer the ringing.
    Answer,
    /// Phone: hook flash.
    Flash,
}

/// The simulated world. See the module doc.
#[derive(Debug)]
pub struct World {
    info: BoardInfo,
    cfg: WorldConfig,
    profile: &'static CountryProfile,
    dtmf_rx: Arc<DtmfRxDescriptor>,
    lines: Vec<Line>,
    phones: Vec<Phone>,
    parties: Vec<Party>,
    callers: Vec<Peer>,
    control_tx: Sender<ControlMsg>,
    control_rx: Receiver<ControlMsg>,
    director: Option<Box<dyn Director>>,
    lin_in: Vec<i16>,
    lin_out: Vec<i16>,
    /// Start of the next tick.
    now: BoardTime,
    /// Events of direct API calls made between ticks, sent with the next.
    pending_events: Vec<BoardEvent>,
    detaches: u64,
    /// Whose voice watched listeners hear ([`World::watch_pattern`]).
    watches: Vec<voice::VoiceWatch>,
    /// Whether callers and parties record and listen (see the module
    /// doc).
    far_ends_observed: bool,
    /// The socket server's counters after the last tick, when served.
    serving: Option<crate::server::ServeReport>,
}

fn fax_audio() -> AudioSource {
    // CED: 2100 Hz for 3.3 s, starting 2 s after the answer (T.30).
    let ced = ToneSpec::burst(&[ToneFreq { hz: 2100.0, dbm0: -12.0 }], 3300, 0);
    match ced {
        Ok(t) => AudioSource::Sequence {
            items: vec![
                SequenceItem { source: AudioSource::Silence, duration: Some(Duration::from_ms(2000)) },
                SequenceItem { source: AudioSource::Tone(t), duration: None },
            ]
            .into(),
            repeat: false,
        },
        Err(_) => AudioSource::Silence,
    }
}

/// Most ports a simulated board has: enough for the load tests (480 callers
/// in IVR at once) and far beyond any real analog card.
pub const MAX_PORTS: u32 = 1000;

impl World {
    pub fn new(cfg: WorldConfig) -> Result<World, ConfigError> {
        let ports = cfg.fxo as u32 + cfg.fxs as u32;
        if ports == 0 {
            return Err(ConfigError::NoPorts);
        }
        if ports > MAX_PORTS {
            return Err(ConfigError::TooManyPorts(ports));
        }
        if cfg.lines.len() > cfg.fxo as usize {
            return Err(ConfigError::TooManyEntries { kind: "line", listed: cfg.lines.len(), ports: cfg.fxo });
        }
        if cfg.phones.len() > cfg.fxs as usize {
            return Err(ConfigError::TooManyEntries { kind: "phone", listed: cfg.phones.len(), ports: cfg.fxs });
        }
        for (i, p) in cfg.parties.iter().enumerate() {
            if p.number.is_empty() || audio::check_digits(&p.number).is_err() {
                return Err(ConfigError::BadPartyNumber(p.number.clone()));
            }
            if cfg.parties[..i].iter().any(|q| q.number == p.number) {
                return Err(ConfigError::DuplicateParty(p.number.clone()));
            }
        }
        let name = format!("ctibox-sim {}fxo+{}fxs", cfg.fxo, cfg.fxs);
        let info = BoardLayout::new(name, cfg.tick)
            .analog_span(cfg.law, cfg.fxo, cfg.fxs)
            .build()
            .map_err(|e| ConfigError::Layout(e.to_string()))?;
        let profile = CountryProfile::of(cfg.country);
        let dtmf_rx = DtmfRxDescriptor::shared_default();
        let mut lines = Vec::with_capacity(cfg.fxo as usize);
        for i in 0..cfg.fxo {
            let port = ChannelId(i + 1);
            let lc = cfg.lines.get(i as usize).cloned().unwrap_or_else(|| LineConfig::new(format!("{}", 8000 + i + 1)));
            if lines.iter().any(|l: &Line| l.cfg.number == lc.number) {
                return Err(ConfigError::DuplicateLine(lc.number));
            }
            lines.push(Line::new(port, lc, profile, &dtmf_rx, cfg.seed));
        }
        let mut phones = Vec::with_capacity(cfg.fxs as usize);
        for i in 0..cfg.fxs {
            let port = ChannelId(cfg.fxo + i + 1);
            let pc = cfg.phones.get(i as usize).cloned().unwrap_or_else(|| PhoneConfig::new(format!("{}", 801 + i)));
            let phone = Phone::new(port, pc, cfg.law, profile, &dtmf_rx, cfg.record_limit)
                .map_err(|reason| ConfigError::Phone { port: port.0, reason })?;
            phones.push(phone);
        }
        let mut parties: Vec<Party> = cfg
            .parties
            .iter()
            .map(|pc| {
                let audio = match pc.behaviour {
                    Behaviour::Fax { .. } => fax_audio(),
                    _ => pc.audio.clone(),
                };
                Party {
                    peer: Peer::new(
                        &pc.name,
                        &pc.number,
                        audio,
                        cfg.law,
                        profile,
                        &dtmf_rx,
                        peer::default_peer_dtmf(),
                        cfg.record_limit,
                    ),
                    cfg: pc.clone(),
                }
            })
            .collect();
        for p in &mut parties {
            p.peer.set_observed(false);
        }
        let (control_tx, control_rx) = bounded(CONTROL_QUEUE);
        let n = cfg.tick.samples();
        Ok(World {
            info,
            profile,
            dtmf_rx,
            lines,
            phones,
            parties,
            callers: Vec::with_capacity(cfg.fxo as usize * 2),
            control_tx,
            control_rx,
            director: None,
            lin_in: vec![0; n],
            lin_out: vec![0; n],
            now: BoardTime::ZERO,
            pending_events: Vec::with_capacity(16),
            detaches: 0,
            watches: Vec::new(),
            far_ends_observed: false,
            serving: None,
            cfg,
        })
    }

    pub fn config(&self) -> &WorldConfig {
        &self.cfg
    }
    pub fn profile(&self) -> &'static CountryProfile {
        self.profile
    }
    /// Board time of the next tick's start.
    pub fn now(&self) -> BoardTime {
        self.now
    }

    /// A handle to send live requests from any thread.
    pub fn control_handle(&self) -> ControlHandle {
        ControlHandle {
            tx: self.control_tx.clone(),
            ctx: PrepareContext {
                law: self.cfg.law,
                profile: self.profile,
                dtmf_rx: self.dtmf_rx.clone(),
                record_limit: self.cfg.record_limit,
            },
        }
    }

    /// Install the director (a scenario timeline). Far ends are observed
    /// from now on ([`World::observe_far_ends`]).
    pub fn set_director(&mut self, d: Box<dyn Director>) {
        self.observe_far_ends();
        self.director = Some(d);
    }

    /// From now on, every caller and party (also those added later)
    /// records what it hears ([`Peer::recorder`]) and runs its listener, so
    /// that its hearing conditions ([`Condition::Hears`],
    /// [`Condition::HearsDtmf`], [`Condition::HearsAudio`],
    /// [`Condition::HearsSilence`]) can hold. Until then they do neither.
    pub fn observe_far_ends(&mut self) {
        self.far_ends_observed = true;
        for p in self.callers.iter_mut().chain(self.parties.iter_mut().map(|p| &mut p.peer)) {
            p.set_observed(true);
        }
    }

    /// Whether callers and parties record and listen.
    pub fn far_ends_observed(&self) -> bool {
        self.far_ends_observed
    }
    pub fn director(&self) -> Option<&dyn Director> {
        self.director.as_deref()
    }
    pub fn take_director(&mut self) -> Option<Box<dyn Director>> {
        self.director.take()
    }

    pub fn lines(&self) -> &[Line] {
        &self.lines
    }
    pub fn phones(&self) -> &[Phone] {
        &self.phones
    }
    pub fn parties(&self) -> &[Party] {
        &self.parties
    }
    pub fn callers(&self) -> &[Peer] {
        &self.callers
    }
    /// The line on FXO channel `port`.
    pub fn line(&self, port: u16) -> Option<&Line> {
        self.line_index(port).ok().map(|i| &self.lines[i])
    }
    /// The phone on FXS channel `port`.
    pub fn phone(&self, port: u16) -> Option<&Phone> {
        self.phone_index(port).ok().map(|i| &self.phones[i])
    }
    pub fn party(&self, name: &str) -> Option<&Party> {
        self.parties.iter().find(|p| p.cfg.name == name || p.cfg.number == name)
    }
    pub fn caller(&self, name: &str) -> Option<&Peer> {
        self.callers.iter().find(|p| p.name == name)
    }
    pub fn party_index(&self, name: &str) -> Option<usize> {
        self.parties.iter().position(|p| p.cfg.name == name || p.cfg.number == name)
    }
    pub fn caller_index(&self, name: &str) -> Option<usize> {
        self.callers.iter().position(|p| p.name == name)
    }

    fn fxo_range(&self) -> String {
        if self.cfg.fxo == 0 { "none".into() } else { format!("1-{}", self.cfg.fxo) }
    }
    fn fxs_range(&self) -> String {
        if self.cfg.fxs == 0 { "none".into() } else { format!("{}-{}", self.cfg.fxo + 1, self.cfg.fxo + self.cfg.fxs) }
    }
    pub fn line_index(&self, port: u16) -> Result<usize, ControlError> {
        if port >= 1 && port <= self.cfg.fxo {
            Ok(port as usize - 1)
        } else {
            Err(ControlError::NoSuchLine(port, self.fxo_range()))
        }
    }
    pub fn phone_index(&self, port: u16) -> Result<usize, ControlError> {
        if port > self.cfg.fxo && port <= self.cfg.fxo + self.cfg.fxs {
            Ok((port - self.cfg.fxo - 1) as usize)
        } else {
            Err(ControlError::NoSuchPhone(port, self.fxs_range()))
        }
    }

    /// Watch whether `listener` hears the far ends whose audio plays the
    /// pattern of `seed` (for [`Condition::HearsPattern`] and
    /// [`Condition::MissesPattern`]). Allocates: call it when setting up,
    /// after the callers are added (a caller added or replaced later is
    /// not a talker of the watch). Errors when nobody speaks the pattern.
    pub fn watch_pattern(&mut self, listener: Actor, seed: u64) -> Result<(), String> {
        if self.watches.iter().any(|w| w.listener == listener && w.seed == seed) {
            return Ok(());
        }
        let mut talkers = Vec::new();
        talkers
            .extend((0..self.callers.len()).filter(|&i| self.callers[i].audio().has_pattern(seed)).map(Actor::Caller));
        talkers.extend(
            (0..self.parties.len()).filter(|&i| self.parties[i].peer.audio().has_pattern(seed)).map(Actor::Party),
        );
        talkers
            .extend((0..self.phones.len()).filter(|&i| self.phones[i].cfg.audio.has_pattern(seed)).map(Actor::Phone));
        talkers.retain(|&t| t != listener);
        if talkers.is_empty() {
            return Err(format!("nobody else speaks pattern {seed}"));
        }
        for &a in talkers.iter().chain(std::iter::once(&listener)) {
            match a {
                Actor::Caller(i) => self.callers.get_mut(i).map(Peer::enable_taps),
                Actor::Party(i) => self.parties.get_mut(i).map(|p| p.peer.enable_taps()),
                Actor::Phone(i) => self.phones.get_mut(i).map(Phone::enable_taps),
            };
        }
        self.watches.push(voice::VoiceWatch::new(listener, seed, talkers));
        Ok(())
    }

    /// The taps of an actor: what it said, what it heard.
    fn taps(&self, actor: Actor) -> (Option<&voice::VoiceTap>, Option<&voice::VoiceTap>) {
        match actor {
            Actor::Caller(i) => self.callers.get(i).map_or((None, None), |p| (p.said(), p.listener.tap())),
            Actor::Party(i) => self.parties.get(i).map_or((None, None), |p| (p.peer.said(), p.peer.listener.tap())),
            Actor::Phone(i) => self.phones.get(i).map_or((None, None), |p| (p.said(), p.listener.tap())),
        }
    }

    fn watch(&self, listener: Actor, seed: u64) -> Option<&voice::VoiceWatch> {
        self.watches.iter().find(|w| w.listener == listener && w.seed == seed)
    }

    /// Run every voice watch on the tick that ends at `end`.
    fn run_watches(&mut self, end: BoardTime) {
        let mut watches = std::mem::take(&mut self.watches);
        for w in &mut watches {
            let Some(heard) = self.taps(w.listener).1 else { continue };
            w.run(end, heard, |a| self.taps(a).0);
        }
        self.watches = watches;
    }

    /// Add a caller (a far end that makes inbound calls); returns its
    /// index. Allocates: call it when setting up, or from a control thread
    /// through [`ControlHandle`].
    pub fn add_caller(&mut self, name: &str, from: &str, audio: AudioSource) -> usize {
        let peer = Peer::new(
            name,
            from,
            audio,
            self.cfg.law,
            self.profile,
            &self.dtmf_rx,
            peer::default_peer_dtmf(),
            self.cfg.record_limit,
        );
        self.install_caller(peer).unwrap_or(self.callers.len() - 1)
    }

    /// Put a prepared caller in place (replacing an idle caller of the same
    /// name).
    fn install_caller(&mut self, mut peer: Peer) -> Result<usize, ControlError> {
        peer.set_observed(self.far_ends_observed);
        if let Some(i) = self.callers.iter().position(|c| c.name == peer.name) {
            if self.callers[i].in_call() {
                return Err(ControlError::CallerBusy(peer.name));
            }
            self.callers[i] = peer;
            Ok(i)
        } else {
            self.callers.push(peer);
            Ok(self.callers.len() - 1)
        }
    }

    /// Caller `caller` rings `line` at `at`.
    pub fn place_call(
        &mut self,
        at: BoardTime,
        caller: usize,
        line: u16,
        hangup_after: Option<Duration>,
        abandon_after: Option<Duration>,
    ) -> Result<(), ControlError> {
        let li = self.line_index(line)?;
        let Some(peer) = self.callers.get_mut(caller) else {
            return Err(ControlError::CallerBusy(format!("#{caller}")));
        };
        if peer.in_call() {
            return Err(ControlError::CallerBusy(peer.name.clone()));
        }
        let abandon = abandon_after.unwrap_or(self.cfg.timers.abandon_after);
        self.lines[li].call(at, caller, peer, hangup_after, abandon, self.profile)
    }

    /// Place an inbound call now (at the next tick's start), outside the
    /// control channel: for tests and tools in the world's own thread.
    pub fn call(&mut self, req: CallRequest) -> Result<usize, ControlError> {
        let name = req.name.clone().unwrap_or_else(|| format!("line {}", req.line));
        self.line_index(req.line)?;
        let peer = Peer::new(
            &name,
            &req.from,
            req.audio.clone(),
            self.cfg.law,
            self.profile,
            &self.dtmf_rx,
            peer::default_peer_dtmf(),
            self.cfg.record_limit,
        );
        let idx = self.install_caller(peer)?;
        self.place_call(self.now, idx, req.line, req.hangup_after, req.abandon_after)?;
        Ok(idx)
    }

    /// Carry out `action` by `actor` at `at`.
    pub fn act(
        &mut self,
        at: BoardTime,
        actor: Actor,
        action: &Action,
        events: &mut Vec<BoardEvent>,
    ) -> Result<(), ControlError> {
        match (actor, action) {
            (Actor::Caller(c), Action::Call { line, hangup_after, abandon_after }) => {
                self.place_call(at, c, *line, *hangup_after, *abandon_after)
            }
            (Actor::Caller(c), Action::Hangup) => {
                let line = self.callers.get(c).filter(|p| p.in_call()).and_then(|p| p.line);
                let Some(line) = line else {
                    return Err(ControlError::CallerBusy(format!(
                        "{} has no call to hang up",
                        self.callers.get(c).map(|p| p.name.as_str()).unwrap_or("?")
                    )));
                };
                self.hangup_line(at, line.0, events)
            }
            (Actor::Party(p), Action::Hangup) => {
                let line = self.parties.get(p).filter(|p| p.peer.in_call()).and_then(|p| p.peer.line);
                let Some(line) = line else {
                    return Err(ControlError::CallerBusy(format!(
                        "{} has no call to hang up",
                        self.parties.get(p).map(|p| p.cfg.name.as_str()).unwrap_or("?")
                    )));
                };
                self.hangup_line(at, line.0, events)
            }
            (Actor::Caller(c), Action::Dtmf(d)) => match self.callers.get_mut(c) {
                Some(p) => p.key_dtmf(d).map_err(ControlError::BadDigits),
                None => Err(ControlError::CallerBusy(format!("#{c}"))),
            },
            (Actor::Party(i), Action::Dtmf(d)) => match self.parties.get_mut(i) {
                Some(p) => p.peer.key_dtmf(d).map_err(ControlError::BadDigits),
                None => Err(ControlError::CallerBusy(format!("#{i}"))),
            },
            (Actor::Phone(i), a) => {
                let Some(ph) = self.phones.get_mut(i) else {
                    return Err(ControlError::NoSuchPhone(i as u16, String::new()));
                };
                match a {
                    Action::Hangup => ph.hang_up(at, events),
                    Action::Dtmf(d) => ph.dial(d),
                    Action::OffHook => ph.go_off_hook(at, events),
                    Action::Answer => ph.answer(at, events),
                    Action::Flash => ph.flash(at, events),
                    Action::Call { .. } => Err(ControlError::BadDigits("a phone calls by dialling".into())),
                }
            }
            (_, a) => Err(ControlError::BadDigits(format!("{a:?} is not something this party can do"))),
        }
    }

    fn hangup_line(&mut self, at: BoardTime, line: u16, events: &mut Vec<BoardEvent>) -> Result<(), ControlError> {
        let li = self.line_index(line)?;
        self.lines[li].far_end_hangup(at, &mut self.callers, &mut self.parties, self.profile, events)
    }

    /// Whether `cond` holds for `actor`, counting only what happened at or
    /// after `since`, at board time `now`.
    pub fn holds(&self, actor: Actor, cond: &Condition, since: BoardTime, now: BoardTime) -> bool {
        let after = |t: Option<BoardTime>| t.is_some_and(|t| t >= since);
        match actor {
            Actor::Caller(_) | Actor::Party(_) => {
                let (peer, line) = match actor {
                    Actor::Caller(i) => match self.callers.get(i) {
                        Some(p) => (p, p.line.and_then(|l| self.line(l.0))),
                        None => return false,
                    },
                    Actor::Party(i) => match self.parties.get(i) {
                        Some(p) => (&p.peer, p.peer.line.and_then(|l| self.line(l.0))),
                        None => return false,
                    },
                    Actor::Phone(_) => return false,
                };
                match cond {
                    Condition::Answered => after(peer.answered_at),
                    Condition::Ringing => peer.state == PeerState::Ringing,
                    Condition::Rang(n) => peer.rings >= *n && (peer.in_call() || after(peer.ended_at)),
                    Condition::Hears(t) => after(peer.listener.tone_heard(*t)),
                    Condition::HearsDtmf(d) => peer.listener.heard_digits(d, since),
                    Condition::HearsAudio => after(peer.listener.last_audio()),
                    Condition::HearsSilence(d) => quiet_for(peer.listener.last_audio(), since, now, *d),
                    Condition::HearsPattern(p) => after(self.watch(actor, *p).and_then(|w| w.last_heard)),
                    Condition::MissesPattern(p, d) => {
                        self.watch(actor, *p).is_some_and(|w| quiet_for(w.last_heard, since, now, *d))
                    }
                    Condition::Ended => after(peer.ended_at),
                    Condition::CallerId(_) => false,
                    Condition::OffHook => line.is_some_and(|l| l.port_off_hook),
                    Condition::OnHook => line.is_none_or(|l| !l.port_off_hook),
                }
            }
            Actor::Phone(i) => {
                let Some(ph) = self.phones.get(i) else { return false };
                match cond {
                    Condition::Answered => after(ph.answered_at),
                    Condition::Ringing => ph.is_ringing(),
                    Condition::Rang(n) => ph.rings() >= *n && after(ph.ring_started_at),
                    Condition::Hears(t) => after(ph.listener.tone_heard(*t)),
                    Condition::HearsDtmf(d) => ph.listener.heard_digits(d, since),
                    Condition::HearsAudio => after(ph.listener.last_audio()),
                    Condition::HearsSilence(d) => ph.off_hook && quiet_for(ph.listener.last_audio(), since, now, *d),
                    Condition::HearsPattern(p) => after(self.watch(actor, *p).and_then(|w| w.last_heard)),
                    Condition::MissesPattern(p, d) => {
                        self.watch(actor, *p).is_some_and(|w| quiet_for(w.last_heard, since, now, *d))
                    }
                    Condition::Ended => after(ph.ended_at),
                    Condition::CallerId(n) => {
                        after(ph.caller_id_at) && ph.last_caller_id.is_some_and(|c| c == n.as_str())
                    }
                    Condition::OffHook => ph.off_hook,
                    Condition::OnHook => !ph.off_hook,
                }
            }
        }
    }

    /// What an actor is doing, in words (for failure reasons; allocates).
    pub fn describe_actor(&self, actor: Actor) -> String {
        let mut s = self.describe_actor_state(actor);
        for w in self.watches.iter().filter(|w| w.listener == actor) {
            s.push_str(", ");
            s.push_str(&w.describe());
        }
        s
    }

    fn describe_actor_state(&self, actor: Actor) -> String {
        let hears = |l: &listen::Listener, since: BoardTime| {
            let tone = l.current_tone().map(country::tone_words).unwrap_or("no tone");
            let audio = match l.last_audio() {
                Some(t) => format!("last audio at {t}"),
                None => "no audio yet".into(),
            };
            let digits = l.digits_since(since);
            format!("hears {tone}, {audio}, DTMF heard \"{digits}\"")
        };
        match actor {
            Actor::Caller(i) | Actor::Party(i) => {
                let p = match actor {
                    Actor::Caller(_) => self.callers.get(i),
                    _ => self.parties.get(i).map(|p| &p.peer),
                };
                let Some(p) = p else { return "unknown".into() };
                let state = match (p.state, p.end_reason) {
                    (PeerState::Ended, Some(r)) => format!("call ended ({})", r.name()),
                    (s, _) => format!("{s:?}").to_lowercase(),
                };
                let heard = if p.is_observed() {
                    hears(&p.listener, p.started_at.unwrap_or_default())
                } else {
                    "not observed (no director; see World::observe_far_ends)".to_string()
                };
                format!("{state}, {} rings, {heard}", p.rings)
            }
            Actor::Phone(i) => {
                let Some(ph) = self.phones.get(i) else { return "unknown".into() };
                let hook = if ph.off_hook { "off-hook" } else { "on-hook" };
                let ring = if ph.is_ringing() { ", ringing" } else { "" };
                let cid = match &ph.last_caller_id {
                    Some(n) => format!(", caller ID {n}"),
                    None => ", no caller ID".into(),
                };
                format!(
                    "{hook}{ring}, {} rings{cid}, {}",
                    ph.rings(),
                    hears(&ph.listener, ph.off_hook_at.unwrap_or_default())
                )
            }
        }
    }

    /// A snapshot of everything (allocates).
    pub fn status(&self) -> WorldStatus {
        let peer_status = |p: &Peer| PeerStatus {
            name: p.name.clone(),
            number: p.number.clone(),
            state: p.state,
            line: p.line.map(|l| l.0),
            calls: p.calls,
            rings: p.rings,
            answered_at_ms: p.answered_at.map(|t| t.as_ms()),
            ended_at_ms: p.ended_at.map(|t| t.as_ms()),
            end_reason: p.end_reason,
            recorded_ms: p.recorder.len() as u64 / 8,
        };
        WorldStatus {
            now_ms: self.now.as_ms(),
            country: self.cfg.country.to_string(),
            law: self.cfg.law,
            lines: self
                .lines
                .iter()
                .map(|l| {
                    let peer = l
                        .caller()
                        .and_then(|c| self.callers.get(c))
                        .map(|p| format!("{} ({})", p.name, p.number))
                        .or_else(|| l.party().and_then(|p| self.parties.get(p)).map(|p| p.cfg.name.clone()));
                    l.status(peer)
                })
                .collect(),
            phones: self.phones.iter().map(Phone::status).collect(),
            callers: self.callers.iter().map(peer_status).collect(),
            parties: self.parties.iter().map(|p| peer_status(&p.peer)).collect(),
            serving: self.serving,
        }
    }

    fn apply(&mut self, now: BoardTime, msg: Prepared, events: &mut Vec<BoardEvent>) -> Result<Reply, ControlError> {
        let ok = Ok(Reply::Ok { at_ms: now.as_ms() });
        match msg {
            Prepared::Call { req, peer } => {
                self.line_index(req.line)?;
                if !self.lines[req.line as usize - 1].state.eq(&LineState::Idle)
                    || self.lines[req.line as usize - 1].port_off_hook
                {
                    let l = &self.lines[req.line as usize - 1];
                    let what = if l.port_off_hook { "the port is off-hook".to_string() } else { l.status(None).state };
                    return Err(ControlError::LineBusy(req.line, what));
                }
                let idx = self.install_caller(*peer)?;
                self.place_call(now, idx, req.line, req.hangup_after, req.abandon_after)?;
                ok
            }
            Prepared::Other(r) => {
                match r {
                    Request::Call(_) => return Err(ControlError::Gone),
                    Request::Status => return Ok(Reply::Status { status: Box::new(self.status()) }),
                    Request::Dial { port: PortRef::Line(l), digits } => {
                        let li = self.line_index(l)?;
                        let line = &self.lines[li];
                        if let Some(c) = line.caller() {
                            self.act(now, Actor::Caller(c), &Action::Dtmf(digits), events)?;
                        } else if let Some(p) = line.party() {
                            self.act(now, Actor::Party(p), &Action::Dtmf(digits), events)?;
                        } else {
                            return Err(ControlError::NoCall(l));
                        }
                    }
                    Request::Dial { port: PortRef::Phone(p), digits } => {
                        let i = self.phone_index(p)?;
                        self.act(now, Actor::Phone(i), &Action::Dtmf(digits), events)?;
                    }
                    Request::Hangup { port: PortRef::Line(l) } => self.hangup_line(now, l, events)?,
                    Request::Hangup { port: PortRef::Phone(p) } => {
                        let i = self.phone_index(p)?;
                        self.act(now, Actor::Phone(i), &Action::Hangup, events)?;
                    }
                    Request::OffHook { phone } => {
                        let i = self.phone_index(phone)?;
                        self.act(now, Actor::Phone(i), &Action::OffHook, events)?;
                    }
                    Request::Flash { phone } => {
                        let i = self.phone_index(phone)?;
                        self.act(now, Actor::Phone(i), &Action::Flash, events)?;
                    }
                    Request::Answer { phone } => {
                        let i = self.phone_index(phone)?;
                        self.act(now, Actor::Phone(i), &Action::Answer, events)?;
                    }
                }
                ok
            }
        }
    }

    /// Carry out a request directly (outside the control channel) at the
    /// next tick's start; events go out with that tick.
    pub fn request(&mut self, req: Request) -> Result<Reply, ControlError> {
        let mut events = std::mem::take(&mut self.pending_events);
        let prepared = match req {
            Request::Call(c) => {
                self.call(c)?;
                self.pending_events = events;
                return Ok(Reply::Ok { at_ms: self.now.as_ms() });
            }
            other => Prepared::Other(other),
        };
        let r = self.apply(self.now, prepared, &mut events);
        self.pending_events = events;
        r
    }

    /// Number of times the driver detached.
    pub fn detaches(&self) -> u64 {
        self.detaches
    }
}

fn quiet_for(last_audio: Option<BoardTime>, since: BoardTime, now: BoardTime, d: Duration) -> bool {
    let from = match last_audio {
        Some(t) if t >= since => t + Duration::from_ms(20),
        _ => since,
    };
    now.since(from) >= d
}

/// Sort `events` by time, keeping the order of equal times.
fn sort_by_time(events: &mut [BoardEvent]) {
    for i in 1..events.len() {
        let mut j = i;
        while j > 0 && events[j - 1].at > events[j].at {
            events.swap(j - 1, j);
            j -= 1;
        }
    }
}

impl SimWorld for World {
    fn info(&self) -> &BoardInfo {
        &self.info
    }

    fn tick(
        &mut self,
        now: BoardTime,
        from_driver: &[u8],
        commands: &[BoardCommand],
        to_driver: &mut [u8],
        events: &mut Vec<BoardEvent>,
    ) {
        let end = now + self.cfg.tick.duration();
        self.now = now;
        let first = events.len();
        for e in self.pending_events.drain(..) {
            events.push(BoardEvent { at: e.at.max(now), ..e });
        }
        for c in commands {
            let idx = c.channel.index();
            match self.info.channel(c.channel).map(|ch| ch.kind) {
                Some(ChannelKind::Fxo) => {
                    if let (Some(line), CommandKind::OffHook | CommandKind::OnHook) = (self.lines.get_mut(idx), c.kind)
                    {
                        let off = c.kind == CommandKind::OffHook;
                        line.hook(
                            now,
                            off,
                            &mut self.callers,
                            &mut self.parties,
                            &self.cfg.timers,
                            self.profile,
                            events,
                        );
                    }
                }
                Some(ChannelKind::Fxs) => {
                    if let Some(ph) = self.phones.get_mut(idx - self.cfg.fxo as usize) {
                        ph.command(now, &c.kind);
                    }
                }
                _ => {}
            }
        }
        while let Ok(msg) = self.control_rx.try_recv() {
            let r = self.apply(now, msg.request, events);
            // The requester may have given up waiting; that is fine.
            let _ = msg.reply.try_send(r);
        }
        if let Some(mut d) = self.director.take() {
            d.direct(self, now, end, events);
            self.director = Some(d);
        }
        for line in &mut self.lines {
            line.run_timers(now, end, &mut self.callers, &mut self.parties, &self.cfg.timers, self.profile, events);
        }
        for ph in &mut self.phones {
            ph.run_timers(now, end, events);
        }
        let n = self.cfg.tick.samples();
        let law = self.cfg.law;
        for (i, line) in self.lines.iter_mut().enumerate() {
            let r = i * n..(i + 1) * n;
            line.run_audio(
                now,
                law,
                &from_driver[r.clone()],
                &mut to_driver[r],
                &mut self.lin_in,
                &mut self.lin_out,
                &mut self.callers,
                &mut self.parties,
            );
        }
        let fxo = self.cfg.fxo as usize;
        for (i, ph) in self.phones.iter_mut().enumerate() {
            let r = (fxo + i) * n..(fxo + i + 1) * n;
            ph.run_audio(now, law, &from_driver[r.clone()], &mut to_driver[r], &mut self.lin_in);
        }
        if !self.watches.is_empty() {
            self.run_watches(end);
        }
        self.now = end;
        sort_by_time(&mut events[first..]);
    }

    fn driver_detached(&mut self, now: BoardTime) {
        self.detaches += 1;
        let mut events = std::mem::take(&mut self.pending_events);
        for line in &mut self.lines {
            line.detach(now, &mut self.callers, &mut self.parties, &mut events);
        }
        for ph in &mut self.phones {
            ph.detach(now);
        }
        // Line events of a detach (polarity back to normal) are for a driver
        // that is gone; the next driver starts from the idle state.
        events.clear();
        self.pending_events = events;
    }

    fn finished(&self) -> bool {
        self.director.as_ref().is_some_and(|d| d.finished())
    }

    fn served(&mut self, report: &crate::server::ServeReport) {
        self.serving = Some(*report);
    }
}
