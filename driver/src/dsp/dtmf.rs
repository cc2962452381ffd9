//! DTMF (ITU-T Q.23 signals, Q.24 receiver limits) detector and generator.
//!
//! # Detector
//!
//! [`DtmfDetector`] is the per-channel state (a few hundred bytes); it shares
//! an immutable [`DtmfRxDescriptor`] (coefficients and limits, computed once
//! from [`DtmfRxParams`]) with every other channel. [`DtmfDetector::rx`]
//! takes any number of samples, keeps its place across calls, and pushes
//! [`DtmfEvent`]s into a caller-provided `Vec` (with spare capacity it never
//! allocates). Event times are sample positions counted from construction
//! or [`DtmfDetector::reset`].
//!
//! How it works:
//!
//! 1. Eight Goertzel filters (697…1633 Hz) run over **sub-blocks** of
//!    [`SUB_BLOCK_SAMPLES`] = 40 samples (5 ms), all eight as one `[f32; 8]`
//!    vector per sample (one AVX register). Each sub-block leaves one
//!    complex DFT value per frequency and its power Σx². Whole sub-blocks
//!    in one call (a 20 ms tick holds four) run as four interleaved
//!    Goertzel chains; a partial sub-block runs a two-chain (decimated)
//!    form of the same recurrence (see `mod kernel`). A sub-block too quiet
//!    to belong to any hit window (step 3's power tests) is not filtered
//!    at all. The whole receive path is compiled twice, portable and for
//!    AVX2+FMA; the descriptor picks one at run time.
//! 2. Every sub-block, the last [`WINDOW_SUB_BLOCKS`] = 3 sub-blocks are
//!    joined **coherently** (each rotated by the phase the nominal frequency
//!    advances in 40 samples) into the DFT of a 120-sample (15 ms)
//!    rectangular window: selectivity of a 120-point DFT, a decision every
//!    5 ms.
//! 3. The window is a *hit* for the digit (r, c) — the strongest row and
//!    column — when every test below passes. First cheap screens on the
//!    sums: the window's power is at least that of two tones at the
//!    threshold; every sub-block holds a fair share of it (so a window a
//!    tone only partly fills is no hit — this is what rejects short tones);
//!    the two tones hold most of it. Then the two tones are **unmixed**: the
//!    window is linear, so its response to a unit cosine and sine at each
//!    nominal frequency, at every bin, is computed once (in the descriptor);
//!    the row and column sums then give the two tones' amplitudes free of
//!    each other's leakage, hence exact levels and twist. On those: each
//!    tone reaches the threshold; the twist is within limits; what the
//!    other six bins hold beyond the two tones' predicted leakage is well
//!    below the tones (a third tone, speech harmonics); and each tone's
//!    **frequency** is nearer nominal than nominal ±5 %. The frequency test
//!    re-joins the same sub-blocks with the phase steps of f·(1 ± 5 %)
//!    (less the other tone's predicted leakage) and requires the nominal
//!    sum to be the largest: the decision boundary is ±2.5 % of each
//!    frequency, whichever group and edge, which splits the Q.24 limits
//!    (accept ±1.5 %, reject ±3.5 %).
//! 4. A digit begins after [`DtmfRxParams::hits_to_begin`] consecutive hits
//!    (4 windows: 30 ms of tone), and ends after
//!    [`DtmfRxParams::misses_to_end`] windows without it (2: a 5 ms
//!    drop-out is bridged, a 40 ms pause is not). A 40 ms tone always fills
//!    at least 5 windows; a 20 ms tone at most 2 (3 counting partly filled
//!    sub-blocks). Start and end are refined to a few samples from the power
//!    of the sub-blocks around the first and last hit.
//!
//! Levels are reported per tone in dBm0, from the digit's strongest hit
//! window (one the tones fill).
//!
//! # Generator
//!
//! [`DtmfGenerator`] plays a queue of digits at a [`DtmfTxConfig`] (level
//! per tone, twist, tone and pause lengths) through [`super::tonegen`].
//!
//! # Not implemented
//!
//! - No dial-tone (350/440/425 Hz) notch filter before detection (spandsp
//!   has one as an option); digits over dial tone are untested.
//! - No echo of our own transmitted digits is suppressed: the caller mutes
//!   detection while it sends.
//! - No multi-channel (structure of arrays) batch API: one call per channel
//!   per tick; the AVX2 path uses 8 lanes, AVX-512 is not used.
//! - Only 8 kHz sampling.
//! - A sub-block fed whole or in pieces goes through different (equivalent)
//!   recurrences, so float rounding — and in a borderline case a decision —
//!   can depend on the caller's block sizes.

use std::sync::{Arc, LazyLock};

use super::level;
use super::tonegen::{ToneFreq, ToneGenerator, ToneSpec, ToneSpecError};

/// Low-group (row) frequencies.
pub const DTMF_ROW_HZ: [f32; 4] = [697.0, 770.0, 852.0, 941.0];
/// High-group (column) frequencies.
pub const DTMF_COL_HZ: [f32; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
/// Sample rate everything here assumes.
pub const SAMPLE_RATE_HZ: f32 = 8000.0;
/// Samples per Goertzel sub-block (5 ms).
pub const SUB_BLOCK_SAMPLES: usize = 40;
/// Sub-blocks joined into one analysis window.
pub const WINDOW_SUB_BLOCKS: usize = 3;
/// Samples per analysis window (15 ms).
pub const WINDOW_SAMPLES: usize = SUB_BLOCK_SAMPLES * WINDOW_SUB_BLOCKS;
/// The frequency probes sit at nominal ± this fraction; a tone is accepted
/// when it is nearer nominal than a probe, i.e. within half of it (2.5 %).
pub const FREQ_PROBE_FRACTION: f32 = 0.05;
/// The raw-sum threshold screen runs this much (−3 dB) looser than the
/// final test on the unmixed tones.
const PRESCREEN_RATIO: f32 = 0.5;
/// Raw-sum screen: the other rows (columns) at least 6 dB (×4) below the
/// strongest. The raw sums carry the digit's own leakage (a tone 1.5 % off
/// nominal shows 11–13 dB down in the next bin), so the strict test runs
/// on the residuals after unmixing.
const PRESCREEN_RELATIVE_PEAK: f32 = 4.0;
/// Most digits waiting in a generator's queue.
pub const DTMF_TX_QUEUE_DIGITS: usize = 128;

/// The 16 DTMF signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DtmfDigit {
    D1,
    D2,
    D3,
    A,
    D4,
    D5,
    D6,
    B,
    D7,
    D8,
    D9,
    C,
    Star,
    D0,
    Hash,
    D,
}

const KEYPAD: [[char; 4]; 4] = [['1', '2', '3', 'A'], ['4', '5', '6', 'B'], ['7', '8', '9', 'C'], ['*', '0', '#', 'D']];

impl DtmfDigit {
    /// All 16 digits in keypad order (row by row).
    pub const ALL: [DtmfDigit; 16] = [
        DtmfDigit::D1,
        DtmfDigit::D2,
        DtmfDigit::D3,
        DtmfDigit::A,
        DtmfDigit::D4,
        DtmfDigit::D5,
        DtmfDigit::D6,
        DtmfDigit::B,
        DtmfDigit::D7,
        DtmfDigit::D8,
        DtmfDigit::D9,
        DtmfDigit::C,
        DtmfDigit::Star,
        DtmfDigit::D0,
        DtmfDigit::Hash,
        DtmfDigit::D,
    ];

    /// The digit at keypad row `row` (0 = 697 Hz) and column `col` (0 =
    /// 1209 Hz); `None` outside 0..4.
    pub fn from_row_col(row: usize, col: usize) -> Option<Self> {
        if row < 4 && col < 4 { Some(Self::ALL[row * 4 + col]) } else { None }
    }

    /// The digit for `'0'..='9'`, `'*'`, `'#'`, `'A'..='D'` (or lower case).
    pub fn from_char(c: char) -> Option<Self> {
        let c = c.to_ascii_uppercase();
        for (r, row) in KEYPAD.iter().enumerate() {
            for (k, &ch) in row.iter().enumerate() {
                if ch == c {
                    return Self::from_row_col(r, k);
                }
            }
        }
        None
    }

    /// Keypad row, 0..4 (0 = 697 Hz).
    pub fn row(self) -> usize {
        self as usize / 4
    }

