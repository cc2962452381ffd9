//! FSK modem: phase-continuous transmitter and non-coherent receiver with
//! clock recovery, for caller ID (Bell 202, V.23 forward channel at
//! 1200 bit/s) and the 300 bit/s V.21 channels of fax (T.30 HDLC flags).
//!
//! # Standards
//! - ITU-T V.23 (forward channel 1300 Hz mark / 2100 Hz space, 1200 bit/s),
//! - Bell 202 (1200 Hz mark / 2200 Hz space, 1200 bit/s),
//! - ITU-T V.21 (channel 1: 980 / 1180 Hz, channel 2: 1650 / 1850 Hz,
//!   300 bit/s; mark = binary 1).
//!
//! # Receiver
//! Each sample is mixed with both tones (a table of cos/sin values in Q14,
//! one period of both tones long, kept in the shared [`FskRxDescriptor`])
//! and the four products are summed over a sliding window of one bit
//! (integer running sums, so they never drift). The decision is the sign of
//! `|mark|² − |space|²`; the carrier detector compares `|mark|² + |space|²`
//! with an on and an off threshold (hysteresis, and a hold of one and two
//! bit times). Bit timing comes from the decision's zero crossings,
//! interpolated between samples:
//! - [`FskFraming::Sync`]: a PLL nudges the bit clock on every transition
//!   and every bit is reported (V.21 for HDLC),
//! - [`FskFraming::Async8N1`]: the clock is set hard on the start bit's edge
//!   (as a UART does), nudged gently inside the character, and 8-bit
//!   characters with one stop bit are reported with the number of idle mark
//!   bits seen before them (what a caller-ID receiver needs to find the end
//!   of the mark signal).
//!
//! The work is done in chunks of [`CHUNK`] samples with stack buffers: for
//! each of the four products, what enters the window minus what leaves it
//! (recomputed from the last window of input, so it cancels exactly) is a
//! plain loop the compiler vectorises, then come the running sums and the
//! powers; the per-sample framing only compares. A chunk with no tone
//! energy while the carrier is off skips the framing. Nothing allocates in
//! [`FskRx::rx_with`] or [`FskTx::tx_with`]; the per-channel state is under
//! 256 bytes.
//!
//! # Transmitter
//! A 32-bit phase accumulator switches increment between the two tones at
//! bit edges (phase continuous), with the bit clock kept exactly as a
//! fraction of the 8 kHz sample clock (16.16 fixed point), at a level in
//! dBm0.
//!
//! # Not implemented
//! Bauds below [`MIN_BAUD`] (the window would exceed [`MAX_WINDOW`]: no
//! 45.45 baud TDD), framings other than sync and 8N1, and V.23's 75 bit/s
//! backward channel (390/450 Hz). The receiver oscillators are at whole Hz.

use std::sync::{Arc, LazyLock};

use super::level::dbm0_to_peak;
use super::tonegen::{phase_increment, sine_of_phase, sine_table};

/// Sample rate of all audio, Hz.
pub const SAMPLE_RATE_HZ: u32 = 8000;
/// Longest correlation window (one bit) in samples.
pub const MAX_WINDOW: usize = 64;
/// Lowest baud rate the receiver handles (one bit fits [`MAX_WINDOW`]).
pub const MIN_BAUD: f32 = 125.0;
/// Highest baud rate: at least about 3.3 samples per bit.
pub const MAX_BAUD: f32 = 2400.0;
/// Samples processed per inner chunk (stack buffers).
pub const CHUNK: usize = 64;
/// Default carrier-on threshold (sum of mark and space tone power), dBm0.
pub const DEFAULT_CARRIER_ON_DBM0: f32 = -46.0;
/// Default carrier-off threshold, dBm0.
pub const DEFAULT_CARRIER_OFF_DBM0: f32 = -49.0;
/// PLL gain (fraction of the phase error corrected per transition) in sync
/// framing.
const SYNC_PLL_GAIN: f32 = 0.2;
/// PLL gain inside an asynchronous character (its start edge sets the
/// clock exactly; later edges only average out the start edge's jitter).
const ASYNC_PLL_GAIN: f32 = 0.3;
/// Q14 scale of the oscillator table.
const OSC_SCALE: f64 = 16384.0;
/// Right shift of each product (keeps a 64-sample sum of full-scale
/// products inside i32).
const PRODUCT_SHIFT: u32 = 6;

/// Tones and rate of one FSK channel. Mark is binary 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FskSpec {
    /// Frequency of a 1 bit (mark), Hz.
    pub mark_hz: f32,
    /// Frequency of a 0 bit (space), Hz.
    pub space_hz: f32,
    /// Bits per second.
    pub baud: f32,
}

