//! Voice activity detection: tells speech from silence (background noise)
//! and from steady tones, with an adaptive noise floor and a hangover; and
//! a greeting classifier for answer detection on outbound calls.
//!
//! # What it reports
//!
//! [`Vad::rx`] takes any number of samples and pushes [`VadEvent`]s:
//! `VoiceStart`/`VoiceStop` (speech began / ended, with the position of
//! the first and after the last speech frame), `ToneStart`/`ToneStop` (a
//! steady single or dual tone: dial, ringback, busy, DTMF, a beep), and
//! `SilenceTimeout` once no voice has been heard for a configured time
//! (end of a voicemail message, silence disconnect). Positions are samples
//! counted from construction or [`Vad::reset`].
//!
//! # How it works
//!
//! Audio is cut into frames of [`FRAME_SAMPLES`] = 80 samples (10 ms).
//!
//! 1. **Level and noise floor.** Each frame's mean power, in dBm0, is
//!    compared with a noise floor that follows quieter frames down at once
//!    and rises by [`FLOOR_RISE_DB_PER_S`] otherwise. When the last
//!    [`STATIONARY_FRAMES`] frames lie within [`STATIONARY_SPREAD_DB`] of
//!    each other, are not tonal, and are either noise-like (flat spectrum)
//!    or quieter than [`QUIET_NOISE_CEILING_DBM0`], the floor jumps to their
//!    level: a new steady background (a noisier line) is absorbed in
//!    120 ms. The first frame sets the floor, at most
//!    [`QUIET_NOISE_CEILING_DBM0`]. A frame is *active* when it is
//!    [`VadParams::margin_db`] above the floor and above
//!    [`VadParams::min_speech_dbm0`].
//! 2. **Spectral shape** (active frames only). An order-4 linear predictor
//!    is fitted to the frame by the covariance method (the five products
//!    x[n]·x[n−k] are the only per-sample work; the rest of the 5×5
//!    covariance matrix follows from them and the frame edges, and a 4×4
//!    Cholesky solve runs once per frame). Any sum of one or two sines obeys
//!    an exact order-4 recurrence that does not change with time, so a
//!    frame is **tonal** when its prediction gain reaches
//!    [`VadParams::tone_gain_db`] *and* the predictor fitted two frames
//!    (20 ms) earlier does as well on it, within [`TONE_STEADY_DB`] plus
//!    [`TONE_MISMATCH_DB`] of the frame's energy. Speech, whose spectrum
//!    moves, seldom passes both for long; a tone 20 dB above white noise
//!    does in almost every frame. A frame with a gain under
//!    [`FLAT_GAIN_DB`] is **noise-like** (white noise, fricatives); the
//!    rest are **speech**.
//! 3. **Decisions.**
//!    - Voice starts when, among the last 2 × [`VadParams::onset_ms`] of
//!      frames, [`VadParams::onset_ms`] are speech or noise-like and at
//!      least [`ONSET_VOICED_FRAMES`] are speech (a noise burst or a
//!      fricative alone does not start voice). The reported start is the
//!      first active frame after [`STRETCH_GAP_FRAMES`] quiet ones (so the
//!      "h" of "hello" is included).
//!    - Voice stops after [`VadParams::hangover_ms`] without a speech,
//!      noise-like or tonal frame; the reported end is the end of the
//!      last such frame.
//!    - A tone starts after [`VadParams::tone_min_ms`] of tonal frames (a
//!      single other frame bridged), or [`VadParams::tone_in_voice_ms`]
//!      while voice is on: a steady vowel or hum inside speech stays
//!      voice, a beep after a greeting becomes a tone and the voice is
//!      taken to have ended where it began. It stops after two frames
//!      that are not tonal. Tonal frames never count toward voice onset.
//!
//! Per-sample work is one multiply-add for quiet frames and five for
//! active ones; nothing allocates after construction. On a CPU with
//! AVX2+FMA (the descriptor decides once; [`VadDescriptor::portable`]
//! forces the plain loops) the four lag products of a frame are 40 fused
//! multiply-adds on whole registers. Both report the same events.
//!
//! # Answer detection
//!
//! [`AnswerDetector`] runs a [`Vad`] from the moment the far end answers
//! and classifies the first utterance ([`AnswerVerdict`]): a short
//! greeting followed by silence is a person ("Hello?"), a greeting that
//! goes on past [`AnswerParams::max_greeting_ms`] is an answering machine,
//! and no speech at all within [`AnswerParams::initial_silence_ms`] is
//! reported as such. The figures are those commonly used for answering
//! machine detection (Asterisk's AMD defaults); they are parameters.
//!
//! # Not implemented
//!
//! - No comfort-noise generation and no per-band (spectral subtraction)
//!   noise model: background noise is one level.
//! - A coloured (non-white) noise that starts suddenly above the floor is
//!   taken for speech until the floor absorbs it (about 120 ms), and
//!   speech quieter than [`QUIET_NOISE_CEILING_DBM0`] held steady for
//!   120 ms can be absorbed into the floor.
//! - Tones less than about 20 dB above the noise (DTMF: 25 dB) are not
//!   reliably told from speech; the dedicated call-progress and DTMF
//!   detectors remain the authority on tones, and ToneStart reports no
//!   frequencies.
//! - Very steady synthetic vowels (espeak-ng) can be reported as a short
//!   tone between voice events when voice is off.
//! - Music is reported as voice.
//! - Only 8 kHz sampling.

use std::sync::{Arc, LazyLock};

use super::level::{dbm0_to_power, power_to_dbm0};
use super::simd::{dot, lanes_sum};

/// Samples per analysis frame (10 ms at 8 kHz).
pub const FRAME_SAMPLES: usize = 80;
/// Length of a frame in milliseconds.
pub const FRAME_MS: u32 = 10;
/// Order of the linear predictor (two sines need four).
pub const LPC_ORDER: usize = 4;

/// How fast the noise floor rises while frames are above it.
pub const FLOOR_RISE_DB_PER_S: f32 = 3.0;
/// Lowest noise floor tracked.
pub const FLOOR_MIN_DBM0: f32 = -80.0;
/// Frames whose levels must agree for the floor to jump to them (120 ms).
pub const STATIONARY_FRAMES: usize = 12;
/// How far apart (max − min) those levels may be.
pub const STATIONARY_SPREAD_DB: f32 = 4.0;
/// Steady sounds at or below this level are absorbed into the floor even
/// when their spectrum is not flat (hum, coloured line noise); the first
/// frame's floor is capped here too.
pub const QUIET_NOISE_CEILING_DBM0: f32 = -35.0;
/// A prediction gain below this is a flat, noise-like spectrum.
pub const FLAT_GAIN_DB: f32 = 3.0;
/// Steady frames whose gain stays below this count as noise for the floor.
pub const NOISE_MAX_GAIN_DB: f32 = 5.0;
/// Longest window (frames) in which the onset's speech frames are counted:
/// twice the onset, at most this.
pub const ONSET_WINDOW_FRAMES: u32 = 32;
/// Quiet frames that end a stretch of activity.
pub const STRETCH_GAP_FRAMES: u32 = 20;
/// Speech (neither flat nor tonal) frames needed among the onset frames: a
/// fricative or a noise burst alone does not start voice.
pub const ONSET_VOICED_FRAMES: u32 = 2;
/// Non-tonal frames that end a tone.
pub const TONE_END_FRAMES: u32 = 2;
/// How much more residual the predictor of two frames before may leave on
/// a tonal frame than the frame's own (a steady tone's recurrence does not
/// change; speech's does)...
pub const TONE_STEADY_DB: f32 = 1.0;
/// ... plus this much of the frame's energy, which covers the estimation
/// noise of very predictable frames.
pub const TONE_MISMATCH_DB: f32 = -25.0;