    /// Keypad column, 0..4 (0 = 1209 Hz).
    pub fn col(self) -> usize {
        self as usize % 4
    }

    /// The character printed on the key.
    pub fn as_char(self) -> char {
        KEYPAD[self.row()][self.col()]
    }

    /// Low-group frequency.
    pub fn low_hz(self) -> f32 {
        DTMF_ROW_HZ[self.row()]
    }

    /// High-group frequency.
    pub fn high_hz(self) -> f32 {
        DTMF_COL_HZ[self.col()]
    }
}

impl std::fmt::Display for DtmfDigit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.as_char())
    }
}

/// What the detector reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DtmfEvent {
    /// A digit has been recognised; its tones are still sounding. Sent
    /// about 30 ms after `start`, so a relay can begin playing it early.
    Begin {
        digit: DtmfDigit,
        /// First sample of the tones.
        start: u64,
    },
    /// A digit has ended: the complete report.
    Digit(DtmfTone),
}

impl DtmfEvent {
    pub fn digit(&self) -> DtmfDigit {
        match self {
            DtmfEvent::Begin { digit, .. } => *digit,
            DtmfEvent::Digit(t) => t.digit,
        }
    }
}

/// One received digit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DtmfTone {
    pub digit: DtmfDigit,
    /// First sample of the tones (counted from the detector's start).
    pub start: u64,
    /// First sample after the tones.
    pub end: u64,
    /// Level of the low-group tone, dBm0.
    pub low_dbm0: f32,
    /// Level of the high-group tone, dBm0.
    pub high_dbm0: f32,
}

impl DtmfTone {
    /// Length in samples.
    pub fn samples(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }
    /// Twist (low minus high), dB.
    pub fn twist_db(&self) -> f32 {
        self.low_dbm0 - self.high_dbm0
    }
}

/// Detector settings. [`Default`] meets Q.24 as the module doc describes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DtmfRxParams {
    /// Weakest tone accepted, dBm0 per tone.
    pub threshold_dbm0: f32,
    /// Most normal twist (low group louder) accepted, dB.
    pub normal_twist_db: f32,
    /// Most reverse twist (high group louder) accepted, dB.
    pub reverse_twist_db: f32,
    /// The other rows (columns) must be at least this far below the
    /// strongest, dB.
    pub relative_peak_db: f32,
    /// The two tones must hold at least this fraction of the window's
    /// power, dB (≤ 0).
    pub tone_to_total_db: f32,
    /// Each sub-block of a window must hold at least this fraction of the
    /// window's mean sub-block power, dB (≤ 0).
    pub sub_block_share_db: f32,
    /// Consecutive hits before a digit begins.
    pub hits_to_begin: u8,
    /// Consecutive windows without the digit before it ends.
    pub misses_to_end: u8,
}

impl Default for DtmfRxParams {
    fn default() -> Self {
        DtmfRxParams {
            threshold_dbm0: -42.0,
            normal_twist_db: 9.0,
            reverse_twist_db: 6.5,
            relative_peak_db: 10.0,
            tone_to_total_db: -1.5,
            sub_block_share_db: -3.0,
            hits_to_begin: 4,
            misses_to_end: 2,
        }
    }
}

/// Detector settings that make no sense.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum DtmfParamsError {
    #[error("threshold {0} dBm0 is outside −70…0 dBm0")]
    Threshold(f32),
    #[error("twist limit {0} dB is outside 0…20 dB")]
    Twist(f32),
    #[error("relative peak {0} dB is outside 0…40 dB")]
    RelativePeak(f32),
    #[error("energy share {0} dB is outside −20…0 dB")]
    Share(f32),
    #[error("hits to begin ({0}) must be 1…16")]
    Hits(u8),
    #[error("misses to end ({0}) must be 1…16")]
    Misses(u8),
}

/// Everything the detector precomputes, shared by all channels.
#[derive(Debug, Clone, PartialEq)]
pub struct DtmfRxDescriptor {
    params: DtmfRxParams,
    /// Goertzel coefficients 2 cos ω and 2 cos 2ω, rows then columns.
    coeffs: kernel::Coeffs,
    /// cos ω and sin ω, to take each sub-block's complex output.
    cos_w: [f32; 8],
    sin_w: [f32; 8],
    /// Phase step of the nominal frequency over one sub-block, e^{−jωM},
    /// and its square: sub-block k of a window is rotated by step^k.
    step: [[f32; 8]; 2],
    step2: [[f32; 8]; 2],
    /// The same for the probes at f·(1 + 5 %) and f·(1 − 5 %).
    step_hi: [[f32; 8]; 2],
    step2_hi: [[f32; 8]; 2],
    step_lo: [[f32; 8]; 2],
    step2_lo: [[f32; 8]; 2],
    /// Tone power (mean square) per unit of |window DFT|²: 2/W².
    dft_to_power: f32,
    /// Threshold as a tone power (mean square).
    threshold_power: f32,
    /// A sub-block with less Σx² than this is in no hit window: a window
    /// that passes the power gate (mean ≥ 2·threshold) asks each of its
    /// sub-blocks for at least share·(2·threshold·W)/3 = this. Its DFT is
    /// then not needed.
    quiet_sub_block: f32,
    normal_twist: f32,
    reverse_twist: f32,
    relative_peak: f32,
    tone_to_total: f32,
    sub_block_share: f32,
    /// Whether the AVX2+FMA kernel may run (detected at construction).
    use_avx2_fma: bool,
    /// Window sums (nominal, high probe, low probe) at bin j of a unit
    /// cosine and a unit sine at nominal frequency i, starting with the
    /// window: `resp[variant][i][j] = [C.re, C.im, D.re, D.im]`.
    resp: [[[[f32; 4]; 8]; 8]; 3],
    /// For row r and column c: the inverse of the map from the two tones'
    /// (cos, sin) amplitudes (a_r, b_r, a_c, b_c) to the two nominal sums
    /// (Re S_r, Im S_r, Re S_c, Im S_c).
    unmix: [[[[f32; 4]; 4]; 4]; 4],
}

fn db_to_power_ratio(db: f32) -> f32 {
    10f32.powf(db / 10.0)
}

fn cexp(rad: f64) -> (f32, f32) {
    (rad.cos() as f32, rad.sin() as f32)
}

/// The detector's window sum, at a bin of frequency `w_bin` (radians per
/// sample) joined with the phase step of `w_step`, of a unit cosine (or
/// sine) of frequency `w_src` starting with the window: the same
/// arithmetic as the receiver's, in f64.
fn window_response(w_src: f64, sine: bool, w_bin: f64, w_step: f64) -> (f64, f64) {
    let m = SUB_BLOCK_SAMPLES;
    let (mut sr, mut si) = (0.0, 0.0);
    for k in 0..WINDOW_SUB_BLOCKS {
        // The sub-block's DFT X_k = Σ x[kM+n]·e^{−jωn} …
        let (mut xr, mut xi) = (0.0, 0.0);
        for n in 0..m {
            let t = (k * m + n) as f64;
            let x = if sine { (w_src * t).sin() } else { (w_src * t).cos() };
            xr += x * (w_bin * n as f64).cos();
            xi -= x * (w_bin * n as f64).sin();
        }
        // … as the Goertzel leaves it, y_k = e^{jω(M−1)}·X_k …
        let ph = w_bin * (m - 1) as f64;
        let (yr, yi) = (xr * ph.cos() - xi * ph.sin(), xr * ph.sin() + xi * ph.cos());
        // … joined as Σ y_k·e^{−jω'Mk}.
        let ph = -w_step * (m * k) as f64;
        sr += yr * ph.cos() - yi * ph.sin();
        si += yr * ph.sin() + yi * ph.cos();
    }
    (sr, si)
}