impl FskSpec {
    /// Bell 202: 1200 Hz mark, 2200 Hz space, 1200 bit/s (US caller ID).
    pub const BELL202: FskSpec = FskSpec { mark_hz: 1200.0, space_hz: 2200.0, baud: 1200.0 };
    /// V.23 forward channel: 1300 Hz mark, 2100 Hz space, 1200 bit/s (ETSI caller ID).
    pub const V23_FORWARD: FskSpec = FskSpec { mark_hz: 1300.0, space_hz: 2100.0, baud: 1200.0 };
    /// V.21 channel 1 (originating): 980 Hz mark, 1180 Hz space, 300 bit/s.
    pub const V21_CH1: FskSpec = FskSpec { mark_hz: 980.0, space_hz: 1180.0, baud: 300.0 };
    /// V.21 channel 2 (answering, fax T.30 control): 1650 Hz mark, 1850 Hz space, 300 bit/s.
    pub const V21_CH2: FskSpec = FskSpec { mark_hz: 1650.0, space_hz: 1850.0, baud: 300.0 };

    /// Check that the receiver and transmitter can work with this spec.
    pub fn validate(&self) -> Result<(), FskSpecError> {
        for f in [self.mark_hz, self.space_hz] {
            if !(f.is_finite() && (1.0..4000.0).contains(&f)) {
                return Err(FskSpecError::BadFrequency(f));
            }
        }
        if self.mark_hz.round() == self.space_hz.round() {
            return Err(FskSpecError::SameTones(self.mark_hz));
        }
        if !(self.baud.is_finite() && (MIN_BAUD..=MAX_BAUD).contains(&self.baud)) {
            return Err(FskSpecError::BadBaud(self.baud));
        }
        Ok(())
    }

    /// Samples per bit (not an integer in general: 6.67 at 1200 bit/s).
    pub fn samples_per_bit(&self) -> f32 {
        SAMPLE_RATE_HZ as f32 / self.baud
    }
}

/// An [`FskSpec`] the modem cannot use.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum FskSpecError {
    #[error("FSK tone {0} Hz is outside 1–3999 Hz")]
    BadFrequency(f32),
    #[error("FSK mark and space are both {0} Hz")]
    SameTones(f32),
    #[error("FSK rate {0} baud is outside {MIN_BAUD}–{MAX_BAUD}")]
    BadBaud(f32),
}

/// How the receiver turns bits into output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FskFraming {
    /// Every bit, clocked by a PLL (V.21 HDLC).
    Sync,
    /// Start bit, 8 data bits LSB first, one stop bit (caller ID).
    Async8N1,
}

/// What the receiver reports. Positions are in samples fed since
/// construction or [`FskRx::reset`], estimated at the start of the bit or
/// character in the input (the receiver's own delay taken off).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FskRxEvent {
    /// Tone energy went above the on threshold for a bit time.
    CarrierUp { at: u64 },
    /// Tone energy stayed below the off threshold for two bit times.
    CarrierDown { at: u64 },
    /// [`FskFraming::Sync`]: one bit (true = mark = 1).
    Bit { bit: bool, at: u64 },
    /// [`FskFraming::Async8N1`]: one character. `marks_before` counts the
    /// idle mark bits between the previous character (or carrier up) and
    /// this start bit, saturating.
    Byte { byte: u8, at: u64, marks_before: u16 },
    /// [`FskFraming::Async8N1`]: the stop bit was a space; `byte` is what
    /// the data bits said.
    FramingError { byte: u8, at: u64 },
}

/// Receiver tables for one [`FskSpec`], computed once and shared by every
/// channel (through an `Arc`).
#[derive(Debug, Clone)]
pub struct FskRxDescriptor {
    spec: FskSpec,
    /// Correlation window, samples (one bit, rounded).
    window: usize,
    /// Length of one common period of both oscillators, samples.
    period: usize,
    /// cos mark, −sin mark, cos space, −sin space in Q14, one table each:
    /// entry `MAX_WINDOW + i` is oscillator phase `i`, for `i` from
    /// `−MAX_WINDOW` to `period + CHUNK`, so neither a chunk nor its window
    /// wraps.
    osc: [Vec<i16>; 4],
    /// Bit clock advance per sample, bits.
    bit_inc: f32,
    /// Clock phase at which a bit is sampled: half a sample before the
    /// ideal instant, so the nearest sample is taken.
    sample_at: f32,
    /// Carrier thresholds on |mark|² + |space|² (sum units squared).
    on_power: f32,
    off_power: f32,
    /// Samples above (below) threshold before carrier up (down).
    on_hold: u32,
    off_hold: u32,
    /// Delay from the start of a bit in the input to its mid-bit
    /// decision, samples.
    delay: u32,
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

impl FskRxDescriptor {
    /// Tables for `spec` with the default carrier thresholds.
    pub fn new(spec: FskSpec) -> Result<Self, FskSpecError> {
        Self::with_thresholds(spec, DEFAULT_CARRIER_ON_DBM0, DEFAULT_CARRIER_OFF_DBM0)
    }