/// Highest prediction gain reported (the solve is regularised at −50 dB).
pub const MAX_GAIN_DB: f32 = 40.0;
/// Smallest residual, as a fraction of the frame's energy (−40 dB).
const MIN_RESIDUAL: f64 = 1e-4;

/// Power ratio of `db` decibels.
fn db_to_ratio(db: f32) -> f32 {
    10f32.powf(db / 10.0)
}

/// What a frame looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameClass {
    /// Below the activity threshold.
    Quiet,
    /// Active with a flat spectrum (white noise, some fricatives).
    NoiseLike,
    /// Active and neither flat nor tonal.
    Speech,
    /// A steady sum of one or two sines.
    Tonal,
}

/// What the detector reports. Positions are samples from construction or
/// reset; `at` is the position at which the decision was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VadEvent {
    /// Speech began at `start`.
    VoiceStart { start: u64, at: u64 },
    /// Speech ended at `end` (the hangover has passed since).
    VoiceStop { end: u64, at: u64 },
    /// A steady tone began at `start`.
    ToneStart { start: u64, at: u64 },
    /// The tone ended at `end`.
    ToneStop { end: u64, at: u64 },
    /// No voice since `since` for [`VadParams::silence_timeout_ms`].
    SilenceTimeout { since: u64, at: u64 },
}

/// Tuning of the detector.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VadParams {
    /// Speech frames a stretch needs before voice starts.
    pub onset_ms: u32,
    /// Time without speech after which voice stops.
    pub hangover_ms: u32,
    /// How far above the noise floor a frame must be to be active.
    pub margin_db: f32,
    /// Frames quieter than this are never active.
    pub min_speech_dbm0: f32,
    /// Least prediction gain of a tonal frame (which must also be predicted
    /// as well by the predictor of two frames before, see [`TONE_STEADY_DB`]).
    pub tone_gain_db: f32,
    /// Consecutive tonal frames that make a tone.
    pub tone_min_ms: u32,
    /// Consecutive tonal frames that make a tone while voice is on (a
    /// steady sung vowel or hum is part of the voice; a beep after a
    /// greeting ends it, back to where the tone began).
    pub tone_in_voice_ms: u32,
    /// Report [`VadEvent::SilenceTimeout`] after this long without voice.
    pub silence_timeout_ms: Option<u32>,
}

impl Default for VadParams {
    fn default() -> Self {
        VadParams {
            onset_ms: 50,
            hangover_ms: 300,
            margin_db: 9.0,
            min_speech_dbm0: -55.0,
            tone_gain_db: 12.0,
            tone_min_ms: 100,
            tone_in_voice_ms: 400,
            silence_timeout_ms: None,
        }
    }
}

/// Parameters that make no sense.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum VadParamsError {
    #[error("onset {0} ms is outside 10 … 160 ms")]
    BadOnset(u32),
    #[error("hangover {0} ms is outside 10 … 60000 ms")]
    BadHangover(u32),
    #[error("margin {0} dB is outside 3 … 30 dB")]
    BadMargin(f32),
    #[error("minimum speech level {0} dBm0 is outside -70 … -10 dBm0")]
    BadMinLevel(f32),
    #[error("tone gain {0} dB is outside 6 … 40 dB")]
    BadToneGain(f32),
    #[error("tone length {0} ms is outside 20 … 2000 ms")]
    BadToneLength(u32),
    #[error("silence timeout of 0 ms")]
    ZeroTimeout,
}

/// Immutable detector settings shared by every channel.
#[derive(Debug, Clone)]
pub struct VadDescriptor {
    params: VadParams,
    onset_frames: u32,
    hangover_frames: u32,
    tone_min_frames: u32,
    tone_in_voice_frames: u32,
    timeout_samples: Option<u64>,
    /// Power thresholds (16-bit units²) and ratios of the floor tracking.
    margin_ratio: f32,
    min_speech_power: f32,
    floor_min_power: f32,
    quiet_noise_ceiling_power: f32,
    rise_ratio: f32,
    spread_ratio: f32,
    /// Residual ratios for the frame classes (see [`FrameFit`]).
    tone_residual_max: f32,
    flat_residual_min: f32,
    noise_residual_min: f32,
    steady_factor: f32,
    mismatch: f32,
    /// Run the AVX2+FMA lag-product kernel (the CPU has both).
    use_avx2_fma: bool,
}

impl VadDescriptor {
    pub fn new(params: VadParams) -> Result<Self, VadParamsError> {
        let p = params;
        if !(10..=(ONSET_WINDOW_FRAMES / 2 * FRAME_MS)).contains(&p.onset_ms) {
            return Err(VadParamsError::BadOnset(p.onset_ms));
        }
        if !(10..=60_000).contains(&p.hangover_ms) {
            return Err(VadParamsError::BadHangover(p.hangover_ms));
        }
        if !(3.0..=30.0).contains(&p.margin_db) {
            return Err(VadParamsError::BadMargin(p.margin_db));
        }
        if !(-70.0..=-10.0).contains(&p.min_speech_dbm0) {
            return Err(VadParamsError::BadMinLevel(p.min_speech_dbm0));
        }
        if !(6.0..=MAX_GAIN_DB).contains(&p.tone_gain_db) {
            return Err(VadParamsError::BadToneGain(p.tone_gain_db));
        }
        for ms in [p.tone_min_ms, p.tone_in_voice_ms] {
            if !(20..=2000).contains(&ms) {
                return Err(VadParamsError::BadToneLength(ms));
            }
        }
        if p.silence_timeout_ms == Some(0) {
            return Err(VadParamsError::ZeroTimeout);
        }
        let frames = |ms: u32| ms.div_ceil(FRAME_MS).max(1);
        Ok(VadDescriptor {
            params,
            onset_frames: frames(p.onset_ms),
            hangover_frames: frames(p.hangover_ms),
            tone_min_frames: frames(p.tone_min_ms),
            tone_in_voice_frames: frames(p.tone_in_voice_ms),
            timeout_samples: p.silence_timeout_ms.map(|ms| ms as u64 * 8),
            margin_ratio: db_to_ratio(p.margin_db),
            min_speech_power: dbm0_to_power(p.min_speech_dbm0 as f64) as f32,
            floor_min_power: dbm0_to_power(FLOOR_MIN_DBM0 as f64) as f32,
            quiet_noise_ceiling_power: dbm0_to_power(QUIET_NOISE_CEILING_DBM0 as f64) as f32,
            rise_ratio: db_to_ratio(FLOOR_RISE_DB_PER_S * FRAME_MS as f32 / 1000.0),
            spread_ratio: db_to_ratio(STATIONARY_SPREAD_DB),
            tone_residual_max: db_to_ratio(-p.tone_gain_db),
            flat_residual_min: db_to_ratio(-FLAT_GAIN_DB),
            noise_residual_min: db_to_ratio(-NOISE_MAX_GAIN_DB),
            steady_factor: db_to_ratio(TONE_STEADY_DB),
            mismatch: db_to_ratio(TONE_MISMATCH_DB),
            use_avx2_fma: super::simd::avx2_fma_available(),
        })
    }