/// Inverse of a 4×4 matrix (Gauss–Jordan with partial pivoting); the
/// identity if it is singular (it is not, for the DTMF pairs).
fn invert4(m: [[f64; 4]; 4]) -> [[f64; 4]; 4] {
    let mut a = m;
    let mut inv = [[0.0; 4]; 4];
    for (i, row) in inv.iter_mut().enumerate() {
        row[i] = 1.0;
    }
    for col in 0..4 {
        let pivot = (col..4).max_by(|&x, &y| a[x][col].abs().total_cmp(&a[y][col].abs())).unwrap_or(col);
        if a[pivot][col].abs() < 1e-9 {
            let mut id = [[0.0; 4]; 4];
            for (i, row) in id.iter_mut().enumerate() {
                row[i] = 1.0;
            }
            return id;
        }
        a.swap(col, pivot);
        inv.swap(col, pivot);
        let p = a[col][col];
        for k in 0..4 {
            a[col][k] /= p;
            inv[col][k] /= p;
        }
        for row in 0..4 {
            if row != col {
                let f = a[row][col];
                for k in 0..4 {
                    a[row][k] -= f * a[col][k];
                    inv[row][k] -= f * inv[col][k];
                }
            }
        }
    }
    inv
}

impl DtmfRxDescriptor {
    pub fn new(params: DtmfRxParams) -> Result<Self, DtmfParamsError> {
        let p = params;
        if !(-70.0..=0.0).contains(&p.threshold_dbm0) {
            return Err(DtmfParamsError::Threshold(p.threshold_dbm0));
        }
        for t in [p.normal_twist_db, p.reverse_twist_db] {
            if !(0.0..=20.0).contains(&t) {
                return Err(DtmfParamsError::Twist(t));
            }
        }
        if !(0.0..=40.0).contains(&p.relative_peak_db) {
            return Err(DtmfParamsError::RelativePeak(p.relative_peak_db));
        }
        for s in [p.tone_to_total_db, p.sub_block_share_db] {
            if !(-20.0..=0.0).contains(&s) {
                return Err(DtmfParamsError::Share(s));
            }
        }
        if !(1..=16).contains(&p.hits_to_begin) {
            return Err(DtmfParamsError::Hits(p.hits_to_begin));
        }
        if !(1..=16).contains(&p.misses_to_end) {
            return Err(DtmfParamsError::Misses(p.misses_to_end));
        }
        Ok(Self::build(params))
    }

    /// Precompute for checked `params`.
    fn build(params: DtmfRxParams) -> Self {
        let p = params;
        let mut d = DtmfRxDescriptor {
            params,
            coeffs: kernel::Coeffs::default(),
            cos_w: [0.0; 8],
            sin_w: [0.0; 8],
            step: [[0.0; 8]; 2],
            step2: [[0.0; 8]; 2],
            step_hi: [[0.0; 8]; 2],
            step2_hi: [[0.0; 8]; 2],
            step_lo: [[0.0; 8]; 2],
            step2_lo: [[0.0; 8]; 2],
            dft_to_power: 2.0 / (WINDOW_SAMPLES * WINDOW_SAMPLES) as f32,
            threshold_power: level::dbm0_to_power(p.threshold_dbm0 as f64) as f32,
            // With a little margin for rounding.
            quiet_sub_block: 0.99
                * db_to_power_ratio(p.sub_block_share_db)
                * 2.0
                * level::dbm0_to_power(p.threshold_dbm0 as f64) as f32
                * SUB_BLOCK_SAMPLES as f32,
            normal_twist: db_to_power_ratio(p.normal_twist_db),
            reverse_twist: db_to_power_ratio(p.reverse_twist_db),
            relative_peak: db_to_power_ratio(p.relative_peak_db),
            tone_to_total: db_to_power_ratio(p.tone_to_total_db),
            sub_block_share: db_to_power_ratio(p.sub_block_share_db),
            use_avx2_fma: super::simd::avx2_fma_available(),
            resp: [[[[0.0; 4]; 8]; 8]; 3],
            unmix: [[[[0.0; 4]; 4]; 4]; 4],
        };
        let m = SUB_BLOCK_SAMPLES as f64;
        let mut omega = [0f64; 8];
        for (i, &f) in DTMF_ROW_HZ.iter().chain(DTMF_COL_HZ.iter()).enumerate() {
            let w = 2.0 * std::f64::consts::PI * f as f64 / SAMPLE_RATE_HZ as f64;
            d.coeffs.c[i] = (2.0 * w.cos()) as f32;
            d.coeffs.c2[i] = (2.0 * (2.0 * w).cos()) as f32;
            d.cos_w[i] = w.cos() as f32;
            d.sin_w[i] = w.sin() as f32;
            let set = |s: &mut [[f32; 8]; 2], s2: &mut [[f32; 8]; 2], wf: f64| {
                let (c, si) = cexp(-wf * m);
                s[0][i] = c;
                s[1][i] = si;
                let (c, si) = cexp(-2.0 * wf * m);
                s2[0][i] = c;
                s2[1][i] = si;
            };
            set(&mut d.step, &mut d.step2, w);
            set(&mut d.step_hi, &mut d.step2_hi, w * (1.0 + FREQ_PROBE_FRACTION as f64));
            set(&mut d.step_lo, &mut d.step2_lo, w * (1.0 - FREQ_PROBE_FRACTION as f64));
            omega[i] = w;
        }
        let probe = [1.0, 1.0 + FREQ_PROBE_FRACTION as f64, 1.0 - FREQ_PROBE_FRACTION as f64];
        for (v, &scale) in probe.iter().enumerate() {
            for i in 0..8 {
                for j in 0..8 {
                    let (cr, ci) = window_response(omega[i], false, omega[j], omega[j] * scale);
                    let (sr, si) = window_response(omega[i], true, omega[j], omega[j] * scale);
                    d.resp[v][i][j] = [cr as f32, ci as f32, sr as f32, si as f32];
                }
            }
        }
        for r in 0..4 {
            for c in 0..4 {
                let (a, b) = (r, c + 4);
                let resp = |src: usize, dst: usize| {
                    let (cr, ci) = window_response(omega[src], false, omega[dst], omega[dst]);
                    let (sr, si) = window_response(omega[src], true, omega[dst], omega[dst]);
                    [cr, ci, sr, si]
                };
                let (aa, ba, ab, bb) = (resp(a, a), resp(b, a), resp(a, b), resp(b, b));
                let m = [
                    [aa[0], aa[2], ba[0], ba[2]],
                    [aa[1], aa[3], ba[1], ba[3]],
                    [ab[0], ab[2], bb[0], bb[2]],
                    [ab[1], ab[3], bb[1], bb[3]],
                ];
                let inv = invert4(m);
                for (dst, src) in d.unmix[r][c].iter_mut().zip(inv) {
                    *dst = src.map(|x| x as f32);
                }
            }
        }
        d
    }

    pub fn params(&self) -> &DtmfRxParams {
        &self.params
    }

    /// Run the portable code path even on a CPU with AVX2 and FMA (for
    /// tests and benchmarks; results agree to float rounding).
    pub fn portable(mut self) -> Self {
        self.use_avx2_fma = false;
        self
    }

    /// Whether detectors using this descriptor run the AVX2+FMA path.
    pub fn uses_avx2_fma(&self) -> bool {
        self.use_avx2_fma
    }

    /// The descriptor for [`DtmfRxParams::default`], shared process-wide.
    pub fn shared_default() -> Arc<DtmfRxDescriptor> {
        // The defaults pass `new`'s checks (a unit test says so).
        static DEFAULT: LazyLock<Arc<DtmfRxDescriptor>> =
            LazyLock::new(|| Arc::new(DtmfRxDescriptor::build(DtmfRxParams::default())));
        DEFAULT.clone()
    }
}

/// The per-sample kernel: eight Goertzel filters over `x`, all eight as
/// one `[f32; 8]` vector (one AVX register), plus the sub-block's Σx².
///
/// The Goertzel recurrence v[n] = c·v[n−1] − v[n−2] + x[n] (c = 2 cos ω)
/// is a chain of one multiply-add per sample, so a plain loop runs at the
/// multiply-add's latency. Two ways round it:
///
/// - `run_blocks`: several whole sub-blocks are independent, so their
///   chains run interleaved (four for a 160-sample tick): the plain
///   recurrence at the multiply-add's throughput.
/// - `run`, for a sub-block fed in pieces: multiplying the transfer
///   function through by (1 + c·z⁻¹ + z⁻²) gives the same v[n] as two
///   interleaved recurrences with a two-sample step,
///
///   v[n] = c₂·v[n−2] − v[n−4] + g[n],  g[n] = x[n] + c·x[n−1] + x[n−2],
///   c₂ = 2 cos 2ω = c² − 2,
///
///   whose chains (even and odd n) overlap: half the latency per sample.
///   Its state is four past outputs and two past inputs.
///
/// All state starts at zero for each sub-block, so both give the plain
/// Goertzel's outputs (up to float rounding: a sub-block fed whole or in
/// pieces may differ in the last bits; a unit test compares both with the
/// plain recurrence).
mod kernel {
    use crate::dsp::simd::madd;

