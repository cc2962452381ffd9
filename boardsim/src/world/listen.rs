//! What a far end makes of the audio it hears: DTMF digits, call-progress
//! tones, and whether anything is sounding at all.
//!
//! - DTMF: [`ctibox_driver::dsp::dtmf::DtmfDetector`]; digits are kept with
//!   the board time they began.
//! - Call-progress tones: [`ctibox_driver::dsp::tones::ToneDetector`] with
//!   the country's shared profile; while a tone is reported, every call
//!   refreshes the time it was last heard.
//! - Level: mean power per 20 ms block against [`AUDIO_THRESHOLD_DBM0`]
//!   (summed in integers; compared with the threshold's power, no log).
//!
//! A listener can be switched off ([`Listener::set_enabled`]) when nobody
//! can ask what it heard: it then costs nothing but its voice tap, if one
//! is kept. Switched back on, it starts over as after a gap.
//!
//! Nothing here allocates after construction.

use std::sync::Arc;

use ctibox_driver::dsp::dtmf::{DtmfDetector, DtmfEvent, DtmfRxDescriptor};
use ctibox_driver::dsp::level;
use ctibox_driver::dsp::tones::{ToneDetector, ToneEvent};
use ctibox_driver::hal::{BoardTime, Duration};

use super::country::{CountryProfile, ProgressTone, tone_index};
use super::voice::VoiceTap;

/// A 20 ms block louder than this is "audio".
pub const AUDIO_THRESHOLD_DBM0: f64 = -45.0;
/// Samples per level block (20 ms).
pub const BLOCK_SAMPLES: usize = 160;
/// Most DTMF digits remembered.
pub const DIGIT_LOG: usize = 256;

const TONES: usize = ProgressTone::ALL.len();

/// Everything one far end hears, digested.
#[derive(Debug, Clone)]
pub struct Listener {
    dtmf: DtmfDetector,
    dtmf_events: Vec<DtmfEvent>,
    /// Digits heard (ASCII) and when each began.
    digits: [(u8, BoardTime); DIGIT_LOG],
    ndigits: usize,
    tones: Option<ToneDetector>,
    tone_events: Vec<ToneEvent>,
    /// The tone reported and not ended.
    current: Option<ProgressTone>,
    /// Board time of the next sample fed.
    at: BoardTime,
    /// Board time of sample 0 of the detectors.
    origin: BoardTime,
    /// Whether the detectors and the level meter run.
    enabled: bool,
    /// Level block being filled.
    fill: usize,
    /// Sum of the squares of the block's samples so far.
    energy: u64,
    /// Mean square of a block at [`AUDIO_THRESHOLD_DBM0`].
    threshold_power: f64,
    /// Start time of the last block louder than the threshold.
    last_audio: Option<BoardTime>,
    /// Last time each tone was heard.
    tone_heard: [Option<BoardTime>; TONES],
    /// The last moments heard, kept when someone watches whose voice this
    /// far end hears ([`super::voice`]).
    tap: Option<Box<VoiceTap>>,
}

impl Listener {
    pub fn new(profile: &CountryProfile, dtmf: &Arc<DtmfRxDescriptor>) -> Self {
        Listener {
            dtmf: DtmfDetector::new(dtmf.clone()),
            dtmf_events: Vec::with_capacity(16),
            digits: [(0, BoardTime::ZERO); DIGIT_LOG],
            ndigits: 0,
            tones: profile.detector.as_ref().map(|d| ToneDetector::new(d.clone())),
            tone_events: Vec::with_capacity(8),
            current: None,
            at: BoardTime::ZERO,
            origin: BoardTime::ZERO,
            enabled: true,
            fill: 0,
            energy: 0,
            threshold_power: level::dbm0_to_power(AUDIO_THRESHOLD_DBM0),
            last_audio: None,
            tone_heard: [None; TONES],
            tap: None,
        }
    }

    /// Keep the last moments heard from now on, for voice watches.
    pub fn enable_tap(&mut self) {
        if self.tap.is_none() {
            self.tap = Some(Box::new(VoiceTap::new()));
        }
    }

    /// The last moments heard, if kept.
    pub fn tap(&self) -> Option<&VoiceTap> {
        self.tap.as_deref()
    }

    /// Run the detectors and the level meter (the default), or not. While
    /// off, [`Listener::hear`] only feeds the voice tap; back on, the
    /// detectors start over at the next sample heard.
    pub fn set_enabled(&mut self, on: bool) {
        self.enabled = on;
    }

    /// Whether the detectors and the level meter run.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// Whether [`Listener::hear`] looks at the samples at all (detectors
    /// on, or a voice tap kept): when not, the caller need not decode them.
    pub fn wants_samples(&self) -> bool {
        self.enabled || self.tap.is_some()
    }

