//! Fax and modem connect tones: detectors and generators for CNG, CED/ANS
//! (plain, with phase reversals, with 15 Hz amplitude modulation) and the
//! V.21 channel-2 HDLC flag preamble.
//!
//! # Signals (ITU-T T.30, V.25, V.8, V.21)
//!
//! | Signal | What | Sent by |
//! |---|---|---|
//! | CNG | 1100 ± 38 Hz, 0.5 s on / 3 s off (±15 %) | calling fax |
//! | CED / ANS | 2100 ± 15 Hz, 3.3 ± 0.7 s | answering fax or modem |
//! | ANS/ | ANS with a 180° phase reversal every 450 ± 25 ms (V.25: disables echo cancellers) | answering modem |
//! | ANSam, ANSam/ | ANS (ANS/) with 15 Hz AM, envelope 0.8…1.2 (V.8) | V.8 modems, V.34 fax |
//! | V.21 preamble | back-to-back HDLC flags 0x7E at 300 bit/s, "1" = 1650 Hz, "0" = 1850 Hz, ~1 s | T.30 phase B |
//!
//! # Detector
//!
//! [`FaxToneDetector`] is the per-channel state; it shares an immutable
//! [`FaxToneRxDescriptor`] (DFT tables and thresholds, built once from
//! [`FaxToneRxParams`]) with every other channel. [`FaxToneDetector::rx`]
//! takes any number of samples, keeps its place across calls, and pushes
//! [`FaxToneEvent`]s into a caller-provided `Vec` (with spare capacity it
//! never allocates). Positions are samples counted from construction or
//! [`FaxToneDetector::reset`].
//!
//! How it works:
//!
//! 1. Audio is cut into blocks of [`BLOCK_SAMPLES`] = 80 samples (10 ms).
//!    For each block the detector measures its power Σx² and, when that is
//!    above the minimum level, the complex DFT at 1100, 2100, 1650 and
//!    1850 Hz as dot products with cos/sin tables kept in the descriptor
//!    (no recursion, so the loops vectorise: about 2 multiply-adds per
//!    sample per enabled frequency, nothing at all but Σx² in quiet blocks).
//!    With AVX2+FMA (chosen at run time; [`FaxToneRxDescriptor::portable`]
//!    forces the plain loops) all eight cos/sin rows are one register:
//!    one fused multiply-add per sample against the table stored by
//!    sample.
//! 2. A block is a *hit* for a tone when the sine power that the DFT sees
//!    holds at least a set share of the block's power (the tone dominates
//!    the channel) and is above the minimum level. With 80-sample blocks
//!    the share falls to 0.6 at ±38 Hz and to 0.4 at ±50 Hz, and a 100 Hz
//!    offset is a null; speech, music, DTMF and call-progress tones do not
//!    hold the share for long.
//! 3. The DFT phase advances from block to block by 2π·Δf·10 ms, so the
//!    rotation between consecutive blocks measures the frequency offset Δf
//!    (±50 Hz unambiguous; the share test rules out the aliases) and its
//!    steadiness. A run of hits must stay within the tolerance of its tone
//!    and steady (a speech harmonic glides).
//! 4. A phase reversal shows as a rotation across two blocks that differs
//!    by more than 120° from twice the steady per-block rotation; the block
//!    that holds the reversal may itself be a miss (its halves cancel), so
//!    one missed block inside a run is bridged.
//! 5. Decisions: CNG after [`CNG_MIN_MS`] of steady 1100 Hz (within every
//!    burst); ANS/ (or ANSam/) at the first phase reversal inside a run of
//!    2100 Hz, typically 0.46 s after the start; plain ANS (ANSam) after
//!    [`ANS_PLAIN_DECISION_MS`] without a reversal. ANSam is told from ANS
//!    by the 15 Hz component of the per-block magnitudes over the first
//!    400 ms (6 whole periods). If a tone reported as plain ANS later shows
//!    a reversal (the detector joined late), it is reported again as ANS/
//!    with the same start.
//! 6. The V.21 preamble: see [`V21_FLAG_RUN`] and the section below.
//!
//! Each detection reports the start of the run (the first sample of its
//! first hit block: within 10 ms of the true start),
//! the position at which it was decided, the tone's level and its measured
//! frequency. The end of a reported tone (two missed blocks) is reported
//! too.
//!
//! # Generators
//!
//! [`FaxToneGenerator`] plays a [`FaxToneTx`]: CNG cadence (repeating),
//! ANS/CED with or without phase reversals and AM, and a V.21 flag
//! preamble (phase-continuous FSK), for the simulator's fax machines.
//!
//! # Not implemented
//!
//! - The V.8 1300 Hz calling tone (CT) and V.8 CM/JM messages.
//! - Echo canceller disabling itself (the engine acts on ANS/ events).
//! - CNG is reported per burst; whether a 3 s silence follows is left to
//!   the caller (a continuous 1100 Hz tone is reported once, as CNG).
//! - Only 8 kHz sampling.

use std::sync::{Arc, LazyLock};

use super::fsk::{FskFraming, FskRx, FskRxDescriptor, FskRxEvent, FskSpec, FskSpecError, FskTx};
use super::level::{dbm0_to_peak, dbm0_to_power, power_to_dbm0};
use super::simd::dot;
use super::tonegen::{phase_increment, sine_of_phase, sine_table};

/// Sample rate everything here assumes.
pub const SAMPLE_RATE_HZ: u32 = 8000;
/// Samples per analysis block (10 ms).
pub const BLOCK_SAMPLES: usize = 80;
/// Length of one block in milliseconds.
pub const BLOCK_MS: u32 = 10;

/// CNG frequency.
pub const CNG_HZ: f32 = 1100.0;
/// ANS / CED frequency.
pub const ANS_HZ: f32 = 2100.0;
/// V.21 channel 2 mark ("1") frequency.
pub const V21_MARK_HZ: f32 = 1650.0;
/// V.21 channel 2 space ("0") frequency.
pub const V21_SPACE_HZ: f32 = 1850.0;
/// V.21 bit rate.
pub const V21_BAUD: u32 = 300;
/// The HDLC flag octet.
pub const HDLC_FLAG: u8 = 0x7E;

/// CNG cadence: tone on.
pub const CNG_ON_MS: u32 = 500;
/// CNG cadence: silence.
pub const CNG_OFF_MS: u32 = 3000;
/// Spacing of ANS/ phase reversals.
pub const ANS_REVERSAL_MS: u32 = 450;
/// ANSam modulation frequency.
pub const ANSAM_AM_HZ: f32 = 15.0;
/// ANSam modulation depth (envelope 0.8 … 1.2).
pub const ANSAM_AM_DEPTH: f32 = 0.2;

/// Shortest run of steady 1100 Hz reported as CNG (the shortest burst the
/// standard allows is 425 ms).
pub const CNG_MIN_MS: u32 = 400;
/// A 2100 Hz run with no phase reversal after this long is plain ANS.
pub const ANS_PLAIN_DECISION_MS: u32 = 600;
/// Blocks over which ANSam's 15 Hz modulation is measured: 400 ms, six
/// whole periods, so the average level leaks nothing into the 15 Hz bin.
pub const ANSAM_WINDOW_BLOCKS: usize = 40;
/// Measured modulation depth above which a 2100 Hz tone is ANSam (ANSam
/// gives 0.19 after the 10 ms block averaging; plain ANS about 0).
pub const ANSAM_MIN_DEPTH: f32 = 0.1;
/// A 2100 Hz run must be within this of 2100 Hz (the standard allows ±15).
pub const ANS_MAX_OFFSET_HZ: f32 = 25.0;
/// An 1100 Hz run must be within this of 1100 Hz (the standard allows ±38).
pub const CNG_MAX_OFFSET_HZ: f32 = 45.0;
/// Largest RMS deviation of the per-block frequency over a run (a steady
/// tone in 15 dB of noise shows well under 1 Hz; a speech harmonic glides).
pub const MAX_FREQ_JITTER_HZ: f32 = 6.0;
/// Default lowest tone level detected.
pub const DEFAULT_MIN_LEVEL_DBM0: f32 = -43.0;
/// Share of a block's power a CNG hit must hold.
pub const CNG_MIN_SHARE: f32 = 0.45;
/// Share of a block's power an ANS hit must hold.
pub const ANS_MIN_SHARE: f32 = 0.55;
/// Missed blocks bridged inside a run (a phase reversal can null one).
pub const MAX_BRIDGED_BLOCKS: u8 = 1;
/// Back-to-back flags that make a V.21 preamble (32 bits, 107 ms).
pub const V21_FLAG_RUN: u32 = 4;

