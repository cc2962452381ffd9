//! What a far end makes of the audio it hears: DTMF digits, call-progress
//! tones, and whether anything is sounding at all.
//!
//! - DTMF: [`ctibox_driver::dsp::dtmf::DtmfDetector`]; digits are kept with
//!   the board time they began.
//! - Level: mean power per 20 ms block against [`AUDIO_THRESHOLD_DBM0`].
//! - Call-progress tones: [`ToneClassifier`], a small cadence matcher over
//!   the country's tone table ([`super::country`]). Each 20 ms block is
//!   measured with Goertzel filters on every frequency the country's tones
//!   use (20 ms gives 50 Hz bins, enough to tell 440 from 480 Hz and 400
//!   from 450 Hz); a block is *tone* when those filters hold most of its
//!   power, and the set of frequencies present is its mask. Runs of equal
//!   blocks form segments; a tone is recognised when the latest segments
//!   match consecutive steps of its cadence (mask equal, length within
//!   ±max(12 %, 50 ms)), at least one sounding step and one more; a long
//!   step in progress counts once it has lasted its length (at most 1 s).
//!   A continuous tone is recognised after it has sounded longer than any
//!   cadenced tone with the same frequencies could. Segments of a single
//!   block are edge effects and are dropped.
//!
//! Nothing here allocates after construction.

use std::sync::Arc;

use ctibox_driver::dsp::dtmf::{DtmfDetector, DtmfEvent, DtmfRxDescriptor};
use ctibox_driver::dsp::goertzel::{GoertzelDescriptor, GoertzelState};
use ctibox_driver::dsp::level;
use ctibox_driver::hal::{BoardTime, Duration};

use super::country::{CountryProfile, ProgressTone};

/// A 20 ms block louder than this is "audio".
pub const AUDIO_THRESHOLD_DBM0: f64 = -45.0;
/// Samples per analysis block (20 ms).
pub const BLOCK_SAMPLES: usize = 160;
/// Most DTMF digits remembered.
pub const DIGIT_LOG: usize = 256;

const MAX_FILTERS: usize = 8;
const HISTORY: usize = 12;
const TONE_SHARE: f64 = 0.6;
const FREQ_SHARE: f64 = 0.15;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SegKind {
    /// Silence.
    Off,
    /// A tone; bit i = filter i.
    On(u8),
    /// Sound that is not a tone of the table (speech, DTMF…).
    Other,
}

#[derive(Debug, Clone, Copy)]
struct Segment {
    kind: SegKind,
    blocks: u32,
}

/// One cadence step: mask (0 = silence) and length in blocks ×10 (0 =
/// forever), kept in milliseconds for tolerance.
#[derive(Debug, Clone, Copy, Default)]
struct Step {
    mask: u8,
    ms: u32,
}

#[derive(Debug, Clone, Copy)]
struct ToneModel {
    tone: ProgressTone,
    steps: [Step; 8],
    len: usize,
    continuous: bool,
    /// Continuous tones: blocks of sound needed.
    min_blocks: u32,
}

/// Recognises the call-progress tones of one country. See the module doc.
#[derive(Debug, Clone)]
pub struct ToneClassifier {
    filters: [GoertzelDescriptor; MAX_FILTERS],
    /// Mask bit of each filter's frequency group.
    group: [u8; MAX_FILTERS],
    states: [GoertzelState; MAX_FILTERS],
    nfilters: usize,
    models: [Option<ToneModel>; 6],
    fill: usize,
    power_acc: f64,
    history: [Segment; HISTORY],
    hlen: usize,
    current: Segment,
    tone: Option<ProgressTone>,
}

fn tol_ms(ms: u32) -> u32 {
    (ms * 12 / 100).max(50)
}