    /// Hear `samples` that start at board time `at`. After a gap the
    /// detectors start over at `at`.
    pub fn hear(&mut self, at: BoardTime, samples: &[i16]) {
        if !self.enabled {
            // `self.at` stays behind, so turning back on starts over.
            if let Some(t) = self.tap.as_mut() {
                t.push(at, samples);
            }
            return;
        }
        if at != self.at {
            self.dtmf.reset();
            if let Some(t) = self.tones.as_mut() {
                t.reset();
            }
            self.current = None;
            self.fill = 0;
            self.energy = 0;
            self.origin = at;
        }
        let end = at + Duration::from_samples(samples.len() as u64);
        if let Some(t) = self.tap.as_mut() {
            t.push(at, samples);
        }
        self.dtmf_events.clear();
        self.dtmf.rx(samples, &mut self.dtmf_events);
        for ev in &self.dtmf_events {
            if let DtmfEvent::Begin { digit, start } = ev {
                if self.ndigits == DIGIT_LOG {
                    self.digits.copy_within(DIGIT_LOG / 2.., 0);
                    self.ndigits -= DIGIT_LOG / 2;
                }
                self.digits[self.ndigits] = (digit.as_char() as u8, self.origin + Duration::from_samples(*start));
                self.ndigits += 1;
            }
        }
        if let Some(det) = self.tones.as_mut() {
            self.tone_events.clear();
            det.rx(samples, &mut self.tone_events);
            for ev in &self.tone_events {
                match *ev {
                    ToneEvent::Tone { kind, start, .. } => {
                        self.current = Some(kind);
                        let t = self.origin + Duration::from_samples(start);
                        self.tone_heard[tone_index(kind)] = Some(t.max(at));
                    }
                    ToneEvent::ToneEnd { kind, .. } => {
                        if self.current == Some(kind) {
                            self.current = None;
                        }
                    }
                }
            }
            if let Some(k) = self.current {
                self.tone_heard[tone_index(k)] = Some(end);
            }
        }
        // Level, per 20 ms block.
        let mut block_start = at.samples().saturating_sub(self.fill as u64);
        let mut rest = samples;
        while !rest.is_empty() {
            let take = (BLOCK_SAMPLES - self.fill).min(rest.len());
            let (part, later) = rest.split_at(take);
            self.energy += part.iter().map(|&s| (s as i32 * s as i32) as u64).sum::<u64>();
            self.fill += take;
            rest = later;
            if self.fill == BLOCK_SAMPLES {
                if self.energy as f64 / BLOCK_SAMPLES as f64 >= self.threshold_power {
                    self.last_audio = Some(BoardTime::from_samples(block_start));
                }
                block_start += BLOCK_SAMPLES as u64;
                self.fill = 0;
                self.energy = 0;
            }
        }
        self.at = end;
    }

    /// Whether `digits` were heard, in order and back to back, with the
    /// first beginning at or after `since`.
    pub fn heard_digits(&self, digits: &str, since: BoardTime) -> bool {
        let want = digits.as_bytes();
        if want.is_empty() {
            return true;
        }
        let log = &self.digits[..self.ndigits];
        let first = log.iter().position(|&(_, t)| t >= since).unwrap_or(log.len());
        let heard = &log[first..];
        heard.windows(want.len()).any(|w| w.iter().zip(want).all(|(&(c, _), &d)| c == d.to_ascii_uppercase()))
    }

    /// Digits heard since `since`, as a string (allocates: for reports).
    pub fn digits_since(&self, since: BoardTime) -> String {
        self.digits[..self.ndigits].iter().filter(|&&(_, t)| t >= since).map(|&(c, _)| c as char).collect()
    }

    /// When a block louder than [`AUDIO_THRESHOLD_DBM0`] last began.
    pub fn last_audio(&self) -> Option<BoardTime> {
        self.last_audio
    }

    /// When `tone` was last heard.
    pub fn tone_heard(&self, tone: ProgressTone) -> Option<BoardTime> {
        self.tone_heard[tone_index(tone)]
    }

    /// The call-progress tone sounding now.
    pub fn current_tone(&self) -> Option<ProgressTone> {
        self.current
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::country::Country;

    fn hear_tone(c: Country, t: ProgressTone, ms: usize) -> (Listener, Vec<Option<ProgressTone>>) {
        let p = CountryProfile::of(c);
        let mut l = Listener::new(p, &DtmfRxDescriptor::shared_default());
        let mut g = p.tones.generator(t).unwrap();
        let mut buf = [0i16; 160];
        let mut seen = Vec::new();
        for k in 0..ms / 20 {
            g.tx(&mut buf);
            l.hear(BoardTime::from_ms(20 * k as u64), &buf);
            seen.push(l.current_tone());
        }
        (l, seen)
    }

    #[test]
    fn recognises_the_tones_of_every_country() {
        for c in Country::ALL {
            for t in [ProgressTone::Dial, ProgressTone::Ringback, ProgressTone::Busy, ProgressTone::Congestion] {
                let (l, seen) = hear_tone(c, t, 12_000);
                assert!(l.tone_heard(t).is_some(), "{c} {t:?}: never recognised");
                for s in seen.iter().flatten() {
                    assert_eq!(*s, t, "{c} {t:?} taken for {s:?}");
                }
            }
        }
    }

    #[test]
    fn level_and_digits() {
        let p = CountryProfile::of(Country::Cn);
        let mut l = Listener::new(p, &DtmfRxDescriptor::shared_default());
        let s = ctibox_driver::dsp::dtmf::dtmf_samples("12", Default::default()).unwrap();
        l.hear(BoardTime::from_ms(1000), &s);
        assert!(l.heard_digits("12", BoardTime::from_ms(1000)));
        assert!(!l.heard_digits("12", BoardTime::from_ms(1100)));
        assert_eq!(l.digits_since(BoardTime::ZERO), "12");
        assert!(l.last_audio().is_some_and(|t| t >= BoardTime::from_ms(1000)));
    }
}
