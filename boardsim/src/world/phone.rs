//! A phone on an FXS port.
//!
//! It sees ringing from the driver's `RingStart`/`RingStop` (counting rings
//! with the country cadence, as an FXS card applies it), answers by itself
//! after N rings or on request, goes off-hook and on-hook (reported as
//! `OffHook`/`OnHook` events at exact board times; a flash is `OnHook`, then
//! `OffHook` after the configured time), dials DTMF as real audio, speaks
//! its audio source while off-hook, and hears the driver's audio: off-hook
//! into its recorder and listener; on-hook only the caller-ID receiver
//! listens (on-hook transmission between rings).
//!
//! Two rules hang the phone up by itself, on board time in its timers:
//! [`PhoneConfig::talk_for`] after it answered a call (went off-hook while
//! rung), and [`PhoneConfig::hang_up_on_release`] after the driver withdrew
//! loop current (`SetLoopCurrent { on: false }`) while it was off-hook. The
//! earlier one wins; going on-hook otherwise cancels both; a flash keeps
//! them, and one falling due during a flash makes the flash a hang-up (the
//! phone stays on-hook). Hung up either way, the phone is idle: it can be
//! rung and auto-answer again. A release signalled only by a tone (busy,
//! howler) with loop current kept is heard (`hears`), not acted on.

use std::sync::Arc;

use ctibox_driver::dsp::cid::{CallerIdReceiver, CidEvent, CidNumber, CidStandard};
use ctibox_driver::dsp::cid_dtmf::{DtmfCidEvent, DtmfCidReceiver, DtmfCidRxConfig};
use ctibox_driver::dsp::dtmf::{DtmfGenerator, DtmfRxDescriptor};
use ctibox_driver::dsp::g711;
use ctibox_driver::hal::{BoardEvent, BoardTime, ChannelId, Duration, EventKind, Law, Polarity};

use super::audio::{AudioPlayer, Recorder};
use super::config::PhoneConfig;
use super::country::{CallerIdSignalling, CountryProfile};
use super::listen::Listener;
use super::request::{ControlError, PhoneStatus};
use super::ring::Ringer;
use super::voice::VoiceTap;

/// One phone.
#[derive(Debug)]
pub struct Phone {
    pub port: ChannelId,
    pub cfg: PhoneConfig,
    pub off_hook: bool,
    ringer: Ringer,
    /// The driver has said RingStart (and not RingStop).
    ring_commanded: bool,
    /// Rings of the last ringing episode.
    last_rings: u32,
    /// A flash in progress: back off-hook at this time.
    flash_back_at: Option<BoardTime>,
    /// Hang up at this time: [`PhoneConfig::talk_for`] after answering.
    talk_until: Option<BoardTime>,
    /// Hang up at this time: [`PhoneConfig::hang_up_on_release`] after the
    /// driver withdrew loop current from the off-hook phone.
    release_hang_up_at: Option<BoardTime>,
    dtmf: DtmfGenerator,
    player: AudioPlayer,
    pub(crate) listener: Listener,
    pub(crate) recorder: Recorder,
    /// The last moments said, kept when someone watches for this phone's
    /// voice ([`super::voice`]).
    said: Option<Box<VoiceTap>>,
    pub polarity: Polarity,
    pub loop_current: bool,
    /// The number of the last caller ID decoded while on-hook.
    pub last_caller_id: Option<CidNumber>,
    fsk_cid: CallerIdReceiver,
    fsk_events: Vec<CidEvent>,
    dtmf_cid: DtmfCidReceiver,
    dtmf_cid_events: Vec<DtmfCidEvent>,
    pub caller_id_at: Option<BoardTime>,
    pub off_hook_at: Option<BoardTime>,
    pub on_hook_at: Option<BoardTime>,
    /// When the phone last went off-hook while being rung.
    pub answered_at: Option<BoardTime>,
    /// When the driver last dropped loop current while the phone was
    /// off-hook (its disconnect signal), or the phone hung up.
    pub ended_at: Option<BoardTime>,
    /// When ringing last began.
    pub ring_started_at: Option<BoardTime>,
}

