//! Rational sample-rate conversion: a polyphase windowed-sinc FIR with a
//! Kaiser window, streaming, for audio files and prompts recorded at other
//! rates than the line's 8 kHz.
//!
//! # What it does
//!
//! Converts between two rates whose ratio `out/in` reduces to `up/down`
//! with `up` ≤ [`MAX_PHASES`]. The rates the project meets — 8000, 11025,
//! 16000, 22050, 32000, 44100 and 48000 Hz — go down to 8 kHz and up from
//! it; so do most others (every rate that is a multiple of 8 Hz, the CD
//! family 11025·k, …).
//!
//! # How it works
//!
//! Think of three steps: put `up − 1` zeros between input samples (rate
//! `up·in`), low-pass filter with a prototype FIR `h`, keep every `down`-th
//! sample. The polyphase form computes only the kept samples: output `n`
//! sits at time `t = n·down` on the up-sampled grid; `t mod up` (the phase)
//! picks one row of the filter bank, and the output is the dot product of
//! that row with the last [`ResamplerDescriptor::taps`] input samples.
//!
//! The prototype is a Kaiser-windowed sinc (J. F. Kaiser, "Nonrecursive
//! digital filter design using the I0-sinh window function", 1974; the
//! design formulas are those of Oppenheim & Schafer, *Discrete-Time Signal
//! Processing*, §7.5):
//!
//! - passband edge [`PASSBAND_FRACTION`] × the lower of the two rates
//!   (3400 Hz when one side is 8 kHz), stopband edge half the lower rate
//!   (4000 Hz): content above the output's Nyquist frequency is removed
//!   before it can alias, and when going up the images of the input start
//!   at 4 kHz;
//! - design attenuation [`DESIGN_ATTENUATION_DB`] (β = 0.1102·(A − 8.7)),
//!   length from Kaiser's formula `N ≈ (A − 7.95) / (2.285·Δω)`, rounded up
//!   to a whole number of taps per phase and made odd so the delay is a
//!   whole number of up-sampled samples;
//! - cut-off in the middle of the transition band, DC gain `up` so every
//!   phase has unity gain.
//!
//! Measured for every rate above, both ways (`cargo test -p ctibox-driver
//! --test wav_resample -- --nocapture`): passband gain within ±0.001 dB
//! from 50 to 3400 Hz; every tone from 4000 Hz to the input's Nyquist
//! frequency at least 82 dB down after aliasing to 8 kHz; images at least
//! 87 dB down going up; a −10 dBm0 1 kHz tone comes out at −10.000 dBm0
//! with THD+N of −85 to −100 dB (the 16-bit floor); output within
//! −80 dB RMS of sox's `rate` effect on passband signals.
//!
//! # Group delay
//!
//! The prototype is symmetric, so the filter has linear phase and a
//! constant delay of `(N − 1)/2` up-sampled samples:
//! [`ResamplerDescriptor::delay_output_samples`] in output samples,
//! [`ResamplerDescriptor::delay_seconds`] in time. It is about 4.2 ms for
//! every pair of rates with 8 kHz on one side, since the 600 Hz transition
//! band sets the filter's length in time (44.1 kHz → 8 kHz: 4.183 ms, 33.47
//! output samples; 48 kHz → 8 kHz: 4.188 ms, 33.5; 8 kHz → 48 kHz:
//! 4.229 ms, 203). A [`Resampler::new`] is causal
//! and its output lags by that delay; [`Resampler::aligned`] takes in the
//! delay's worth of input before its first output, so output `n` is the
//! input at time `n / out_hz`. The offline [`resample`] uses the aligned
//! start and [`Resampler::flush`]es the tail, so its output lines up with
//! its input sample for sample and has `ceil(len·out/in)` samples.
//!
//! # Sharing and cost
//!
//! A [`ResamplerDescriptor`] (the filter bank, `up × taps` `f32`) is built
//! once per pair of rates and shared by every channel through an `Arc`; a
//! [`Resampler`] holds the `Arc`, `2 × taps` samples of history and a few
//! counters. [`Resampler::process`] takes any block lengths, keeps its place
//! across calls and never allocates. Each output sample costs `taps`
//! multiply-adds.
//!
//! Not implemented: non-rational or drifting ratios (clock-slip
//! compensation), minimum-phase filters.