    /// Coefficients of the eight filters.
    #[derive(Debug, Clone, Copy, Default, PartialEq)]
    pub struct Coeffs {
        /// 2 cos ω.
        pub c: [f32; 8],
        /// 2 cos 2ω.
        pub c2: [f32; 8],
    }

    /// Goertzel state of the eight filters within a sub-block.
    #[derive(Debug, Clone, Copy, Default, PartialEq)]
    pub struct Bank {
        /// v[n−1], v[n−2], v[n−3], v[n−4] of each filter.
        pub v: [[f32; 8]; 4],
        /// x[n−1] and x[n−2].
        pub x: [f32; 2],
        /// Σx² of the samples so far.
        pub power: f32,
    }

    impl Bank {
        /// Σx² of the samples fed since the last reset.
        pub fn power(&self) -> f32 {
            self.power
        }
    }

    /// Splat a sample across the eight lanes.
    #[inline(always)]
    fn splat(x: f32) -> [f32; 8] {
        [x; 8]
    }

    /// One sample: v[n] from v[n−2], v[n−4] and the splatted x[n], x[n−1],
    /// x[n−2].
    #[inline(always)]
    fn step<const FMA: bool>(
        k: &Coeffs,
        v2: &[f32; 8],
        v4: &[f32; 8],
        x0: &[f32; 8],
        x1: &[f32; 8],
        x2: &[f32; 8],
    ) -> [f32; 8] {
        let mut v0 = [0f32; 8];
        for i in 0..8 {
            let g = madd::<FMA>(k.c[i], x1[i], x0[i] + x2[i]);
            v0[i] = madd::<FMA>(k.c2[i], v2[i], g - v4[i]);
        }
        v0
    }

    /// Feed `x` (at most one sub-block) through the eight filters.
    #[inline(always)]
    pub fn run<const FMA: bool>(k: &Coeffs, bank: &mut Bank, x: &[i16]) {
        // Convert once, eight lanes at a time; Σx² on the way.
        let mut buf = [0f32; super::SUB_BLOCK_SAMPLES];
        let x = &x[..x.len().min(buf.len())];
        let xf = &mut buf[..x.len()];
        for (d, &s) in xf.iter_mut().zip(x) {
            *d = s as f32;
        }
        let mut p = [0f32; 8];
        let mut lanes = xf.chunks_exact(8);
        for c in &mut lanes {
            for l in 0..8 {
                p[l] = madd::<FMA>(c[l], c[l], p[l]);
            }
        }
        for (l, &v) in lanes.remainder().iter().enumerate() {
            p[l] = madd::<FMA>(v, v, p[l]);
        }
        bank.power += (p[0] + p[4]) + (p[1] + p[5]) + ((p[2] + p[6]) + (p[3] + p[7]));

        let [mut v1, mut v2, mut v3, mut v4] = bank.v;
        let (mut x1, mut x2) = (splat(bank.x[0]), splat(bank.x[1]));
        let mut pairs = xf.chunks_exact(2);
        for pair in &mut pairs {
            let (a, b) = (splat(pair[0]), splat(pair[1]));
            let va = step::<FMA>(k, &v2, &v4, &a, &x1, &x2);
            let vb = step::<FMA>(k, &v1, &v3, &b, &a, &x1);
            (v4, v3, v2, v1) = (v2, v1, va, vb);
            (x2, x1) = (a, b);
        }
        for &s in pairs.remainder() {
            let a = splat(s);
            let va = step::<FMA>(k, &v2, &v4, &a, &x1, &x2);
            (v4, v3, v2, v1) = (v3, v2, v1, va);
            (x2, x1) = (x1, a);
        }
        bank.v = [v1, v2, v3, v4];
        bank.x = [x1[0], x2[0]];
    }

    /// `N` whole sub-blocks at once (`x` holds N·40 samples): N independent
    /// plain Goertzel chains, interleaved sample by sample so that their
    /// latencies overlap. Returns each sub-block's final state.
    #[inline(always)]
    /// Blocks whose Σx² is below `quiet` can be in no hit window (see
    /// `DtmfRxDescriptor::quiet_sub_block`); when all are, the filters are
    /// not run and their outputs stay zero.
    // Indexing keeps the N chains interleaved sample by sample.
    #[allow(clippy::needless_range_loop)]
    pub fn run_blocks<const FMA: bool, const N: usize>(k: &Coeffs, x: &[i16], quiet: f32) -> [Bank; N] {
        const M: usize = super::SUB_BLOCK_SAMPLES;
        let mut banks = [Bank::default(); N];
        if x.len() < N * M {
            return banks;
        }
        const G: usize = M / 8;
        // Samples as groups of eight lanes: conversion and Σx² are plain
        // vertical vector operations.
        let mut buf = [[[0f32; 8]; G]; N];
        for (b, src) in buf.iter_mut().zip(x.chunks_exact(M)) {
            for (g, s8) in b.iter_mut().zip(src.chunks_exact(8)) {
                for l in 0..8 {
                    g[l] = s8[l] as f32;
                }
            }
        }
        for (b, bank) in buf.iter().zip(banks.iter_mut()) {
            let mut p = [0f32; 8];
            for g in b {
                for l in 0..8 {
                    p[l] = madd::<FMA>(g[l], g[l], p[l]);
                }
            }
            bank.power = (p[0] + p[4]) + (p[1] + p[5]) + ((p[2] + p[6]) + (p[3] + p[7]));
        }
        if banks.iter().all(|b| b.power < quiet) {
            return banks;
        }
        let mut v1 = [[0f32; 8]; N];
        let mut v2 = [[0f32; 8]; N];
        for g in 0..G {
            for l in 0..8 {
                for j in 0..N {
                    let x = buf[j][g][l];
                    let mut v0 = [0f32; 8];
                    for i in 0..8 {
                        // v[n] = c·v[n−1] + (x − v[n−2]): the bracket is
                        // off the chain.
                        v0[i] = madd::<FMA>(k.c[i], v1[j][i], x - v2[j][i]);
                    }
                    v2[j] = v1[j];
                    v1[j] = v0;
                }
            }
        }
        for j in 0..N {
            banks[j].v[0] = v1[j];
            banks[j].v[1] = v2[j];
        }
        banks
    }

    /// The plain one-step Goertzel, for tests.
    #[cfg(test)]
    pub fn run_reference(c: &[f32; 8], x: &[i16]) -> ([f32; 8], [f32; 8]) {
        let (mut v1, mut v2) = ([0f32; 8], [0f32; 8]);
        for &s in x {
            for i in 0..8 {
                let v0 = c[i] * v1[i] - v2[i] + s as f32;
                v2[i] = v1[i];
                v1[i] = v0;
            }
        }
        (v1, v2)
    }
}

/// What one window showed.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Hit {
    digit: DtmfDigit,
    row_power: f32,
    col_power: f32,
}

/// Per-channel DTMF receiver. See the module doc.
#[derive(Debug, Clone)]
pub struct DtmfDetector {
    desc: Arc<DtmfRxDescriptor>,
    bank: kernel::Bank,
    /// Samples in the current sub-block.
    fill: usize,
    /// Complex outputs of the last three sub-blocks, oldest first, real
    /// and imaginary parts per frequency.
    out_re: [[f32; 8]; WINDOW_SUB_BLOCKS],
    out_im: [[f32; 8]; WINDOW_SUB_BLOCKS],
    /// Σx² of the last four sub-blocks, oldest first.
    sub_power: [f32; 4],
    /// Completed sub-blocks since start.
    sub_blocks: u64,
    /// Samples fed since start.
    position: u64,
    /// Candidate digit and its consecutive hits.
    cand: Option<DtmfDigit>,
    cand_hits: u8,
    cand_start: u64,
    /// Tone powers of the candidate's strongest hit window so far.
    cand_row_power: f32,
    cand_col_power: f32,
    /// The digit currently sounding (after [`DtmfEvent::Begin`]).
    active: Option<DtmfTone>,
    /// Tone powers of the digit's strongest hit window: one the tones
    /// fill (windows at the edges are partly empty), reported as levels.
    active_row_power: f32,
    active_col_power: f32,
    misses: u8,
    /// Sub-block number of the last sub-block of the last hit window.
    last_hit_sub: u64,
}

