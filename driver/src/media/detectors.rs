//! The receive detectors of one channel, run by the engine on the audio the
//! channel hears: DTMF, call-progress tones, caller ID (FSK and DTMF), fax
//! and modem tones, voice activity.
//!
//! Every detector is built when the channel is set up (off the real-time
//! path); at run time a [`Detectors`] set says which of them look at the
//! audio. A detector switched on is reset and its sample positions count
//! from the board time it was switched on, so every event comes out in
//! board time. [`ChannelDetectors::rx`] allocates nothing: events go to a
//! caller's closure.

use std::sync::Arc;

use crate::dsp::cid::{CallerId, CallerIdReceiver, CidEvent, CidRxError, CidStandard};
use crate::dsp::cid_dtmf::{DtmfCidEvent, DtmfCidReceiver, DtmfCidRxConfig};
use crate::dsp::dtmf::{DtmfDetector, DtmfDigit, DtmfEvent, DtmfRxDescriptor};
use crate::dsp::faxtone::{FaxTone, FaxToneDetector, FaxToneEvent, FaxToneRxDescriptor};
use crate::dsp::tones::{Country, ToneDetector, ToneDetectorDescriptor, ToneEvent, ToneKind};
use crate::dsp::vad::{Vad, VadDescriptor, VadEvent};
use crate::hal::{BoardTime, Duration};

pub use crate::signaling::analog::Detectors;

/// Descriptors shared by every channel's detectors.
#[derive(Debug, Clone)]
pub struct DetectorShared {
    pub dtmf: Arc<DtmfRxDescriptor>,
    pub tones: Arc<ToneDetectorDescriptor>,
    pub fax: Arc<FaxToneRxDescriptor>,
    pub vad: Arc<VadDescriptor>,
    pub cid_dtmf: DtmfCidRxConfig,
}

impl DetectorShared {
    /// Defaults, with the call-progress tones of `country`.
    pub fn for_country(country: Country) -> Self {
        DetectorShared {
            dtmf: DtmfRxDescriptor::shared_default(),
            tones: country.detector(),
            fax: FaxToneRxDescriptor::shared_default(),
            vad: VadDescriptor::shared_default(),
            cid_dtmf: DtmfCidRxConfig::default(),
        }
    }
}

/// What the detectors of a channel report, in board time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DetectorEvent {
    /// A DTMF key has been recognised and is still down.
    DtmfBegin { digit: DtmfDigit, start: BoardTime },
    /// A DTMF key was released: the complete report.
    Dtmf { digit: DtmfDigit, start: BoardTime, end: BoardTime, level_dbm0: f32 },
    /// A call-progress tone's cadence was confirmed.
    Tone { kind: ToneKind, start: BoardTime, at: BoardTime, level_dbm0: f32 },
    /// The call-progress tone reported last ended.
    ToneEnd { kind: ToneKind, end: BoardTime },
    /// A caller-ID message was received (FSK or DTMF).
    CallerId { caller_id: CallerId, start: BoardTime, end: BoardTime, fsk: bool },
    /// A caller-ID message arrived damaged; no number is reported.
    CallerIdFailed { start: BoardTime, end: BoardTime, fsk: bool },
    /// A fax or modem tone was recognised.
    Fax { tone: FaxTone, start: BoardTime, at: BoardTime, level_dbm0: f32 },
    /// It stopped.
    FaxEnded { tone: FaxTone, end: BoardTime },
    /// Speech began.
    VoiceStart { start: BoardTime, at: BoardTime },
    /// Speech stopped (the hangover has passed).
    VoiceStop { end: BoardTime, at: BoardTime },
    /// No speech for the VAD's silence timeout.
    SilenceTimeout { since: BoardTime, at: BoardTime },
}

impl DetectorEvent {
    /// Board time the event was decided at (for ordering).
    pub fn at(&self) -> BoardTime {
        match *self {
            DetectorEvent::DtmfBegin { start, .. } => start,
            DetectorEvent::Dtmf { end, .. } => end,
            DetectorEvent::Tone { at, .. } | DetectorEvent::Fax { at, .. } => at,
            DetectorEvent::ToneEnd { end, .. } | DetectorEvent::FaxEnded { end, .. } => end,
            DetectorEvent::CallerId { end, .. } | DetectorEvent::CallerIdFailed { end, .. } => end,
            DetectorEvent::VoiceStart { at, .. }
            | DetectorEvent::VoiceStop { at, .. }
            | DetectorEvent::SilenceTimeout { at, .. } => at,
        }
    }
}

/// Board time of a detector position.
#[derive(Debug, Clone, Copy, Default)]
struct Clock {
    base: BoardTime,
}