use std::f64::consts::PI;
use std::sync::Arc;

/// Highest sample rate accepted, in Hz.
pub const MAX_RATE_HZ: u32 = 768_000;
/// Most filter phases (the reduced up-sampling factor) a descriptor may have.
pub const MAX_PHASES: u32 = 1024;
/// Most coefficients in one filter bank (8 MiB of `f32`).
pub const MAX_COEFFS: usize = 1 << 21;
/// Passband edge as a fraction of the lower of the two rates (3400 Hz at
/// 8 kHz).
pub const PASSBAND_FRACTION: f64 = 0.425;
/// Stopband edge as a fraction of the lower of the two rates (its Nyquist
/// frequency, 4000 Hz at 8 kHz).
pub const STOPBAND_FRACTION: f64 = 0.5;
/// Stopband attenuation the Kaiser design aims for.
pub const DESIGN_ATTENUATION_DB: f64 = 80.0;

/// A pair of rates the resampler cannot convert between.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ResampleError {
    /// A rate of 0 Hz or above [`MAX_RATE_HZ`].
    #[error("sample rate {0} Hz is outside 1–{MAX_RATE_HZ} Hz")]
    BadRate(u32),
    /// The ratio does not reduce far enough.
    #[error(
        "converting {from_hz} Hz to {to_hz} Hz needs {phases} filter phases (the ratio does not reduce further); \
         at most {MAX_PHASES} are supported"
    )]
    TooManyPhases { from_hz: u32, to_hz: u32, phases: u32 },
    /// The filter bank would be too large.
    #[error(
        "converting {from_hz} Hz to {to_hz} Hz needs a filter bank of {coeffs} coefficients, more than {MAX_COEFFS}"
    )]
    FilterTooLong { from_hz: u32, to_hz: u32, coeffs: usize },
}

/// Greatest common divisor.
fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Modified Bessel function of the first kind, order 0, by its power
/// series (converges quickly for the β values used here).
fn bessel_i0(x: f64) -> f64 {
    let q = x * x / 4.0;
    let mut term = 1.0;
    let mut sum = 1.0;
    for k in 1..200 {
        let kf = k as f64;
        term *= q / (kf * kf);
        sum += term;
        if term < sum * 1e-17 {
            break;
        }
    }
    sum
}

/// Kaiser β for a stopband attenuation of `a_db` (Kaiser's empirical
/// formula).
fn kaiser_beta(a_db: f64) -> f64 {
    if a_db > 50.0 {
        0.1102 * (a_db - 8.7)
    } else if a_db >= 21.0 {
        0.5842 * (a_db - 21.0).powf(0.4) + 0.07886 * (a_db - 21.0)
    } else {
        0.0
    }
}

/// The filter bank for one pair of rates: computed once, shared by every
/// channel converting between those rates.
#[derive(Debug, Clone, PartialEq)]
pub struct ResamplerDescriptor {
    /// Input rate, Hz.
    from_hz: u32,
    /// Output rate, Hz.
    to_hz: u32,
    /// Up-sampling factor L (= number of phases): `to_hz / gcd`.
    up: u32,
    /// Down-sampling factor M: `from_hz / gcd`.
    down: u32,
    /// Input samples each output sample is computed from (taps per phase).
    taps: usize,
    /// Group delay of the prototype in up-sampled samples, `(N − 1)/2`.
    delay_up: u64,
    /// Length N of the prototype filter (odd); `up × taps ≥ N`, the rest is
    /// zero.
    prototype_len: usize,
    /// Passband edge, Hz.
    passband_hz: f64,
    /// Stopband edge, Hz.
    stopband_hz: f64,
    /// `up` rows of `taps` coefficients. Row `p` holds `up·h[q·up + p]` for
    /// `q = taps−1 … 0`, i.e. in the chronological order of the input
    /// window (oldest sample first).
    bank: Vec<f32>,
}