const TWO_PI: f64 = 2.0 * std::f64::consts::PI;
/// Hz of frequency offset per radian of block-to-block rotation.
const HZ_PER_RAD: f32 = SAMPLE_RATE_HZ as f32 / (TWO_PI as f32 * BLOCK_SAMPLES as f32);
/// Rows of the DFT table: cos and sin for each frequency.
const ROWS: usize = 8;
const ROW_CNG: usize = 0;
const ROW_ANS: usize = 2;
const ROW_MARK: usize = 4;
const ROW_SPACE: usize = 6;

/// One of the recognised signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaxTone {
    /// Calling tone: 1100 Hz bursts.
    Cng,
    /// 2100 Hz answer tone without phase reversals (fax CED, V.25 ANS).
    Ans,
    /// 2100 Hz with phase reversals every 450 ms (V.25 ANS/).
    AnsPr,
    /// 2100 Hz with 15 Hz AM (V.8 ANSam).
    AnsAm,
    /// 2100 Hz with AM and phase reversals (V.8 ANSam/).
    AnsAmPr,
    /// Back-to-back HDLC flags on V.21 channel 2 (T.30 preamble).
    V21Preamble,
}

impl FaxTone {
    /// Whether this is one of the 2100 Hz answer tones.
    pub fn is_answer_tone(self) -> bool {
        matches!(self, FaxTone::Ans | FaxTone::AnsPr | FaxTone::AnsAm | FaxTone::AnsAmPr)
    }
    /// Whether the tone has phase reversals (it asks echo cancellers to
    /// disable, V.25/G.165).
    pub fn has_phase_reversals(self) -> bool {
        matches!(self, FaxTone::AnsPr | FaxTone::AnsAmPr)
    }
    /// Whether the tone carries 15 Hz AM (V.8).
    pub fn has_am(self) -> bool {
        matches!(self, FaxTone::AnsAm | FaxTone::AnsAmPr)
    }
    fn answer(reversals: bool, am: bool) -> Self {
        match (reversals, am) {
            (false, false) => FaxTone::Ans,
            (true, false) => FaxTone::AnsPr,
            (false, true) => FaxTone::AnsAm,
            (true, true) => FaxTone::AnsAmPr,
        }
    }
    /// The name the Recommendations use.
    pub fn name(self) -> &'static str {
        match self {
            FaxTone::Cng => "CNG",
            FaxTone::Ans => "ANS",
            FaxTone::AnsPr => "ANS/",
            FaxTone::AnsAm => "ANSam",
            FaxTone::AnsAmPr => "ANSam/",
            FaxTone::V21Preamble => "V.21 preamble",
        }
    }
}

impl std::fmt::Display for FaxTone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A recognised tone.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaxToneReport {
    pub tone: FaxTone,
    /// Position of the first sample of the tone: the start of the first
    /// block the tone dominates, so within one block (10 ms) of the truth.
    pub start: u64,
    /// Position at which the detector decided (the end of the deciding
    /// block).
    pub at: u64,
    /// Mean level of the tone so far, dBm0.
    pub level_dbm0: f32,
    /// Measured frequency (for the V.21 preamble, the mark frequency).
    pub freq_hz: f32,
}

/// What the detector reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FaxToneEvent {
    /// A tone was recognised. A 2100 Hz tone first reported as plain
    /// ANS/ANSam is reported again, with the same start, if a phase
    /// reversal shows up later.
    Detected(FaxToneReport),
    /// A reported tone stopped; `end` is the position just after its last
    /// hit block.
    Ended { tone: FaxTone, end: u64 },
}

impl FaxToneEvent {
    pub fn tone(&self) -> FaxTone {
        match self {
            FaxToneEvent::Detected(r) => r.tone,
            FaxToneEvent::Ended { tone, .. } => *tone,
        }
    }
}

/// What to detect and how quietly.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaxToneRxParams {
    /// Look for CNG (inbound calls).
    pub cng: bool,
    /// Look for ANS/CED/ANSam (outbound calls, echo canceller control).
    pub ans: bool,
    /// Look for the V.21 flag preamble (answering faxes that skip CED).
    pub v21: bool,
    /// Quietest tone reported, dBm0.
    pub min_level_dbm0: f32,
}

impl Default for FaxToneRxParams {
    fn default() -> Self {
        FaxToneRxParams { cng: true, ans: true, v21: true, min_level_dbm0: DEFAULT_MIN_LEVEL_DBM0 }
    }
}

/// Parameters that make no sense.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FaxToneParamsError {
    #[error("minimum level {0} dBm0 is outside -60 … 0 dBm0")]
    BadMinLevel(f32),
    #[error("no tone is enabled")]
    NothingEnabled,
    #[error("the V.21 demodulator refused its parameters: {0}")]
    V21(#[from] FskSpecError),
}

/// Immutable detector data shared by every channel: DFT tables and
/// thresholds.
#[derive(Debug, Clone)]
pub struct FaxToneRxDescriptor {
    params: FaxToneRxParams,
    /// cos/sin rows for 1100, 2100, 1650, 1850 Hz over one block.
    table: [[f32; BLOCK_SAMPLES]; ROWS],
    /// The same table by sample: `table_t[n][row]` (all rows of one sample
    /// in one AVX register).
    table_t: [[f32; ROWS]; BLOCK_SAMPLES],
    /// Run the AVX2+FMA DFT kernel (the CPU has both).
    use_avx2_fma: bool,
    /// Rows actually computed: `[first, end)`, contiguous by construction
    /// order (CNG, ANS, V.21).
    rows_lo: usize,
    rows_hi: usize,
    /// Σx² of a block below which nothing is computed: a sine at the
    /// minimum level, less 3 dB.
    min_block_energy: f32,
    /// Sine power (16-bit units²) of the minimum level.
    min_tone_power: f32,
    /// exp(-j·2π·15 Hz·k·10 ms) for the ANSam window.
    am_phasor: [C32; ANSAM_WINDOW_BLOCKS],
    /// The V.21 channel 2 demodulator's tables (when V.21 is enabled).
    v21: Option<Arc<FskRxDescriptor>>,
}

impl FaxToneRxDescriptor {
    pub fn new(params: FaxToneRxParams) -> Result<Self, FaxToneParamsError> {
        if !(-60.0..=0.0).contains(&params.min_level_dbm0) {
            return Err(FaxToneParamsError::BadMinLevel(params.min_level_dbm0));
        }
        if !(params.cng || params.ans || params.v21) {
            return Err(FaxToneParamsError::NothingEnabled);
        }
        let mut table = [[0f32; BLOCK_SAMPLES]; ROWS];
        for (i, hz) in [CNG_HZ, ANS_HZ, V21_MARK_HZ, V21_SPACE_HZ].iter().enumerate() {
            let w = TWO_PI * *hz as f64 / SAMPLE_RATE_HZ as f64;
            let (re, im) = table.split_at_mut(2 * i + 1);
            for (n, (c, s)) in re[2 * i].iter_mut().zip(im[0].iter_mut()).enumerate() {
                *c = (w * n as f64).cos() as f32;
                *s = -(w * n as f64).sin() as f32;
            }
        }
        let mut table_t = [[0f32; ROWS]; BLOCK_SAMPLES];
        for (n, col) in table_t.iter_mut().enumerate() {
            for (row, v) in col.iter_mut().enumerate() {
                *v = table[row][n];
            }
        }
        let rows_lo = if params.cng {
            ROW_CNG
        } else if params.ans {
            ROW_ANS
        } else {
            ROW_MARK
        };
        let rows_hi = if params.v21 {
            ROWS
        } else if params.ans {
            ROW_MARK
        } else {
            ROW_ANS
        };
        let min_tone_power = dbm0_to_power(params.min_level_dbm0 as f64) as f32;
        let mut am_phasor = [C32::default(); ANSAM_WINDOW_BLOCKS];
        for (k, p) in am_phasor.iter_mut().enumerate() {
            let ph = TWO_PI * ANSAM_AM_HZ as f64 * k as f64 * BLOCK_MS as f64 / 1000.0;
            *p = C32 { re: ph.cos() as f32, im: -ph.sin() as f32 };
        }
        let v21 = if params.v21 {
            // Carrier on 3 dB under the weakest tone we report, off 3 dB lower.
            let on = params.min_level_dbm0 - 3.0;
            Some(Arc::new(FskRxDescriptor::with_thresholds(FskSpec::V21_CH2, on, on - 3.0)?))
        } else {
            None
        };
        Ok(FaxToneRxDescriptor {
            v21,
            params,
            table,
            table_t,
            use_avx2_fma: super::simd::avx2_fma_available(),
            rows_lo,
            rows_hi,
            min_block_energy: min_tone_power * 0.5 * BLOCK_SAMPLES as f32,
            min_tone_power,
            am_phasor,
        })
    }