    /// Tables for `spec`, with the carrier declared on above `on_dbm0` and
    /// off below `off_dbm0` (the level of a steady mark or space tone).
    pub fn with_thresholds(spec: FskSpec, on_dbm0: f32, off_dbm0: f32) -> Result<Self, FskSpecError> {
        spec.validate()?;
        let sr = SAMPLE_RATE_HZ as u64;
        let fm = spec.mark_hz.round() as u64;
        let fs = spec.space_hz.round() as u64;
        let pm = sr / gcd(sr, fm);
        let ps = sr / gcd(sr, fs);
        let period = (pm / gcd(pm, ps) * ps) as usize; // lcm, divides 8000
        let mut osc: [Vec<i16>; 4] = std::array::from_fn(|_| Vec::with_capacity(MAX_WINDOW + period + CHUNK));
        for n in 0..MAX_WINDOW + period + CHUNK {
            let k = ((n + period * MAX_WINDOW - MAX_WINDOW) % period) as f64;
            let wm = 2.0 * std::f64::consts::PI * fm as f64 / sr as f64 * k;
            let ws = 2.0 * std::f64::consts::PI * fs as f64 / sr as f64 * k;
            for (table, v) in osc.iter_mut().zip([wm.cos(), -wm.sin(), ws.cos(), -ws.sin()]) {
                table.push((v * OSC_SCALE).round() as i16);
            }
        }
        let spb = spec.samples_per_bit();
        let window = (spb.round() as usize).clamp(2, MAX_WINDOW);
        // A sine of peak A gives |sum| = A·W/2·2^(14−6).
        let gain = window as f64 / 2.0 * (OSC_SCALE / (1u32 << PRODUCT_SHIFT) as f64);
        let thr = |dbm0: f32| ((dbm0_to_peak(dbm0 as f64) * gain).powi(2)) as f32;
        Ok(FskRxDescriptor {
            spec,
            window,
            period,
            osc,
            bit_inc: spec.baud / SAMPLE_RATE_HZ as f32,
            sample_at: 1.0 - spec.baud / SAMPLE_RATE_HZ as f32 / 2.0,
            on_power: thr(on_dbm0),
            off_power: thr(off_dbm0.min(on_dbm0)),
            on_hold: window as u32,
            off_hold: 2 * window as u32,
            delay: ((window as f32 - 1.0) / 2.0 + spb / 2.0).round() as u32,
        })
    }

    /// A shared descriptor: the four presets come from statics built once,
    /// other specs are built now.
    pub fn shared(spec: FskSpec) -> Result<Arc<Self>, FskSpecError> {
        static PRESETS: LazyLock<[Arc<FskRxDescriptor>; 4]> = LazyLock::new(|| {
            [FskSpec::BELL202, FskSpec::V23_FORWARD, FskSpec::V21_CH1, FskSpec::V21_CH2].map(|s| {
                #[allow(clippy::expect_used)]
                Arc::new(FskRxDescriptor::new(s).expect("preset FSK specs are valid"))
            })
        });
        for p in PRESETS.iter() {
            if p.spec == spec {
                return Ok(Arc::clone(p));
            }
        }
        Ok(Arc::new(Self::new(spec)?))
    }

    pub fn spec(&self) -> FskSpec {
        self.spec
    }
    /// Correlation window in samples.
    pub fn window(&self) -> usize {
        self.window
    }
}

/// Where the asynchronous framer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CharState {
    /// Waiting for a start bit; counting idle marks.
    Idle,
    /// Receiving data bit `n` (0..8).
    Data(u8),
    /// Expecting the stop bit.
    Stop,
}

/// Per-channel FSK receiver state.
#[derive(Debug, Clone)]
pub struct FskRx {
    desc: Arc<FskRxDescriptor>,
    framing: FskFraming,
    /// Samples fed since construction or reset.
    pos: u64,
    /// Oscillator table row of the next sample.
    osc_idx: usize,
    /// The last `window` input samples, oldest first.
    hist: [i16; MAX_WINDOW],
    /// Running window sums of the four products.
    sums: [i32; 4],
    /// Previous decision value (|mark|² − |space|²).
    prev_d: f32,
    /// Previous hard decision (true = mark).
    prev_bit: bool,
    carrier: bool,
    /// Consecutive samples past the carrier threshold being tested.
    cd_count: u32,
    /// Bit clock: fraction of a bit since the last sampling instant.
    phase: f32,
    char_state: CharState,
    shift: u8,
    char_at: u64,
    marks: u16,
    marks_before: u16,
}

impl FskRx {
    pub fn new(desc: Arc<FskRxDescriptor>, framing: FskFraming) -> Self {
        FskRx {
            desc,
            framing,
            pos: 0,
            osc_idx: 0,
            hist: [0; MAX_WINDOW],
            sums: [0; 4],
            prev_d: 0.0,
            prev_bit: true,
            carrier: false,
            cd_count: 0,
            phase: 0.0,
            char_state: CharState::Idle,
            shift: 0,
            char_at: 0,
            marks: 0,
            marks_before: 0,
        }
    }

    /// Back to the state of a new receiver (positions restart at 0).
    pub fn reset(&mut self) {
        *self = FskRx::new(Arc::clone(&self.desc), self.framing);
    }

    pub fn descriptor(&self) -> &FskRxDescriptor {
        &self.desc
    }
    pub fn framing(&self) -> FskFraming {
        self.framing
    }
    /// Whether the carrier is currently detected.
    pub fn carrier(&self) -> bool {
        self.carrier
    }
    /// Samples fed since construction or reset.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Account for `n` lost samples: the correlators restart and the
    /// carrier is dropped (reported if it was up).
    pub fn fillin(&mut self, n: usize, out: &mut impl FnMut(FskRxEvent)) {
        if self.carrier {
            out(FskRxEvent::CarrierDown { at: self.pos });
        }
        let pos = self.pos + n as u64;
        let osc = (self.osc_idx + n % self.desc.period) % self.desc.period;
        self.reset();
        self.pos = pos;
        self.osc_idx = osc;
    }