impl ResamplerDescriptor {
    /// Design the filter bank converting `from_hz` to `to_hz`.
    pub fn new(from_hz: u32, to_hz: u32) -> Result<Self, ResampleError> {
        for r in [from_hz, to_hz] {
            if r == 0 || r > MAX_RATE_HZ {
                return Err(ResampleError::BadRate(r));
            }
        }
        let g = gcd(from_hz, to_hz);
        let up = to_hz / g;
        let down = from_hz / g;
        if up > MAX_PHASES {
            return Err(ResampleError::TooManyPhases { from_hz, to_hz, phases: up });
        }
        let lower = from_hz.min(to_hz) as f64;
        let passband_hz = PASSBAND_FRACTION * lower;
        let stopband_hz = STOPBAND_FRACTION * lower;
        if up == 1 && down == 1 {
            // Same rate: a single unit tap, no delay, no filtering.
            return Ok(ResamplerDescriptor {
                from_hz,
                to_hz,
                up,
                down,
                taps: 1,
                delay_up: 0,
                prototype_len: 1,
                passband_hz: lower / 2.0,
                stopband_hz,
                bank: vec![1.0],
            });
        }

        // Kaiser's length formula on the up-sampled grid, whose rate is
        // up·from_hz.
        let fs_up = up as f64 * from_hz as f64;
        let dw = 2.0 * PI * (stopband_hz - passband_hz) / fs_up;
        let n_est = ((DESIGN_ATTENUATION_DB - 7.95) / (2.285 * dw)).ceil() as usize + 1;
        let upn = up as usize;
        let taps = n_est.div_ceil(upn).max(1);
        let coeffs = taps.saturating_mul(upn);
        if coeffs > MAX_COEFFS {
            return Err(ResampleError::FilterTooLong { from_hz, to_hz, coeffs });
        }
        // Odd length so the centre falls on a sample of the up-sampled grid.
        let n = if coeffs % 2 == 0 { coeffs - 1 } else { coeffs };
        let centre = (n - 1) / 2;
        let beta = kaiser_beta(DESIGN_ATTENUATION_DB);
        let i0_beta = bessel_i0(beta);
        // Cut-off in cycles per up-sampled sample.
        let fc = 0.5 * (passband_hz + stopband_hz) / fs_up;
        let mut h = vec![0f64; coeffs];
        for (i, v) in h.iter_mut().enumerate().take(n) {
            let x = i as f64 - centre as f64;
            let sinc = if x == 0.0 { 2.0 * fc } else { (2.0 * PI * fc * x).sin() / (PI * x) };
            let r = x / centre.max(1) as f64;
            let w = bessel_i0(beta * (1.0 - r * r).max(0.0).sqrt()) / i0_beta;
            *v = sinc * w;
        }
        // Unity gain at DC for the converter as a whole: the prototype sums
        // to `up` (each phase then sums to about 1).
        let sum: f64 = h.iter().sum();
        let scale = if sum.abs() > 0.0 { up as f64 / sum } else { 0.0 };
        let mut bank = vec![0f32; coeffs];
        for p in 0..upn {
            let row = &mut bank[p * taps..(p + 1) * taps];
            for (j, c) in row.iter_mut().enumerate() {
                let q = taps - 1 - j;
                *c = (h[q * upn + p] * scale) as f32;
            }
        }
        Ok(ResamplerDescriptor {
            from_hz,
            to_hz,
            up,
            down,
            taps,
            delay_up: centre as u64,
            prototype_len: n,
            passband_hz,
            stopband_hz,
            bank,
        })
    }

