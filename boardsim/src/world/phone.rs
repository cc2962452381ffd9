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
            return Ok(());
        }
        if !self.off_hook {
            return Err(ControlError::OnHook(self.port.0));
        }
        self.set_hook(at, false, events);
        Ok(())
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
    /// of a flash.
    pub fn run_timers(&mut self, now: BoardTime, end: BoardTime, events: &mut Vec<BoardEvent>) {
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
