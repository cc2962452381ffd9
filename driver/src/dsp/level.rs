//! Signal levels in dBm0 and a power meter.
//!
//! 0 dBm0 is the level of a sine whose peak is 22 826 in 16-bit linear (the
//! G.711 digital milliwatt: A-law full scale is +3.14 dBm0, μ-law +3.17; the
//! laws' own full-scale figures put 0 dBm0 at peaks of 22 827 and 22 657,
//! 0.07 dB apart; like spandsp we use one reference for both, so a μ-law
//! digital milliwatt reads −0.07 dBm0). A sine's mean power is peak²/2, so 0 dBm0 is a mean square
//! of 22 826² / 2 ≈ 2.605e8, an RMS of 16 140.
//!
//! Levels of noise and speech are their mean power against the same
//! reference.

/// Peak of a 0 dBm0 sine in 16-bit linear.
pub const DBM0_REF_PEAK: f64 = 22826.0;
/// Mean square of a 0 dBm0 signal in 16-bit linear.
pub const DBM0_REF_POWER: f64 = DBM0_REF_PEAK * DBM0_REF_PEAK / 2.0;

/// Peak amplitude of a sine at `dbm0`.
pub fn dbm0_to_peak(dbm0: f64) -> f64 {
    DBM0_REF_PEAK * 10f64.powf(dbm0 / 20.0)
}

/// RMS of a signal at `dbm0`.
pub fn dbm0_to_rms(dbm0: f64) -> f64 {
    DBM0_REF_POWER.sqrt() * 10f64.powf(dbm0 / 20.0)
}

/// Mean square of a signal at `dbm0`.
pub fn dbm0_to_power(dbm0: f64) -> f64 {
    DBM0_REF_POWER * 10f64.powf(dbm0 / 10.0)
}

/// Level in dBm0 of a mean square (16-bit units). Silence gives −∞ clamped
/// to −140.
pub fn power_to_dbm0(mean_square: f64) -> f64 {
    if mean_square <= 0.0 {
        return -140.0;
    }
    (10.0 * (mean_square / DBM0_REF_POWER).log10()).max(-140.0)
}

/// Level in dBm0 of a block of samples (its mean power).
pub fn block_dbm0(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return -140.0;
    }
    power_to_dbm0(mean_square(samples))
}

/// Mean square of a block.
pub fn mean_square(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let sum: i64 = samples.iter().map(|&s| s as i64 * s as i64).sum();
    sum as f64 / samples.len() as f64
}

/// Linear gain factor for `db` decibels.
pub fn db_to_gain(db: f64) -> f64 {
    10f64.powf(db / 20.0)
}

/// Exponentially averaged power meter (a one-pole low-pass of x²), like a
/// VU meter with a time constant of `2^shift` samples.
#[derive(Debug, Clone, Copy)]
pub struct PowerMeter {
    /// Averaging shift: the time constant is 2^shift samples.
    shift: u32,
    /// Current mean-square estimate, 16-bit units squared.
    power: f64,
    /// 1 / 2^shift.
    alpha: f64,
}

impl PowerMeter {
    /// A meter with a time constant of `2^shift` samples (shift 5 = 4 ms).
    pub fn new(shift: u32) -> Self {
        let shift = shift.min(20);
        PowerMeter { shift, power: 0.0, alpha: 1.0 / (1u64 << shift) as f64 }
    }
    pub fn shift(&self) -> u32 {
        self.shift
    }
    /// Feed one sample; returns the updated mean square.
    #[inline]
    pub fn update(&mut self, sample: i16) -> f64 {
        let x = sample as f64;
        self.power += (x * x - self.power) * self.alpha;
        self.power
    }
    /// Feed a block.
    pub fn rx(&mut self, samples: &[i16]) {
        for &s in samples {
            self.update(s);
        }
    }
    /// Current mean square.
    pub fn power(&self) -> f64 {
        self.power
    }
    /// Current level in dBm0.
    pub fn dbm0(&self) -> f64 {
        power_to_dbm0(self.power)
    }
    pub fn reset(&mut self) {
        self.power = 0.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::g711;
    use crate::hal::Law;

    fn sine(freq: f64, dbm0: f64, n: usize) -> Vec<i16> {
        let a = dbm0_to_peak(dbm0);
        (0..n).map(|i| (a * (2.0 * std::f64::consts::PI * freq * i as f64 / 8000.0).sin()).round() as i16).collect()
    }

    #[test]
    fn reference_levels() {
        assert!((dbm0_to_peak(0.0) - 22826.0).abs() < 1e-9);
        assert!((dbm0_to_rms(0.0) - 16140.4).abs() < 0.1);
        assert!((power_to_dbm0(dbm0_to_power(-13.0)) + 13.0).abs() < 1e-9);
        assert!((block_dbm0(&sine(1000.0, -10.0, 8000)) + 10.0).abs() < 0.01);
        assert_eq!(block_dbm0(&[0; 160]), -140.0);
        assert_eq!(block_dbm0(&[]), -140.0);
    }

    #[test]
    fn digital_milliwatt_is_zero_dbm0_in_both_laws() {
        for (law, dmw) in [
            (Law::ALaw, [0x34u8, 0x21, 0x21, 0x34, 0xB4, 0xA1, 0xA1, 0xB4]),
            (Law::MuLaw, [0x1E, 0x0B, 0x0B, 0x1E, 0x9E, 0x8B, 0x8B, 0x9E]),
        ] {
            let mut pcm = [0i16; 8];
            g711::decode_block(law, &dmw, &mut pcm);
            let want = if law == Law::ALaw { 0.0 } else { -0.067 };
            assert!((block_dbm0(&pcm) - want).abs() < 0.01, "{law}: {}", block_dbm0(&pcm));
        }
    }

    #[test]
    fn meter_settles_on_the_block_level() {
        let mut m = PowerMeter::new(6);
        m.rx(&sine(697.0, -20.0, 4000));
        assert!((m.dbm0() + 20.0).abs() < 0.5, "{}", m.dbm0());
        m.reset();
        assert_eq!(m.dbm0(), -140.0);
    }
}