    /// Run the portable DFT even on a CPU with AVX2 and FMA (for tests and
    /// benchmarks; results agree to float rounding).
    pub fn portable(mut self) -> Self {
        self.use_avx2_fma = false;
        self
    }

    /// Whether detectors using this descriptor run the AVX2+FMA kernel.
    pub fn uses_avx2_fma(&self) -> bool {
        self.use_avx2_fma
    }

    /// The block's DFT values (cos and sin rows of every frequency; rows
    /// outside `rows_lo..rows_hi` are zero in the portable path).
    #[allow(unsafe_code)]
    fn dft(&self, x: &[f32; BLOCK_SAMPLES]) -> [f32; ROWS] {
        #[cfg(target_arch = "x86_64")]
        if self.use_avx2_fma {
            // SAFETY: `use_avx2_fma` is set only when the running CPU
            // reported both AVX2 and FMA (`simd::avx2_fma_available`).
            return unsafe { kernel::dft_avx2(x, &self.table_t) };
        }
        let mut dft = [0f32; ROWS];
        for (o, row) in dft[self.rows_lo..self.rows_hi].iter_mut().zip(&self.table[self.rows_lo..self.rows_hi]) {
            *o = dot(x, row);
        }
        dft
    }

    /// The descriptor for [`FaxToneRxParams::default`], built once.
    pub fn shared_default() -> Arc<FaxToneRxDescriptor> {
        static D: LazyLock<Arc<FaxToneRxDescriptor>> = LazyLock::new(|| {
            Arc::new(FaxToneRxDescriptor::new(FaxToneRxParams::default()).expect("default parameters are valid"))
        });
        D.clone()
    }

    pub fn params(&self) -> &FaxToneRxParams {
        &self.params
    }
}

/// A small complex number.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct C32 {
    re: f32,
    im: f32,
}

impl C32 {
    #[inline]
    fn norm_sqr(self) -> f32 {
        self.re * self.re + self.im * self.im
    }
    /// self · conj(other)
    #[inline]
    fn mul_conj(self, o: C32) -> C32 {
        C32 { re: self.re * o.re + self.im * o.im, im: self.im * o.re - self.re * o.im }
    }
    #[inline]
    fn mul(self, o: C32) -> C32 {
        C32 { re: self.re * o.re - self.im * o.im, im: self.re * o.im + self.im * o.re }
    }
    #[inline]
    fn arg(self) -> f32 {
        self.im.atan2(self.re)
    }
    /// Unit phasor in the same direction (zero stays zero).
    #[inline]
    fn unit(self) -> C32 {
        let n = self.norm_sqr().sqrt();
        if n > 0.0 { C32 { re: self.re / n, im: self.im / n } } else { C32::default() }
    }
    #[inline]
    fn scale(self, k: f32) -> C32 {
        C32 { re: self.re * k, im: self.im * k }
    }
    #[inline]
    fn add(self, o: C32) -> C32 {
        C32 { re: self.re + o.re, im: self.im + o.im }
    }
}

/// The AVX2+FMA DFT kernel.
#[cfg(target_arch = "x86_64")]
mod kernel {
    use super::{BLOCK_SAMPLES, ROWS};
    use std::arch::x86_64::{
        _mm256_add_ps, _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_set1_ps, _mm256_setzero_ps, _mm256_storeu_ps,
    };

    /// All eight DFT rows of a block at once: each sample, splatted, times
    /// its column of the table, summed in four interleaved accumulators
    /// (so the multiply-adds overlap instead of waiting on each other).
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    #[allow(unsafe_code)]
    pub unsafe fn dft_avx2(x: &[f32; BLOCK_SAMPLES], table_t: &[[f32; ROWS]; BLOCK_SAMPLES]) -> [f32; ROWS] {
        let mut acc = [_mm256_setzero_ps(); 4];
        for n in (0..BLOCK_SAMPLES).step_by(4) {
            for (k, a) in acc.iter_mut().enumerate() {
                // SAFETY: each column is ROWS = 8 f32, exactly one unaligned load.
                let col = unsafe { _mm256_loadu_ps(table_t[n + k].as_ptr()) };
                *a = _mm256_fmadd_ps(_mm256_set1_ps(x[n + k]), col, *a);
            }
        }
        let sum = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
        let mut out = [0f32; ROWS];
        // SAFETY: `out` has room for the eight f32 stored.
        unsafe { _mm256_storeu_ps(out.as_mut_ptr(), sum) };
        out
    }
}

/// What one block says about one frequency.
#[derive(Debug, Clone, Copy, Default)]
struct BlockTone {
    /// DFT value (phase referred to the block start).
    x: C32,
    /// Sine power estimate, 16-bit units² (A²/2).
    power: f32,
    /// Share of the block's power.
    share: f32,
}

impl BlockTone {
    fn new(x: C32, block_power: f32) -> Self {
        // A sine of amplitude A on the bin gives |X| = N·A/2.
        let power = 2.0 * x.norm_sqr() / (BLOCK_SAMPLES * BLOCK_SAMPLES) as f32;
        let share = if block_power > 0.0 { power / block_power } else { 0.0 };
        BlockTone { x, power, share }
    }
}

/// A run of hit blocks for one tone frequency, with its frequency tracking
/// and (for 2100 Hz) phase-reversal and AM analysis.
#[derive(Debug, Clone, Copy, Default)]
struct ToneRun {
    /// A run is open.
    active: bool,
    /// First sample of the run's first hit block.
    start: u64,
    /// End (exclusive) of the last hit block.
    last_hit_end: u64,
    /// Consecutive missed blocks.
    misses: u8,
    /// Blocks since the run started (hits and bridged misses).
    blocks: u32,
    /// Hit blocks.
    hits: u32,
    /// Sum of the hit blocks' sine power (for the level).
    power_sum: f32,
    /// DFT value of the last block and the one before; zero when missed.
    prev: [C32; 2],
    /// Unit phasor of the smoothed rotation per block (frequency offset).
    drift: C32,
    /// Consistent rotations since `drift` was (re)started.
    drift_n: u32,
    /// Consecutive rotations inconsistent with `drift`.
    inconsistent_run: u8,
    /// Rotations that were inconsistent in the whole run.
    inconsistent: u32,
    /// Sum of squared deviations (rad²) of consistent rotations from `drift`.
    dev_sq_sum: f32,
    /// Blocks to wait before another reversal can be counted.
    refractory: u8,
    /// Phase reversals seen.
    reversals: u32,
    /// Position of the last reversal.
    last_reversal: u64,
    /// Tone reported for this run, if any.
    reported: Option<FaxTone>,
    /// 15 Hz component of the magnitudes over the AM window.
    am_acc: C32,
    /// Sum of the magnitudes over the AM window.
    am_sum: f32,
    /// Last hit magnitude (stands in for a missed block in the AM window).
    last_mag: f32,
}

impl ToneRun {
    fn open(&mut self, block_start: u64) {
        *self = ToneRun { active: true, start: block_start, ..ToneRun::default() };
    }

