//! A far end of a call: an inbound caller behind a CO line, or a party an
//! outbound call reaches. It speaks (its audio source, with DTMF keyed over
//! it), hears (recorder and listener), and keeps the facts of its calls.

use std::sync::Arc;

use ctibox_driver::dsp::dtmf::{DtmfGenerator, DtmfRxDescriptor, DtmfTxConfig};
use ctibox_driver::dsp::g711;
use ctibox_driver::hal::{BoardTime, ChannelId, Duration, Law};
use serde::{Deserialize, Serialize};

use super::audio::{AudioPlayer, AudioSource, Recorder};
use super::country::CountryProfile;
use super::listen::Listener;
use super::voice::VoiceTap;

/// Where a far end's call stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeerState {
    /// No call.
    Idle,
    /// Calling and hearing the line ring (caller), or being rung (party).
    Ringing,
    /// Connected.
    Talking,
    /// The last call has ended.
    Ended,
}

/// Why a far end's call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// The far end hung up (a caller or party's own hang-up).
    FarEndHungUp,
    /// Our board's port went on-hook.
    DriverHungUp,
    /// The caller gave up before the port answered.
    Abandoned,
    /// The party was busy.
    Busy,
    /// The party did not answer before the CO gave up.
    NoAnswer,
    /// The driver detached from the board.
    DriverDetached,
}

impl EndReason {
    pub fn name(self) -> &'static str {
        match self {
            EndReason::FarEndHungUp => "far end hung up",
            EndReason::DriverHungUp => "driver hung up",
            EndReason::Abandoned => "abandoned",
            EndReason::Busy => "busy",
            EndReason::NoAnswer => "no answer",
            EndReason::DriverDetached => "driver detached",
        }
    }
}

/// DTMF settings far ends key with: −8/−10 dBm0 (2 dB twist), 80 ms on,
/// 80 ms off.
pub fn default_peer_dtmf() -> DtmfTxConfig {
    DtmfTxConfig::new(-9.0, 2.0, 80, 80)
}

/// A caller or a called party.
#[derive(Debug)]
pub struct Peer {
    pub name: String,
    /// The caller's number (callers) or the party's number (parties).
    pub number: String,
    audio: AudioSource,
    player: AudioPlayer,
    dtmf: DtmfGenerator,
    pub(crate) listener: Listener,
    pub(crate) recorder: Recorder,
    /// The last moments said, kept when someone watches for this far end's
    /// voice ([`super::voice`]).
    said: Option<Box<VoiceTap>>,
    /// Whether what it hears is recorded and listened to
    /// ([`Peer::set_observed`]).
    observed: bool,
    pub state: PeerState,
    /// The FXO port of the current or last call.
    pub line: Option<ChannelId>,
    /// Calls made or received.
    pub calls: u32,
    /// Rings heard in the current or last call.
    pub rings: u32,
    pub started_at: Option<BoardTime>,
    pub answered_at: Option<BoardTime>,
    pub ended_at: Option<BoardTime>,
    pub end_reason: Option<EndReason>,
}

impl Peer {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        name: &str,
        number: &str,
        audio: AudioSource,
        law: Law,
        profile: &CountryProfile,
        dtmf_rx: &Arc<DtmfRxDescriptor>,
        dtmf_tx: DtmfTxConfig,
        record_limit: Duration,
    ) -> Self {
        let dtmf = DtmfGenerator::new(dtmf_tx)
            .or_else(|_| DtmfGenerator::new(default_peer_dtmf()))
            .unwrap_or_else(|_| unreachable_default());
        Peer {
            name: name.to_string(),
            number: number.to_string(),
            player: AudioPlayer::new(&audio),
            audio,
            dtmf,
            listener: Listener::new(profile, dtmf_rx),
            recorder: Recorder::new(law, record_limit),
            said: None,
            observed: true,
            state: PeerState::Idle,
            line: None,
            calls: 0,
            rings: 0,
            started_at: None,
            answered_at: None,
            ended_at: None,
            end_reason: None,
        }
    }

    /// Whether a call is in progress.
    pub fn in_call(&self) -> bool {
        matches!(self.state, PeerState::Ringing | PeerState::Talking)
    }

    /// A new call begins (ringing).
    pub fn begin(&mut self, at: BoardTime, line: ChannelId) {
        self.state = PeerState::Ringing;
        self.line = Some(line);
        self.calls += 1;
        self.rings = 0;
        self.started_at = Some(at);
        self.answered_at = None;
        self.ended_at = None;
        self.end_reason = None;
        self.dtmf.clear();
    }

    /// The call is answered: the far end starts speaking from the top of its
    /// audio source.
    pub fn connect(&mut self, at: BoardTime) {
        self.state = PeerState::Talking;
        self.answered_at = Some(at);
        self.player = AudioPlayer::new(&self.audio);
    }

    pub fn end(&mut self, at: BoardTime, why: EndReason) {
        if self.in_call() {
            self.state = PeerState::Ended;
            self.ended_at = Some(at);
            self.end_reason = Some(why);
            self.dtmf.clear();
        }
    }

    /// Key DTMF digits over the far end's audio (checked digits).
    pub fn key_dtmf(&mut self, digits: &str) -> Result<(), String> {
        self.dtmf.push(digits).map_err(|e| e.to_string())
    }

    /// What the far end says in the `out.len()` samples from `at`.
    pub fn speak(&mut self, at: BoardTime, out: &mut [i16]) {
        if self.dtmf.is_idle() {
            self.player.tx(out);
        } else {
            let n = self.dtmf.tx(out);
            out[n..].fill(0);
            // The talker pauses while keying; its source resumes afterwards
            // where it left off.
        }
        if let Some(t) = self.said.as_mut() {
            t.push(at, out);
        }
    }

    /// Keep what the far end says (and hears) from now on, for voice
    /// watches.
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

    /// The far end hears `codes` (of `law`), starting at `at`: while
    /// observed they are recorded; they are decoded into `scratch` for the
    /// listener only when it looks at samples
    /// ([`Listener::wants_samples`]).
    pub fn hear(&mut self, at: BoardTime, law: Law, codes: &[u8], scratch: &mut [i16]) {
        if self.observed {
            self.recorder.push(at, codes);
        }
        if self.listener.wants_samples() {
            let linear = &mut scratch[..codes.len()];
            g711::decode_block(law, codes, linear);
            self.listener.hear(at, linear);
        }
    }

    /// Record and run the listener's detectors and level meter (the
    /// default), or neither (see [`super::World::observe_far_ends`]).
    pub fn set_observed(&mut self, on: bool) {
        self.observed = on;
        self.listener.set_enabled(on);
    }

    /// Whether the far end records and listens.
    pub fn is_observed(&self) -> bool {
        self.observed
    }

    pub fn recorder(&self) -> &Recorder {
        &self.recorder
    }
    pub fn listener(&self) -> &Listener {
        &self.listener
    }
    pub fn audio(&self) -> &AudioSource {
        &self.audio
    }
    pub fn set_audio(&mut self, audio: AudioSource) {
        self.audio = audio;
    }
}

fn unreachable_default() -> DtmfGenerator {
    // The default settings always make a generator.
    #[allow(clippy::expect_used)]
    DtmfGenerator::new(DtmfTxConfig::default()).expect("default DTMF settings are valid")
}