    /// The descriptor for [`VadParams::default`], built once.
    pub fn shared_default() -> Arc<VadDescriptor> {
        static D: LazyLock<Arc<VadDescriptor>> =
            LazyLock::new(|| Arc::new(VadDescriptor::new(VadParams::default()).expect("default parameters are valid")));
        D.clone()
    }

    pub fn params(&self) -> &VadParams {
        &self.params
    }

    /// Run the portable code path even on a CPU with AVX2 and FMA (for
    /// tests and benchmarks; results agree to float rounding).
    pub fn portable(mut self) -> Self {
        self.use_avx2_fma = false;
        self
    }

    /// Whether detectors using this descriptor run the AVX2+FMA kernel.
    pub fn uses_avx2_fma(&self) -> bool {
        self.use_avx2_fma
    }
}

/// Σ over the frame of x[n]·x[n−k] for k = 1…[`LPC_ORDER`]; `xs` holds
/// the 4 samples before the frame, then its 80. Each group of eight frame
/// samples is multiplied with its four shifted copies, eight lanes per
/// product; with AVX2 this is 40 fused multiply-adds on whole registers.
#[inline]
fn lag_products(xs: &[f32; LPC_ORDER + FRAME_SAMPLES], avx2_fma: bool) -> [f32; LPC_ORDER] {
    #[cfg(target_arch = "x86_64")]
    if avx2_fma {
        // SAFETY: callers pass `avx2_fma` from a descriptor, which sets it
        // only when the running CPU reported AVX2 and FMA.
        #[allow(unsafe_code)]
        return unsafe { kernel::lag_products_avx2(xs) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = avx2_fma;
    const P: usize = LPC_ORDER;
    let mut acc = [[0f32; 8]; P];
    for g in (0..FRAME_SAMPLES).step_by(8) {
        let cur = &xs[P + g..P + g + 8];
        for (j, a) in acc.iter_mut().enumerate() {
            let lag = &xs[P - 1 - j + g..P - 1 - j + g + 8];
            for i in 0..8 {
                a[i] += cur[i] * lag[i];
            }
        }
    }
    acc.map(|a| lanes_sum(&a))
}

/// The AVX2+FMA kernels.
#[cfg(target_arch = "x86_64")]
mod kernel {
    use super::{FRAME_SAMPLES, LPC_ORDER};
    use crate::dsp::simd::lanes_sum;
    use std::arch::x86_64::{__m256, _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_setzero_ps, _mm256_storeu_ps};

    /// Sum of a register's eight lanes, in [`lanes_sum`]'s order.
    #[target_feature(enable = "avx2,fma")]
    #[allow(unsafe_code)]
    fn hsum(v: __m256) -> f32 {
        let mut lanes = [0f32; 8];
        // SAFETY: `lanes` has room for the eight f32 stored (unaligned store).
        unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), v) };
        lanes_sum(&lanes)
    }

    /// [`super::lag_products`] on whole registers.
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    #[allow(unsafe_code)]
    pub unsafe fn lag_products_avx2(xs: &[f32; LPC_ORDER + FRAME_SAMPLES]) -> [f32; LPC_ORDER] {
        const P: usize = LPC_ORDER;
        let p = xs.as_ptr();
        let mut acc = [_mm256_setzero_ps(); P];
        for g in (0..FRAME_SAMPLES).step_by(8) {
            // SAFETY: g + 8 ≤ 80, so every load reads xs[g .. g + P + 8],
            // inside the array's P + 80 elements.
            unsafe {
                let cur = _mm256_loadu_ps(p.add(P + g));
                for (j, a) in acc.iter_mut().enumerate() {
                    *a = _mm256_fmadd_ps(cur, _mm256_loadu_ps(p.add(P - 1 - j + g)), *a);
                }
            }
        }
        acc.map(|v| hsum(v))
    }
}

/// The order-4 covariance-method predictor of one frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameFit {
    /// Residual energy over frame energy (1 = unpredictable, at least
    /// 10^(−[`MAX_GAIN_DB`]/10)).
    pub residual: f32,
    /// The same for the earlier frame's predictor on this frame (when one
    /// was given).
    pub cross_residual: Option<f32>,
    /// The predictor: x[n] ≈ −Σ aᵢ·x[n−i]; `None` when the frame is silent
    /// or degenerate.
    pub a: Option<[f64; LPC_ORDER]>,
}

impl Default for FrameFit {
    fn default() -> Self {
        FrameFit { residual: 1.0, cross_residual: None, a: None }
    }
}

impl FrameFit {
    /// Prediction gain, dB.
    pub fn gain_db(&self) -> f32 {
        -10.0 * self.residual.log10()
    }
    /// Gain of the earlier frame's predictor, dB.
    pub fn cross_gain_db(&self) -> Option<f32> {
        self.cross_residual.map(|r| -10.0 * r.log10())
    }
}

/// Residual `e` as a fraction of frame energy `e0`, capped.
fn residual_ratio(e0: f64, e: f64) -> f32 {
    (e / e0).clamp(MIN_RESIDUAL, 1.0) as f32
}

/// Fit the predictor to `xs` = the 4 samples before the frame followed by
/// the frame's 80 samples; `r0` is Σx² over the frame. With `prev`, also
/// measure how well that (earlier) predictor does on this frame.
// Matrix code reads best with indices.
#[allow(clippy::needless_range_loop)]
fn fit(xs: &[f32; LPC_ORDER + FRAME_SAMPLES], r0: f32, prev: Option<&[f64; LPC_ORDER]>, avx2_fma: bool) -> FrameFit {
    const P: usize = LPC_ORDER;
    const N: usize = FRAME_SAMPLES;
    if r0 <= 0.0 {
        return FrameFit::default();
    }
    // φ(i, j) = Σ_{n<N} x[n−i]·x[n−j]; x[n] is xs[n + P].
    let mut phi = [[0f64; P + 1]; P + 1];
    phi[0][0] = r0 as f64;
    for (j, p) in lag_products(xs, avx2_fma).into_iter().enumerate() {
        phi[0][j + 1] = p as f64;
        phi[j + 1][0] = p as f64;
    }
    let x = |n: isize| xs[(n + P as isize) as usize] as f64;
    for i in 0..P {
        for j in i..P {
            let (ii, jj) = (i as isize, j as isize);
            let v = phi[i][j] + x(-1 - ii) * x(-1 - jj) - x(N as isize - 1 - ii) * x(N as isize - 1 - jj);
            phi[i + 1][j + 1] = v;
            phi[j + 1][i + 1] = v;
        }
    }
    // Solve Φ₁₁·a = −φ₁₀ by Cholesky, with diagonal loading of −50 dB.
    let load = phi[0][0] * 1e-5;
    let mut l = [[0f64; P]; P];
    for i in 0..P {
        for j in 0..=i {
            let mut s = phi[i + 1][j + 1] + if i == j { load } else { 0.0 };
            for k in 0..j {
                s -= l[i][k] * l[j][k];
            }
            if i == j {
                if s <= 0.0 {
                    return FrameFit::default();
                }
                l[i][i] = s.sqrt();
            } else {
                l[i][j] = s / l[j][j];
            }
        }
    }
    let mut y = [0f64; P];
    for i in 0..P {
        let mut s = -phi[i + 1][0];
        for k in 0..i {
            s -= l[i][k] * y[k];
        }
        y[i] = s / l[i][i];
    }
    let mut a = [0f64; P];
    for i in (0..P).rev() {
        let mut s = y[i];
        for k in i + 1..P {
            s -= l[k][i] * a[k];
        }
        a[i] = s / l[i][i];
    }
    let mut e = phi[0][0];
    for j in 0..P {
        e += a[j] * phi[0][j + 1];
    }
    // Residual of another predictor b: vᵀΦv with v = [1, b].
    let cross_residual = prev.map(|b| {
        let v = [1.0, b[0], b[1], b[2], b[3]];
        let mut q = 0.0;
        for i in 0..=P {
            for j in 0..=P {
                q += v[i] * v[j] * phi[i][j];
            }
        }
        residual_ratio(phi[0][0], q)
    });
    FrameFit { residual: residual_ratio(phi[0][0], e), cross_residual, a: Some(a) }
}