    /// Demodulate `samples` (any length), appending events to `out`.
    pub fn rx(&mut self, samples: &[i16], out: &mut Vec<FskRxEvent>) {
        self.rx_with(samples, &mut |e| out.push(e));
    }

    /// Demodulate `samples`, handing each event to `sink` (no allocation).
    pub fn rx_with(&mut self, samples: &[i16], sink: &mut impl FnMut(FskRxEvent)) {
        for chunk in samples.chunks(CHUNK) {
            self.rx_chunk(chunk, sink);
        }
    }

    #[inline]
    fn rx_chunk(&mut self, x: &[i16], sink: &mut impl FnMut(FskRxEvent)) {
        let n = x.len();
        let (d, e) = self.correlate(x);
        let base = self.pos;
        self.pos = base + n as u64;
        let (on_power, off_power, off_hold, inc, sample_at) =
            (self.desc.on_power, self.desc.off_power, self.desc.off_hold, self.desc.bit_inc, self.desc.sample_at);
        if !self.carrier && !e[..n].iter().any(|&v| v >= on_power) {
            // No tone anywhere in the chunk: nothing to clock.
            self.cd_count = 0;
            return;
        }
        // The hot state lives in locals; rare paths write it back.
        let mut phase = self.phase;
        let mut prev_bit = self.prev_bit;
        let mut prev_d = self.prev_d;
        let mut k = 0;
        while k < n {
            let (dk, ek) = (d[k], e[k]);
            let at = base + k as u64;
            k += 1;
            if !self.carrier {
                self.phase = phase;
                self.carrier_detect_up(at, dk, ek, sink);
                (phase, prev_bit, prev_d) = (self.phase, self.prev_bit, self.prev_d);
                continue;
            }
            if ek < off_power {
                self.cd_count += 1;
                if self.cd_count >= off_hold {
                    self.carrier_down(at, sink);
                    continue;
                }
            } else {
                self.cd_count = 0;
            }
            phase += inc;
            let bit = dk > 0.0;
            if bit != prev_bit {
                phase = self.edge(phase, prev_d, dk, bit);
            }
            prev_bit = bit;
            prev_d = dk;
            if phase >= sample_at {
                phase -= 1.0;
                self.sample(at, bit, sink);
            }
        }
        self.phase = phase;
        self.prev_bit = prev_bit;
        self.prev_d = prev_d;
    }

    /// Mix, window and compare: per sample, `|mark|² − |space|²` and
    /// `|mark|² + |space|²`.
    #[inline]
    fn correlate(&mut self, x: &[i16]) -> ([f32; CHUNK], [f32; CHUNK]) {
        let desc = &*self.desc;
        let n = x.len();
        let w = desc.window;
        // The input, preceded by the last `w` samples: each sample's four
        // products are added to the running sums, and the products of the
        // sample leaving the window (recomputed from the same values, so
        // they cancel exactly) are taken off.
        let mut xb = [0i16; MAX_WINDOW + CHUNK];
        xb[..w].copy_from_slice(&self.hist[..w]);
        xb[w..w + n].copy_from_slice(x);
        let row = MAX_WINDOW + self.osc_idx;
        let (x_new, x_old) = (&xb[w..w + n], &xb[..n]);
        self.osc_idx = (self.osc_idx + n) % desc.period;
        // Per product: what enters the window minus what leaves it (a loop
        // over samples, which the compiler vectorises).
        let mut diff = [[0i32; CHUNK]; 4];
        for (dj, table) in diff.iter_mut().zip(&desc.osc) {
            let (o_new, o_old) = (&table[row..row + n], &table[row - w..row - w + n]);
            for (((dk, &xn), &on), (&xo, &oo)) in dj.iter_mut().zip(x_new).zip(o_new).zip(x_old.iter().zip(o_old)) {
                *dk = ((xn as i32 * on as i32) >> PRODUCT_SHIFT) - ((xo as i32 * oo as i32) >> PRODUCT_SHIFT);
            }
        }
        // Running sums, per product.
        let mut sums = [[0f32; CHUNK]; 4];
        let mut s = self.sums;
        for ((fj, dj), sj) in sums.iter_mut().zip(&diff).zip(s.iter_mut()) {
            let mut acc = *sj;
            for (f, &dk) in fj[..n].iter_mut().zip(&dj[..n]) {
                acc = acc.wrapping_add(dk);
                *f = acc as f32;
            }
            *sj = acc;
        }
        let mut d = [0f32; CHUNK];
        let mut e = [0f32; CHUNK];
        let [mi, mq, si, sq] = &sums;
        for (((((dk, ek), &a), &b), &c), &f) in d.iter_mut().zip(e.iter_mut()).zip(mi).zip(mq).zip(si).zip(sq) {
            let pm = a * a + b * b;
            let ps = c * c + f * f;
            *dk = pm - ps;
            *ek = pm + ps;
        }
        self.sums = s;
        self.hist[..w].copy_from_slice(&xb[n..n + w]);
        (d, e)
    }

