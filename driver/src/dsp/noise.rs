//! Seeded white Gaussian noise at a given level, for line models in the
//! simulator and for conformance tests (SNR sweeps).
//!
//! The generator is xorshift64* feeding a Box–Muller transform: the same
//! seed always gives the same samples, so a noisy test is repeatable.

use super::level::dbm0_to_rms;

/// White Gaussian noise generator.
#[derive(Debug, Clone)]
pub struct NoiseGenerator {
    state: u64,
    /// RMS of the output in 16-bit units.
    rms: f64,
    /// Second Box–Muller output kept for the next sample.
    spare: Option<f64>,
}

impl NoiseGenerator {
    /// Noise of mean power `dbm0` over 0–4 kHz, from `seed`.
    pub fn new(seed: u64, dbm0: f64) -> Self {
        NoiseGenerator { state: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1, rms: dbm0_to_rms(dbm0), spare: None }
    }

    /// A uniform u64 (xorshift64*).
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A uniform value in (0, 1].
    #[inline]
    pub fn next_unit(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }

    /// A standard normal value.
    pub fn next_gaussian(&mut self) -> f64 {
        if let Some(s) = self.spare.take() {
            return s;
        }
        let u1 = self.next_unit();
        let u2 = self.next_unit();
        let r = (-2.0 * u1.ln()).sqrt();
        let th = 2.0 * std::f64::consts::PI * u2;
        self.spare = Some(r * th.sin());
        r * th.cos()
    }

    /// One noise sample, saturated to 16 bits.
    pub fn sample(&mut self) -> i16 {
        (self.next_gaussian() * self.rms).round().clamp(-32768.0, 32767.0) as i16
    }

    /// Fill `out` with noise.
    pub fn tx(&mut self, out: &mut [i16]) {
        for o in out {
            *o = self.sample();
        }
    }

    /// Add noise to `buf`, saturating.
    pub fn add_to(&mut self, buf: &mut [i16]) {
        for o in buf {
            *o = o.saturating_add(self.sample());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::level::block_dbm0;

    #[test]
    fn level_and_repeatability() {
        let mut a = NoiseGenerator::new(7, -30.0);
        let mut buf = vec![0i16; 80_000];
        a.tx(&mut buf);
        assert!((block_dbm0(&buf) + 30.0).abs() < 0.1, "{}", block_dbm0(&buf));
        let mut b = NoiseGenerator::new(7, -30.0);
        let mut again = vec![0i16; 80_000];
        b.tx(&mut again);
        assert_eq!(buf, again);
        let mean: f64 = buf.iter().map(|&s| s as f64).sum::<f64>() / buf.len() as f64;
        assert!(mean.abs() < 20.0);
    }
}