/// Per-channel voice activity detector.
#[derive(Debug, Clone)]
pub struct Vad {
    desc: Arc<VadDescriptor>,
    /// Samples fed since construction or reset.
    pos: u64,
    /// Partial frame.
    buf: [i16; FRAME_SAMPLES],
    fill: usize,
    /// The last LPC_ORDER samples of the previous frame.
    hist: [f32; LPC_ORDER],
    /// Predictors of the last two frames (index 0 is the last), `None`
    /// for quiet frames.
    pred: [Option<[f64; LPC_ORDER]>; 2],
    /// Noise floor, dBm0; NaN until the first frame.
    floor_power: f32,
    /// Mean powers of the last frames, whether their spectrum was
    /// noise-like (prediction gain under [`NOISE_MAX_GAIN_DB`]; quiet frames
    /// count as such) and whether they were tonal: rings, the next frame
    /// goes at `ring_at` (= frames % STATIONARY_FRAMES, kept without a
    /// division).
    levels: [f32; STATIONARY_FRAMES],
    noisy_ring: [bool; STATIONARY_FRAMES],
    tonal_ring: [bool; STATIONARY_FRAMES],
    ring_at: usize,
    /// Frames processed.
    frames: u64,
    /// Class of the last frame.
    last_class: FrameClass,
    /// Start of the current stretch of activity, if any.
    stretch_start: Option<u64>,
    /// Which of the last frames (up to [`ONSET_WINDOW_FRAMES`]) were speech
    /// or noise-like, and which were speech (bit 0 is the newest).
    active_window: u32,
    speech_window: u32,
    /// Consecutive quiet frames, and where the current run of active
    /// frames began.
    quiet_run: u32,
    active_run_start: u64,
    /// Voice is on.
    voice: bool,
    /// End of the last frame that kept the voice on.
    voice_last: u64,
    /// End of the last speech or noise-like frame while voice was on, as
    /// of now and of the last three frames (newest first).
    voice_last_untoned: u64,
    untoned_ring: [u64; 3],
    /// `voice_last_untoned` as of two frames before the current tonal run
    /// (whose first two frames may have passed for speech).
    untoned_before_run: u64,
    /// Tone is on.
    tone: bool,
    /// Consecutive tonal frames, and where they began.
    tonal_run: u32,
    tonal_run_start: u64,
    /// Consecutive non-tonal frames while a tone is on.
    non_tonal_run: u32,
    /// End of the last tonal frame.
    tone_last: u64,
    /// Where the current silence (no voice) began.
    silence_since: u64,
    /// The silence timeout has fired for this silence.
    timeout_fired: bool,
}

impl Vad {
    pub fn new(desc: Arc<VadDescriptor>) -> Self {
        Vad {
            desc,
            pos: 0,
            buf: [0; FRAME_SAMPLES],
            fill: 0,
            hist: [0.0; LPC_ORDER],
            pred: [None; 2],
            floor_power: f32::NAN,
            levels: [0.0; STATIONARY_FRAMES],
            noisy_ring: [true; STATIONARY_FRAMES],
            tonal_ring: [false; STATIONARY_FRAMES],
            ring_at: 0,
            frames: 0,
            last_class: FrameClass::Quiet,
            stretch_start: None,
            active_window: 0,
            speech_window: 0,
            quiet_run: 0,
            active_run_start: 0,
            voice: false,
            voice_last: 0,
            voice_last_untoned: 0,
            untoned_ring: [0; 3],
            untoned_before_run: 0,
            tone: false,
            tonal_run: 0,
            tonal_run_start: 0,
            non_tonal_run: 0,
            tone_last: 0,
            silence_since: 0,
            timeout_fired: false,
        }
    }

    /// Forget everything; positions start again from 0.
    pub fn reset(&mut self) {
        *self = Vad::new(self.desc.clone());
    }

    pub fn descriptor(&self) -> &Arc<VadDescriptor> {
        &self.desc
    }

    /// Samples fed since construction or reset.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Whether voice is currently on.
    pub fn voice(&self) -> bool {
        self.voice
    }

    /// Whether a tone is currently on.
    pub fn tone(&self) -> bool {
        self.tone
    }

    /// The current noise floor estimate, dBm0 (−140 before the first frame).
    pub fn noise_floor_dbm0(&self) -> f32 {
        if self.floor_power.is_nan() { -140.0 } else { power_to_dbm0(self.floor_power as f64) as f32 }
    }

    /// What the last complete frame looked like.
    pub fn last_class(&self) -> FrameClass {
        self.last_class
    }

    /// Feed samples (any number); events go to `out`.
    pub fn rx(&mut self, samples: &[i16], out: &mut Vec<VadEvent>) {
        let mut s = samples;
        if self.fill > 0 {
            let n = (FRAME_SAMPLES - self.fill).min(s.len());
            self.buf[self.fill..self.fill + n].copy_from_slice(&s[..n]);
            self.fill += n;
            s = &s[n..];
            if self.fill < FRAME_SAMPLES {
                return;
            }
            let frame = self.buf;
            self.fill = 0;
            self.frame(&frame, out);
        }
        let mut chunks = s.chunks_exact(FRAME_SAMPLES);
        for c in &mut chunks {
            if let Ok(frame) = <&[i16; FRAME_SAMPLES]>::try_from(c) {
                self.frame(frame, out);
            }
        }
        let rest = chunks.remainder();
        self.buf[..rest.len()].copy_from_slice(rest);
        self.fill = rest.len();
    }