    /// Design and wrap in an `Arc` for sharing between channels.
    pub fn shared(from_hz: u32, to_hz: u32) -> Result<Arc<Self>, ResampleError> {
        Self::new(from_hz, to_hz).map(Arc::new)
    }

    /// Input rate, Hz.
    pub fn from_hz(&self) -> u32 {
        self.from_hz
    }
    /// Output rate, Hz.
    pub fn to_hz(&self) -> u32 {
        self.to_hz
    }
    /// Reduced up-sampling factor (number of phases).
    pub fn up(&self) -> u32 {
        self.up
    }
    /// Reduced down-sampling factor.
    pub fn down(&self) -> u32 {
        self.down
    }
    /// Input samples per output sample (taps per phase).
    pub fn taps(&self) -> usize {
        self.taps
    }
    /// Length of the prototype filter on the up-sampled grid.
    pub fn prototype_len(&self) -> usize {
        self.prototype_len
    }
    /// Passband edge, Hz.
    pub fn passband_hz(&self) -> f64 {
        self.passband_hz
    }
    /// Stopband edge, Hz.
    pub fn stopband_hz(&self) -> f64 {
        self.stopband_hz
    }
    /// Group delay in up-sampled samples (an integer by construction).
    pub fn delay_up_samples(&self) -> u64 {
        self.delay_up
    }
    /// Group delay in input samples.
    pub fn delay_input_samples(&self) -> f64 {
        self.delay_up as f64 / self.up as f64
    }
    /// Group delay in output samples.
    pub fn delay_output_samples(&self) -> f64 {
        self.delay_up as f64 / self.down as f64
    }
    /// Group delay in seconds.
    pub fn delay_seconds(&self) -> f64 {
        self.delay_up as f64 / (self.up as f64 * self.from_hz as f64)
    }
    /// Coefficients of phase `p` (oldest input first). Empty for a phase out
    /// of range.
    pub fn phase_row(&self, p: u32) -> &[f32] {
        let p = p as usize;
        self.bank.get(p * self.taps..(p + 1) * self.taps).unwrap_or(&[])
    }
    /// Most output samples `input_len` input samples can produce in one
    /// call (for sizing buffers).
    pub fn max_output_for(&self, input_len: usize) -> usize {
        ((input_len as u128 * self.up as u128).div_ceil(self.down as u128) + 1).min(usize::MAX as u128) as usize
    }
}

/// Sample types the resampler moves: 16-bit linear, or `f32` in any scale.
trait Sample: Copy {
    fn to_f32(self) -> f32;
    fn from_f32(v: f32) -> Self;
}

impl Sample for i16 {
    #[inline]
    fn to_f32(self) -> f32 {
        self as f32
    }
    #[inline]
    fn from_f32(v: f32) -> Self {
        // `as` saturates and maps NaN to 0.
        v.round() as i16
    }
}

impl Sample for f32 {
    #[inline]
    fn to_f32(self) -> f32 {
        self
    }
    #[inline]
    fn from_f32(v: f32) -> Self {
        v
    }
}

/// Dot product with eight partial sums (lets the compiler vectorise).
#[inline]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let ca = a.chunks_exact(8);
    let cb = b.chunks_exact(8);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    let mut acc = [0f32; 8];
    for (x, y) in ca.zip(cb) {
        for j in 0..8 {
            acc[j] += x[j] * y[j];
        }
    }
    let mut s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (x, y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}