impl Default for DtmfDetector {
    fn default() -> Self {
        Self::new(DtmfRxDescriptor::shared_default())
    }
}

impl DtmfDetector {
    /// A detector using `desc` (shared; see [`DtmfRxDescriptor::shared_default`]).
    pub fn new(desc: Arc<DtmfRxDescriptor>) -> Self {
        DtmfDetector {
            desc,
            bank: kernel::Bank::default(),
            fill: 0,
            out_re: [[0.0; 8]; WINDOW_SUB_BLOCKS],
            out_im: [[0.0; 8]; WINDOW_SUB_BLOCKS],
            sub_power: [0.0; 4],
            sub_blocks: 0,
            position: 0,
            cand: None,
            cand_hits: 0,
            cand_start: 0,
            cand_row_power: 0.0,
            cand_col_power: 0.0,
            active: None,
            active_row_power: 0.0,
            active_col_power: 0.0,
            misses: 0,
            last_hit_sub: 0,
        }
    }

    /// Forget everything; positions count from 0 again.
    pub fn reset(&mut self) {
        let desc = self.desc.clone();
        *self = Self::new(desc);
    }

    pub fn descriptor(&self) -> &Arc<DtmfRxDescriptor> {
        &self.desc
    }

    /// Samples fed since construction or reset.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// The digit currently sounding, if one has begun and not ended.
    pub fn current(&self) -> Option<DtmfDigit> {
        self.active.map(|t| t.digit)
    }

    /// Feed samples (any count); events found are pushed onto `out`.
    ///
    /// Runs a copy of the receiver compiled for AVX2 and FMA when the CPU
    /// has them (chosen once, in the descriptor), the portable one
    /// otherwise; both compute the same thing.
    #[allow(unsafe_code)]
    pub fn rx(&mut self, samples: &[i16], out: &mut Vec<DtmfEvent>) {
        #[cfg(target_arch = "x86_64")]
        if self.desc.use_avx2_fma {
            // SAFETY: `use_avx2_fma` is set only when the running CPU
            // reported both AVX2 and FMA (`avx2_fma_available`).
            unsafe { self.rx_avx2_fma(samples, out) };
            return;
        }
        self.rx_impl::<false>(samples, out)
    }

    /// [`Self::rx`] compiled for AVX2 and FMA.
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    #[allow(unsafe_code)]
    unsafe fn rx_avx2_fma(&mut self, samples: &[i16], out: &mut Vec<DtmfEvent>) {
        self.rx_impl::<true>(samples, out)
    }

    /// The receiver; everything on its per-sample and per-sub-block path is
    /// inlined into it, so that each copy is compiled for its CPU.
    #[inline(always)]
    fn rx_impl<const FMA: bool>(&mut self, samples: &[i16], out: &mut Vec<DtmfEvent>) {
        let mut rest = samples;
        while !rest.is_empty() {
            // Whole sub-blocks go four (or two) at a time.
            if self.fill == 0 && rest.len() >= 2 * SUB_BLOCK_SAMPLES {
                let (done, tail) = if rest.len() >= 4 * SUB_BLOCK_SAMPLES {
                    let banks = kernel::run_blocks::<FMA, 4>(&self.desc.coeffs, rest, self.desc.quiet_sub_block);
                    self.end_sub_blocks(&banks, out);
                    rest.split_at(4 * SUB_BLOCK_SAMPLES)
                } else {
                    let banks = kernel::run_blocks::<FMA, 2>(&self.desc.coeffs, rest, self.desc.quiet_sub_block);
                    self.end_sub_blocks(&banks, out);
                    rest.split_at(2 * SUB_BLOCK_SAMPLES)
                };
                debug_assert_eq!(done.len() % SUB_BLOCK_SAMPLES, 0);
                rest = tail;
                continue;
            }
            let n = (SUB_BLOCK_SAMPLES - self.fill).min(rest.len());
            let (chunk, tail) = rest.split_at(n);
            kernel::run::<FMA>(&self.desc.coeffs, &mut self.bank, chunk);
            self.fill += n;
            self.position += n as u64;
            rest = tail;
            if self.fill == SUB_BLOCK_SAMPLES {
                self.end_sub_block(out);
            }
        }
    }

    /// Account for `samples` of lost audio (treated as silence).
    pub fn fillin(&mut self, samples: usize, out: &mut Vec<DtmfEvent>) {
        const ZEROS: [i16; SUB_BLOCK_SAMPLES] = [0; SUB_BLOCK_SAMPLES];
        let mut left = samples;
        while left > 0 {
            let n = left.min(SUB_BLOCK_SAMPLES);
            self.rx(&ZEROS[..n], out);
            left -= n;
        }
    }

    /// End the digit now sounding, if any (end of call or of stream); its
    /// end is the current position.
    pub fn flush(&mut self, out: &mut Vec<DtmfEvent>) {
        if let Some(mut t) = self.active.take() {
            t.end = self.position.max(t.start);
            self.finish_levels(&mut t);
            out.push(DtmfEvent::Digit(t));
        }
        self.cand = None;
        self.cand_hits = 0;
        self.misses = 0;
    }

    /// Finish whole sub-blocks computed together, in order.
    #[inline(always)]
    fn end_sub_blocks(&mut self, banks: &[kernel::Bank], out: &mut Vec<DtmfEvent>) {
        for b in banks {
            self.position += SUB_BLOCK_SAMPLES as u64;
            self.finish_sub_block(b, out);
        }
    }

    /// The sub-block being filled sample by sample is complete.
    #[inline(always)]
    fn end_sub_block(&mut self, out: &mut Vec<DtmfEvent>) {
        let b = std::mem::take(&mut self.bank);
        self.finish_sub_block(&b, out);
    }

    /// Take a complete sub-block's outputs and judge the window it closes.
    #[inline(always)]
    fn finish_sub_block(&mut self, b: &kernel::Bank, out: &mut Vec<DtmfEvent>) {
        let d = &*self.desc;
        self.out_re.copy_within(1.., 0);
        self.out_im.copy_within(1.., 0);
        let (re, im) = (&mut self.out_re[WINDOW_SUB_BLOCKS - 1], &mut self.out_im[WINDOW_SUB_BLOCKS - 1]);
        for i in 0..8 {
            // y = v[M−1] − e^{−jω}·v[M−2]; the sub-block's DFT is y times a
            // phase common to all sub-blocks, which the window sum ignores.
            re[i] = b.v[0][i] - d.cos_w[i] * b.v[1][i];
            im[i] = d.sin_w[i] * b.v[1][i];
        }
        self.sub_power.copy_within(1.., 0);
        self.sub_power[3] = b.power();
        self.fill = 0;
        let k = self.sub_blocks;
        self.sub_blocks += 1;
        if self.sub_blocks >= WINDOW_SUB_BLOCKS as u64 {
            let hit = self.analyse_window();
            // Nothing to track: the common case on a quiet or talking line.
            if hit.is_some() || self.cand.is_some() || self.active.is_some() {
                self.debounce(k, hit, out);
            }
        }
    }

    /// The window's complex sums Σ y_k·s^k for the eight frequencies, as
    /// vectors.
    #[inline(always)]
    fn window_sums(&self, s: &[[f32; 8]; 2], s2: &[[f32; 8]; 2]) -> ([f32; 8], [f32; 8]) {
        let [re0, re1, re2] = &self.out_re;
        let [im0, im1, im2] = &self.out_im;
        let mut re = [0f32; 8];
        let mut im = [0f32; 8];
        for i in 0..8 {
            re[i] = re0[i] + re1[i] * s[0][i] - im1[i] * s[1][i] + re2[i] * s2[0][i] - im2[i] * s2[1][i];
            im[i] = im0[i] + re1[i] * s[1][i] + im1[i] * s[0][i] + re2[i] * s2[1][i] + im2[i] * s2[0][i];
        }
        (re, im)
    }