impl Phone {
    pub fn new(
        port: ChannelId,
        cfg: PhoneConfig,
        law: Law,
        profile: &CountryProfile,
        dtmf_rx: &Arc<DtmfRxDescriptor>,
        record_limit: Duration,
    ) -> Result<Self, String> {
        let dtmf = DtmfGenerator::new(cfg.dtmf).map_err(|e| format!("DTMF settings: {e}"))?;
        if cfg.talk_for == Some(Duration::ZERO) {
            return Err("talk_for is 0: the phone would hang up as it answers (give a time above 0)".into());
        }
        let standard = match profile.caller_id {
            CallerIdSignalling::Bell202 => CidStandard::Bell202,
            CallerIdSignalling::V23 => CidStandard::V23,
        };
        Ok(Phone {
            port,
            player: AudioPlayer::new(&cfg.audio),
            cfg,
            off_hook: false,
            ringer: Ringer::new(profile.ring_cadence_ms()),
            ring_commanded: false,
            last_rings: 0,
            flash_back_at: None,
            talk_until: None,
            release_hang_up_at: None,
            dtmf,
            listener: Listener::new(profile, dtmf_rx),
            recorder: Recorder::new(law, record_limit),
            said: None,
            polarity: Polarity::Normal,
            loop_current: true,
            last_caller_id: None,
            fsk_cid: CallerIdReceiver::new(standard),
            fsk_events: Vec::with_capacity(4),
            dtmf_cid: DtmfCidReceiver::with_detector(DtmfCidRxConfig::default(), dtmf_rx.clone()),
            dtmf_cid_events: Vec::with_capacity(4),
            caller_id_at: None,
            off_hook_at: None,
            on_hook_at: None,
            answered_at: None,
            ended_at: None,
            ring_started_at: None,
        })
    }

    /// Rings heard in the current (or last) ringing episode.
    pub fn rings(&self) -> u32 {
        if self.ringer.is_active() { self.ringer.rings() } else { self.last_rings }
    }
    /// Whether the driver is ringing the phone.
    pub fn is_ringing(&self) -> bool {
        self.ringer.is_active()
    }
    pub fn is_dialling(&self) -> bool {
        !self.dtmf.is_idle()
    }

    fn set_hook(&mut self, at: BoardTime, off: bool, events: &mut Vec<BoardEvent>) {
        self.off_hook = off;
        events.push(BoardEvent::channel(at, self.port, if off { EventKind::OffHook } else { EventKind::OnHook }));
        if off {
            self.off_hook_at = Some(at);
            if self.ringer.is_active() {
                // Ring trip: an off-hook phone stops the ringing at once.
                self.answered_at = Some(at);
                self.talk_until = self.cfg.talk_for.map(|d| at + d);
                self.ringer.stop(at);
                self.last_rings = self.ringer.rings();
            }
            self.player = AudioPlayer::new(&self.cfg.audio);
        } else {
            self.on_hook_at = Some(at);
            self.ended_at = Some(at);
            self.dtmf.clear();
            self.fsk_cid.reset();
            self.dtmf_cid.reset();
        }
    }

    pub fn go_off_hook(&mut self, at: BoardTime, events: &mut Vec<BoardEvent>) -> Result<(), ControlError> {
        if self.off_hook || self.flash_back_at.is_some() {
            return Err(ControlError::AlreadyOffHook(self.port.0));
        }
        self.set_hook(at, true, events);
        Ok(())
    }

    pub fn answer(&mut self, at: BoardTime, events: &mut Vec<BoardEvent>) -> Result<(), ControlError> {
        if self.off_hook {
            return Err(ControlError::AlreadyOffHook(self.port.0));
        }
        if !self.ringer.is_active() {
            return Err(ControlError::NotRinging(self.port.0));
        }
        self.set_hook(at, true, events);
        Ok(())
    }

    pub fn hang_up(&mut self, at: BoardTime, events: &mut Vec<BoardEvent>) -> Result<(), ControlError> {
        if self.flash_back_at.take().is_some() {
            // Hanging up in the middle of a flash: it simply stays on-hook.
            self.cancel_hang_up();
            return Ok(());
        }
        if !self.off_hook {
            return Err(ControlError::OnHook(self.port.0));
        }
        self.cancel_hang_up();
        self.set_hook(at, false, events);
        Ok(())
    }

