//! Tone generator: one or two frequencies at exact levels, played through a
//! cadence of up to [`MAX_TONE_STEPS`] steps (dial tone, ringback, busy,
//! SIT, DTMF digits, fax CNG, ring signals…).
//!
//! A [`ToneSpec`] says what to play; [`ToneGenerator::new`] turns it into
//! phase increments and amplitudes once, then [`ToneGenerator::tx`] fills
//! any block length and keeps its place across calls. Frequencies are exact
//! to 2 µHz (32-bit phase accumulator at 8 kHz); the sine comes from a
//! 1024-point table with linear interpolation (spurious products below
//! −110 dB). Nothing allocates after construction; `ToneSpec` is `Copy`.

use std::sync::LazyLock;

use super::level::dbm0_to_peak;

/// Most steps in one cadence.
pub const MAX_TONE_STEPS: usize = 8;
/// Most frequencies sounding at once in one step.
pub const MAX_TONE_FREQS: usize = 2;

const TABLE_BITS: u32 = 10;
const TABLE_LEN: usize = 1 << TABLE_BITS;

static SINE: LazyLock<[f32; TABLE_LEN + 1]> = LazyLock::new(|| {
    let mut t = [0f32; TABLE_LEN + 1];
    for (i, v) in t.iter_mut().enumerate() {
        *v = (2.0 * std::f64::consts::PI * i as f64 / TABLE_LEN as f64).sin() as f32;
    }
    t
});

/// sin(2π·phase/2^32), by table and interpolation.
#[inline]
pub fn sine_of_phase(table: &[f32; TABLE_LEN + 1], phase: u32) -> f32 {
    let idx = (phase >> (32 - TABLE_BITS)) as usize;
    let frac = (phase << TABLE_BITS) as f32 * (1.0 / 4_294_967_296.0);
    let a = table[idx];
    a + (table[idx + 1] - a) * frac
}

/// The shared sine table.
pub fn sine_table() -> &'static [f32; TABLE_LEN + 1] {
    &SINE
}

/// Phase increment per sample for `freq_hz` at 8 kHz.
pub fn phase_increment(freq_hz: f64) -> u32 {
    let inc = (freq_hz / 8000.0 * 4_294_967_296.0).round();
    inc.rem_euclid(4_294_967_296.0) as u32
}

/// One frequency at one level.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ToneFreq {
    pub hz: f32,
    pub dbm0: f32,
}

/// One step of a cadence: up to two frequencies (none = silence) for a time.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ToneStep {
    pub freqs: [ToneFreq; MAX_TONE_FREQS],
    /// How many of `freqs` sound (0 = a silent step).
    pub count: u8,
    /// Length in milliseconds; 0 = forever.
    pub duration_ms: u32,
}

impl ToneStep {
    pub fn silence(duration_ms: u32) -> Self {
        ToneStep { duration_ms, ..Default::default() }
    }
    pub fn tone(freqs: &[ToneFreq], duration_ms: u32) -> Self {
        let mut s = ToneStep { duration_ms, ..Default::default() };
        for (i, f) in freqs.iter().take(MAX_TONE_FREQS).enumerate() {
            s.freqs[i] = *f;
            s.count = i as u8 + 1;
        }
        s
    }
    pub fn active(&self) -> &[ToneFreq] {
        &self.freqs[..self.count as usize]
    }
}

/// A tone description that does not make sense.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ToneSpecError {
    #[error("a tone needs at least one step")]
    Empty,
    #[error("a tone has at most {MAX_TONE_STEPS} steps, this one has {0}")]
    TooManySteps(usize),
    #[error("a step sounds at most {MAX_TONE_FREQS} frequencies, this one has {0}")]
    TooManyFreqs(usize),
    #[error("frequency {0} Hz is outside 0–3999 Hz")]
    BadFrequency(f32),
    #[error("level {0} dBm0 is above the +3 dBm0 a G.711 channel can carry")]
    TooLoud(f32),
    #[error("only the last step of a tone may last forever (step {0} has duration 0)")]
    ForeverInTheMiddle(usize),
    #[error("a repeating cadence must have a finite total length")]
    RepeatForever,
}