    /// Account for `n` lost samples: treated as quiet audio for the
    /// decisions (voice and tone end where the audio stopped), without
    /// touching the noise floor.
    pub fn fillin(&mut self, n: usize, out: &mut Vec<VadEvent>) {
        let total = self.fill as u64 + n as u64;
        self.fill = 0;
        self.hist = [0.0; LPC_ORDER];
        self.pred = [None; 2];
        // After the hangover and the silence timeout nothing changes any
        // more: run the decisions that far, then jump.
        let d = &*self.desc;
        let settle = d.hangover_frames as u64 + d.timeout_samples.unwrap_or(0) / FRAME_SAMPLES as u64 + 4;
        let frames = (total / FRAME_SAMPLES as u64).min(settle);
        for _ in 0..frames {
            let start = self.pos;
            self.pos = self.pos.saturating_add(FRAME_SAMPLES as u64);
            self.decide(FrameClass::Quiet, start, self.pos, out);
        }
        self.pos = self.pos.saturating_add(total - frames * FRAME_SAMPLES as u64);
    }

    fn frame(&mut self, frame: &[i16; FRAME_SAMPLES], out: &mut Vec<VadEvent>) {
        let start = self.pos;
        let end = start.saturating_add(FRAME_SAMPLES as u64);
        self.pos = end;
        let d = &*self.desc;
        let mut xs = [0f32; LPC_ORDER + FRAME_SAMPLES];
        xs[..LPC_ORDER].copy_from_slice(&self.hist);
        for (o, &s) in xs[LPC_ORDER..].iter_mut().zip(frame) {
            *o = s as f32;
        }
        self.hist.copy_from_slice(&xs[FRAME_SAMPLES..]);
        let cur = &xs[LPC_ORDER..];
        let r0 = dot(cur, cur);
        // Levels are compared as mean powers: no logarithm per frame.
        let power = r0 / FRAME_SAMPLES as f32;
        if self.floor_power.is_nan() {
            self.floor_power = power.clamp(d.floor_min_power, d.quiet_noise_ceiling_power);
        }
        let threshold = (self.floor_power * d.margin_ratio).max(d.min_speech_power);
        let (class, noisy) = if power < threshold {
            self.pred = [None, self.pred[0]];
            (FrameClass::Quiet, true)
        } else {
            let f = fit(&xs, r0, self.pred[1].as_ref(), d.use_avx2_fma);
            self.pred = [f.a, self.pred[0]];
            // A tone is predictable, and by the same predictor 20 ms later
            // (compared as residual ratios: no logarithms per frame).
            let tonal = f.residual <= d.tone_residual_max
                && f.cross_residual.is_some_and(|c| c <= d.steady_factor * f.residual + d.mismatch);
            let class = if tonal {
                FrameClass::Tonal
            } else if f.residual > d.flat_residual_min {
                FrameClass::NoiseLike
            } else {
                FrameClass::Speech
            };
            (class, f.residual > d.noise_residual_min)
        };
        self.track_floor(power, noisy, class == FrameClass::Tonal);
        self.last_class = class;
        self.decide(class, start, end, out);
    }

    fn track_floor(&mut self, power: f32, noisy: bool, tonal: bool) {
        let d = &*self.desc;
        let i = self.ring_at;
        self.ring_at = if i + 1 == STATIONARY_FRAMES { 0 } else { i + 1 };
        self.levels[i] = power;
        self.noisy_ring[i] = noisy;
        self.tonal_ring[i] = tonal;
        self.frames += 1;
        let power = power.max(d.floor_min_power);
        if power < self.floor_power {
            self.floor_power = power;
        } else {
            self.floor_power = (self.floor_power * d.rise_ratio).min(power);
        }
        if self.frames >= STATIONARY_FRAMES as u64 && !self.tonal_ring.iter().any(|&t| t) {
            let (mut lo, mut hi, mut sum) = (f32::INFINITY, 0f32, 0f32);
            for &l in &self.levels {
                lo = lo.min(l);
                hi = hi.max(l);
                sum += l;
            }
            let mean = sum / STATIONARY_FRAMES as f32;
            let flat = self.noisy_ring.iter().all(|&n| n);
            if hi <= lo * d.spread_ratio && (flat || mean <= d.quiet_noise_ceiling_power) && mean > self.floor_power {
                self.floor_power = mean.max(d.floor_min_power);
            }
        }
    }

    fn decide(&mut self, class: FrameClass, start: u64, end: u64, out: &mut Vec<VadEvent>) {
        let d = &*self.desc;
        let (onset, hangover, timeout) =
            (d.onset_frames, d.hangover_frames as u64 * FRAME_SAMPLES as u64, d.timeout_samples);
        let tone_min = if self.voice { d.tone_in_voice_frames } else { d.tone_min_frames };
        self.untoned_ring = [self.voice_last_untoned, self.untoned_ring[0], self.untoned_ring[1]];
        let window_mask = u32::MAX >> (32 - (2 * onset).clamp(1, ONSET_WINDOW_FRAMES));
        // Stretches of activity (for the start position of voice); the
        // frames of a tone belong to none.
        if class == FrameClass::Quiet {
            self.quiet_run += 1;
            if self.quiet_run >= STRETCH_GAP_FRAMES {
                self.stretch_start = None;
            }
        } else {
            if self.quiet_run > 0 {
                self.active_run_start = start;
            }
            self.quiet_run = 0;
            if self.stretch_start.is_none() && !self.tone {
                self.stretch_start = Some(start);
            }
        }
        let voiced = class == FrameClass::Speech;
        let active = voiced || class == FrameClass::NoiseLike;
        self.active_window = ((self.active_window << 1) | u32::from(active)) & window_mask;
        self.speech_window = ((self.speech_window << 1) | u32::from(voiced)) & window_mask;
        // Tones: runs of tonal frames, a single other frame bridged.
        if class == FrameClass::Tonal {
            if self.tonal_run == 0 {
                self.tonal_run_start = start;
                self.untoned_before_run = self.untoned_ring[2];
            }
            self.tonal_run += 1;
            self.non_tonal_run = 0;
            self.tone_last = end;
            if !self.tone && self.tonal_run >= tone_min {
                self.tone = true;
                // The tone's frames are not speech, nor the voice's.
                self.speech_window = 0;
                self.active_window = 0;
                self.stretch_start = None;
                // The first two frames of a tone cannot be tested for
                // steadiness: the tone began up to two frames earlier.
                let start = self.active_run_start.max(self.tonal_run_start.saturating_sub(2 * FRAME_SAMPLES as u64));
                self.voice_last = self.untoned_before_run.min(start);
                out.push(VadEvent::ToneStart { start, at: end });
            }
        } else {
            self.non_tonal_run += 1;
            if self.non_tonal_run >= TONE_END_FRAMES {
                self.tonal_run = 0;
                if self.tone {
                    self.tone = false;
                    self.speech_window = 0;
                    self.active_window = 0;
                    self.stretch_start = (class != FrameClass::Quiet).then_some(self.tone_last);
                    out.push(VadEvent::ToneStop { end: self.tone_last, at: end });
                }
            }
        }
        // Voice: speech and noise-like frames keep it on, and so do tonal
        // frames until they add up to a tone (a sung vowel, a hum); when
        // they do, the voice is taken to have ended where the tone began.
        if self.voice {
            match class {
                FrameClass::Speech | FrameClass::NoiseLike => {
                    self.voice_last = end;
                    self.voice_last_untoned = end;
                }
                FrameClass::Tonal if !self.tone => self.voice_last = end,
                _ => {}
            }
            if end - self.voice_last >= hangover {
                self.voice = false;
                self.silence_since = self.voice_last;
                self.timeout_fired = false;
                self.speech_window = 0;
                self.active_window = 0;
                out.push(VadEvent::VoiceStop { end: self.voice_last, at: end });
            }
        } else if !self.tone
            && self.active_window.count_ones() >= onset
            && self.speech_window.count_ones() >= ONSET_VOICED_FRAMES
        {
            let start = self.stretch_start.unwrap_or(start);
            self.voice = true;
            self.voice_last = end;
            self.voice_last_untoned = end;
            out.push(VadEvent::VoiceStart { start, at: end });
        }
        // Silence timeout.
        let due = timeout.is_some_and(|t| end.saturating_sub(self.silence_since) >= t);
        if due && !self.voice && !self.timeout_fired {
            self.timeout_fired = true;
            out.push(VadEvent::SilenceTimeout { since: self.silence_since, at: end });
        }
    }
}