    /// When the phone will hang up by itself (the earlier of its rules).
    pub fn hangs_up_at(&self) -> Option<BoardTime> {
        match (self.talk_until, self.release_hang_up_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn cancel_hang_up(&mut self) {
        self.talk_until = None;
        self.release_hang_up_at = None;
    }

    pub fn flash(&mut self, at: BoardTime, events: &mut Vec<BoardEvent>) -> Result<(), ControlError> {
        if !self.off_hook {
            return Err(ControlError::OnHook(self.port.0));
        }
        self.set_hook(at, false, events);
        self.flash_back_at = Some(at + self.cfg.flash);
        Ok(())
    }

    pub fn dial(&mut self, digits: &str) -> Result<(), ControlError> {
        if !self.off_hook {
            return Err(ControlError::OnHook(self.port.0));
        }
        self.dtmf.push(digits).map_err(|e| ControlError::BadDigits(e.to_string()))
    }

    /// A driver command at `at`.
    pub fn command(&mut self, at: BoardTime, kind: &ctibox_driver::hal::CommandKind) {
        use ctibox_driver::hal::CommandKind;
        match *kind {
            CommandKind::RingStart => {
                self.ring_commanded = true;
                if !self.off_hook && !self.ringer.is_active() {
                    self.ringer.start(at);
                    self.ring_started_at = Some(at);
                }
            }
            CommandKind::RingStop => {
                self.ring_commanded = false;
                if self.ringer.is_active() {
                    self.ringer.stop(at);
                    self.last_rings = self.ringer.rings();
                }
            }
            CommandKind::SetPolarity { polarity } => self.polarity = polarity,
            CommandKind::SetLoopCurrent { on } => {
                if !on && self.loop_current && self.off_hook {
                    self.ended_at = Some(at);
                    if self.release_hang_up_at.is_none() {
                        self.release_hang_up_at = self.cfg.hang_up_on_release.map(|d| at + d);
                    }
                }
                self.loop_current = on;
            }
            _ => {}
        }
    }

    /// The driver went away: ringing stops, normal feed.
    pub fn detach(&mut self, at: BoardTime) {
        self.ring_commanded = false;
        if self.ringer.is_active() {
            self.ringer.stop(at);
            self.last_rings = self.ringer.rings();
        }
        self.polarity = Polarity::Normal;
        self.loop_current = true;
    }

    /// Timers of the tick `[now, end)`: ring cadence, auto-answer, the end
    /// of a flash, hanging up by itself.
    pub fn run_timers(&mut self, now: BoardTime, end: BoardTime, events: &mut Vec<BoardEvent>) {
        if let (Some(back), Some(t)) = (self.flash_back_at, self.hangs_up_at())
            && t < end
            && t <= back
        {
            // Due while on-hook in a flash: the flash becomes the hang-up.
            self.flash_back_at = None;
            self.cancel_hang_up();
        }
        if let Some(t) = self.flash_back_at.filter(|&t| t < end) {
            self.flash_back_at = None;
            self.set_hook(t.max(now), true, events);
        }
        if self.ringer.is_active() {
            let mut answer_at = None;
            let want = self.cfg.auto_answer_rings;
            self.ringer.run(end, |e| {
                if e.ring_over && want.is_some_and(|n| e.rings >= n.max(1)) && answer_at.is_none() {
                    // Auto-answer as the Nth ring ends.
                    answer_at = Some(e.at);
                }
            });
            if let Some(t) = answer_at {
                self.set_hook(t, true, events);
            }
        }
        if let Some(t) = self.hangs_up_at().filter(|&t| t < end) {
            self.cancel_hang_up();
            if self.off_hook {
                self.set_hook(t.max(now), false, events);
            }
        }
    }

    /// Audio for the tick starting at `now`.
    pub fn run_audio(&mut self, now: BoardTime, law: Law, from_port: &[u8], to_port: &mut [u8], lin: &mut [i16]) {
        if self.off_hook {
            g711::decode_block(law, from_port, lin);
            self.recorder.push(now, from_port);
            self.listener.hear(now, lin);
            if self.dtmf.is_idle() {
                self.player.tx(lin);
            } else {
                let n = self.dtmf.tx(lin);
                lin[n..].fill(0);
            }
            if let Some(t) = self.said.as_mut() {
                t.push(now, lin);
            }
            g711::encode_block(law, lin, to_port);
        } else {
            // On-hook transmission: only the caller-ID receivers listen.
            g711::decode_block(law, from_port, lin);
            self.fsk_events.clear();
            self.fsk_cid.rx(lin, &mut self.fsk_events);
            self.dtmf_cid_events.clear();
            self.dtmf_cid.rx(lin, &mut self.dtmf_cid_events);
            let fsk = self.fsk_events.iter().filter_map(|e| e.caller_id());
            let dtmf = self.dtmf_cid_events.iter().filter_map(|e| e.caller_id());
            for cid in fsk.chain(dtmf) {
                if let Some(n) = cid.number {
                    self.last_caller_id = Some(n);
                    self.caller_id_at = Some(now);
                }
            }
            to_port.fill(law.silence());
        }
    }

    /// What the phone heard while off-hook.
    pub fn recorder(&self) -> &Recorder {
        &self.recorder
    }

    /// Keep what the phone says and hears from now on, for voice watches.
    pub fn enable_taps(&mut self) {
        if self.said.is_none() {
            self.said = Some(Box::new(VoiceTap::new()));
        }
        self.listener.enable_tap();
    }

    /// The last moments said, if kept.
    pub fn said(&self) -> Option<&VoiceTap> {
        self.said.as_deref()
    }

    pub fn status(&self) -> PhoneStatus {
        PhoneStatus {
            phone: self.port.0,
            number: self.cfg.number.clone(),
            off_hook: self.off_hook,
            ringing: self.ringer.is_on(),
            rings: self.rings(),
            loop_current: self.loop_current,
            polarity: self.polarity,
            dialling: !self.dtmf.is_idle(),
            hears: if self.off_hook {
                self.listener.current_tone().map(|t| super::country::tone_words(t).to_string())
            } else {
                None
            },
            last_caller_id: self.last_caller_id.map(|n| n.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::Country;
    use ctibox_driver::hal::CommandKind;

    const TICK_MS: u64 = 20;

    /// A phone on port 1 of a Chinese board (ring 1 s on, 4 s off) driven
    /// tick by tick: commands at a tick's start, then its timers.
    struct Bench {
        phone: Phone,
        now: BoardTime,
        /// Hook events so far: (ms, off-hook).
        hook: Vec<(u64, bool)>,
        events: Vec<BoardEvent>,
    }

    impl Bench {
        fn new(cfg: PhoneConfig) -> Bench {
            let phone = Phone::new(
                ChannelId(1),
                cfg,
                Law::ALaw,
                CountryProfile::of(Country::Cn),
                &DtmfRxDescriptor::shared_default(),
                Duration::from_secs(1),
            )
            .unwrap();
            Bench { phone, now: BoardTime::ZERO, hook: Vec::new(), events: Vec::new() }
        }
        fn tick(&mut self, commands: &[CommandKind]) {
            for c in commands {
                self.phone.command(self.now, c);
            }
            let end = self.now + Duration::from_ms(TICK_MS);
            self.events.clear();
            self.phone.run_timers(self.now, end, &mut self.events);
            self.take_events();
            self.now = end;
        }
        fn take_events(&mut self) {
            for e in self.events.drain(..) {
                assert_eq!(e.target, ctibox_driver::hal::Target::Channel(ChannelId(1)));
                match e.kind {
                    EventKind::OffHook => self.hook.push((e.at.as_ms(), true)),
                    EventKind::OnHook => self.hook.push((e.at.as_ms(), false)),
                    k => panic!("unexpected {k:?}"),
                }
            }
        }
        /// Ticks until board time `ms` (a tick boundary).
        fn run_to(&mut self, ms: u64) {
            while self.now.as_ms() < ms {
                self.tick(&[]);
            }
        }
        /// Run a request at the current time, as the world does between a
        /// tick's commands and its timers.
        fn request(&mut self, f: impl FnOnce(&mut Phone, BoardTime, &mut Vec<BoardEvent>) -> Result<(), ControlError>) {
            self.events.clear();
            f(&mut self.phone, self.now, &mut self.events).unwrap();
            self.take_events();
        }
    }

    fn cfg(auto_answer: Option<u32>, talk_for: Option<u64>, on_release: Option<u64>) -> PhoneConfig {
        PhoneConfig {
            auto_answer_rings: auto_answer,
            talk_for: talk_for.map(Duration::from_ms),
            hang_up_on_release: on_release.map(Duration::from_ms),
            ..PhoneConfig::new("801")
        }
    }

    #[test]
    fn talk_for_hangs_up_at_its_sample_and_the_phone_answers_the_next_call() {
        // 20.005 s: not on a tick boundary, so the tick and the event time
        // are both checked.
        let mut b = Bench::new(cfg(Some(1), Some(20_005), None));
        for call in 0..3u64 {
            let rung = call * 30_000;
            b.run_to(rung);
            b.tick(&[CommandKind::RingStart]);
            // Answered as the first ring ends; the driver stops ringing.
            b.run_to(rung + 1_020);
            assert_eq!(b.phone.answered_at, Some(BoardTime::from_ms(rung + 1_000)), "call {call}");
            b.tick(&[CommandKind::RingStop]);
            assert_eq!(b.phone.hangs_up_at(), Some(BoardTime::from_ms(rung + 21_005)));
            // Still off-hook after the tick before the hang-up's.
            b.run_to(rung + 21_000);
            assert!(b.phone.off_hook, "call {call}: hung up early: {:?}", b.hook);
            b.tick(&[]);
            assert!(!b.phone.off_hook, "call {call}");
            assert_eq!(b.phone.ended_at, Some(BoardTime::from_ms(rung + 21_005)));
            assert_eq!(b.phone.hangs_up_at(), None);
        }
        assert_eq!(
            b.hook,
            vec![(1_000, true), (21_005, false), (31_000, true), (51_005, false), (61_000, true), (81_005, false)]
        );
    }

    #[test]
    fn talk_for_counts_from_answering_and_only_answered_calls() {
        // Answered on request (a step), not by itself.
        let mut b = Bench::new(cfg(None, Some(5_000), None));
        b.tick(&[CommandKind::RingStart]);
        b.run_to(2_500);
        b.request(Phone::answer);
        b.tick(&[CommandKind::RingStop]);
        b.run_to(10_000);
        assert_eq!(b.hook, vec![(2_500, true), (7_500, false)]);
        // Off-hook to make a call: not answering, so no hang-up.
        b.request(Phone::go_off_hook);
        b.run_to(60_000);
        assert!(b.phone.off_hook);
        assert_eq!(b.phone.hangs_up_at(), None);
        assert_eq!(b.hook, vec![(2_500, true), (7_500, false), (10_000, true)]);
    }

    #[test]
    fn a_flash_keeps_talk_for_and_hanging_up_by_hand_cancels_it() {
        let mut b = Bench::new(cfg(Some(1), Some(10_000), None));
        b.tick(&[CommandKind::RingStart]);
        b.run_to(1_020);
        b.tick(&[CommandKind::RingStop]);
        // A 600 ms flash at 3 s: the phone still hangs up at 11 s.
        b.run_to(3_000);
        b.request(Phone::flash);
        b.run_to(12_000);
        assert_eq!(b.hook, vec![(1_000, true), (3_000, false), (3_600, true), (11_000, false)]);
        // Next call: hung up by hand at 20 s; off-hook again at 40 s to
        // dial, the old timer (due at 30 s) is gone.
        b.hook.clear();
        b.run_to(19_000);
        b.tick(&[CommandKind::RingStart]);
        b.run_to(20_020);
        b.tick(&[CommandKind::RingStop]);
        b.request(Phone::hang_up);
        b.run_to(25_000);
        b.request(Phone::go_off_hook);
        b.run_to(40_000);
        assert_eq!(b.hook, vec![(20_000, true), (20_040, false), (25_000, true)]);
        assert!(b.phone.off_hook);
    }

    #[test]
    fn falling_due_in_a_flash_turns_the_flash_into_the_hang_up() {
        let mut b = Bench::new(cfg(Some(1), Some(3_000), None));
        b.tick(&[CommandKind::RingStart]);
        b.run_to(1_020);
        b.tick(&[CommandKind::RingStop]);
        // Flash at 3.8 s (back at 4.4 s); the hang-up falls due at 4 s.
        b.run_to(3_800);
        b.request(Phone::flash);
        b.run_to(10_000);
        assert_eq!(b.hook, vec![(1_000, true), (3_800, false)]);
        assert!(!b.phone.off_hook);
        assert_eq!(b.phone.hangs_up_at(), None);
    }

    #[test]
    fn release_hangs_up_after_the_delay_and_not_before() {
        let mut b = Bench::new(cfg(Some(1), None, Some(1_010)));
        b.tick(&[CommandKind::RingStart]);
        b.run_to(1_020);
        b.tick(&[CommandKind::RingStop]);
        b.run_to(5_000);
        // The driver's release: loop open for 500 ms (back on meanwhile does
        // not stop the phone), then busy tone.
        b.tick(&[CommandKind::SetLoopCurrent { on: false }]);
        assert_eq!(b.phone.ended_at, Some(BoardTime::from_ms(5_000)));
        assert_eq!(b.phone.hangs_up_at(), Some(BoardTime::from_ms(6_010)));
        b.run_to(5_500);
        b.tick(&[CommandKind::SetLoopCurrent { on: true }]);
        b.run_to(6_000);
        assert!(b.phone.off_hook, "hung up before the delay: {:?}", b.hook);
        b.tick(&[]);
        assert!(!b.phone.off_hook);
        assert_eq!(b.hook, vec![(1_000, true), (6_010, false)]);
        // Rung again, it answers again.
        b.run_to(10_000);
        b.tick(&[CommandKind::RingStart]);
        b.run_to(11_020);
        assert!(b.phone.off_hook);
        assert_eq!(b.hook.last(), Some(&(11_000, true)));
    }

    #[test]
    fn release_counts_only_for_an_off_hook_phone_with_the_rule() {
        // Without the rule the phone stays off-hook (its call ended).
        let mut b = Bench::new(cfg(None, None, None));
        b.request(Phone::go_off_hook);
        b.tick(&[CommandKind::SetLoopCurrent { on: false }]);
        b.run_to(60_000);
        assert!(b.phone.off_hook);
        assert_eq!(b.phone.ended_at, Some(BoardTime::ZERO));
        // Loop current withdrawn while on-hook: nothing to release.
        let mut b = Bench::new(cfg(None, None, Some(500)));
        b.tick(&[CommandKind::SetLoopCurrent { on: false }]);
        b.run_to(1_000);
        b.tick(&[CommandKind::SetLoopCurrent { on: true }]);
        b.request(Phone::go_off_hook);
        b.run_to(10_000);
        assert!(b.phone.off_hook);
        // Hung up by hand before the delay: the timer goes with the call.
        b.tick(&[CommandKind::SetLoopCurrent { on: false }]);
        b.request(Phone::hang_up);
        b.tick(&[CommandKind::SetLoopCurrent { on: true }]);
        b.request(Phone::go_off_hook);
        b.run_to(20_000);
        assert!(b.phone.off_hook);
        assert_eq!(b.hook, vec![(1_020, true), (10_020, false), (10_040, true)]);
    }

    #[test]
    fn the_earlier_rule_wins() {
        let mut b = Bench::new(cfg(Some(1), Some(20_000), Some(300)));
        b.tick(&[CommandKind::RingStart]);
        b.run_to(1_020);
        b.tick(&[CommandKind::RingStop]);
        b.run_to(4_000);
        b.tick(&[CommandKind::SetLoopCurrent { on: false }]);
        b.run_to(30_000);
        assert_eq!(b.hook, vec![(1_000, true), (4_300, false)]);
    }

    #[test]
    fn zero_talk_for_is_refused() {
        let e = Phone::new(
            ChannelId(3),
            cfg(Some(1), Some(0), None),
            Law::ALaw,
            CountryProfile::of(Country::Cn),
            &DtmfRxDescriptor::shared_default(),
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(e.contains("talk_for is 0"), "{e}");
    }
}