/// What to play: steps, and whether to repeat them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ToneSpec {
    steps: [ToneStep; MAX_TONE_STEPS],
    len: u8,
    /// Start again from the first step after the last.
    pub repeat: bool,
}

impl ToneSpec {
    /// Build from steps, checking them.
    pub fn new(steps: &[ToneStep], repeat: bool) -> Result<Self, ToneSpecError> {
        if steps.is_empty() {
            return Err(ToneSpecError::Empty);
        }
        if steps.len() > MAX_TONE_STEPS {
            return Err(ToneSpecError::TooManySteps(steps.len()));
        }
        for (i, s) in steps.iter().enumerate() {
            if s.count as usize > MAX_TONE_FREQS {
                return Err(ToneSpecError::TooManyFreqs(s.count as usize));
            }
            for f in s.active() {
                if !(0.0..4000.0).contains(&f.hz) {
                    return Err(ToneSpecError::BadFrequency(f.hz));
                }
                if f.dbm0 > 3.2 {
                    return Err(ToneSpecError::TooLoud(f.dbm0));
                }
            }
            if s.duration_ms == 0 && i + 1 != steps.len() {
                return Err(ToneSpecError::ForeverInTheMiddle(i));
            }
        }
        if repeat && steps.iter().any(|s| s.duration_ms == 0) {
            return Err(ToneSpecError::RepeatForever);
        }
        let mut arr = [ToneStep::default(); MAX_TONE_STEPS];
        arr[..steps.len()].copy_from_slice(steps);
        Ok(ToneSpec { steps: arr, len: steps.len() as u8, repeat })
    }

    /// A continuous tone (dial tone).
    pub fn continuous(freqs: &[ToneFreq]) -> Result<Self, ToneSpecError> {
        if freqs.len() > MAX_TONE_FREQS {
            return Err(ToneSpecError::TooManyFreqs(freqs.len()));
        }
        Self::new(&[ToneStep::tone(freqs, 0)], false)
    }

    /// The same frequencies switched on and off by `on_off_ms` (on, off, on,
    /// off…), repeated: `cadence(&[f], &[350, 350])` is a Chinese busy tone.
    pub fn cadence(freqs: &[ToneFreq], on_off_ms: &[u32]) -> Result<Self, ToneSpecError> {
        if freqs.len() > MAX_TONE_FREQS {
            return Err(ToneSpecError::TooManyFreqs(freqs.len()));
        }
        if on_off_ms.len() > MAX_TONE_STEPS {
            return Err(ToneSpecError::TooManySteps(on_off_ms.len()));
        }
        let mut steps = [ToneStep::default(); MAX_TONE_STEPS];
        for (i, &ms) in on_off_ms.iter().enumerate() {
            steps[i] = if i % 2 == 0 { ToneStep::tone(freqs, ms) } else { ToneStep::silence(ms) };
        }
        Self::new(&steps[..on_off_ms.len()], true)
    }

    /// One burst of `on_ms` then `off_ms` of silence, not repeated (a DTMF
    /// digit with its pause).
    pub fn burst(freqs: &[ToneFreq], on_ms: u32, off_ms: u32) -> Result<Self, ToneSpecError> {
        if freqs.len() > MAX_TONE_FREQS {
            return Err(ToneSpecError::TooManyFreqs(freqs.len()));
        }
        if off_ms == 0 {
            return Self::new(&[ToneStep::tone(freqs, on_ms.max(1))], false);
        }
        Self::new(&[ToneStep::tone(freqs, on_ms.max(1)), ToneStep::silence(off_ms)], false)
    }

    pub fn steps(&self) -> &[ToneStep] {
        &self.steps[..self.len as usize]
    }