    /// A transition of the decision between the previous sample and this
    /// one: re-time the bit clock. Returns the new phase.
    #[inline]
    fn edge(&self, phase: f32, prev_d: f32, d: f32, bit: bool) -> f32 {
        let inc = self.desc.bit_inc;
        // Where between the previous sample and this one d crossed 0.
        let t = if prev_d != d { (prev_d / (prev_d - d)).clamp(0.0, 1.0) } else { 0.5 };
        // Phase error of the edge, wrapped into [−0.5, 0.5).
        let mut err = phase - (1.0 - t) * inc - 0.5;
        if err >= 0.5 {
            err -= 1.0;
        } else if err < -0.5 {
            err += 1.0;
        }
        match (self.framing, self.char_state) {
            (FskFraming::Async8N1, CharState::Idle) => {
                if bit {
                    phase
                } else if self.marks >= 2 || err.abs() > 0.25 {
                    // Start edge after idle marks: half a bit before the
                    // next sampling instant.
                    0.5 + (1.0 - t) * inc
                } else {
                    // Start bit right after a stop bit: the clock is good,
                    // nudge it as inside a character.
                    phase - ASYNC_PLL_GAIN * err
                }
            }
            (framing, _) => {
                let gain = if framing == FskFraming::Sync { SYNC_PLL_GAIN } else { ASYNC_PLL_GAIN };
                phase - gain * err
            }
        }
    }

    #[cold]
    fn carrier_down(&mut self, at: u64, sink: &mut impl FnMut(FskRxEvent)) {
        let desc = &*self.desc;
        self.carrier = false;
        self.cd_count = 0;
        sink(FskRxEvent::CarrierDown { at: at.saturating_sub(desc.off_hold as u64 + desc.window as u64 / 2) });
    }

    #[inline]
    fn carrier_detect_up(&mut self, at: u64, d: f32, e: f32, sink: &mut impl FnMut(FskRxEvent)) {
        if e >= self.desc.on_power {
            self.cd_count += 1;
            if self.cd_count >= self.desc.on_hold {
                self.carrier_up(at, d, sink);
            }
        } else {
            self.cd_count = 0;
        }
    }

    #[cold]
    fn carrier_up(&mut self, at: u64, d: f32, sink: &mut impl FnMut(FskRxEvent)) {
        let desc = &*self.desc;
        self.carrier = true;
        self.cd_count = 0;
        self.char_state = CharState::Idle;
        self.marks = 0;
        self.prev_bit = d > 0.0;
        self.prev_d = d;
        self.phase = 0.5;
        sink(FskRxEvent::CarrierUp { at: at.saturating_sub(desc.on_hold as u64 + desc.window as u64 / 2) });
    }

    #[inline]
    fn sample(&mut self, at: u64, bit: bool, sink: &mut impl FnMut(FskRxEvent)) {
        let start = at.saturating_sub(self.desc.delay as u64);
        match self.framing {
            FskFraming::Sync => sink(FskRxEvent::Bit { bit, at: start }),
            FskFraming::Async8N1 => match self.char_state {
                CharState::Idle => {
                    if bit {
                        self.marks = self.marks.saturating_add(1);
                    } else {
                        self.char_state = CharState::Data(0);
                        self.char_at = start;
                        self.marks_before = self.marks;
                        self.marks = 0;
                        self.shift = 0;
                    }
                }
                CharState::Data(i) => {
                    self.shift = (self.shift >> 1) | if bit { 0x80 } else { 0 };
                    self.char_state = if i == 7 { CharState::Stop } else { CharState::Data(i + 1) };
                }
                CharState::Stop => {
                    self.char_state = CharState::Idle;
                    if bit {
                        sink(FskRxEvent::Byte { byte: self.shift, at: self.char_at, marks_before: self.marks_before });
                    } else {
                        sink(FskRxEvent::FramingError { byte: self.shift, at: self.char_at });
                    }
                }
            },
        }
    }
}

/// Phase-continuous FSK transmitter.
#[derive(Debug, Clone)]
pub struct FskTx {
    spec: FskSpec,
    mark_inc: u32,
    space_inc: u32,
    amp: f32,
    phase: u32,
    /// Bit clock in 16.16 samples·baud units.
    bit_acc: u32,
    bit_period: u32,
    baud_inc: u32,
    bit: bool,
    need_bit: bool,
    done: bool,
    /// Samples written since construction.
    pos: u64,
}

impl FskTx {
    /// A transmitter for `spec` at `level_dbm0` (level of each tone while it
    /// sounds).
    pub fn new(spec: FskSpec, level_dbm0: f32) -> Result<Self, FskSpecError> {
        spec.validate()?;
        Ok(FskTx {
            spec,
            mark_inc: phase_increment(spec.mark_hz as f64),
            space_inc: phase_increment(spec.space_hz as f64),
            amp: dbm0_to_peak(level_dbm0 as f64) as f32,
            phase: 0,
            bit_acc: 0,
            bit_period: SAMPLE_RATE_HZ << 16,
            baud_inc: (spec.baud as f64 * 65536.0).round() as u32,
            bit: true,
            need_bit: true,
            done: false,
            pos: 0,
        })
    }

