//! Goertzel filter: the energy of one frequency over a block of samples.
//!
//! A [`GoertzelDescriptor`] (coefficient and block length, computed once per
//! frequency) is shared by every channel; a [`GoertzelState`] is two floats
//! per channel. Feed samples with [`GoertzelState::update`] in any block
//! sizes; when the descriptor's block length has been reached, take the
//! energy with [`GoertzelState::result`], which also resets the state.
//!
//! The energy of a sine of amplitude `A` exactly on the filter frequency over
//! `N` samples is `(N·A/2)²`; [`GoertzelDescriptor::energy_to_dbm0`] turns it
//! into the sine's level.

use super::level;

/// Coefficient and block length for one frequency.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GoertzelDescriptor {
    /// 2·cos(2π·f/8000).
    pub coeff: f32,
    /// Samples per block.
    pub block: usize,
    /// The frequency, for reference.
    pub freq_hz: f32,
}

impl GoertzelDescriptor {
    pub fn new(freq_hz: f32, block: usize) -> Self {
        let w = 2.0 * std::f64::consts::PI * freq_hz as f64 / 8000.0;
        GoertzelDescriptor { coeff: (2.0 * w.cos()) as f32, block: block.max(1), freq_hz }
    }

    /// Level in dBm0 of a sine on the filter frequency that gives `energy`
    /// over one full block.
    pub fn energy_to_dbm0(&self, energy: f32) -> f64 {
        let n = self.block as f64;
        // energy = (N·A/2)², mean square of the sine = A²/2.
        let a2 = 4.0 * energy as f64 / (n * n);
        level::power_to_dbm0(a2 / 2.0)
    }

    /// Energy a sine at `dbm0` on the filter frequency gives over one block:
    /// the inverse of [`Self::energy_to_dbm0`], for thresholds.
    pub fn dbm0_to_energy(&self, dbm0: f64) -> f32 {
        let a = level::dbm0_to_peak(dbm0);
        let n = self.block as f64;
        ((n * a / 2.0).powi(2)) as f32
    }
}

/// Running state of one Goertzel filter on one channel.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GoertzelState {
    v2: f32,
    v3: f32,
    /// Samples fed into the current block.
    pub count: usize,
}

impl GoertzelState {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed samples until the block is full. Returns how many of `samples`
    /// were used (fewer than given when the block filled up).
    #[inline]
    pub fn update(&mut self, desc: &GoertzelDescriptor, samples: &[i16]) -> usize {
        let room = desc.block - self.count.min(desc.block);
        let n = room.min(samples.len());
        let (mut v2, mut v3) = (self.v2, self.v3);
        for &s in &samples[..n] {
            let v1 = v2;
            v2 = desc.coeff * v2 - v3 + s as f32;
            v3 = v1;
        }
        self.v2 = v2;
        self.v3 = v3;
        self.count += n;
        n
    }

    /// Whether a full block has been fed.
    pub fn block_done(&self, desc: &GoertzelDescriptor) -> bool {
        self.count >= desc.block
    }

    /// Energy of the block so far; resets the state for the next block.
    #[inline]
    pub fn result(&mut self, desc: &GoertzelDescriptor) -> f32 {
        let e = self.v2 * self.v2 + self.v3 * self.v3 - desc.coeff * self.v2 * self.v3;
        *self = GoertzelState::default();
        e.max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::level::dbm0_to_peak;

    fn sine(freq: f64, dbm0: f64, n: usize) -> Vec<i16> {
        let a = dbm0_to_peak(dbm0);
        (0..n).map(|i| (a * (2.0 * std::f64::consts::PI * freq * i as f64 / 8000.0).sin()).round() as i16).collect()
    }

    #[test]
    fn measures_level_on_frequency() {
        // 1000 Hz is exactly 16 cycles in 128 samples.
        let d = GoertzelDescriptor::new(1000.0, 128);
        let mut st = GoertzelState::new();
        let sig = sine(1000.0, -10.0, 128);
        // Any block sizes.
        let used = st.update(&d, &sig[..50]) + st.update(&d, &sig[50..]);
        assert_eq!(used, 128);
        assert!(st.block_done(&d));
        let e = st.result(&d);
        assert!((d.energy_to_dbm0(e) + 10.0).abs() < 0.05, "{}", d.energy_to_dbm0(e));
        assert_eq!(st.count, 0);
        assert!((d.energy_to_dbm0(d.dbm0_to_energy(-25.0)) + 25.0).abs() < 1e-3);
    }

    #[test]
    fn rejects_far_frequencies_and_stops_at_block_end() {
        let d = GoertzelDescriptor::new(1000.0, 128);
        let mut st = GoertzelState::new();
        let sig = sine(2000.0, -10.0, 200);
        assert_eq!(st.update(&d, &sig), 128);
        assert!(d.energy_to_dbm0(st.result(&d)) < -50.0);
    }
}