// ---------------------------------------------------------------------------
// Answer detection

/// Timing of the greeting classifier.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnswerParams {
    /// No speech for this long after answer: [`AnswerVerdict::NoSpeech`].
    pub initial_silence_ms: u32,
    /// A greeting longer than this is a machine's.
    pub max_greeting_ms: u32,
    /// Silence after a greeting that ends it.
    pub after_greeting_silence_ms: u32,
    /// Hangover of the classifier's VAD (shorter than the usual 300 ms so
    /// that a short "Hello?" ends promptly).
    pub hangover_ms: u32,
}

impl Default for AnswerParams {
    fn default() -> Self {
        AnswerParams {
            initial_silence_ms: 2500,
            max_greeting_ms: 1500,
            after_greeting_silence_ms: 800,
            hangover_ms: 200,
        }
    }
}

/// What the far end seems to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerVerdict {
    /// A short greeting followed by silence: a person waiting for us.
    Human { greeting_start: u64, greeting_end: u64, at: u64 },
    /// A greeting still going on after the limit: an answering machine
    /// (or a talkative person).
    Machine { greeting_start: u64, at: u64 },
    /// Nobody spoke.
    NoSpeech { at: u64 },
}

/// Greeting parameters that make no sense.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AnswerParamsError {
    #[error("answer detection times must be above 0 ms")]
    ZeroTime,
    #[error(transparent)]
    Vad(#[from] VadParamsError),
}

/// Classifies the first utterance after answer.
#[derive(Debug, Clone)]
pub struct AnswerDetector {
    vad: Vad,
    params: AnswerParams,
    /// First VoiceStart of the greeting.
    greeting_start: Option<u64>,
    /// End of the last utterance of the greeting (when voice is off).
    greeting_end: u64,
    verdict: Option<AnswerVerdict>,
    /// VAD events of the current call, kept to look at after each block.
    scratch: Vec<VadEvent>,
}

impl AnswerDetector {
    /// A detector whose VAD uses `vad` with the hangover from `params`.
    pub fn new(vad: VadParams, params: AnswerParams) -> Result<Self, AnswerParamsError> {
        if params.initial_silence_ms == 0 || params.max_greeting_ms == 0 || params.after_greeting_silence_ms == 0 {
            return Err(AnswerParamsError::ZeroTime);
        }
        let desc = VadDescriptor::new(VadParams { hangover_ms: params.hangover_ms, silence_timeout_ms: None, ..vad })?;
        Ok(AnswerDetector {
            vad: Vad::new(Arc::new(desc)),
            params,
            greeting_start: None,
            greeting_end: 0,
            verdict: None,
            scratch: Vec::with_capacity(8),
        })
    }

    /// The verdict, once given.
    pub fn verdict(&self) -> Option<AnswerVerdict> {
        self.verdict
    }

    /// The VAD underneath (its position is the time since answer).
    pub fn vad(&self) -> &Vad {
        &self.vad
    }

    /// Feed audio from the far end, starting at answer; VAD events are
    /// passed on to `out`. Returns the verdict when it is reached (once).
    pub fn rx(&mut self, samples: &[i16], out: &mut Vec<VadEvent>) -> Option<AnswerVerdict> {
        if self.verdict.is_some() {
            self.vad.rx(samples, out);
            return None;
        }
        // Feed a frame at a time so the verdict's position is exact.
        let mut s = samples;
        while !s.is_empty() {
            let n = (FRAME_SAMPLES - (self.vad.position() % FRAME_SAMPLES as u64) as usize).min(s.len());
            self.scratch.clear();
            self.vad.rx(&s[..n], &mut self.scratch);
            s = &s[n..];
            out.extend_from_slice(&self.scratch);
            if let Some(v) = self.judge() {
                self.verdict = Some(v);
                self.vad.rx(s, out);
                return Some(v);
            }
        }
        None
    }