/// One channel's conversion state.
#[derive(Debug, Clone)]
pub struct Resampler {
    /// The shared filter bank.
    desc: Arc<ResamplerDescriptor>,
    /// The last `taps` input samples, each stored twice (at `i` and
    /// `i + taps`) so the window `history[write..write + taps]` is always
    /// one contiguous slice in chronological order.
    history: Vec<f32>,
    /// Where the next input sample goes, `0..taps`.
    write: usize,
    /// Phase of the next output sample, `0..up`.
    phase: u32,
    /// Input samples still to take in before the next output is due.
    need: u64,
    /// Up-sampled time of output 0: 0 when causal, the group delay when
    /// aligned.
    origin: u64,
    /// Real input samples taken in (zeros fed by `flush` do not count).
    taken: u64,
    /// Output samples produced.
    produced: u64,
}

impl Resampler {
    /// A causal converter: output starts at once and lags the input by the
    /// descriptor's group delay.
    pub fn new(desc: Arc<ResamplerDescriptor>) -> Self {
        Self::starting_at(desc, 0)
    }

    /// A converter whose output `n` is the input at time `n / to_hz`: it
    /// takes in the group delay's worth of input before its first output.
    pub fn aligned(desc: Arc<ResamplerDescriptor>) -> Self {
        let d = desc.delay_up;
        Self::starting_at(desc, d)
    }

    /// Convenience: design a descriptor for one channel.
    pub fn with_rates(from_hz: u32, to_hz: u32, aligned: bool) -> Result<Self, ResampleError> {
        let d = ResamplerDescriptor::shared(from_hz, to_hz)?;
        Ok(if aligned { Self::aligned(d) } else { Self::new(d) })
    }

    fn starting_at(desc: Arc<ResamplerDescriptor>, origin: u64) -> Self {
        let taps = desc.taps;
        let up = desc.up as u64;
        Resampler {
            history: vec![0.0; 2 * taps],
            write: 0,
            phase: (origin % up) as u32,
            need: origin / up + 1,
            origin,
            taken: 0,
            produced: 0,
            desc,
        }
    }

    /// Back to the state just after construction (history cleared).
    pub fn reset(&mut self) {
        self.history.iter_mut().for_each(|v| *v = 0.0);
        self.write = 0;
        let up = self.desc.up as u64;
        self.phase = (self.origin % up) as u32;
        self.need = self.origin / up + 1;
        self.taken = 0;
        self.produced = 0;
    }

    /// The shared descriptor.
    pub fn descriptor(&self) -> &Arc<ResamplerDescriptor> {
        &self.desc
    }

    /// Real input samples taken in since construction or reset.
    pub fn samples_in(&self) -> u64 {
        self.taken
    }

    /// Output samples produced since construction or reset.
    pub fn samples_out(&self) -> u64 {
        self.produced
    }

    #[inline]
    fn push(&mut self, x: f32) {
        let taps = self.desc.taps;
        // `write < taps` and `history.len() == 2·taps` by construction.
        self.history[self.write] = x;
        self.history[self.write + taps] = x;
        self.write += 1;
        if self.write == taps {
            self.write = 0;
        }
    }

    /// Compute the output due now (requires `need == 0`) and advance.
    #[inline]
    fn emit(&mut self) -> f32 {
        let d = &*self.desc;
        let taps = d.taps;
        let p = self.phase as usize;
        let row = &d.bank[p * taps..(p + 1) * taps];
        let window = &self.history[self.write..self.write + taps];
        let y = dot(row, window);
        let next = self.phase as u64 + d.down as u64;
        self.need = next / d.up as u64;
        self.phase = (next % d.up as u64) as u32;
        self.produced += 1;
        y
    }

    fn run<T: Sample>(&mut self, input: &[T], output: &mut [T]) -> (usize, usize) {
        let (mut i, mut o) = (0, 0);
        loop {
            while self.need > 0 {
                let Some(&x) = input.get(i) else { return (i, o) };
                self.push(x.to_f32());
                self.taken += 1;
                self.need -= 1;
                i += 1;
            }
            if o >= output.len() {
                return (i, o);
            }
            let y = self.emit();
            output[o] = T::from_f32(y);
            o += 1;
        }
    }