    /// Decide whether the window of the last three sub-blocks holds a digit.
    #[inline(always)]
    fn analyse_window(&self) -> Option<Hit> {
        let d = &*self.desc;
        let [_, p0, p1, p2] = self.sub_power;
        let total = p0 + p1 + p2;
        // Two tones at the threshold carry at least this much power.
        let window_mean = total / WINDOW_SAMPLES as f32;
        if window_mean < 2.0 * d.threshold_power {
            return None;
        }
        // Every sub-block holds a fair share: the tone fills the window.
        let share = d.sub_block_share * total / WINDOW_SUB_BLOCKS as f32;
        if p0 < share || p1 < share || p2 < share {
            return None;
        }
        let (sre, sim) = self.window_sums(&d.step, &d.step2);
        let mut e = [0f32; 8];
        for i in 0..8 {
            e[i] = (sre[i] * sre[i] + sim[i] * sim[i]) * d.dft_to_power;
        }
        let (r, er) = argmax(&e[..4]);
        let (c, ec) = argmax(&e[4..]);
        // Cheap screens on the raw sums, looser than the final tests (the
        // raw sums carry each tone's leakage into the other bins).
        if er < d.threshold_power * PRESCREEN_RATIO || ec < d.threshold_power * PRESCREEN_RATIO {
            return None;
        }
        for (i, &x) in e[..4].iter().enumerate() {
            if i != r && x * PRESCREEN_RELATIVE_PEAK > er {
                return None;
            }
        }
        for (i, &x) in e[4..].iter().enumerate() {
            if i != c && x * PRESCREEN_RELATIVE_PEAK > ec {
                return None;
            }
        }
        if er + ec < d.tone_to_total * window_mean {
            return None;
        }
        // Unmix the two tones: their (cos, sin) amplitudes from the row and
        // column sums, each free of the other's leakage (and of its own
        // negative-frequency image), for an exact twist and level.
        let sr = (sre[r], sim[r]);
        let sc = (sre[c + 4], sim[c + 4]);
        let m = [sr.0, sr.1, sc.0, sc.1];
        let mut ab = [0f32; 4];
        for (o, u) in ab.iter_mut().zip(&d.unmix[r][c]) {
            *o = u[0] * m[0] + u[1] * m[1] + u[2] * m[2] + u[3] * m[3];
        }
        let pr = (ab[0] * ab[0] + ab[1] * ab[1]) / 2.0;
        let pc = (ab[2] * ab[2] + ab[3] * ab[3]) / 2.0;
        if pr < d.threshold_power || pc < d.threshold_power {
            return None;
        }
        if pr > pc * d.normal_twist || pc > pr * d.reverse_twist {
            return None;
        }
        // What the other rows and columns hold beyond the two tones'
        // predicted leakage must be well below the tones.
        for i in 0..8 {
            if i == r || i == c + 4 {
                continue;
            }
            let (q1, q2) = (&d.resp[0][r][i], &d.resp[0][c + 4][i]);
            let lr = ab[0] * q1[0] + ab[1] * q1[2] + ab[2] * q2[0] + ab[3] * q2[2];
            let li = ab[0] * q1[1] + ab[1] * q1[3] + ab[2] * q2[1] + ab[3] * q2[3];
            let rest = ((sre[i] - lr).powi(2) + (sim[i] - li).powi(2)) * d.dft_to_power;
            if rest * d.relative_peak > if i < 4 { pr } else { pc } {
                return None;
            }
        }
        // Frequency: each tone's sum at nominal against the probes at
        // ±5 %, all less the other tone's predicted leakage.
        let probes = [(&d.step_hi, &d.step2_hi), (&d.step_lo, &d.step2_lo)];
        for (bin, own, (oa, ob), other) in [(r, sr, (ab[2], ab[3]), c + 4), (c + 4, sc, (ab[0], ab[1]), r)] {
            let leak = |v: usize| {
                let q = &d.resp[v][other][bin];
                (oa * q[0] + ob * q[2], oa * q[1] + ob * q[3])
            };
            let l0 = leak(0);
            let nominal = (own.0 - l0.0).powi(2) + (own.1 - l0.1).powi(2);
            for (v, (st, st2)) in probes.iter().enumerate() {
                let p = self.window_sum(bin, st, st2);
                let l = leak(v + 1);
                if (p.0 - l.0).powi(2) + (p.1 - l.1).powi(2) >= nominal {
                    return None;
                }
            }
        }
        let digit = DtmfDigit::from_row_col(r, c)?;
        Some(Hit { digit, row_power: pr, col_power: pc })
    }

    /// The window's complex sum Σ y_k·s^k at frequency `i`.
    #[inline(always)]
    fn window_sum(&self, i: usize, s: &[[f32; 8]; 2], s2: &[[f32; 8]; 2]) -> (f32, f32) {
        let [re0, re1, re2] = &self.out_re;
        let [im0, im1, im2] = &self.out_im;
        let re = re0[i] + re1[i] * s[0][i] - im1[i] * s[1][i] + re2[i] * s2[0][i] - im2[i] * s2[1][i];
        let im = im0[i] + re1[i] * s[1][i] + im1[i] * s[0][i] + re2[i] * s2[1][i] + im2[i] * s2[0][i];
        (re, im)
    }

    fn finish_levels(&self, t: &mut DtmfTone) {
        t.low_dbm0 = level::power_to_dbm0(self.active_row_power as f64) as f32;
        t.high_dbm0 = level::power_to_dbm0(self.active_col_power as f64) as f32;
    }

    /// Refined first sample of a tone whose first hit window (sub-blocks
    /// `first`…`first + 2`) has just ended: the sub-block before it and the
    /// first one are filled in proportion to their power against the
    /// window's other two (to within a few samples: two tones beat within a
    /// sub-block).
    fn refine_start(&self, first: u64) -> u64 {
        let m = SUB_BLOCK_SAMPLES as f32;
        let [before, p0, p1, p2] = self.sub_power;
        let before = if first > 0 { before } else { 0.0 };
        let reference = ((p1 + p2) / 2.0).max(1.0);
        let filled = (((before + p0) / reference).clamp(0.0, 2.0) * m).round() as u64;
        ((first + 1) * SUB_BLOCK_SAMPLES as u64).saturating_sub(filled)
    }

    /// Refined first sample after a tone whose last hit window ended with
    /// sub-block `last`, when the sub-block after it has just ended.
    fn refine_end(&self, last: u64) -> u64 {
        let m = SUB_BLOCK_SAMPLES as f32;
        let [p_2, p_1, p0, after] = self.sub_power;
        let reference = ((p_2 + p_1) / 2.0).max(1.0);
        let filled = (((p0 + after) / reference).clamp(0.0, 2.0) * m).round() as u64;
        last * SUB_BLOCK_SAMPLES as u64 + filled
    }

    fn debounce(&mut self, k: u64, hit: Option<Hit>, out: &mut Vec<DtmfEvent>) {
        let d = &*self.desc;
        let first_sub = k - (WINDOW_SUB_BLOCKS as u64 - 1);
        // Candidate tracking: consecutive hits of one digit.
        match hit {
            Some(h) if self.cand == Some(h.digit) => {
                self.cand_hits = self.cand_hits.saturating_add(1);
                if h.row_power + h.col_power > self.cand_row_power + self.cand_col_power {
                    (self.cand_row_power, self.cand_col_power) = (h.row_power, h.col_power);
                }
            }
            Some(h) => {
                self.cand = Some(h.digit);
                self.cand_hits = 1;
                self.cand_start = self.refine_start(first_sub);
                self.cand_row_power = h.row_power;
                self.cand_col_power = h.col_power;
            }
            None => {
                self.cand = None;
                self.cand_hits = 0;
            }
        }
        if let Some(active) = self.active {
            match hit {
                Some(h) if h.digit == active.digit => {
                    self.misses = 0;
                    self.last_hit_sub = k;
                    if h.row_power + h.col_power > self.active_row_power + self.active_col_power {
                        (self.active_row_power, self.active_col_power) = (h.row_power, h.col_power);
                    }
                }
                _ => {
                    self.misses += 1;
                    let mut t = active;
                    if self.misses == 1 {
                        // The sub-block just after the last hit window has
                        // just ended.
                        t.end = self.refine_end(self.last_hit_sub).max(t.start + 1);
                        self.active = Some(t);
                    }
                    if self.misses >= d.params.misses_to_end {
                        self.finish_levels(&mut t);
                        out.push(DtmfEvent::Digit(t));
                        self.active = None;
                        self.misses = 0;
                    }
                }
            }
        }
        if self.active.is_none() && self.cand_hits >= d.params.hits_to_begin {
            if let Some(digit) = self.cand {
                let start = self.cand_start;
                self.active = Some(DtmfTone { digit, start, end: start, low_dbm0: 0.0, high_dbm0: 0.0 });
                self.active_row_power = self.cand_row_power;
                self.active_col_power = self.cand_col_power;
                self.last_hit_sub = k;
                self.misses = 0;
                out.push(DtmfEvent::Begin { digit, start });
            }
        }
    }
}