impl ToneClassifier {
    pub fn new(profile: &CountryProfile) -> Self {
        let freqs = profile.tone_frequencies();
        let nfilters = freqs.len().min(MAX_FILTERS);
        let mut filters = [GoertzelDescriptor::new(0.0, BLOCK_SAMPLES); MAX_FILTERS];
        for (d, f) in filters.iter_mut().zip(&freqs) {
            *d = GoertzelDescriptor::new(*f, BLOCK_SAMPLES);
        }
        let mut group = [0u8; MAX_FILTERS];
        for i in 0..nfilters {
            let first = (0..i).find(|&j| (freqs[j] - freqs[i]).abs() < 30.0).unwrap_or(i);
            group[i] = group[first].max(if first == i { i as u8 } else { 0 });
        }
        let mask_of = |fs: &[f32]| -> u8 {
            let mut m = 0u8;
            for f in fs {
                if let Some(i) = freqs.iter().take(nfilters).position(|x| x == f) {
                    m |= 1 << group[i];
                }
            }
            m
        };
        let mut models = [None; 6];
        for (slot, t) in models.iter_mut().zip(ProgressTone::ALL) {
            let (steps, repeat) = profile.tone_steps(t);
            let mut m = ToneModel {
                tone: t,
                steps: [Step::default(); 8],
                len: steps.len().min(8),
                continuous: !repeat,
                min_blocks: 0,
            };
            for (s, (fs, ms)) in m.steps.iter_mut().zip(steps.iter()) {
                *s = Step { mask: mask_of(fs), ms: *ms };
            }
            *slot = Some(m);
        }
        // A continuous tone must outlast every sounding step with its mask.
        for i in 0..models.len() {
            let Some(m) = models[i] else { continue };
            if !m.continuous {
                continue;
            }
            let mask = m.steps[0].mask;
            let mut longest = 0;
            for other in models.iter().flatten() {
                if other.continuous {
                    continue;
                }
                for s in &other.steps[..other.len] {
                    if s.mask == mask {
                        longest = longest.max(s.ms + tol_ms(s.ms));
                    }
                }
            }
            let need_ms = (longest + 100).max(300);
            if let Some(mm) = models[i].as_mut() {
                mm.min_blocks = need_ms.div_ceil(20);
            }
        }
        ToneClassifier {
            filters,
            group,
            states: [GoertzelState::new(); MAX_FILTERS],
            nfilters,
            models,
            fill: 0,
            power_acc: 0.0,
            history: [Segment { kind: SegKind::Off, blocks: 0 }; HISTORY],
            hlen: 0,
            current: Segment { kind: SegKind::Off, blocks: 0 },
            tone: None,
        }
    }

    /// Drop a partly filled block (the audio had a gap).
    pub fn restart_block(&mut self) {
        self.fill = 0;
        self.power_acc = 0.0;
        self.states = [GoertzelState::new(); MAX_FILTERS];
    }

    /// The tone sounding now, as far as the blocks so far tell.
    pub fn current(&self) -> Option<ProgressTone> {
        self.tone
    }

    /// Feed samples; `on_block` is called after each complete block with
    /// the block's power in dBm0 and the tone recognised.
    pub fn rx(&mut self, samples: &[i16], mut on_block: impl FnMut(f64, Option<ProgressTone>)) {
        let mut rest = samples;
        while !rest.is_empty() {
            let n = (BLOCK_SAMPLES - self.fill).min(rest.len());
            let (chunk, tail) = rest.split_at(n);
            for (st, d) in self.states.iter_mut().zip(&self.filters).take(self.nfilters) {
                st.update(d, chunk);
            }
            self.power_acc += chunk.iter().map(|&s| s as f64 * s as f64).sum::<f64>();
            self.fill += n;
            rest = tail;
            if self.fill == BLOCK_SAMPLES {
                let p = self.end_block();
                on_block(p, self.tone);
            }
        }
    }

    fn end_block(&mut self) -> f64 {
        let total = self.power_acc / BLOCK_SAMPLES as f64;
        self.power_acc = 0.0;
        self.fill = 0;
        let n2 = (BLOCK_SAMPLES * BLOCK_SAMPLES) as f64;
        // Power per frequency group (filters closer than 30 Hz, such as
        // 440/450 Hz, see the same tone and form one group).
        let mut power = [0f64; MAX_FILTERS];
        for i in 0..self.nfilters {
            let p = 2.0 * self.states[i].result(&self.filters[i]) as f64 / n2;
            let g = self.group[i] as usize;
            power[g] = power[g].max(p);
        }
        let mut mask = 0u8;
        let mut in_mask = 0.0;
        for (g, &p) in power.iter().enumerate() {
            if total > 0.0 && p >= FREQ_SHARE * total {
                mask |= 1 << g;
                in_mask += p;
            }
        }
        let dbm0 = level::power_to_dbm0(total);
        let kind = if dbm0 < AUDIO_THRESHOLD_DBM0 {
            SegKind::Off
        } else if mask != 0 && in_mask >= TONE_SHARE * total {
            SegKind::On(mask)
        } else {
            SegKind::Other
        };
        if kind == self.current.kind {
            self.current.blocks = self.current.blocks.saturating_add(1);
        } else {
            if self.current.blocks > 1 {
                if self.hlen == HISTORY {
                    self.history.copy_within(1.., 0);
                    self.hlen -= 1;
                }
                self.history[self.hlen] = self.current;
                self.hlen += 1;
            }
            self.current = Segment { kind, blocks: 1 };
        }
        self.tone = self.classify();
        dbm0
    }