    /// Convert as much as the buffers allow: takes input until `output` is
    /// full or `input` is used up. Returns `(consumed, produced)`. Input
    /// not consumed must be offered again. Never allocates.
    pub fn process(&mut self, input: &[i16], output: &mut [i16]) -> (usize, usize) {
        self.run(input, output)
    }

    /// [`Self::process`] on `f32` samples (any scale; nothing is clipped).
    pub fn process_f32(&mut self, input: &[f32], output: &mut [f32]) -> (usize, usize) {
        self.run(input, output)
    }

    /// Output samples still owed for the input taken so far: those whose
    /// time is before the end of the input (the filter's tail).
    pub fn pending(&self) -> u64 {
        let d = &*self.desc;
        // Output n is due at up-sampled time n·down + origin and shows the
        // input at that time minus the delay; it belongs to the input while
        // that is before taken·up.
        let end = (self.taken as u128 * d.up as u128 + d.delay_up as u128).saturating_sub(self.origin as u128);
        let total = end.div_ceil(d.down as u128);
        total.saturating_sub(self.produced as u128).min(u64::MAX as u128) as u64
    }

    fn flush_into<T: Sample>(&mut self, output: &mut [T]) -> usize {
        let n = (self.pending().min(usize::MAX as u64) as usize).min(output.len());
        for slot in output.iter_mut().take(n) {
            while self.need > 0 {
                self.push(0.0);
                self.need -= 1;
            }
            *slot = T::from_f32(self.emit());
        }
        n
    }

    /// End of stream: write the outputs still owed ([`Self::pending`]) by
    /// feeding silence. Returns how many were written; call again if
    /// `output` was too short. After a flush, further input continues from
    /// the silence fed.
    pub fn flush(&mut self, output: &mut [i16]) -> usize {
        self.flush_into(output)
    }

    /// [`Self::flush`] on `f32` samples.
    pub fn flush_f32(&mut self, output: &mut [f32]) -> usize {
        self.flush_into(output)
    }
}

fn offline<T: Sample + Default>(input: &[T], from_hz: u32, to_hz: u32) -> Result<Vec<T>, ResampleError> {
    let desc = ResamplerDescriptor::shared(from_hz, to_hz)?;
    let len = (input.len() as u128 * desc.up as u128).div_ceil(desc.down as u128) as usize;
    let mut out = vec![T::default(); len];
    let mut r = Resampler::aligned(desc);
    let (_, mut done) = r.run(input, &mut out);
    while done < len {
        let n = r.flush_into(&mut out[done..]);
        if n == 0 {
            break;
        }
        done += n;
    }
    out.truncate(done);
    Ok(out)
}

/// Convert a whole signal with its group delay compensated: output `n` is
/// the input at time `n / to_hz`, and there are `ceil(len·to/from)` of
/// them.
pub fn resample(input: &[i16], from_hz: u32, to_hz: u32) -> Result<Vec<i16>, ResampleError> {
    offline(input, from_hz, to_hz)
}