    fn freq_offset_hz(&self) -> f32 {
        self.drift.arg() * HZ_PER_RAD
    }

    fn jitter_hz(&self) -> f32 {
        if self.drift_n == 0 { 0.0 } else { (self.dev_sq_sum / self.drift_n as f32).sqrt() * HZ_PER_RAD }
    }

    fn level_dbm0(&self) -> f32 {
        if self.hits == 0 { -140.0 } else { power_to_dbm0((self.power_sum / self.hits as f32) as f64) as f32 }
    }

    /// Feed one block's view of this tone. Returns whether a phase
    /// reversal was seen in this block.
    fn feed(&mut self, t: &BlockTone, hit: bool, block_start: u64, block_end: u64, am: Option<&[C32]>) -> bool {
        if !self.active {
            if !hit {
                return false;
            }
            self.open(block_start);
        }
        self.blocks += 1;
        let mut reversal = false;
        if hit {
            self.misses = 0;
            self.hits += 1;
            self.power_sum += t.power;
            self.last_hit_end = block_end;
            let x = t.x;
            if self.prev[0] != C32::default() {
                let d = x.mul_conj(self.prev[0]).unit();
                if self.drift_n == 0 {
                    self.drift = d;
                    self.drift_n = 1;
                } else {
                    let c = d.mul_conj(self.drift);
                    if c.re > 0.5 {
                        let dev = c.arg();
                        self.dev_sq_sum += dev * dev;
                        self.drift = self.drift.add(d.add(self.drift.scale(-1.0)).scale(0.25)).unit();
                        self.drift_n += 1;
                        self.inconsistent_run = 0;
                    } else {
                        self.inconsistent += 1;
                        self.inconsistent_run += 1;
                        if self.inconsistent_run >= 3 {
                            // The first rotation was a bad reference.
                            self.drift = d;
                            self.drift_n = 1;
                            self.dev_sq_sum = 0.0;
                            self.inconsistent_run = 0;
                        }
                    }
                }
            }
            if am.is_some() && self.refractory == 0 && self.drift_n >= 3 && self.prev[1] != C32::default() {
                let w = x.mul_conj(self.prev[1]);
                let expect = self.drift.mul(self.drift);
                let c = w.mul_conj(expect);
                let n = w.norm_sqr().sqrt();
                if n > 0.0 && c.re < -0.5 * n {
                    reversal = true;
                    self.reversals += 1;
                    self.last_reversal = block_start.saturating_sub(BLOCK_SAMPLES as u64);
                    self.refractory = 3;
                }
            }
            self.last_mag = t.power.sqrt();
            self.prev = [x, self.prev[0]];
        } else {
            self.misses += 1;
            self.prev = [C32::default(), self.prev[0]];
        }
        self.refractory = self.refractory.saturating_sub(1);
        if let Some(ph) = am {
            let k = self.blocks as usize - 1;
            if let Some(p) = ph.get(k) {
                self.am_acc = self.am_acc.add(p.scale(self.last_mag));
                self.am_sum += self.last_mag;
            }
        }
        reversal
    }

    /// Whether the run has ended (too many misses).
    fn ended(&self) -> bool {
        self.active && self.misses > MAX_BRIDGED_BLOCKS
    }

    /// Measured AM depth, once the window is full.
    fn am_depth(&self) -> Option<f32> {
        if (self.blocks as usize) < ANSAM_WINDOW_BLOCKS || self.am_sum <= 0.0 {
            return None;
        }
        Some(2.0 * self.am_acc.norm_sqr().sqrt() / self.am_sum)
    }

    fn age_ms(&self, now: u64) -> u32 {
        (now.saturating_sub(self.start) / (SAMPLE_RATE_HZ as u64 / 1000)) as u32
    }
}

/// Per-channel fax tone detector.
#[derive(Debug, Clone)]
pub struct FaxToneDetector {
    desc: Arc<FaxToneRxDescriptor>,
    /// Samples fed since construction or reset.
    pos: u64,
    /// Partial block.
    buf: [i16; BLOCK_SAMPLES],
    /// Samples in `buf`.
    fill: usize,
    /// The 1100 Hz run.
    cng: ToneRun,
    /// The 2100 Hz run.
    ans: ToneRun,
    /// V.21 preamble recogniser (when enabled).
    v21: Option<V21FlagDetector>,
}

impl FaxToneDetector {
    pub fn new(desc: Arc<FaxToneRxDescriptor>) -> Self {
        FaxToneDetector {
            v21: desc.v21.as_ref().map(|d| V21FlagDetector::new(Arc::clone(d))),
            desc,
            pos: 0,
            buf: [0; BLOCK_SAMPLES],
            fill: 0,
            cng: ToneRun::default(),
            ans: ToneRun::default(),
        }
    }

    /// Forget everything; positions start again from 0.
    pub fn reset(&mut self) {
        *self = FaxToneDetector::new(self.desc.clone());
    }

    pub fn descriptor(&self) -> &Arc<FaxToneRxDescriptor> {
        &self.desc
    }