    /// Total length of one pass in ms, or `None` when a step lasts forever.
    pub fn period_ms(&self) -> Option<u64> {
        let mut total = 0u64;
        for s in self.steps() {
            if s.duration_ms == 0 {
                return None;
            }
            total += s.duration_ms as u64;
        }
        Some(total)
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct StepPlan {
    inc: [u32; MAX_TONE_FREQS],
    amp: [f32; MAX_TONE_FREQS],
    count: u8,
    /// Samples; 0 = forever.
    samples: u32,
}

/// Plays a [`ToneSpec`]. Per-channel state plus the precomputed plan.
#[derive(Debug, Clone)]
pub struct ToneGenerator {
    plan: [StepPlan; MAX_TONE_STEPS],
    len: u8,
    repeat: bool,
    step: u8,
    /// Samples played of the current step.
    pos: u32,
    phase: [u32; MAX_TONE_FREQS],
    done: bool,
}

impl ToneGenerator {
    pub fn new(spec: &ToneSpec) -> Self {
        let mut plan = [StepPlan::default(); MAX_TONE_STEPS];
        for (p, s) in plan.iter_mut().zip(spec.steps()) {
            p.count = s.count;
            p.samples = s.duration_ms.saturating_mul(8);
            for (i, f) in s.active().iter().enumerate() {
                p.inc[i] = phase_increment(f.hz as f64);
                p.amp[i] = dbm0_to_peak(f.dbm0 as f64) as f32;
            }
        }
        ToneGenerator {
            plan,
            len: spec.len,
            repeat: spec.repeat,
            step: 0,
            pos: 0,
            phase: [0; MAX_TONE_FREQS],
            done: false,
        }
    }

    /// Start again from the first step, phase 0.
    pub fn reset(&mut self) {
        self.step = 0;
        self.pos = 0;
        self.phase = [0; MAX_TONE_FREQS];
        self.done = false;
    }

    /// Whether a non-repeating tone has played all its steps.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Whether the current step sounds (for cadence-following callers).
    pub fn is_sounding(&self) -> bool {
        !self.done && self.plan[self.step as usize].count > 0
    }

    /// Fill `out` with the next samples. Returns how many were written: all
    /// of `out` unless a non-repeating tone ended, after which the rest of
    /// `out` is untouched.
    pub fn tx(&mut self, out: &mut [i16]) -> usize {
        let table = sine_table();
        let mut written = 0;
        while written < out.len() && !self.done {
            let p = self.plan[self.step as usize];
            let left = if p.samples == 0 { usize::MAX } else { (p.samples - self.pos) as usize };
            let n = left.min(out.len() - written);
            let chunk = &mut out[written..written + n];
            match p.count {
                0 => chunk.fill(0),
                1 => {
                    let mut ph = self.phase[0];
                    for o in chunk.iter_mut() {
                        *o = (p.amp[0] * sine_of_phase(table, ph)).round() as i16;
                        ph = ph.wrapping_add(p.inc[0]);
                    }
                    self.phase[0] = ph;
                }
                _ => {
                    let (mut p0, mut p1) = (self.phase[0], self.phase[1]);
                    for o in chunk.iter_mut() {
                        let v = p.amp[0] * sine_of_phase(table, p0) + p.amp[1] * sine_of_phase(table, p1);
                        *o = v.round().clamp(-32768.0, 32767.0) as i16;
                        p0 = p0.wrapping_add(p.inc[0]);
                        p1 = p1.wrapping_add(p.inc[1]);
                    }
                    self.phase = [p0, p1];
                }
            }
            written += n;
            if p.samples != 0 {
                self.pos += n as u32;
                if self.pos >= p.samples {
                    self.pos = 0;
                    self.step += 1;
                    if self.step >= self.len {
                        if self.repeat {
                            self.step = 0;
                        } else {
                            self.done = true;
                        }
                    }
                    // Each step starts its tones at phase 0, as a cadence
                    // switched by a relay would not, but as every
                    // reference generator does; it keeps bursts identical.
                    self.phase = [0; MAX_TONE_FREQS];
                }
            }
        }
        written
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::goertzel::{GoertzelDescriptor, GoertzelState};
    use crate::dsp::level::block_dbm0;

    fn f(hz: f32, dbm0: f32) -> ToneFreq {
        ToneFreq { hz, dbm0 }
    }

    #[test]
    fn exact_frequency_and_level() {
        let mut g = ToneGenerator::new(&ToneSpec::continuous(&[f(1000.0, -10.0)]).unwrap());
        let mut buf = vec![0i16; 8000];
        // Odd block sizes must join seamlessly.
        let mut at = 0;
        for n in [1, 159, 160, 7, 673].iter().cycle() {
            if at >= buf.len() {
                break;
            }
            let end = (at + n).min(buf.len());
            assert_eq!(g.tx(&mut buf[at..end]), end - at);
            at = end;
        }
        assert!((block_dbm0(&buf) + 10.0).abs() < 0.01, "{}", block_dbm0(&buf));
        // Compare against a direct sine: the table error is tiny.
        let a = dbm0_to_peak(-10.0);
        for (i, &s) in buf.iter().enumerate() {
            let want = a * (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / 8000.0).sin();
            assert!((s as f64 - want).abs() <= 1.5, "sample {i}: {s} vs {want}");
        }
    }

    #[test]
    fn dual_tone_levels_each() {
        let mut g = ToneGenerator::new(&ToneSpec::continuous(&[f(697.0, -7.0), f(1209.0, -5.0)]).unwrap());
        let mut buf = vec![0i16; 4000];
        g.tx(&mut buf);
        for (hz, want) in [(697.0, -7.0), (1209.0, -5.0)] {
            let d = GoertzelDescriptor::new(hz, 4000);
            let mut st = GoertzelState::new();
            st.update(&d, &buf);
            let got = d.energy_to_dbm0(st.result(&d));
            assert!((got - want).abs() < 0.3, "{hz} Hz: {got}");
        }
    }

    #[test]
    fn cadence_timing_is_sample_exact() {
        // China busy: 450 Hz 350 ms on, 350 ms off.
        let mut g = ToneGenerator::new(&ToneSpec::cadence(&[f(450.0, -10.0)], &[350, 350]).unwrap());
        let mut buf = vec![0i16; 8 * 1400];
        g.tx(&mut buf);
        let on = |ms: usize| buf[ms * 8..ms * 8 + 80].iter().any(|&s| s.abs() > 1000);
        assert!(on(0) && on(340) && !on(351) && !on(690) && on(700) && on(1040) && !on(1060));
        assert!(buf[350 * 8..700 * 8].iter().all(|&s| s == 0));
    }

    #[test]
    fn burst_ends() {
        let mut g = ToneGenerator::new(&ToneSpec::burst(&[f(1100.0, -10.0)], 50, 50).unwrap());
        let mut buf = vec![7i16; 1000];
        assert_eq!(g.tx(&mut buf), 800);
        assert!(g.is_done());
        assert_eq!(buf[800], 7);
        assert_eq!(g.tx(&mut buf), 0);
        g.reset();
        assert_eq!(g.tx(&mut buf), 800);
    }

    #[test]
    fn bad_specs_are_refused() {
        assert_eq!(ToneSpec::new(&[], false), Err(ToneSpecError::Empty));
        assert_eq!(ToneSpec::continuous(&[f(4200.0, -10.0)]), Err(ToneSpecError::BadFrequency(4200.0)));
        assert_eq!(ToneSpec::continuous(&[f(400.0, 6.0)]), Err(ToneSpecError::TooLoud(6.0)));
        assert!(matches!(ToneSpec::cadence(&[f(400.0, -10.0)], &[100; 9]), Err(ToneSpecError::TooManySteps(9))));
        assert_eq!(
            ToneSpec::new(&[ToneStep::silence(0), ToneStep::silence(10)], false),
            Err(ToneSpecError::ForeverInTheMiddle(0))
        );
        assert_eq!(ToneSpec::new(&[ToneStep::silence(0)], true), Err(ToneSpecError::RepeatForever));
        assert_eq!(ToneSpec::cadence(&[f(425.0, -10.0)], &[1000, 4000]).unwrap().period_ms(), Some(5000));
    }
}