impl Clock {
    fn at(self, pos: u64) -> BoardTime {
        self.base + Duration::from_samples(pos)
    }
}

/// One channel's detectors.
#[derive(Debug)]
pub struct ChannelDetectors {
    enabled: Detectors,
    dtmf: DtmfDetector,
    tones: ToneDetector,
    cid_fsk: CallerIdReceiver,
    cid_fsk_standard: CidStandard,
    cid_dtmf: DtmfCidReceiver,
    fax: FaxToneDetector,
    vad: Vad,
    clocks: [Clock; 6],
    // Scratch space for one call's events, sized at construction.
    dtmf_ev: Vec<DtmfEvent>,
    tone_ev: Vec<ToneEvent>,
    cid_ev: Vec<CidEvent>,
    cid_dtmf_ev: Vec<DtmfCidEvent>,
    fax_ev: Vec<FaxToneEvent>,
    vad_ev: Vec<VadEvent>,
}

const DTMF: usize = 0;
const TONES: usize = 1;
const CID_FSK: usize = 2;
const CID_DTMF: usize = 3;
const FAX: usize = 4;
const VAD: usize = 5;

impl ChannelDetectors {
    /// Build every detector (all off) with an FSK caller-ID receiver for
    /// `cid_standard`.
    pub fn new(shared: &DetectorShared, cid_standard: CidStandard) -> Self {
        ChannelDetectors {
            enabled: Detectors::NONE,
            dtmf: DtmfDetector::new(shared.dtmf.clone()),
            tones: ToneDetector::new(shared.tones.clone()),
            cid_fsk: CallerIdReceiver::new(cid_standard),
            cid_fsk_standard: cid_standard,
            cid_dtmf: DtmfCidReceiver::with_detector(shared.cid_dtmf, shared.dtmf.clone()),
            fax: FaxToneDetector::new(shared.fax.clone()),
            vad: Vad::new(shared.vad.clone()),
            clocks: [Clock::default(); 6],
            dtmf_ev: Vec::with_capacity(16),
            tone_ev: Vec::with_capacity(8),
            cid_ev: Vec::with_capacity(4),
            cid_dtmf_ev: Vec::with_capacity(4),
            fax_ev: Vec::with_capacity(8),
            vad_ev: Vec::with_capacity(8),
        }
    }

    pub fn enabled(&self) -> Detectors {
        self.enabled
    }
    pub fn cid_standard(&self) -> CidStandard {
        self.cid_fsk_standard
    }

    /// Switch detectors on and off; the first sample fed after this call is
    /// at board time `now`. A detector switched on starts afresh.
    pub fn set_enabled(&mut self, now: BoardTime, want: Detectors) {
        let was = self.enabled;
        let on = |w: bool, v: bool| w && !v;
        if on(want.dtmf, was.dtmf) {
            self.dtmf.reset();
            self.clocks[DTMF].base = now;
        }
        if on(want.tones, was.tones) {
            self.tones.reset();
            self.clocks[TONES].base = now;
        }
        if on(want.cid_fsk, was.cid_fsk) {
            self.cid_fsk.reset();
            self.clocks[CID_FSK].base = now;
        }
        if on(want.cid_dtmf, was.cid_dtmf) {
            self.cid_dtmf.reset();
            self.clocks[CID_DTMF].base = now;
        }
        if on(want.fax, was.fax) {
            self.fax.reset();
            self.clocks[FAX].base = now;
        }
        if on(want.vad, was.vad) {
            self.vad.reset();
            self.clocks[VAD].base = now;
        }
        self.enabled = want;
    }