    pub fn spec(&self) -> FskSpec {
        self.spec
    }
    /// Samples written so far.
    pub fn position(&self) -> u64 {
        self.pos
    }
    /// Whether the bit source has run dry.
    pub fn is_done(&self) -> bool {
        self.done
    }
    /// Start again at phase 0 with a fresh bit clock.
    pub fn reset(&mut self) {
        self.phase = 0;
        self.bit_acc = 0;
        self.need_bit = true;
        self.done = false;
        self.pos = 0;
    }

    /// Fill `out`, asking `next_bit` for a bit at each bit boundary (true =
    /// mark). Returns the samples written: fewer than `out.len()` once
    /// `next_bit` returns `None` (the last bit is sent whole first).
    pub fn tx_with(&mut self, out: &mut [i16], next_bit: &mut impl FnMut() -> Option<bool>) -> usize {
        let table = sine_table();
        let mut written = 0;
        for o in out.iter_mut() {
            if self.done {
                break;
            }
            if self.need_bit {
                match next_bit() {
                    Some(b) => {
                        self.bit = b;
                        self.need_bit = false;
                    }
                    None => {
                        self.done = true;
                        break;
                    }
                }
            }
            *o = (self.amp * sine_of_phase(table, self.phase)).round() as i16;
            self.phase = self.phase.wrapping_add(if self.bit { self.mark_inc } else { self.space_inc });
            self.bit_acc += self.baud_inc;
            if self.bit_acc >= self.bit_period {
                self.bit_acc -= self.bit_period;
                self.need_bit = true;
            }
            written += 1;
        }
        self.pos += written as u64;
        written
    }
}