    fn classify(&self) -> Option<ProgressTone> {
        // Among the tones the segments are consistent with, the one whose
        // completed segments fit best decides; it is reported once confirmed.
        // When another tone fits the same segments as well, wait.
        let mut fits: [Option<Fit>; 6] = [None; 6];
        for (f, m) in fits.iter_mut().zip(&self.models) {
            *f = m.as_ref().and_then(|m| self.fit(m));
        }
        let mut best: Option<(Fit, usize)> = None;
        for (i, f) in fits.iter().enumerate() {
            let Some(fit) = *f else { continue };
            let better = match &best {
                None => true,
                Some((b, _)) => (fit.err, usize::MAX - fit.count) < (b.err, usize::MAX - b.count),
            };
            if better {
                best = Some((fit, i));
            }
        }
        let (fit, i) = best.filter(|(f, _)| f.confirmed)?;
        let rival = fits
            .iter()
            .enumerate()
            .any(|(j, f)| j != i && f.is_some_and(|g| g.completed >= fit.completed && g.err <= fit.err));
        if rival { None } else { self.models[i].map(|m| m.tone) }
    }

    fn seg_mask(kind: SegKind) -> Option<u8> {
        match kind {
            SegKind::Off => Some(0),
            SegKind::On(m) => Some(m),
            SegKind::Other => None,
        }
    }

    /// How the segments fit `m`; `None` when they contradict it.
    fn fit(&self, m: &ToneModel) -> Option<Fit> {
        let cur_ms = self.current.blocks * 20;
        let cur_mask = Self::seg_mask(self.current.kind)?;
        if m.continuous {
            let s = m.steps[0];
            if cur_mask != s.mask || s.mask == 0 {
                return None;
            }
            return Some(Fit { count: 1, completed: 0, err: 0, confirmed: self.current.blocks >= m.min_blocks });
        }
        let mut best: Option<Fit> = None;
        for r in 0..m.len {
            let st = m.steps[r];
            if st.mask != cur_mask || cur_ms > st.ms + tol_ms(st.ms) {
                continue;
            }
            let enough = cur_ms + tol_ms(st.ms) >= st.ms.min(1000 + tol_ms(st.ms));
            let mut count = usize::from(enough);
            let mut sounding = enough && st.mask != 0;
            let mut completed = 0usize;
            let mut err = 0u32;
            let mut idx = r;
            for h in self.history[..self.hlen].iter().rev() {
                idx = (idx + m.len - 1) % m.len;
                let want = m.steps[idx];
                let Some(mask) = Self::seg_mask(h.kind) else { break };
                let ms = h.blocks * 20;
                if mask != want.mask || ms.abs_diff(want.ms) > tol_ms(want.ms) {
                    break;
                }
                count += 1;
                completed += 1;
                err += ms.abs_diff(want.ms);
                sounding |= want.mask != 0;
                if count > m.len {
                    break;
                }
            }
            if completed == 0 && !enough {
                continue;
            }
            // Mean error over completed segments; none completed fits worst.
            let err = if completed == 0 { u32::MAX } else { err / completed as u32 };
            let fit = Fit { count, completed, err, confirmed: count >= 2 && sounding };
            if best.is_none_or(|b| {
                (fit.confirmed, fit.count, u32::MAX - fit.err) > (b.confirmed, b.count, u32::MAX - b.err)
            }) {
                best = Some(fit);
            }
        }
        best
    }
}

/// How well recent segments fit a tone's cadence.
#[derive(Debug, Clone, Copy)]
struct Fit {
    /// Segments matched (the one in progress counts when long enough).
    count: usize,
    /// Completed segments matched.
    completed: usize,
    /// Mean length error of the completed segments, ms.
    err: u32,
    confirmed: bool,
}

/// Everything one far end hears, digested.
#[derive(Debug, Clone)]
pub struct Listener {
    dtmf: DtmfDetector,
    dtmf_events: Vec<DtmfEvent>,
    /// Digits heard (ASCII) and when each began.
    digits: [(u8, BoardTime); DIGIT_LOG],
    ndigits: usize,
    tones: ToneClassifier,
    /// Board time of the next sample fed.
    at: BoardTime,
    /// Start time of the last block louder than the threshold.
    last_audio: Option<BoardTime>,
    /// Last time each tone was recognised.
    tone_heard: [Option<BoardTime>; 6],
    /// Board time of sample 0 of the DTMF detector.
    dtmf_origin: BoardTime,
}