    /// Samples fed since construction or reset.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// The tones currently reported and not yet ended.
    pub fn active(&self) -> impl Iterator<Item = FaxTone> + '_ {
        let v21 = self.v21.as_ref().is_some_and(|v| v.reported).then_some(FaxTone::V21Preamble);
        [self.cng.reported, self.ans.reported, v21].into_iter().flatten()
    }

    /// Feed samples (any number); events go to `out`.
    pub fn rx(&mut self, samples: &[i16], out: &mut Vec<FaxToneEvent>) {
        let mut s = samples;
        if self.fill > 0 {
            let n = (BLOCK_SAMPLES - self.fill).min(s.len());
            self.buf[self.fill..self.fill + n].copy_from_slice(&s[..n]);
            self.fill += n;
            s = &s[n..];
            if self.fill < BLOCK_SAMPLES {
                return;
            }
            let block = self.buf;
            self.fill = 0;
            self.block(&block, out);
        }
        let mut chunks = s.chunks_exact(BLOCK_SAMPLES);
        for c in &mut chunks {
            if let Ok(block) = <&[i16; BLOCK_SAMPLES]>::try_from(c) {
                self.block(block, out);
            }
        }
        let rest = chunks.remainder();
        self.buf[..rest.len()].copy_from_slice(rest);
        self.fill = rest.len();
    }

    /// Account for `n` lost samples: any tone in progress ends where the
    /// audio stopped, and the position moves on.
    pub fn fillin(&mut self, n: usize, out: &mut Vec<FaxToneEvent>) {
        let end = self.pos;
        self.close(end, out);
        self.pos = self.pos.saturating_add(self.fill as u64).saturating_add(n as u64);
        self.fill = 0;
    }

    fn close(&mut self, end: u64, out: &mut Vec<FaxToneEvent>) {
        for run in [&mut self.cng, &mut self.ans] {
            if let Some(tone) = run.reported {
                out.push(FaxToneEvent::Ended { tone, end: run.last_hit_end.min(end) });
            }
            *run = ToneRun::default();
        }
        if let Some(v21) = &mut self.v21 {
            if v21.reported {
                out.push(FaxToneEvent::Ended { tone: FaxTone::V21Preamble, end: v21.last_flag_end.min(end) });
            }
            v21.clear();
        }
    }

    fn block(&mut self, block: &[i16; BLOCK_SAMPLES], out: &mut Vec<FaxToneEvent>) {
        let start = self.pos;
        let end = start.saturating_add(BLOCK_SAMPLES as u64);
        self.pos = end;
        let d = &*self.desc;
        let mut x = [0f32; BLOCK_SAMPLES];
        for (o, &s) in x.iter_mut().zip(block) {
            *o = s as f32;
        }
        let energy = dot(&x, &x);
        let mut dft = [0f32; ROWS];
        if energy >= d.min_block_energy {
            dft = d.dft(&x);
        } else if !self.cng.active && !self.ans.active && !self.v21.as_ref().is_some_and(|v| v.active) {
            // A quiet block with nothing in progress: nothing to do.
            return;
        }
        let (params, min_tone_power) = (d.params, d.min_tone_power);
        let block_power = energy / BLOCK_SAMPLES as f32;
        let tone = |row: usize| BlockTone::new(C32 { re: dft[row], im: dft[row + 1] }, block_power);
        if params.cng {
            let t = tone(ROW_CNG);
            let hit = t.share >= CNG_MIN_SHARE && t.power >= min_tone_power;
            self.cng_block(&t, hit, start, end, out);
        }
        if params.ans {
            let t = tone(ROW_ANS);
            let hit = t.share >= ANS_MIN_SHARE && t.power >= min_tone_power;
            self.ans_block(&t, hit, start, end, out);
        }
        if params.v21 {
            let (m, s) = (tone(ROW_MARK), tone(ROW_SPACE));
            if let Some(v21) = &mut self.v21 {
                v21.block(block, &m, &s, min_tone_power, start, end, out);
            }
        }
    }

    fn cng_block(&mut self, t: &BlockTone, hit: bool, start: u64, end: u64, out: &mut Vec<FaxToneEvent>) {
        let run = &mut self.cng;
        run.feed(t, hit, start, end, None);
        if run.ended() {
            if let Some(tone) = run.reported {
                out.push(FaxToneEvent::Ended { tone, end: run.last_hit_end });
            }
            *run = ToneRun::default();
            return;
        }
        if run.active
            && run.reported.is_none()
            && run.age_ms(end) >= CNG_MIN_MS
            && run.freq_offset_hz().abs() <= CNG_MAX_OFFSET_HZ
            && run.jitter_hz() <= MAX_FREQ_JITTER_HZ
            && run.inconsistent * 10 <= run.hits
        {
            run.reported = Some(FaxTone::Cng);
            out.push(FaxToneEvent::Detected(FaxToneReport {
                tone: FaxTone::Cng,
                start: run.start,
                at: end,
                level_dbm0: run.level_dbm0(),
                freq_hz: CNG_HZ + run.freq_offset_hz(),
            }));
        }
    }

    fn ans_block(&mut self, t: &BlockTone, hit: bool, start: u64, end: u64, out: &mut Vec<FaxToneEvent>) {
        let am = &self.desc.am_phasor;
        let run = &mut self.ans;
        let reversal = run.feed(t, hit, start, end, Some(am));
        if run.ended() {
            if let Some(tone) = run.reported {
                out.push(FaxToneEvent::Ended { tone, end: run.last_hit_end });
            }
            *run = ToneRun::default();
            return;
        }
        if !run.active
            || run.freq_offset_hz().abs() > ANS_MAX_OFFSET_HZ
            || run.jitter_hz() > MAX_FREQ_JITTER_HZ
            || run.drift_n < 3
        {
            return;
        }
        let age = run.age_ms(end);
        let am_known = run.am_depth();
        let am = am_known.is_some_and(|d| d >= ANSAM_MIN_DEPTH);
        let decide = match run.reported {
            // A reversal needs 100 ms of steady tone before it to count.
            None if run.reversals > 0 && run.last_reversal >= run.start.saturating_add(800) && am_known.is_some() => {
                Some(FaxTone::answer(true, am))
            }
            None if age >= ANS_PLAIN_DECISION_MS && am_known.is_some() => Some(FaxTone::answer(false, am)),
            Some(prev) if reversal && !prev.has_phase_reversals() => Some(FaxTone::answer(true, prev.has_am())),
            _ => None,
        };
        if let Some(tone) = decide {
            run.reported = Some(tone);
            out.push(FaxToneEvent::Detected(FaxToneReport {
                tone,
                start: run.start,
                at: end,
                level_dbm0: run.level_dbm0(),
                freq_hz: ANS_HZ + run.freq_offset_hz(),
            }));
        }
    }
}

/// V.21 preamble recogniser: a block-level gate in front of the shared
/// FSK demodulator ([`super::fsk`]), and an HDLC flag counter on its bits.
#[derive(Debug, Clone)]
struct V21FlagDetector {
    /// The V.21 channel 2 demodulator (sync framing, one bit per event).
    rx: FskRx,
    /// The demodulator is being fed.
    active: bool,
    /// Our position of the demodulator's sample 0.
    base: u64,
    /// Consecutive blocks that did not look like V.21 while active.
    quiet_blocks: u8,
    /// Start of the FSK signal (the demodulator's carrier up).
    carrier_at: u64,
    /// Last 8 bits, the newest in bit 7.
    shift: u8,
    /// Bits since the last flag (saturating).
    since_flag: u8,
    /// Back-to-back flags in the current run.
    flags: u32,
    /// End of the last flag of the run.
    last_flag_end: u64,
    /// Sum of mark+space power over the blocks fed, and their count.
    power_sum: f32,
    power_blocks: u32,
    /// The preamble in progress was reported.
    reported: bool,
}

/// Share of a block's power that the two V.21 tones must hold to start the
/// demodulator (flags give 0.5 or more: a² + (1 − a)² for a block that is
/// a parts mark).
pub const V21_GATE_SHARE: f32 = 0.4;
/// Blocks without V.21 energy after which the demodulator is stopped.
pub const V21_GATE_HOLD_BLOCKS: u8 = 10;

impl V21FlagDetector {
    fn new(desc: Arc<FskRxDescriptor>) -> Self {
        V21FlagDetector {
            rx: FskRx::new(desc, FskFraming::Sync),
            active: false,
            base: 0,
            quiet_blocks: 0,
            carrier_at: 0,
            shift: 0,
            since_flag: u8::MAX,
            flags: 0,
            last_flag_end: 0,
            power_sum: 0.0,
            power_blocks: 0,
            reported: false,
        }
    }

    /// Stop the demodulator and forget the run (nothing is reported).
    fn clear(&mut self) {
        self.rx.reset();
        self.active = false;
        self.quiet_blocks = 0;
        self.clear_run();
    }

    fn clear_run(&mut self) {
        self.shift = 0;
        self.since_flag = u8::MAX;
        self.flags = 0;
        self.reported = false;
        self.power_sum = 0.0;
        self.power_blocks = 0;
    }

    #[allow(clippy::too_many_arguments)]
    fn block(
        &mut self,
        block: &[i16; BLOCK_SAMPLES],
        mark: &BlockTone,
        space: &BlockTone,
        min_tone_power: f32,
        start: u64,
        end: u64,
        out: &mut Vec<FaxToneEvent>,
    ) {
        let power = mark.power + space.power;
        let candidate = mark.share + space.share >= V21_GATE_SHARE && power >= min_tone_power;
        if !self.active {
            if !candidate {
                return;
            }
            self.rx.reset();
            self.active = true;
            self.base = start;
            self.carrier_at = start;
            self.quiet_blocks = 0;
            self.clear_run();
        }
        if candidate {
            self.quiet_blocks = 0;
            self.power_sum += power;
            self.power_blocks += 1;
        } else {
            self.quiet_blocks += 1;
        }
        let (rx, mut run) = self.split();
        rx.rx_with(block, &mut |ev| run.event(ev, end, out));
        if self.quiet_blocks >= V21_GATE_HOLD_BLOCKS {
            if self.reported {
                out.push(FaxToneEvent::Ended { tone: FaxTone::V21Preamble, end: self.last_flag_end });
            }
            self.clear();
        }
    }

    fn split(&mut self) -> (&mut FskRx, FlagRun<'_>) {
        let V21FlagDetector {
            rx,
            base,
            carrier_at,
            shift,
            since_flag,
            flags,
            last_flag_end,
            power_sum,
            power_blocks,
            reported,
            ..
        } = self;
        (
            rx,
            FlagRun {
                base: *base,
                carrier_at,
                shift,
                since_flag,
                flags,
                last_flag_end,
                level: if *power_blocks > 0 { *power_sum / *power_blocks as f32 } else { 0.0 },
                reported,
            },
        )
    }
}

/// The flag counter's view of [`V21FlagDetector`] while the demodulator
/// is borrowed.
struct FlagRun<'a> {
    base: u64,
    carrier_at: &'a mut u64,
    shift: &'a mut u8,
    since_flag: &'a mut u8,
    flags: &'a mut u32,
    last_flag_end: &'a mut u64,
    /// Mean tone power of the candidate blocks.
    level: f32,
    reported: &'a mut bool,
}