/// Bits of `bytes` framed 8N1 (start 0, LSB first, stop 1), for tests and
/// simple senders.
pub fn async_8n1_bits(bytes: &[u8]) -> impl Iterator<Item = bool> + '_ {
    bytes.iter().flat_map(|&b| {
        std::iter::once(false).chain((0..8).map(move |i| (b >> i) & 1 == 1)).chain(std::iter::once(true))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::goertzel::{GoertzelDescriptor, GoertzelState};
    use crate::dsp::level::block_dbm0;
    use crate::dsp::noise::NoiseGenerator;

    fn modulate(spec: FskSpec, dbm0: f32, bits: &[bool]) -> Vec<i16> {
        let mut tx = FskTx::new(spec, dbm0).unwrap();
        let mut it = bits.iter().copied();
        let mut out = vec![0i16; (bits.len() as f32 * spec.samples_per_bit()) as usize + 16];
        let n = tx.tx_with(&mut out, &mut || it.next());
        out.truncate(n);
        out
    }

    fn prbs(seed: u64, n: usize) -> Vec<bool> {
        let mut g = NoiseGenerator::new(seed, 0.0);
        (0..n).map(|_| g.next_u64() >> 63 == 1).collect()
    }

    #[test]
    fn presets_and_bad_specs() {
        for s in [FskSpec::BELL202, FskSpec::V23_FORWARD, FskSpec::V21_CH1, FskSpec::V21_CH2] {
            s.validate().unwrap();
            let d = FskRxDescriptor::shared(s).unwrap();
            assert!(Arc::ptr_eq(&d, &FskRxDescriptor::shared(s).unwrap()));
            assert_eq!(d.period % 20, 0);
        }
        assert_eq!(FskRxDescriptor::new(FskSpec::BELL202).unwrap().window(), 7);
        assert_eq!(FskRxDescriptor::new(FskSpec::V21_CH2).unwrap().window(), 27);
        let bad = |m, s, b| FskSpec { mark_hz: m, space_hz: s, baud: b }.validate();
        assert_eq!(bad(1200.0, 4100.0, 1200.0), Err(FskSpecError::BadFrequency(4100.0)));
        assert_eq!(bad(1200.0, 1200.2, 1200.0), Err(FskSpecError::SameTones(1200.0)));
        assert_eq!(bad(1200.0, 2200.0, 45.45), Err(FskSpecError::BadBaud(45.45)));
        assert!(bad(f32::NAN, 2200.0, 1200.0).is_err());
        assert!(FskTx::new(FskSpec { baud: 0.0, ..FskSpec::BELL202 }, -10.0).is_err());
    }

    #[test]
    fn tx_tones_levels_and_bit_timing() {
        // 1200 marks at 1200 bit/s last exactly 8000 samples.
        let marks = modulate(FskSpec::BELL202, -13.0, &[true; 1200]);
        assert_eq!(marks.len(), 8000);
        assert!((block_dbm0(&marks) + 13.0).abs() < 0.05, "{}", block_dbm0(&marks));
        let d = GoertzelDescriptor::new(1200.0, 8000);
        let mut g = GoertzelState::new();
        g.update(&d, &marks);
        assert!((d.energy_to_dbm0(g.result(&d)) + 13.0).abs() < 0.1);
        let spaces = modulate(FskSpec::V21_CH2, -20.0, &[false; 300]);
        assert_eq!(spaces.len(), 8000);
        let d = GoertzelDescriptor::new(1850.0, 8000);
        g.update(&d, &spaces);
        assert!((d.energy_to_dbm0(g.result(&d)) + 20.0).abs() < 0.1);
        // Phase continuity: no sample-to-sample step larger than the
        // fastest tone allows.
        let mixed = modulate(FskSpec::V23_FORWARD, -5.0, &prbs(3, 600));
        let peak = dbm0_to_peak(-5.0) as f32;
        let max_step = peak * (2.0 * std::f32::consts::PI * 2100.0 / 8000.0) + 3.0;
        for w in mixed.windows(2) {
            assert!(((w[1] - w[0]) as f32).abs() <= max_step, "{w:?}");
        }
        // 7 bits at 1200 bit/s: boundaries at 6.67-sample steps, rounded up.
        assert_eq!(modulate(FskSpec::BELL202, -10.0, &[true; 7]).len(), 47);
    }

    #[test]
    fn tx_any_block_sizes_give_the_same_signal() {
        let bits = prbs(9, 200);
        let whole = modulate(FskSpec::BELL202, -10.0, &bits);
        let mut tx = FskTx::new(FskSpec::BELL202, -10.0).unwrap();
        let mut it = bits.iter().copied();
        let mut pieces = Vec::new();
        for n in [1usize, 5, 13, 160, 3].iter().cycle() {
            let mut buf = vec![0i16; *n];
            let got = tx.tx_with(&mut buf, &mut || it.next());
            pieces.extend_from_slice(&buf[..got]);
            if got < *n {
                break;
            }
        }
        assert_eq!(pieces, whole);
        assert!(tx.is_done());
    }

    /// Sync receive: the transmitted bit pattern appears in the received bits.
    fn sync_loopback(spec: FskSpec, dbm0: f32, snr_db: Option<f64>, block: usize) -> (Vec<bool>, Vec<bool>) {
        // A training preamble of alternations (as V.21 sends flags), so the
        // PLL is locked when the data starts.
        let mut bits: Vec<bool> = (0..20).map(|i| i % 2 == 1).collect();
        bits.extend(prbs(spec.baud as u64, 400));
        bits.extend([true; 10]);
        let mut sig = vec![0i16; 400];
        sig.extend(modulate(spec, dbm0, &bits));
        sig.extend(vec![0i16; 400]);
        if let Some(snr) = snr_db {
            NoiseGenerator::new(11, dbm0 as f64 - snr).add_to(&mut sig);
        }
        let mut rx = FskRx::new(FskRxDescriptor::shared(spec).unwrap(), FskFraming::Sync);
        let mut ev = Vec::new();
        for c in sig.chunks(block) {
            rx.rx(c, &mut ev);
        }
        let got: Vec<bool> =
            ev.iter().filter_map(|e| if let FskRxEvent::Bit { bit, .. } = e { Some(*bit) } else { None }).collect();
        assert!(matches!(ev.first(), Some(FskRxEvent::CarrierUp { .. })), "{:?}", ev.first());
        if snr_db.is_none() {
            assert!(matches!(ev.last(), Some(FskRxEvent::CarrierDown { .. })), "{:?}", ev.last());
        }
        (bits, got)
    }

    fn contains(hay: &[bool], needle: &[bool]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn sync_receiver_recovers_every_preset() {
        for spec in [FskSpec::BELL202, FskSpec::V23_FORWARD, FskSpec::V21_CH1, FskSpec::V21_CH2] {
            for (dbm0, block) in [(-5.0, 160), (-40.0, 1), (-20.0, 37)] {
                let (sent, got) = sync_loopback(spec, dbm0, None, block);
                assert!(contains(&got, &sent[20..420]), "{spec:?} at {dbm0} dBm0");
            }
            let (sent, got) = sync_loopback(spec, -20.0, Some(12.0), 160);
            assert!(contains(&got, &sent[20..420]), "{spec:?} in noise");
        }
    }

    #[test]
    fn async_receiver_frames_bytes_and_counts_marks() {
        for spec in [FskSpec::BELL202, FskSpec::V23_FORWARD, FskSpec::V21_CH2] {
            let payload: Vec<u8> = (0..=255u8).step_by(7).chain([0x00, 0xFF, 0x55, 0x80]).collect();
            let mut bits = vec![true; 50];
            bits.extend(async_8n1_bits(&payload));
            bits.extend([true; 30]);
            bits.extend(async_8n1_bits(&[0x42]));
            bits.extend([true; 5]);
            let lead = 333usize;
            let mut sig = vec![0i16; lead];
            sig.extend(modulate(spec, -30.0, &bits));
            sig.extend(vec![0i16; 200]);
            let mut rx = FskRx::new(FskRxDescriptor::shared(spec).unwrap(), FskFraming::Async8N1);
            let mut ev = Vec::new();
            for c in sig.chunks(101) {
                rx.rx(c, &mut ev);
            }
            let bytes: Vec<(u8, u64, u16)> = ev
                .iter()
                .filter_map(|e| {
                    if let FskRxEvent::Byte { byte, at, marks_before } = e {
                        Some((*byte, *at, *marks_before))
                    } else {
                        None
                    }
                })
                .collect();
            let got: Vec<u8> = bytes.iter().map(|b| b.0).collect();
            let mut want = payload.clone();
            want.push(0x42);
            assert_eq!(got, want, "{spec:?}");
            // Marks before the first byte: 50 less the carrier detector's hold.
            assert!((45..=50).contains(&bytes[0].2), "{}", bytes[0].2);
            assert!(bytes[1..payload.len()].iter().all(|b| b.2 == 0));
            assert_eq!(bytes[payload.len()].2, 30);
            // The first start bit begins 50 bits after the lead silence.
            let spb = spec.samples_per_bit() as f64;
            let want_at = lead as f64 + 50.0 * spb;
            assert!((bytes[0].1 as f64 - want_at).abs() <= spb / 2.0 + 1.0, "{} vs {want_at}", bytes[0].1);
            assert!(!ev.iter().any(|e| matches!(e, FskRxEvent::FramingError { .. })));
        }
    }

    #[test]
    fn silence_tones_and_noise_say_nothing_wrong() {
        let mut rx = FskRx::new(FskRxDescriptor::shared(FskSpec::BELL202).unwrap(), FskFraming::Async8N1);
        let mut ev = Vec::new();
        rx.rx(&vec![0i16; 8000], &mut ev);
        // Below the carrier threshold: nothing at all.
        let mut quiet = vec![0i16; 8000];
        NoiseGenerator::new(5, -60.0).add_to(&mut quiet);
        rx.rx(&quiet, &mut ev);
        let tone = modulate(FskSpec::BELL202, -50.0, &[false; 1200]);
        rx.rx(&tone, &mut ev);
        assert!(ev.is_empty(), "{ev:?}");
        assert_eq!(rx.position(), 24000);
        // A steady mark is carrier with no characters.
        let marks = modulate(FskSpec::BELL202, -20.0, &[true; 1200]);
        rx.rx(&marks, &mut ev);
        rx.rx(&[0; 100], &mut ev);
        assert!(matches!(ev[..], [FskRxEvent::CarrierUp { .. }, FskRxEvent::CarrierDown { .. }]), "{ev:?}");
        if let FskRxEvent::CarrierUp { at } = ev[0] {
            assert!((at as i64 - 24000).abs() <= 4, "{at}");
        }
        if let FskRxEvent::CarrierDown { at } = ev[1] {
            assert!((at as i64 - 32000).abs() <= 8, "{at}");
        }
    }

    #[test]
    fn fillin_drops_carrier_and_keeps_time() {
        let mut rx = FskRx::new(FskRxDescriptor::shared(FskSpec::V23_FORWARD).unwrap(), FskFraming::Sync);
        let marks = modulate(FskSpec::V23_FORWARD, -10.0, &[true; 120]);
        let mut ev = Vec::new();
        rx.rx(&marks, &mut ev);
        assert!(rx.carrier());
        rx.fillin(1000, &mut |e| ev.push(e));
        assert!(!rx.carrier());
        assert_eq!(rx.position(), 1800);
        assert!(matches!(ev.last(), Some(FskRxEvent::CarrierDown { at: 800 })));
    }

    #[test]
    fn v21_ch2_hdlc_flags_come_through_sync_mode() {
        // One second of T.30 preamble: HDLC flags 0x7E sent LSB first
        // (0 1 1 1 1 1 1 0), at −30 dBm0 through A-law.
        let flag = [false, true, true, true, true, true, true, false];
        let bits: Vec<bool> = flag.iter().copied().cycle().take(296).collect();
        let mut sig = vec![0i16; 500];
        sig.extend(modulate(FskSpec::V21_CH2, -30.0, &bits));
        for s in sig.iter_mut() {
            *s = crate::dsp::g711::alaw_to_linear(crate::dsp::g711::linear_to_alaw(*s));
        }
        let mut rx = FskRx::new(FskRxDescriptor::shared(FskSpec::V21_CH2).unwrap(), FskFraming::Sync);
        let mut ev = Vec::new();
        rx.rx(&sig, &mut ev);
        let got: Vec<(bool, u64)> = ev
            .iter()
            .filter_map(|e| if let FskRxEvent::Bit { bit, at } = e { Some((*bit, *at)) } else { None })
            .collect();
        let bits_only: Vec<bool> = got.iter().map(|b| b.0).collect();
        // After a few bits of lock, flag after flag.
        let first = (0..got.len() - 8).find(|&i| bits_only[i..i + 8] == flag).unwrap();
        assert!(first < 24, "first flag at bit {first}");
        let flags = bits_only[first..].chunks_exact(8).take_while(|c| *c == flag).count();
        assert!(flags >= 34, "{flags} flags in a row");
        // Bit positions step by 80/3 samples.
        let (a, b) = (got[first].1 as f64, got[first + 240].1 as f64);
        assert!(((b - a) / 240.0 - 8000.0 / 300.0).abs() < 0.05, "{}", (b - a) / 240.0);
    }

    #[test]
    fn per_channel_state_is_small() {
        assert!(std::mem::size_of::<FskRx>() <= 256, "{}", std::mem::size_of::<FskRx>());
    }

    #[test]
    fn async_8n1_bit_order() {
        let b: Vec<bool> = async_8n1_bits(&[0x01]).collect();
        assert_eq!(b, [false, true, false, false, false, false, false, false, false, true]);
    }
}