#[inline]
fn argmax(v: &[f32]) -> (usize, f32) {
    let mut best = (0, v[0]);
    for (i, &x) in v.iter().enumerate().skip(1) {
        if x > best.1 {
            best = (i, x);
        }
    }
    best
}

/// How the generator plays digits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DtmfTxConfig {
    /// Level of the low-group tone, dBm0.
    pub low_dbm0: f32,
    /// Level of the high-group tone, dBm0.
    pub high_dbm0: f32,
    /// Tone length per digit, ms.
    pub on_ms: u32,
    /// Silence after each digit, ms.
    pub off_ms: u32,
}

impl DtmfTxConfig {
    /// Tones around `level_dbm0` per tone with `twist_db` (low minus high)
    /// split evenly: low = level + twist/2, high = level − twist/2.
    pub fn new(level_dbm0: f32, twist_db: f32, on_ms: u32, off_ms: u32) -> Self {
        DtmfTxConfig { low_dbm0: level_dbm0 + twist_db / 2.0, high_dbm0: level_dbm0 - twist_db / 2.0, on_ms, off_ms }
    }
}

impl Default for DtmfTxConfig {
    /// −10 dBm0 per tone, 50 ms on, 55 ms off (spandsp's defaults).
    fn default() -> Self {
        DtmfTxConfig::new(-10.0, 0.0, 50, 55)
    }
}

/// Why digits could not be queued or a generator made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DtmfTxError {
    #[error("'{0}' is not a DTMF digit (0-9 * # A-D)")]
    BadDigit(char),
    #[error("the generator queue holds {DTMF_TX_QUEUE_DIGITS} digits; {0} more do not fit")]
    QueueFull(usize),
    #[error("a DTMF tone must last at least 1 ms")]
    ZeroLength,
    #[error("bad tone: {0}")]
    Tone(#[from] ToneSpecError),
}

/// Plays queued digits. No allocation after construction.
#[derive(Debug, Clone)]
pub struct DtmfGenerator {
    config: DtmfTxConfig,
    queue: [DtmfDigit; DTMF_TX_QUEUE_DIGITS],
    head: usize,
    len: usize,
    tone: Option<ToneGenerator>,
}

impl DtmfGenerator {
    pub fn new(config: DtmfTxConfig) -> Result<Self, DtmfTxError> {
        if config.on_ms == 0 {
            return Err(DtmfTxError::ZeroLength);
        }
        // Check levels once, so that every later digit is known good.
        Self::spec(&config, DtmfDigit::D1)?;
        Ok(DtmfGenerator { config, queue: [DtmfDigit::D0; DTMF_TX_QUEUE_DIGITS], head: 0, len: 0, tone: None })
    }

    fn spec(config: &DtmfTxConfig, digit: DtmfDigit) -> Result<ToneSpec, ToneSpecError> {
        let freqs = [
            ToneFreq { hz: digit.low_hz(), dbm0: config.low_dbm0 },
            ToneFreq { hz: digit.high_hz(), dbm0: config.high_dbm0 },
        ];
        ToneSpec::burst(&freqs, config.on_ms, config.off_ms)
    }

    pub fn config(&self) -> &DtmfTxConfig {
        &self.config
    }

    /// Queue `digits` (all or none).
    pub fn push(&mut self, digits: &str) -> Result<(), DtmfTxError> {
        let mut n = 0;
        for ch in digits.chars() {
            DtmfDigit::from_char(ch).ok_or(DtmfTxError::BadDigit(ch))?;
            n += 1;
        }
        if self.len + n > DTMF_TX_QUEUE_DIGITS {
            return Err(DtmfTxError::QueueFull(self.len + n - DTMF_TX_QUEUE_DIGITS));
        }
        for digit in digits.chars().filter_map(DtmfDigit::from_char) {
            self.queue[(self.head + self.len) % DTMF_TX_QUEUE_DIGITS] = digit;
            self.len += 1;
        }
        Ok(())
    }

    /// Digits queued and not yet started.
    pub fn pending(&self) -> usize {
        self.len
    }

    /// Whether nothing is playing or queued.
    pub fn is_idle(&self) -> bool {
        self.len == 0 && self.tone.is_none()
    }

    /// Drop the queue and stop at once.
    pub fn clear(&mut self) {
        self.len = 0;
        self.tone = None;
    }

    /// Fill `out` with the next samples; returns how many were written (all
    /// of `out` unless the queue ran dry; the rest is left untouched).
    pub fn tx(&mut self, out: &mut [i16]) -> usize {
        let mut written = 0;
        while written < out.len() {
            if self.tone.is_none() {
                if self.len == 0 {
                    break;
                }
                let digit = self.queue[self.head];
                self.head = (self.head + 1) % DTMF_TX_QUEUE_DIGITS;
                self.len -= 1;
                // The config was checked in `new`, so this cannot fail.
                match Self::spec(&self.config, digit) {
                    Ok(spec) => self.tone = Some(ToneGenerator::new(&spec)),
                    Err(_) => continue,
                }
            }
            if let Some(g) = self.tone.as_mut() {
                written += g.tx(&mut out[written..]);
                if g.is_done() {
                    self.tone = None;
                }
            }
        }
        written
    }
}