    /// Run the enabled detectors over `samples` (the audio of one tick,
    /// starting at the board time that follows the previous call) and report
    /// what they found, in the order of the detectors.
    pub fn rx(&mut self, samples: &[i16], out: &mut impl FnMut(DetectorEvent)) {
        let en = self.enabled;
        if en.dtmf {
            let c = self.clocks[DTMF];
            self.dtmf_ev.clear();
            self.dtmf.rx(samples, &mut self.dtmf_ev);
            for e in &self.dtmf_ev {
                out(match *e {
                    DtmfEvent::Begin { digit, start } => DetectorEvent::DtmfBegin { digit, start: c.at(start) },
                    DtmfEvent::Digit(t) => DetectorEvent::Dtmf {
                        digit: t.digit,
                        start: c.at(t.start),
                        end: c.at(t.end),
                        level_dbm0: t.low_dbm0.min(t.high_dbm0),
                    },
                });
            }
        }
        if en.tones {
            let c = self.clocks[TONES];
            self.tone_ev.clear();
            self.tones.rx(samples, &mut self.tone_ev);
            for e in &self.tone_ev {
                out(match *e {
                    ToneEvent::Tone { kind, start, at, level_dbm0 } => {
                        DetectorEvent::Tone { kind, start: c.at(start), at: c.at(at), level_dbm0 }
                    }
                    ToneEvent::ToneEnd { kind, end, .. } => DetectorEvent::ToneEnd { kind, end: c.at(end) },
                });
            }
        }
        if en.cid_fsk {
            let c = self.clocks[CID_FSK];
            self.cid_ev.clear();
            self.cid_fsk.rx(samples, &mut self.cid_ev);
            for e in &self.cid_ev {
                match e {
                    CidEvent::Message { start, end, .. } => {
                        // A message-waiting or other message has no caller.
                        if let Some(cid) = e.caller_id() {
                            out(DetectorEvent::CallerId {
                                caller_id: *cid,
                                start: c.at(*start),
                                end: c.at(*end),
                                fsk: true,
                            })
                        }
                    }
                    CidEvent::Error { error, start, end } => {
                        let _: &CidRxError = error;
                        out(DetectorEvent::CallerIdFailed { start: c.at(*start), end: c.at(*end), fsk: true })
                    }
                }
            }
        }
        if en.cid_dtmf {
            let c = self.clocks[CID_DTMF];
            self.cid_dtmf_ev.clear();
            self.cid_dtmf.rx(samples, &mut self.cid_dtmf_ev);
            for e in &self.cid_dtmf_ev {
                out(match e {
                    DtmfCidEvent::CallerId { caller_id, start, end, .. } => DetectorEvent::CallerId {
                        caller_id: *caller_id,
                        start: c.at(*start),
                        end: c.at(*end),
                        fsk: false,
                    },
                    DtmfCidEvent::Error { start, end, .. } => {
                        DetectorEvent::CallerIdFailed { start: c.at(*start), end: c.at(*end), fsk: false }
                    }
                });
            }
        }
        if en.fax {
            let c = self.clocks[FAX];
            self.fax_ev.clear();
            self.fax.rx(samples, &mut self.fax_ev);
            for e in &self.fax_ev {
                out(match *e {
                    FaxToneEvent::Detected(r) => DetectorEvent::Fax {
                        tone: r.tone,
                        start: c.at(r.start),
                        at: c.at(r.at),
                        level_dbm0: r.level_dbm0,
                    },
                    FaxToneEvent::Ended { tone, end } => DetectorEvent::FaxEnded { tone, end: c.at(end) },
                });
            }
        }
        if en.vad {
            let c = self.clocks[VAD];
            self.vad_ev.clear();
            self.vad.rx(samples, &mut self.vad_ev);
            for e in &self.vad_ev {
                match *e {
                    VadEvent::VoiceStart { start, at } => {
                        out(DetectorEvent::VoiceStart { start: c.at(start), at: c.at(at) })
                    }
                    VadEvent::VoiceStop { end, at } => out(DetectorEvent::VoiceStop { end: c.at(end), at: c.at(at) }),
                    VadEvent::SilenceTimeout { since, at } => {
                        out(DetectorEvent::SilenceTimeout { since: c.at(since), at: c.at(at) })
                    }
                    // Steady tones are the tone detector's business.
                    VadEvent::ToneStart { .. } | VadEvent::ToneStop { .. } => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::dtmf::{DtmfGenerator, DtmfTxConfig};

    #[test]
    fn events_come_out_in_board_time_and_only_when_enabled() {
        let shared = DetectorShared::for_country(Country::Cn);
        let mut d = ChannelDetectors::new(&shared, CidStandard::Bell202);
        let mut g = DtmfGenerator::new(DtmfTxConfig::default()).unwrap();
        g.push("5").unwrap();
        let mut audio = vec![0i16; 1600];
        g.tx(&mut audio[400..]);
        let mut seen = Vec::new();
        // Off: nothing is reported.
        for chunk in audio.chunks(160) {
            d.rx(chunk, &mut |e| seen.push(e));
        }
        assert!(seen.is_empty());
        // On from board time 10 s: the digit at sample 400 of this audio is
        // at 10.050 s.
        d.set_enabled(BoardTime::from_ms(10_000), Detectors { dtmf: true, ..Detectors::NONE });
        for chunk in audio.chunks(160) {
            d.rx(chunk, &mut |e| seen.push(e));
        }
        let digit = seen.iter().find_map(|e| match e {
            DetectorEvent::Dtmf { digit, start, .. } => Some((*digit, *start)),
            _ => None,
        });
        let (digit, start) = digit.expect("a digit");
        assert_eq!(digit.as_char(), '5');
        assert!(start.as_ms().abs_diff(10_050) <= 2, "{start}");
    }
}