    fn judge(&mut self) -> Option<AnswerVerdict> {
        let ms = |v: u32| v as u64 * 8;
        for e in &self.scratch {
            match *e {
                VadEvent::VoiceStart { start, .. } if self.greeting_start.is_none() => {
                    self.greeting_start = Some(start)
                }
                VadEvent::VoiceStop { end, .. } => self.greeting_end = end,
                _ => {}
            }
        }
        let now = self.vad.position();
        let p = &self.params;
        match self.greeting_start {
            None if now >= ms(p.initial_silence_ms) => Some(AnswerVerdict::NoSpeech { at: now }),
            None => None,
            Some(start) if self.vad.voice() => (now - start > ms(p.max_greeting_ms))
                .then_some(AnswerVerdict::Machine { greeting_start: start, at: now }),
            Some(start) => {
                let end = self.greeting_end.max(start);
                if end - start > ms(p.max_greeting_ms) {
                    Some(AnswerVerdict::Machine { greeting_start: start, at: now })
                } else if now - end >= ms(p.after_greeting_silence_ms) {
                    Some(AnswerVerdict::Human { greeting_start: start, greeting_end: end, at: now })
                } else {
                    None
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::level::dbm0_to_peak;
    use crate::dsp::noise::NoiseGenerator;

    const TAU: f64 = 2.0 * std::f64::consts::PI;

    fn tones(freqs: &[f64], dbm0: f64, n: usize) -> Vec<i16> {
        let a = dbm0_to_peak(dbm0);
        (0..n)
            .map(|i| {
                let t = i as f64 / 8000.0;
                freqs.iter().enumerate().map(|(k, f)| a * (TAU * f * t + k as f64).sin()).sum::<f64>().round() as i16
            })
            .collect()
    }

    /// A crude voiced "speech" signal: a gliding 90…150 Hz impulse train
    /// with a little breath noise through three parallel gliding formant
    /// resonances (more than an order-4 predictor can follow: its frames
    /// give prediction gains of 4…14 dB, like recorded speech), with a
    /// syllable envelope.
    fn pseudo_speech(ms: usize, dbm0: f64, seed: u64) -> Vec<i16> {
        let n = ms * 8;
        let mut g = NoiseGenerator::new(seed, 0.0);
        let mut y = vec![0f64; n];
        let mut st = [[0f64; 2]; 3];
        let mut phase = 0.0;
        for (i, o) in y.iter_mut().enumerate() {
            let t = i as f64 / 8000.0;
            phase += (120.0 + 30.0 * (TAU * 2.0 * t).sin()) / 8000.0;
            let mut e = 0.05 * g.next_gaussian();
            if phase >= 1.0 {
                phase -= 1.0;
                e += 1.0;
            }
            let formants = [
                (500.0 + 250.0 * (TAU * 3.0 * t).sin(), 1.0),
                (1500.0 + 500.0 * (TAU * 2.3 * t).cos(), 0.5),
                (2500.0 + 200.0 * (TAU * 1.7 * t).sin(), 0.25),
            ];
            let mut v = 0.0;
            for (s, (f, gain)) in st.iter_mut().zip(formants) {
                let (r, w) = (0.92, TAU * f / 8000.0);
                let u = e + 2.0 * r * w.cos() * s[0] - r * r * s[1];
                s[1] = s[0];
                s[0] = u;
                v += gain * u;
            }
            *o = v * (0.3 + 0.7 * (TAU * 4.0 * t).sin().abs());
        }
        let p = y.iter().map(|v| v * v).sum::<f64>() / n as f64;
        let k = (dbm0_to_power(dbm0) / p).sqrt();
        y.iter().map(|v| (v * k).round().clamp(-32768.0, 32767.0) as i16).collect()
    }

    /// Prediction gains of the frames of `sig` (for calibration).
    fn gains(sig: &[i16]) -> Vec<f32> {
        let mut out = Vec::new();
        for w in sig.windows(LPC_ORDER + FRAME_SAMPLES).step_by(FRAME_SAMPLES) {
            let mut xs = [0f32; LPC_ORDER + FRAME_SAMPLES];
            for (o, s) in xs.iter_mut().zip(w) {
                *o = *s as f32;
            }
            let r0 = dot(&xs[LPC_ORDER..], &xs[LPC_ORDER..]);
            out.push(fit(&xs, r0, None, false).gain_db());
        }
        out
    }

    #[test]
    fn pseudo_speech_is_not_tonal() {
        let g = gains(&pseudo_speech(2000, -20.0, 1));
        let predictable = g.iter().filter(|&&v| v >= 20.0).count();
        assert!(predictable * 20 < g.len(), "{g:?}");
    }

    fn run(sig: &[i16], params: VadParams, chunk: usize) -> Vec<VadEvent> {
        let mut v = Vad::new(Arc::new(VadDescriptor::new(params).unwrap()));
        let mut ev = Vec::new();
        for c in sig.chunks(chunk) {
            v.rx(c, &mut ev);
        }
        ev
    }

    #[test]
    fn lag_products_agree_across_code_paths() {
        let sig = pseudo_speech(200, -15.0, 7);
        for frame in sig.chunks_exact(LPC_ORDER + FRAME_SAMPLES) {
            let xs: [f32; LPC_ORDER + FRAME_SAMPLES] = std::array::from_fn(|i| frame[i] as f32);
            let want: [f64; LPC_ORDER] = std::array::from_fn(|j| {
                (0..FRAME_SAMPLES).map(|n| xs[LPC_ORDER + n] as f64 * xs[LPC_ORDER + n - 1 - j] as f64).sum()
            });
            let r0: f64 = xs[LPC_ORDER..].iter().map(|&v| v as f64 * v as f64).sum();
            let paths = [lag_products(&xs, false), lag_products(&xs, crate::dsp::simd::avx2_fma_available())];
            for got in paths {
                for (g, w) in got.iter().zip(want) {
                    assert!((*g as f64 - w).abs() <= r0 * 1e-5, "{g} vs {w}");
                }
            }
        }
        assert_eq!(VadDescriptor::shared_default().uses_avx2_fma(), crate::dsp::simd::avx2_fma_available());
        assert!(!VadDescriptor::new(VadParams::default()).unwrap().portable().uses_avx2_fma());
    }

    #[test]
    fn fit_recognises_sines_noise_and_silence() {
        let mut xs = [0f32; LPC_ORDER + FRAME_SAMPLES];
        let t = tones(&[440.0, 480.0], -20.0, xs.len());
        for (o, s) in xs.iter_mut().zip(&t) {
            *o = *s as f32;
        }
        let r0 = dot(&xs[LPC_ORDER..], &xs[LPC_ORDER..]);
        let f = fit(&xs, r0, None, false);
        assert!(f.gain_db() > 30.0, "{f:?}");
        // The same tone later is predicted as well by this predictor.
        let later = tones(&[440.0, 480.0], -20.0, 3 * xs.len());
        let mut ys = [0f32; LPC_ORDER + FRAME_SAMPLES];
        for (o, s) in ys.iter_mut().zip(&later[2 * xs.len()..]) {
            *o = *s as f32;
        }
        let r0y = dot(&ys[LPC_ORDER..], &ys[LPC_ORDER..]);
        let g = fit(&ys, r0y, f.a.as_ref(), false);
        assert!(g.cross_gain_db().is_some_and(|c| c > 30.0), "{g:?}");
        let mut n = vec![0i16; xs.len()];
        NoiseGenerator::new(1, -30.0).tx(&mut n);
        for (o, s) in xs.iter_mut().zip(&n) {
            *o = *s as f32;
        }
        let r0 = dot(&xs[LPC_ORDER..], &xs[LPC_ORDER..]);
        let f = fit(&xs, r0, None, false);
        assert!(f.gain_db() < FLAT_GAIN_DB, "{f:?}");
        assert_eq!(fit(&[0.0; LPC_ORDER + FRAME_SAMPLES], 0.0, None, false), FrameFit::default());
    }

    #[test]
    fn speech_in_silence_starts_and_stops() {
        let mut sig = vec![0i16; 4000];
        sig.extend(pseudo_speech(800, -20.0, 1));
        sig.extend(vec![0i16; 8000]);
        let ev = run(&sig, VadParams::default(), 160);
        assert_eq!(ev.len(), 2, "{ev:?}");
        let VadEvent::VoiceStart { start, at } = ev[0] else { panic!("{ev:?}") };
        assert!(start.abs_diff(4000) <= 80 && at - 4000 <= 8 * 150, "{ev:?}");
        let VadEvent::VoiceStop { end, at } = ev[1] else { panic!("{ev:?}") };
        assert!(end.abs_diff(4000 + 6400) <= 160 && at - end <= 8 * 310, "{ev:?}");
    }

    #[test]
    fn white_noise_is_silence_and_tones_are_tones() {
        for dbm0 in [-50.0, -40.0, -30.0] {
            let mut sig = vec![0i16; 8000 * 3];
            NoiseGenerator::new(2, dbm0).tx(&mut sig);
            assert!(run(&sig, VadParams::default(), 80).is_empty(), "{dbm0}");
        }
        let ev = run(&tones(&[440.0, 480.0], -19.0, 16000), VadParams::default(), 80);
        assert!(matches!(ev.as_slice(), [VadEvent::ToneStart { start: 0, .. }]), "{ev:?}");
        let mut busy = Vec::new();
        for _ in 0..4 {
            busy.extend(tones(&[480.0, 620.0], -24.0, 4000));
            busy.extend(vec![0i16; 4000]);
        }
        let ev = run(&busy, VadParams::default(), 80);
        assert_eq!(ev.iter().filter(|e| matches!(e, VadEvent::ToneStart { .. })).count(), 4, "{ev:?}");
        assert!(!ev.iter().any(|e| matches!(e, VadEvent::VoiceStart { .. })), "{ev:?}");
    }

    #[test]
    fn speech_over_noise_after_the_floor_adapts() {
        let mut sig = vec![0i16; 8000];
        sig.extend(pseudo_speech(1000, -22.0, 4));
        sig.extend(vec![0i16; 8000]);
        NoiseGenerator::new(3, -42.0).add_to(&mut sig);
        let ev = run(&sig, VadParams::default(), 80);
        assert!(matches!(ev.as_slice(), [VadEvent::VoiceStart { .. }, VadEvent::VoiceStop { .. }]), "{ev:?}");
        // Noise that jumps up 10 dB mid-call is absorbed.
        let mut sig = vec![0i16; 8000 * 4];
        let (a, b) = sig.split_at_mut(8000);
        NoiseGenerator::new(5, -50.0).tx(a);
        NoiseGenerator::new(6, -40.0).tx(b);
        assert!(run(&sig, VadParams::default(), 80).is_empty());
    }

    #[test]
    fn a_beep_after_speech_ends_the_voice_where_it_begins() {
        let mut sig = vec![0i16; 2000];
        sig.extend(pseudo_speech(700, -20.0, 11));
        let speech_end = sig.len() as u64;
        sig.extend(vec![0i16; 800]);
        let beep = sig.len() as u64;
        sig.extend(tones(&[1000.0], -15.0, 8 * 700));
        sig.extend(vec![0i16; 8000]);
        let ev = run(&sig, VadParams::default(), 80);
        let stop = ev.iter().find_map(|e| match e {
            VadEvent::VoiceStop { end, .. } => Some(*end),
            _ => None,
        });
        assert!(stop.is_some_and(|e| e <= beep && e + 8 * 200 >= speech_end), "{ev:?}");
        assert!(
            ev.iter().any(|e| matches!(e, VadEvent::ToneStart { start, .. } if start.abs_diff(beep) <= 80)),
            "{ev:?}"
        );
        assert_eq!(ev.iter().filter(|e| matches!(e, VadEvent::VoiceStart { .. })).count(), 1, "{ev:?}");
    }

    #[test]
    fn silence_timeout_and_fillin() {
        let p = VadParams { silence_timeout_ms: Some(1000), ..VadParams::default() };
        let mut v = Vad::new(Arc::new(VadDescriptor::new(p).unwrap()));
        let mut ev = Vec::new();
        v.rx(&pseudo_speech(500, -20.0, 7), &mut ev);
        assert!(v.voice());
        v.fillin(8 * 2000 + 13, &mut ev);
        assert_eq!(v.position(), 8 * 2500 + 13);
        let stop = ev.iter().find_map(|e| match e {
            VadEvent::VoiceStop { end, .. } => Some(*end),
            _ => None,
        });
        assert!(stop.is_some_and(|e| e.abs_diff(4000) <= 80), "{ev:?}");
        assert!(
            ev.iter().any(|e| matches!(e, VadEvent::SilenceTimeout { since, at } if Some(*since) == stop && at - since >= 8000 && at - since < 8080)),
            "{ev:?}"
        );
        assert_eq!(ev.iter().filter(|e| matches!(e, VadEvent::SilenceTimeout { .. })).count(), 1);
        v.reset();
        assert_eq!(v.position(), 0);
        assert_eq!(v.noise_floor_dbm0(), -140.0);
    }

    #[test]
    fn extreme_settings_and_inputs_do_not_panic() {
        let p = VadParams { onset_ms: 160, hangover_ms: 60_000, tone_min_ms: 20, ..VadParams::default() };
        let mut sig = pseudo_speech(600, -20.0, 3);
        sig.extend(vec![i16::MAX; 400]);
        sig.extend(vec![i16::MIN; 400]);
        let ev = run(&sig, p, 7);
        assert!(matches!(ev.first(), Some(VadEvent::VoiceStart { .. })), "{ev:?}");
        let mut v = Vad::new(Arc::new(VadDescriptor::new(p).unwrap()));
        let mut ev = Vec::new();
        v.rx(&sig, &mut ev);
        v.fillin(usize::MAX, &mut ev);
        v.fillin(usize::MAX, &mut ev);
        assert_eq!(v.position(), u64::MAX);
        v.rx(&sig, &mut ev);
    }

    #[test]
    fn params_are_checked() {
        let bad = |p: VadParams| VadDescriptor::new(p).err();
        let d = VadParams::default();
        assert_eq!(bad(VadParams { onset_ms: 0, ..d }), Some(VadParamsError::BadOnset(0)));
        assert_eq!(bad(VadParams { hangover_ms: 0, ..d }), Some(VadParamsError::BadHangover(0)));
        assert_eq!(bad(VadParams { margin_db: 1.0, ..d }), Some(VadParamsError::BadMargin(1.0)));
        assert_eq!(bad(VadParams { min_speech_dbm0: 0.0, ..d }), Some(VadParamsError::BadMinLevel(0.0)));
        assert_eq!(bad(VadParams { tone_gain_db: 50.0, ..d }), Some(VadParamsError::BadToneGain(50.0)));
        assert_eq!(bad(VadParams { tone_min_ms: 5, ..d }), Some(VadParamsError::BadToneLength(5)));
        assert_eq!(bad(VadParams { silence_timeout_ms: Some(0), ..d }), Some(VadParamsError::ZeroTimeout));
        assert_eq!(
            AnswerDetector::new(d, AnswerParams { max_greeting_ms: 0, ..Default::default() }).err(),
            Some(AnswerParamsError::ZeroTime)
        );
    }

    #[test]
    fn answer_detector_verdicts() {
        let classify = |sig: &[i16]| {
            let mut a = AnswerDetector::new(VadParams::default(), AnswerParams::default()).unwrap();
            let mut ev = Vec::new();
            let mut verdict = None;
            for c in sig.chunks(160) {
                if let Some(v) = a.rx(c, &mut ev) {
                    assert!(verdict.is_none());
                    verdict = Some(v);
                }
            }
            assert_eq!(a.verdict(), verdict);
            verdict
        };
        let mut hello = vec![0i16; 4000];
        hello.extend(pseudo_speech(500, -20.0, 8));
        hello.extend(vec![0i16; 16000]);
        assert!(
            matches!(classify(&hello), Some(AnswerVerdict::Human { at, .. }) if at < 8 * 2000),
            "{:?}",
            classify(&hello)
        );
        let mut machine = vec![0i16; 4000];
        machine.extend(pseudo_speech(3000, -20.0, 9));
        assert!(matches!(classify(&machine), Some(AnswerVerdict::Machine { at, .. }) if at <= 8 * 2100));
        assert_eq!(classify(&vec![0i16; 8 * 3000]), Some(AnswerVerdict::NoSpeech { at: 8 * 2500 }));
    }
}