/// [`resample`] on `f32` samples (any scale).
pub fn resample_f32(input: &[f32], from_hz: u32, to_hz: u32) -> Result<Vec<f32>, ResampleError> {
    offline(input, from_hz, to_hz)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATES: [u32; 7] = [8000, 11025, 16000, 22050, 32000, 44100, 48000];

    fn sine(freq: f64, rate: u32, amp: f64, n: usize) -> Vec<i16> {
        (0..n).map(|i| (amp * (2.0 * PI * freq * i as f64 / rate as f64).sin()).round() as i16).collect()
    }

    #[test]
    fn ratios_reduce_for_the_common_rates() {
        let want = [
            (8000, 1, 1),
            (11025, 320, 441),
            (16000, 1, 2),
            (22050, 160, 441),
            (32000, 1, 4),
            (44100, 80, 441),
            (48000, 1, 6),
        ];
        for (rate, up, down) in want {
            let d = ResamplerDescriptor::new(rate, 8000).unwrap();
            assert_eq!((d.up(), d.down()), (up, down), "{rate} → 8000");
            let u = ResamplerDescriptor::new(8000, rate).unwrap();
            assert_eq!((u.up(), u.down()), (down, up), "8000 → {rate}");
            if rate != 8000 {
                assert_eq!(d.passband_hz(), 3400.0);
                assert_eq!(d.stopband_hz(), 4000.0);
                assert_eq!(d.prototype_len() % 2, 1);
                assert!(d.prototype_len() <= d.taps() * d.up() as usize);
            }
        }
    }

    #[test]
    fn bad_rates_are_errors() {
        assert_eq!(ResamplerDescriptor::new(0, 8000), Err(ResampleError::BadRate(0)));
        assert_eq!(ResamplerDescriptor::new(8000, MAX_RATE_HZ + 1), Err(ResampleError::BadRate(MAX_RATE_HZ + 1)));
        assert!(matches!(ResamplerDescriptor::new(8001, 8000), Err(ResampleError::TooManyPhases { phases: 8000, .. })));
        assert!(ResamplerDescriptor::new(8000, 8001).is_err());
        let e = ResamplerDescriptor::new(8001, 8000).unwrap_err().to_string();
        assert!(e.contains("8001 Hz") && e.contains("8000 filter phases"), "{e}");
    }

    #[test]
    fn same_rate_is_the_identity() {
        let x: Vec<i16> = (0..1000).map(|i| (i * 37 % 2001 - 1000) as i16).collect();
        assert_eq!(resample(&x, 8000, 8000).unwrap(), x);
        let d = ResamplerDescriptor::new(16000, 16000).unwrap();
        assert_eq!((d.taps(), d.delay_up_samples()), (1, 0));
    }

    #[test]
    fn every_phase_has_unity_dc_gain() {
        for rate in RATES {
            for (a, b) in [(rate, 8000), (8000, rate)] {
                let d = ResamplerDescriptor::new(a, b).unwrap();
                for p in 0..d.up() {
                    let s: f32 = d.phase_row(p).iter().sum();
                    assert!((s - 1.0).abs() < 1e-3, "{a}→{b} phase {p}: {s}");
                }
                assert!(d.phase_row(d.up()).is_empty());
            }
        }
    }

    #[test]
    fn streaming_in_odd_blocks_equals_one_shot() {
        let x = sine(1234.5, 44100, 9000.0, 20000);
        let desc = ResamplerDescriptor::shared(44100, 8000).unwrap();
        let mut one = Resampler::new(desc.clone());
        let mut a = vec![0i16; desc.max_output_for(x.len())];
        let (c, na) = one.process(&x, &mut a);
        assert_eq!(c, x.len());
        a.truncate(na);

        let mut st = Resampler::new(desc.clone());
        let mut b = Vec::new();
        let mut buf = [0i16; 7];
        let mut pos = 0;
        let mut step = 1;
        while pos < x.len() {
            let end = (pos + step).min(x.len());
            let (used, made) = st.process(&x[pos..end], &mut buf);
            b.extend_from_slice(&buf[..made]);
            pos += used;
            step = step % 97 + 13;
        }
        assert_eq!(a, b);
        assert_eq!(st.samples_in(), x.len() as u64);
        assert_eq!(st.samples_out(), b.len() as u64);
    }

    #[test]
    fn empty_buffers_do_nothing_harmful() {
        let mut r = Resampler::with_rates(8000, 48000, false).unwrap();
        assert_eq!(r.process(&[], &mut []), (0, 0));
        // One input sample makes six outputs; with no room it is taken but
        // nothing comes out.
        assert_eq!(r.process(&[100], &mut []), (1, 0));
        let mut out = [0i16; 10];
        assert_eq!(r.process(&[], &mut out), (0, 6));
        assert_eq!(resample(&[], 44100, 8000).unwrap(), Vec::<i16>::new());
    }

    #[test]
    fn offline_output_is_aligned_and_sized() {
        // A single impulse at 40 ms (a whole number of samples at every
        // rate) comes out centred on the 8 kHz sample at 40 ms.
        for rate in RATES {
            let n = rate as usize / 10;
            let at = rate as usize * 40 / 1000;
            let mut x = vec![0i16; n];
            x[at] = 30000;
            let y = resample(&x, rate, 8000).unwrap();
            assert_eq!(y.len(), (n * 8000).div_ceil(rate as usize), "{rate}");
            let peak = y.iter().enumerate().max_by_key(|(_, v)| v.abs()).map(|(i, _)| i).unwrap();
            assert_eq!(peak, 320, "{rate}");
            assert!((y[319] as i32 - y[321] as i32).abs() <= 2, "{rate}: {} {}", y[319], y[321]);
            // And back up.
            let z = resample(&y, 8000, rate).unwrap();
            assert_eq!(z.len(), (y.len() * rate as usize).div_ceil(8000), "8000 → {rate}");
            let peak = z.iter().enumerate().max_by_key(|(_, v)| v.abs()).map(|(i, _)| i).unwrap();
            assert_eq!(peak, at, "8000 → {rate}");
        }
        // Lengths round up.
        assert_eq!(resample(&[0; 441], 44100, 8000).unwrap().len(), 80);
        assert_eq!(resample(&[0; 442], 44100, 8000).unwrap().len(), 81);
        assert_eq!(resample(&[0; 3], 8000, 44100).unwrap().len(), 17);
    }

    #[test]
    fn causal_delay_is_as_reported() {
        let desc = ResamplerDescriptor::shared(48000, 8000).unwrap();
        let mut x = vec![0i16; 4800];
        x[0] = 30000;
        let mut r = Resampler::new(desc.clone());
        let mut y = vec![0i16; 800];
        r.process(&x, &mut y);
        let peak = y.iter().enumerate().max_by_key(|(_, v)| v.abs()).map(|(i, _)| i).unwrap();
        assert!((peak as f64 - desc.delay_output_samples()).abs() <= 0.5, "{peak} vs {}", desc.delay_output_samples());
    }

    #[test]
    fn flush_gives_the_tail_once() {
        let desc = ResamplerDescriptor::shared(22050, 8000).unwrap();
        let x = sine(500.0, 22050, 8000.0, 2205);
        let mut r = Resampler::aligned(desc);
        let mut out = vec![0i16; 1000];
        let (_, n) = r.process(&x, &mut out);
        let tail = r.pending() as usize;
        assert_eq!(n + tail, 800);
        let m = r.flush(&mut out[n..]);
        assert_eq!(m, tail);
        assert_eq!(r.pending(), 0);
        assert_eq!(r.flush(&mut out[n + m..]), 0);
        r.reset();
        assert_eq!((r.samples_in(), r.samples_out(), r.pending()), (0, 0, 0));
    }

    #[test]
    fn f32_path_matches_i16_path() {
        let x = sine(700.0, 16000, 12000.0, 3000);
        let xf: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        let a = resample(&x, 16000, 8000).unwrap();
        let b = resample_f32(&xf, 16000, 8000).unwrap();
        assert_eq!(a.len(), b.len());
        for (p, q) in a.iter().zip(&b) {
            assert_eq!(*p, q.round() as i16);
        }
    }

    #[test]
    fn output_saturates_instead_of_wrapping() {
        // A full-scale square wave overshoots (Gibbs); the i16 path clips.
        let x: Vec<i16> = (0..4410).map(|i| if (i / 50) % 2 == 0 { 32767 } else { -32768 }).collect();
        let y = resample(&x, 44100, 8000).unwrap();
        assert!(y.contains(&32767) && y.contains(&-32768));
    }
}