/// Convenience for tests and tools: `digits` as samples at `config`
/// (allocates; not for the real-time path).
pub fn dtmf_samples(digits: &str, config: DtmfTxConfig) -> Result<Vec<i16>, DtmfTxError> {
    let mut g = DtmfGenerator::new(config)?;
    let per = (config.on_ms as usize + config.off_ms as usize) * 8;
    let mut out = Vec::new();
    for ch in digits.chars() {
        g.push(ch.encode_utf8(&mut [0u8; 4]))?;
        let at = out.len();
        out.resize(at + per, 0);
        let n = g.tx(&mut out[at..]);
        out.truncate(at + n);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detect(samples: &[i16], block: usize) -> Vec<DtmfEvent> {
        let mut det = DtmfDetector::default();
        let mut ev = Vec::new();
        for c in samples.chunks(block.max(1)) {
            det.rx(c, &mut ev);
        }
        det.fillin(800, &mut ev);
        det.flush(&mut ev);
        ev
    }

    fn digits(ev: &[DtmfEvent]) -> String {
        ev.iter()
            .filter_map(|e| match e {
                DtmfEvent::Digit(t) => Some(t.digit.as_char()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn keypad_mapping() {
        assert_eq!(DtmfDigit::from_char('5').map(|d| (d.low_hz(), d.high_hz())), Some((770.0, 1336.0)));
        assert_eq!(DtmfDigit::from_char('d').map(|d| (d.row(), d.col())), Some((3, 3)));
        assert_eq!(DtmfDigit::from_char('*').map(DtmfDigit::high_hz), Some(1209.0));
        assert_eq!(DtmfDigit::from_char('#').map(DtmfDigit::high_hz), Some(1477.0));
        assert_eq!(DtmfDigit::from_char('x'), None);
        let s: String = DtmfDigit::ALL.iter().map(|d| d.as_char()).collect();
        assert_eq!(s, "123A456B789C*0#D");
        for d in DtmfDigit::ALL {
            assert_eq!(DtmfDigit::from_char(d.as_char()), Some(d));
            assert_eq!(DtmfDigit::from_row_col(d.row(), d.col()), Some(d));
        }
        assert_eq!(DtmfDigit::from_row_col(4, 0), None);
    }

    #[test]
    fn generator_levels_and_timing() {
        let s = dtmf_samples("1", DtmfTxConfig::new(-10.0, 4.0, 50, 30)).unwrap();
        assert_eq!(s.len(), 80 * 8);
        assert!(s[400..].iter().all(|&x| x == 0));
        assert!(s[..400].iter().filter(|&&x| x.abs() > 1000).count() > 300);
        // Low at −8, high at −12 dBm0.
        for (hz, want) in [(697.0, -8.0), (1209.0, -12.0)] {
            let g = crate::dsp::goertzel::GoertzelDescriptor::new(hz, 400);
            let mut st = crate::dsp::goertzel::GoertzelState::new();
            st.update(&g, &s[..400]);
            let got = g.energy_to_dbm0(st.result(&g));
            assert!((got - want).abs() < 0.3, "{hz}: {got}");
        }
    }

    #[test]
    fn generator_queue_and_errors() {
        let mut g = DtmfGenerator::new(DtmfTxConfig::default()).unwrap();
        assert_eq!(g.push("12x"), Err(DtmfTxError::BadDigit('x')));
        assert!(g.is_idle());
        g.push("12").unwrap();
        assert_eq!(g.pending(), 2);
        let mut buf = [7i16; 2000];
        assert_eq!(g.tx(&mut buf), 2 * 105 * 8);
        assert_eq!(buf[1680], 7);
        assert!(g.is_idle());
        assert!(matches!(g.push(&"1".repeat(129)), Err(DtmfTxError::QueueFull(1))));
        assert!(matches!(DtmfGenerator::new(DtmfTxConfig::new(6.0, 0.0, 50, 50)), Err(DtmfTxError::Tone(_))));
        assert_eq!(DtmfGenerator::new(DtmfTxConfig::new(-10.0, 0.0, 0, 50)).err(), Some(DtmfTxError::ZeroLength));
    }

    #[test]
    fn all_digits_any_block_size() {
        let s = dtmf_samples("123A456B789C*0#D", DtmfTxConfig::default()).unwrap();
        for block in [1, 7, 40, 160, 1000] {
            assert_eq!(digits(&detect(&s, block)), "123A456B789C*0#D", "block {block}");
        }
    }

    #[test]
    fn begin_then_digit_with_times_and_levels() {
        let mut s = vec![0i16; 333];
        s.extend(dtmf_samples("7", DtmfTxConfig::new(-20.0, 2.0, 60, 60)).unwrap());
        let ev = detect(&s, 160);
        assert_eq!(ev.len(), 2, "{ev:?}");
        assert!(matches!(ev[0], DtmfEvent::Begin { digit: DtmfDigit::D7, .. }));
        let DtmfEvent::Digit(t) = ev[1] else { panic!("{ev:?}") };
        assert_eq!(t.digit, DtmfDigit::D7);
        assert!((t.start as i64 - 333).abs() <= 12, "start {}", t.start);
        assert!((t.end as i64 - (333 + 480)).abs() <= 12, "end {}", t.end);
        assert!((t.low_dbm0 + 19.0).abs() < 0.05 && (t.high_dbm0 + 21.0).abs() < 0.05, "{t:?}");
    }

    #[test]
    fn silence_and_single_tones_give_nothing() {
        assert!(detect(&[0; 8000], 160).is_empty());
        let mut g = ToneGenerator::new(&ToneSpec::continuous(&[ToneFreq { hz: 697.0, dbm0: -10.0 }]).unwrap());
        let mut s = vec![0i16; 8000];
        g.tx(&mut s);
        assert!(detect(&s, 160).is_empty());
        assert!(detect(&[i16::MAX; 4000], 160).is_empty());
        assert!(detect(&[i16::MIN; 4000], 160).is_empty());
    }

    proptest::proptest! {
        #[test]
        fn any_audio_any_blocks_never_panics(
            noise in proptest::collection::vec(proptest::prelude::any::<i16>(), 0..3000),
            digits in "[0-9A-D*#]{0,6}",
            gain in 0.0f32..4.0,
            block in 1usize..400,
        ) {
            // Digits (possibly clipped by the gain) with arbitrary audio on top.
            let mut s = dtmf_samples(&digits, DtmfTxConfig::new(-6.0, 0.0, 45, 45)).unwrap_or_default();
            for x in s.iter_mut() {
                *x = (*x as f32 * gain).clamp(-32768.0, 32767.0) as i16;
            }
            for (x, n) in s.iter_mut().zip(&noise) {
                *x = x.saturating_add(*n);
            }
            s.extend_from_slice(&noise);
            let mut det = DtmfDetector::default();
            let mut ev = Vec::new();
            for c in s.chunks(block) {
                det.rx(c, &mut ev);
            }
            det.fillin(block, &mut ev);
            det.flush(&mut ev);
            let mut open = None;
            for e in &ev {
                match e {
                    DtmfEvent::Begin { digit, start } => {
                        proptest::prop_assert!(open.is_none());
                        open = Some((*digit, *start));
                    }
                    DtmfEvent::Digit(t) => {
                        proptest::prop_assert_eq!(open.take(), Some((t.digit, t.start)));
                        proptest::prop_assert!(t.start < t.end && t.end <= det.position());
                        proptest::prop_assert!(t.low_dbm0.is_finite() && t.high_dbm0.is_finite());
                    }
                }
            }
            proptest::prop_assert!(open.is_none());
        }
    }

    #[test]
    fn params_are_checked() {
        assert!(DtmfRxDescriptor::new(DtmfRxParams::default()).is_ok());
        let bad = DtmfRxParams { hits_to_begin: 0, ..Default::default() };
        assert_eq!(DtmfRxDescriptor::new(bad).err(), Some(DtmfParamsError::Hits(0)));
        let bad = DtmfRxParams { threshold_dbm0: 3.0, ..Default::default() };
        assert_eq!(DtmfRxDescriptor::new(bad).err(), Some(DtmfParamsError::Threshold(3.0)));
    }

    #[test]
    fn kernels_agree_with_the_plain_goertzel() {
        let d = DtmfRxDescriptor::new(DtmfRxParams::default()).unwrap();
        let x: Vec<i16> = (0..40).map(|i| ((i * 7919) % 60000 - 30000) as i16).collect();
        let (v1, v2) = kernel::run_reference(&d.coeffs.c, &x);
        let want_power: f32 = x.iter().map(|&s| s as f32 * s as f32).sum();
        // With and without fused multiply-adds, fed in odd pieces.
        for best in [true, false] {
            let mut b = kernel::Bank::default();
            for piece in [&x[..3], &x[3..4], &x[4..17], &x[17..]] {
                if best {
                    kernel::run::<true>(&d.coeffs, &mut b, piece);
                } else {
                    kernel::run::<false>(&d.coeffs, &mut b, piece);
                }
            }
            for i in 0..8 {
                let tol = 1e-4 * v1[i].abs().max(v2[i].abs()).max(1e4);
                assert!((b.v[0][i] - v1[i]).abs() <= tol, "v1[{i}] {} vs {}", b.v[0][i], v1[i]);
                assert!((b.v[1][i] - v2[i]).abs() <= tol, "v2[{i}] {} vs {}", b.v[1][i], v2[i]);
            }
            assert!((b.power() - want_power).abs() <= 1e-5 * want_power);
            // Whole sub-blocks, four and two at a time.
            let mut four = x.clone();
            for k in 1..4 {
                four.extend(x.iter().map(|&s| s.wrapping_mul(k as i16 + 1) / 4));
            }
            let banks4 = if best {
                kernel::run_blocks::<true, 4>(&d.coeffs, &four, 0.0)
            } else {
                kernel::run_blocks::<false, 4>(&d.coeffs, &four, 0.0)
            };
            let banks2 = kernel::run_blocks::<false, 2>(&d.coeffs, &four[40..], 0.0);
            // Quiet blocks are skipped, outputs zero, power still measured.
            let hush = kernel::run_blocks::<false, 2>(&d.coeffs, &four[..80], f32::MAX);
            assert!(hush.iter().all(|b| b.v == [[0.0; 8]; 4] && b.power > 0.0));
            for (j, bank) in banks4.iter().enumerate().chain(banks2.iter().enumerate().map(|(j, b)| (j + 1, b))) {
                let sub = &four[j * 40..(j + 1) * 40];
                let (w1, w2) = kernel::run_reference(&d.coeffs.c, sub);
                let wp: f32 = sub.iter().map(|&s| s as f32 * s as f32).sum();
                for i in 0..8 {
                    let tol = 1e-4 * w1[i].abs().max(w2[i].abs()).max(1e4);
                    assert!((bank.v[0][i] - w1[i]).abs() <= tol && (bank.v[1][i] - w2[i]).abs() <= tol, "block {j}");
                }
                assert!((bank.power() - wp).abs() <= 1e-5 * wp.max(1.0));
            }
        }
    }
}