impl FlagRun<'_> {
    /// One demodulator event; `now` is the end of the block being fed.
    fn event(&mut self, ev: FskRxEvent, now: u64, out: &mut Vec<FaxToneEvent>) {
        match ev {
            FskRxEvent::CarrierUp { at } => {
                *self.carrier_at = self.base.saturating_add(at);
                *self.flags = 0;
                *self.since_flag = u8::MAX;
            }
            FskRxEvent::CarrierDown { .. } => self.end_run(out),
            FskRxEvent::Bit { bit, at } => {
                *self.shift = (*self.shift >> 1) | if bit { 0x80 } else { 0 };
                *self.since_flag = self.since_flag.saturating_add(1);
                if *self.shift == HDLC_FLAG {
                    *self.flags = if *self.since_flag == 8 { *self.flags + 1 } else { 1 };
                    *self.since_flag = 0;
                    // `at` is the start of this (last) bit; a bit is 80/3 samples.
                    *self.last_flag_end =
                        self.base.saturating_add(at).saturating_add((BLOCK_SAMPLES as u64).div_ceil(3));
                    if *self.flags >= V21_FLAG_RUN && !*self.reported {
                        *self.reported = true;
                        out.push(FaxToneEvent::Detected(FaxToneReport {
                            tone: FaxTone::V21Preamble,
                            start: *self.carrier_at,
                            at: now,
                            level_dbm0: power_to_dbm0(self.level as f64) as f32,
                            freq_hz: V21_MARK_HZ,
                        }));
                    }
                } else if *self.since_flag >= 8 {
                    // Eight bits without a flag: the frame has begun.
                    self.end_run(out);
                }
            }
            FskRxEvent::Byte { .. } | FskRxEvent::FramingError { .. } => {}
        }
    }

    fn end_run(&mut self, out: &mut Vec<FaxToneEvent>) {
        if *self.reported {
            out.push(FaxToneEvent::Ended { tone: FaxTone::V21Preamble, end: *self.last_flag_end });
            *self.reported = false;
        }
        *self.flags = 0;
    }
}

// ---------------------------------------------------------------------------
// Generators

/// Default CNG level (T.30 leaves it to the terminal; −11 dBm0 is common).
pub const DEFAULT_CNG_DBM0: f32 = -11.0;
/// Default ANS level.
pub const DEFAULT_ANS_DBM0: f32 = -12.0;
/// Default length of CED/ANS.
pub const DEFAULT_ANS_MS: u32 = 3300;
/// Default V.21 level.
pub const DEFAULT_V21_DBM0: f32 = -12.0;
/// Flags in a default preamble: one second at 300 bit/s.
pub const DEFAULT_V21_FLAGS: u32 = 38;

/// What a [`FaxToneGenerator`] plays.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FaxToneTx {
    /// 1100 Hz, 500 ms on / 3 s off, repeating until the caller stops.
    Cng { level_dbm0: f32 },
    /// 2100 Hz for `duration_ms`, optionally with a phase reversal every
    /// 450 ms and 15 Hz AM at 20 %.
    Ans { level_dbm0: f32, duration_ms: u32, phase_reversals: bool, am: bool },
    /// `flags` HDLC flags on V.21 channel 2.
    V21Flags { level_dbm0: f32, flags: u32 },
}

impl FaxToneTx {
    /// CNG at the default level.
    pub fn cng() -> Self {
        FaxToneTx::Cng { level_dbm0: DEFAULT_CNG_DBM0 }
    }
    /// Fax CED: plain 2100 Hz for 3.3 s.
    pub fn ced() -> Self {
        FaxToneTx::Ans { level_dbm0: DEFAULT_ANS_DBM0, duration_ms: DEFAULT_ANS_MS, phase_reversals: false, am: false }
    }
    /// V.25 ANS/ (echo canceller disabling).
    pub fn ans_pr() -> Self {
        FaxToneTx::Ans { level_dbm0: DEFAULT_ANS_DBM0, duration_ms: DEFAULT_ANS_MS, phase_reversals: true, am: false }
    }
    /// V.8 ANSam/.
    pub fn ansam_pr() -> Self {
        FaxToneTx::Ans { level_dbm0: DEFAULT_ANS_DBM0, duration_ms: DEFAULT_ANS_MS, phase_reversals: true, am: true }
    }
    /// One second of V.21 flags.
    pub fn v21_preamble() -> Self {
        FaxToneTx::V21Flags { level_dbm0: DEFAULT_V21_DBM0, flags: DEFAULT_V21_FLAGS }
    }
}

/// A generator request that cannot be played.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FaxToneTxError {
    #[error("level {0} dBm0 is outside -60 … +3 dBm0")]
    BadLevel(f32),
    #[error("an answer tone needs a duration above 0 ms")]
    ZeroDuration,
    #[error("a V.21 preamble needs at least one flag")]
    NoFlags,
    #[error("the V.21 modulator refused its parameters: {0}")]
    V21(#[from] FskSpecError),
}

/// Plays a [`FaxToneTx`]. Nothing allocates; `tx` fills any block length.
#[derive(Debug, Clone)]
pub struct FaxToneGenerator {
    spec: FaxToneTx,
    /// Peak amplitude of the carrier.
    amp: f32,
    /// Carrier phase and increment (mark increment for V.21).
    phase: u32,
    inc: u32,
    /// 15 Hz AM phase and increment.
    am_phase: u32,
    am_inc: u32,
    /// Samples played.
    n: u64,
    /// Total samples, 0 = forever (CNG).
    total: u64,
    /// V.21: the FSK modulator and the bits handed to it.
    fsk: Option<FskTx>,
    bits: u64,
}

impl FaxToneGenerator {
    pub fn new(spec: FaxToneTx) -> Result<Self, FaxToneTxError> {
        let (level, total, inc) = match spec {
            FaxToneTx::Cng { level_dbm0 } => (level_dbm0, 0, phase_increment(CNG_HZ as f64)),
            FaxToneTx::Ans { level_dbm0, duration_ms, .. } => {
                if duration_ms == 0 {
                    return Err(FaxToneTxError::ZeroDuration);
                }
                (level_dbm0, duration_ms as u64 * 8, phase_increment(ANS_HZ as f64))
            }
            FaxToneTx::V21Flags { level_dbm0, flags } => {
                if flags == 0 {
                    return Err(FaxToneTxError::NoFlags);
                }
                // 8 bits of 80/3 samples each per flag.
                let total = (flags as u64 * 8 * BLOCK_SAMPLES as u64).div_ceil(3);
                (level_dbm0, total, phase_increment(V21_MARK_HZ as f64))
            }
        };
        if !(-60.0..=3.0).contains(&level) {
            return Err(FaxToneTxError::BadLevel(level));
        }
        let fsk = match spec {
            FaxToneTx::V21Flags { .. } => Some(FskTx::new(FskSpec::V21_CH2, level)?),
            _ => None,
        };
        Ok(FaxToneGenerator {
            spec,
            amp: dbm0_to_peak(level as f64) as f32,
            phase: 0,
            inc,
            am_phase: 0,
            am_inc: phase_increment(ANSAM_AM_HZ as f64),
            n: 0,
            total,
            fsk,
            bits: 0,
        })
    }

    pub fn spec(&self) -> FaxToneTx {
        self.spec
    }

    /// Start again from the beginning.
    pub fn reset(&mut self) {
        let spec = self.spec;
        if let Ok(g) = FaxToneGenerator::new(spec) {
            *self = g;
        }
    }

    /// Whether a finite signal has been played out.
    pub fn is_done(&self) -> bool {
        self.total != 0 && self.n >= self.total
    }

    /// Samples played so far.
    pub fn position(&self) -> u64 {
        self.n
    }