impl Listener {
    pub fn new(profile: &CountryProfile, dtmf: &Arc<DtmfRxDescriptor>) -> Self {
        Listener {
            dtmf: DtmfDetector::new(dtmf.clone()),
            dtmf_events: Vec::with_capacity(16),
            digits: [(0, BoardTime::ZERO); DIGIT_LOG],
            ndigits: 0,
            tones: ToneClassifier::new(profile),
            at: BoardTime::ZERO,
            last_audio: None,
            tone_heard: [None; 6],
            dtmf_origin: BoardTime::ZERO,
        }
    }

    /// Hear `samples` that start at board time `at`. A gap since the last
    /// call is skipped (the detectors restart at `at`).
    pub fn hear(&mut self, at: BoardTime, samples: &[i16]) {
        if at != self.at {
            self.dtmf.reset();
            self.tones.restart_block();
            self.dtmf_origin = at;
            self.at = at;
        }
        self.dtmf_events.clear();
        self.dtmf.rx(samples, &mut self.dtmf_events);
        for ev in &self.dtmf_events {
            if let DtmfEvent::Begin { digit, start } = ev {
                if self.ndigits == DIGIT_LOG {
                    self.digits.copy_within(DIGIT_LOG / 2.., 0);
                    self.ndigits -= DIGIT_LOG / 2;
                }
                self.digits[self.ndigits] = (digit.as_char() as u8, self.dtmf_origin + Duration::from_samples(*start));
                self.ndigits += 1;
            }
        }
        // Start of the block being filled, in samples.
        let origin = at.samples().saturating_sub(self.tones.fill as u64);
        let mut i = 0u64;
        let (last_audio, tone_heard) = (&mut self.last_audio, &mut self.tone_heard);
        self.tones.rx(samples, |dbm0, tone| {
            let start = BoardTime::from_samples(origin + i * BLOCK_SAMPLES as u64);
            if dbm0 >= AUDIO_THRESHOLD_DBM0 {
                *last_audio = Some(start);
            }
            if let Some(tn) = tone {
                tone_heard[tn.index()] = Some(start);
            }
            i += 1;
        });
        self.at = at + Duration::from_samples(samples.len() as u64);
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

    /// When `tone` was last recognised.
    pub fn tone_heard(&self, tone: ProgressTone) -> Option<BoardTime> {
        self.tone_heard[tone.index()]
    }

    /// The call-progress tone sounding now.
    pub fn current_tone(&self) -> Option<ProgressTone> {
        self.tones.current()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::country::Country;
    use ctibox_driver::dsp::tonegen::ToneGenerator;

    fn hear_tone(c: Country, t: ProgressTone, ms: usize) -> (Listener, Vec<Option<ProgressTone>>) {
        let p = CountryProfile::of(c);
        let mut l = Listener::new(p, &DtmfRxDescriptor::shared_default());
        let mut g = ToneGenerator::new(&p.tone(t));
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
    fn recognises_every_tone_of_every_country() {
        for c in [Country::CN, Country::RU, Country::US, Country::UK, Country::EU] {
            for t in ProgressTone::ALL {
                let (l, seen) = hear_tone(c, t, 12_000);
                assert!(l.tone_heard(t).is_some(), "{c} {t:?}: never recognised");
                for (k, s) in seen.iter().enumerate() {
                    if let Some(s) = s {
                        assert_eq!(*s, t, "{c} {t:?} taken for {s:?} at {} ms", k * 20);
                    }
                }
            }
        }
    }

    #[test]
    fn recognition_is_quick() {
        let first = |c, t| {
            let (_, seen) = hear_tone(c, t, 6000);
            seen.iter().position(|s| *s == Some(t)).map(|k| k * 20)
        };
        assert!(first(Country::CN, ProgressTone::Dial).unwrap() <= 1500);
        assert!(first(Country::US, ProgressTone::Dial).unwrap() <= 400);
        assert!(first(Country::CN, ProgressTone::Busy).unwrap() <= 800);
        assert!(first(Country::CN, ProgressTone::Ringback).unwrap() <= 2200);
        assert!(first(Country::US, ProgressTone::Ringback).unwrap() <= 3200);
    }
}