    /// Fill `out`; returns the samples written (fewer than `out.len()` only
    /// when a finite signal ends; the rest of `out` is left alone).
    pub fn tx(&mut self, out: &mut [i16]) -> usize {
        let want = if self.total == 0 { out.len() } else { (self.total - self.n.min(self.total)) as usize };
        let len = want.min(out.len());
        let table = sine_table();
        let out = &mut out[..len];
        match self.spec {
            FaxToneTx::Cng { .. } => {
                let period = (CNG_ON_MS + CNG_OFF_MS) as u64 * 8;
                let on = CNG_ON_MS as u64 * 8;
                for o in out.iter_mut() {
                    let k = self.n % period;
                    if k == 0 {
                        self.phase = 0;
                    }
                    *o = if k < on {
                        let v = self.amp * sine_of_phase(table, self.phase);
                        self.phase = self.phase.wrapping_add(self.inc);
                        v.round() as i16
                    } else {
                        0
                    };
                    self.n += 1;
                }
            }
            FaxToneTx::Ans { phase_reversals, am, .. } => {
                let hop = ANS_REVERSAL_MS as u64 * 8;
                for o in out.iter_mut() {
                    if phase_reversals && self.n > 0 && self.n % hop == 0 {
                        self.phase = self.phase.wrapping_add(0x8000_0000);
                    }
                    let mut a = self.amp;
                    if am {
                        a *= 1.0 + ANSAM_AM_DEPTH * sine_of_phase(table, self.am_phase);
                        self.am_phase = self.am_phase.wrapping_add(self.am_inc);
                    }
                    *o = (a * sine_of_phase(table, self.phase)).round().clamp(-32768.0, 32767.0) as i16;
                    self.phase = self.phase.wrapping_add(self.inc);
                    self.n += 1;
                }
            }
            FaxToneTx::V21Flags { flags, .. } => {
                if let Some(fsk) = &mut self.fsk {
                    let total_bits = flags as u64 * 8;
                    let bits = &mut self.bits;
                    let got = fsk.tx_with(out, &mut || {
                        if *bits >= total_bits {
                            return None;
                        }
                        let bit = (HDLC_FLAG >> (*bits % 8)) & 1 == 1;
                        *bits += 1;
                        Some(bit)
                    });
                    self.n += got as u64;
                    return got;
                }
            }
        }
        len
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::level::block_dbm0;
    use crate::dsp::noise::NoiseGenerator;

    fn play(spec: FaxToneTx, n: usize) -> Vec<i16> {
        let mut g = FaxToneGenerator::new(spec).unwrap();
        let mut v = vec![0i16; n];
        let got = g.tx(&mut v);
        v.truncate(got);
        v
    }

    fn detect(samples: &[i16], chunk: usize) -> Vec<FaxToneEvent> {
        let mut d = FaxToneDetector::new(FaxToneRxDescriptor::shared_default());
        let mut ev = Vec::new();
        for c in samples.chunks(chunk.max(1)) {
            d.rx(c, &mut ev);
        }
        ev
    }

    fn detected(ev: &[FaxToneEvent]) -> Vec<FaxToneReport> {
        ev.iter()
            .filter_map(|e| match e {
                FaxToneEvent::Detected(r) => Some(*r),
                _ => None,
            })
            .collect()
    }

    fn sine(hz: f64, dbm0: f64, n: usize) -> Vec<i16> {
        let a = dbm0_to_peak(dbm0);
        (0..n).map(|i| (a * (TWO_PI * hz * i as f64 / 8000.0).sin()).round() as i16).collect()
    }

    #[test]
    fn generator_levels_and_cadence() {
        let cng = play(FaxToneTx::cng(), 8 * 7000);
        assert_eq!(cng.len(), 8 * 7000);
        assert!((block_dbm0(&cng[..4000]) - DEFAULT_CNG_DBM0 as f64).abs() < 0.05);
        assert!(cng[4000..28000].iter().all(|&s| s == 0));
        assert_eq!(&cng[..4000], &cng[28000..32000]);
        let ans = play(FaxToneTx::ced(), 100_000);
        assert_eq!(ans.len(), 3300 * 8);
        assert!((block_dbm0(&ans) - DEFAULT_ANS_DBM0 as f64).abs() < 0.05);
        // A reversal at 450 ms: the sample after it is the negative of what
        // a continuous tone would give.
        let pr = play(FaxToneTx::ans_pr(), 8000);
        assert_eq!(&pr[..3600], &ans[..3600]);
        for i in 3600..3700 {
            assert!((pr[i] as i32 + ans[i] as i32).abs() <= 1, "sample {i}");
        }
        // ANSam: envelope 0.8 … 1.2 of the carrier amplitude.
        let am = play(FaxToneTx::ansam_pr(), 8000);
        let a = dbm0_to_peak(DEFAULT_ANS_DBM0 as f64);
        let peak = am.iter().map(|&s| (s as f64).abs()).fold(0.0, f64::max);
        assert!((peak / a - 1.2).abs() < 0.01, "{}", peak / a);
        let v21 = play(FaxToneTx::v21_preamble(), 1_000_000);
        assert_eq!(v21.len(), (38 * 8 * 80usize).div_ceil(3));
        assert!((block_dbm0(&v21) - DEFAULT_V21_DBM0 as f64).abs() < 0.05);
    }

    #[test]
    fn generator_refuses_bad_specs() {
        assert_eq!(
            FaxToneGenerator::new(FaxToneTx::Cng { level_dbm0: 5.0 }).err(),
            Some(FaxToneTxError::BadLevel(5.0))
        );
        assert_eq!(
            FaxToneGenerator::new(FaxToneTx::Ans {
                level_dbm0: -10.0,
                duration_ms: 0,
                phase_reversals: false,
                am: false
            })
            .err(),
            Some(FaxToneTxError::ZeroDuration)
        );
        assert_eq!(
            FaxToneGenerator::new(FaxToneTx::V21Flags { level_dbm0: -10.0, flags: 0 }).err(),
            Some(FaxToneTxError::NoFlags)
        );
        assert_eq!(
            FaxToneRxDescriptor::new(FaxToneRxParams { min_level_dbm0: 3.0, ..Default::default() }).err(),
            Some(FaxToneParamsError::BadMinLevel(3.0))
        );
        assert_eq!(
            FaxToneRxDescriptor::new(FaxToneRxParams { cng: false, ans: false, v21: false, ..Default::default() })
                .err(),
            Some(FaxToneParamsError::NothingEnabled)
        );
    }

    #[test]
    fn cng_is_reported_per_burst_with_start() {
        let mut sig = vec![0i16; 1234];
        sig.extend(play(FaxToneTx::cng(), 8 * 7000));
        let ev = detect(&sig, 160);
        let d = detected(&ev);
        assert_eq!(d.len(), 2, "{ev:?}");
        for (r, burst) in d.iter().zip([1234u64, 1234 + 28000]) {
            assert_eq!(r.tone, FaxTone::Cng);
            assert!(r.start <= burst && burst - r.start < 80, "{r:?}");
            assert!(r.at - burst <= 8 * 420, "{r:?}");
            assert!((r.level_dbm0 - DEFAULT_CNG_DBM0).abs() < 0.5, "{r:?}");
            assert!((r.freq_hz - 1100.0).abs() < 1.0, "{r:?}");
        }
        let ends: Vec<_> = ev.iter().filter(|e| matches!(e, FaxToneEvent::Ended { .. })).collect();
        assert_eq!(ends.len(), 2);
        if let FaxToneEvent::Ended { end, .. } = ends[0] {
            assert!((*end as i64 - (1234 + 4000)).abs() <= 80, "{end}");
        }
    }

    #[test]
    fn answer_tones_are_told_apart() {
        for (spec, want) in [
            (FaxToneTx::ced(), FaxTone::Ans),
            (FaxToneTx::ans_pr(), FaxTone::AnsPr),
            (FaxToneTx::ansam_pr(), FaxTone::AnsAmPr),
            (FaxToneTx::Ans { level_dbm0: -12.0, duration_ms: 3300, phase_reversals: false, am: true }, FaxTone::AnsAm),
        ] {
            let mut sig = vec![0i16; 517];
            sig.extend(play(spec, 100_000));
            sig.extend(vec![0i16; 800]);
            let ev = detect(&sig, 33);
            let d = detected(&ev);
            assert_eq!(d.len(), 1, "{spec:?}: {ev:?}");
            assert_eq!(d[0].tone, want, "{spec:?}");
            assert!(d[0].at - 517 <= 8000, "{:?}", d[0]);
            assert!(d[0].start.abs_diff(517) < 80, "{:?}", d[0]);
            assert!((d[0].freq_hz - 2100.0).abs() < 1.0);
            assert!(
                matches!(ev.last(), Some(FaxToneEvent::Ended { tone, end }) if *tone == want && (*end as i64 - (517 + 26400)).abs() <= 80),
                "{ev:?}"
            );
        }
    }

    #[test]
    fn frequency_tolerance() {
        for (hz, want) in [(2085.0, true), (2115.0, true), (2060.0, false), (2140.0, false)] {
            let ev = detect(&sine(hz, -20.0, 16000), 80);
            assert_eq!(!detected(&ev).is_empty(), want, "{hz} Hz: {ev:?}");
        }
        for (hz, want) in [(1062.0, true), (1138.0, true), (1000.0, false), (1200.0, false)] {
            let mut sig = sine(hz, -20.0, 4400);
            sig.extend(vec![0; 8000]);
            let ev = detect(&sig, 80);
            assert_eq!(!detected(&ev).is_empty(), want, "{hz} Hz: {ev:?}");
        }
    }

    #[test]
    fn level_limits_and_noise() {
        let mut quiet =
            play(FaxToneTx::Ans { level_dbm0: -46.0, duration_ms: 2000, phase_reversals: false, am: false }, 16000);
        assert!(detected(&detect(&quiet, 80)).is_empty());
        quiet = play(FaxToneTx::Ans { level_dbm0: -40.0, duration_ms: 2000, phase_reversals: true, am: false }, 16000);
        let mut n = NoiseGenerator::new(3, -55.0);
        n.add_to(&mut quiet);
        let d = detected(&detect(&quiet, 80));
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].tone, FaxTone::AnsPr);
        assert!((d[0].level_dbm0 + 40.0).abs() < 1.0, "{:?}", d[0]);
        // Noise alone, any level, is nothing.
        let mut noise = vec![0i16; 80_000];
        NoiseGenerator::new(9, -10.0).tx(&mut noise);
        assert!(detect(&noise, 80).is_empty());
    }

    #[test]
    fn dtmf_and_dial_tone_are_not_fax() {
        let mut dual = vec![0i16; 16000];
        for (i, s) in dual.iter_mut().enumerate() {
            let t = i as f64 / 8000.0;
            *s = (8000.0 * ((TWO_PI * 1477.0 * t).sin() + (TWO_PI * 852.0 * t).sin())) as i16;
        }
        assert!(detect(&dual, 80).is_empty());
        assert!(detect(&sine(425.0, -10.0, 16000), 80).is_empty());
    }

    #[test]
    fn fillin_ends_a_tone_and_keeps_position() {
        let mut d = FaxToneDetector::new(FaxToneRxDescriptor::shared_default());
        let mut ev = Vec::new();
        d.rx(&play(FaxToneTx::ced(), 8000), &mut ev);
        assert_eq!(detected(&ev).len(), 1);
        assert_eq!(d.active().collect::<Vec<_>>(), vec![FaxTone::Ans]);
        d.rx(&[0; 7], &mut ev);
        d.fillin(100, &mut ev);
        assert_eq!(d.position(), 8107);
        assert!(matches!(ev.last(), Some(FaxToneEvent::Ended { tone: FaxTone::Ans, end: 8000 })), "{ev:?}");
        assert_eq!(d.active().count(), 0);
        // Absurd gaps saturate instead of overflowing.
        d.fillin(usize::MAX, &mut ev);
        d.fillin(usize::MAX, &mut ev);
        assert_eq!(d.position(), u64::MAX);
        d.rx(&play(FaxToneTx::v21_preamble(), 4000), &mut ev);
        d.reset();
        assert_eq!(d.position(), 0);
    }

    /// V.21 channel 2 audio of `bits` (true = mark).
    fn v21_bits(bits: &[bool], dbm0: f32) -> Vec<i16> {
        let mut tx = FskTx::new(FskSpec::V21_CH2, dbm0).unwrap();
        let mut it = bits.iter().copied();
        let mut v = vec![0i16; bits.len() * 27 + 27];
        let n = tx.tx_with(&mut v, &mut || it.next());
        v.truncate(n);
        v
    }

    fn byte_bits(bytes: &[u8]) -> Vec<bool> {
        bytes.iter().flat_map(|&b| (0..8).map(move |i| (b >> i) & 1 == 1)).collect()
    }

    #[test]
    fn v21_preamble_then_frame() {
        // 300 ms of silence, 40 flags, then frame octets (no flags).
        let mut sig = vec![0i16; 2400];
        let mut bits = byte_bits(&[HDLC_FLAG; 40]);
        bits.extend(byte_bits(&[0xFF, 0x13, 0x80, 0x00, 0x55, 0xA5, 0x12, 0x34]));
        sig.extend(v21_bits(&bits, -15.0));
        sig.extend(vec![0i16; 2400]);
        let ev = detect(&sig, 97);
        let d = detected(&ev);
        assert_eq!(d.len(), 1, "{ev:?}");
        assert_eq!(d[0].tone, FaxTone::V21Preamble);
        assert!(d[0].start.abs_diff(2400) <= 40, "{:?}", d[0]);
        assert!(d[0].at - 2400 <= 8 * 300, "{:?}", d[0]);
        assert!((d[0].level_dbm0 + 15.0).abs() < 2.0, "{:?}", d[0]);
        // The preamble ends where the flags stop (40 flags = 8533 samples).
        let end = ev.iter().find_map(|e| match e {
            FaxToneEvent::Ended { tone: FaxTone::V21Preamble, end } => Some(*end),
            _ => None,
        });
        assert!(end.is_some_and(|e| e.abs_diff(2400 + 8533) <= 40), "{ev:?}");
    }

    #[test]
    fn v21_data_and_steady_mark_are_not_a_preamble() {
        let mut g = NoiseGenerator::new(5, 0.0);
        let bits: Vec<bool> = (0..600).map(|_| g.next_u64() & 1 == 1).collect();
        assert!(detect(&v21_bits(&bits, -10.0), 80).is_empty());
        assert!(detect(&v21_bits(&[true; 600], -10.0), 80).is_empty());
        // Flags with every seventh octet spoiled never make four in a row.
        let mut octets = [HDLC_FLAG; 60];
        for o in octets.iter_mut().step_by(3) {
            *o = 0x7C;
        }
        assert!(detect(&v21_bits(&byte_bits(&octets), -10.0), 80).is_empty());
    }

    #[test]
    fn dft_agrees_across_code_paths() {
        let fast = FaxToneRxDescriptor::new(FaxToneRxParams::default()).unwrap();
        assert_eq!(fast.uses_avx2_fma(), crate::dsp::simd::avx2_fma_available());
        let portable = fast.clone().portable();
        assert!(!portable.uses_avx2_fma());
        let mut noise = crate::dsp::noise::NoiseGenerator::new(3, -10.0);
        for _ in 0..50 {
            let x: [f32; BLOCK_SAMPLES] = std::array::from_fn(|_| noise.sample() as f32);
            let energy: f64 = x.iter().map(|&v| v as f64 * v as f64).sum();
            let (a, b) = (fast.dft(&x), portable.dft(&x));
            for row in 0..ROWS {
                let want: f64 = x.iter().zip(&fast.table[row]).map(|(&v, &t)| v as f64 * t as f64).sum();
                for got in [a[row], b[row]] {
                    // Within float rounding of the block's scale.
                    assert!((got as f64 - want).abs() <= energy.sqrt() * 1e-4, "row {row}: {got} vs {want}");
                }
            }
        }
    }

    #[test]
    fn tone_helpers() {
        assert!(FaxTone::AnsAmPr.has_am() && FaxTone::AnsAmPr.has_phase_reversals());
        assert!(!FaxTone::Cng.is_answer_tone() && FaxTone::AnsAm.is_answer_tone());
        assert_eq!(FaxTone::AnsPr.to_string(), "ANS/");
    }
}
