//! Board time and tick length.
//!
//! The board clock is the only clock in ctibox: every timeout in signalling,
//! IVR and ACD is counted in board time. A [`BoardTime`] is a count of 8 kHz
//! samples (125 µs each) since the board started, so it never wraps in
//! practice (2^64 samples is 73 million years) and is exact for every tick
//! length.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// Sample rate of every voice channel (G.711 narrowband).
pub const SAMPLE_RATE_HZ: u32 = 8000;
/// Samples in one millisecond.
pub const SAMPLES_PER_MS: u64 = 8;

/// A point in board time, in 8 kHz samples since the board started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BoardTime(pub u64);

/// A span of board time, in 8 kHz samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Duration(pub u64);

impl BoardTime {
    pub const ZERO: BoardTime = BoardTime(0);

    pub const fn from_samples(samples: u64) -> Self {
        BoardTime(samples)
    }
    pub const fn from_ms(ms: u64) -> Self {
        BoardTime(ms * SAMPLES_PER_MS)
    }
    pub const fn samples(self) -> u64 {
        self.0
    }
    /// Milliseconds since board start, rounded down.
    pub const fn as_ms(self) -> u64 {
        self.0 / SAMPLES_PER_MS
    }
    /// Time elapsed since `earlier`; zero if `earlier` is later.
    pub fn since(self, earlier: BoardTime) -> Duration {
        Duration(self.0.saturating_sub(earlier.0))
    }
}

impl Duration {
    pub const ZERO: Duration = Duration(0);

    pub const fn from_samples(samples: u64) -> Self {
        Duration(samples)
    }
    pub const fn from_ms(ms: u64) -> Self {
        Duration(ms * SAMPLES_PER_MS)
    }
    pub const fn from_secs(s: u64) -> Self {
        Duration(s * SAMPLE_RATE_HZ as u64)
    }
    pub const fn samples(self) -> u64 {
        self.0
    }
    pub const fn as_ms(self) -> u64 {
        self.0 / SAMPLES_PER_MS
    }
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / SAMPLE_RATE_HZ as f64
    }
}

impl Add<Duration> for BoardTime {
    type Output = BoardTime;
    fn add(self, d: Duration) -> BoardTime {
        BoardTime(self.0.saturating_add(d.0))
    }
}
impl AddAssign<Duration> for BoardTime {
    fn add_assign(&mut self, d: Duration) {
        self.0 = self.0.saturating_add(d.0);
    }
}
impl Sub<Duration> for BoardTime {
    type Output = BoardTime;
    fn sub(self, d: Duration) -> BoardTime {
        BoardTime(self.0.saturating_sub(d.0))
    }
}
impl Add for Duration {
    type Output = Duration;
    fn add(self, d: Duration) -> Duration {
        Duration(self.0.saturating_add(d.0))
    }
}

impl fmt::Display for BoardTime {
    /// `12.345s`: seconds with millisecond precision.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.as_ms();
        write!(f, "{}.{:03}s", ms / 1000, ms % 1000)
    }
}
impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.as_ms();
        write!(f, "{}.{:03}s", ms / 1000, ms % 1000)
    }
}

/// Length of one board tick. Audio moves between board and driver one tick at
/// a time: `samples()` samples per channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "u16", into = "u16")]
pub struct TickLength {
    samples: u16,
}

/// Error for a tick length that is not a whole number of milliseconds in 1..=40.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "tick length of {0} samples is invalid: it must be a whole number of milliseconds from 1 to 40 ms (8 to 320 samples, a multiple of 8)"
)]
pub struct BadTickLength(pub u32);

impl TickLength {
    /// The default: 20 ms, 160 samples.
    pub const DEFAULT: TickLength = TickLength { samples: 160 };
    pub const MS_5: TickLength = TickLength { samples: 40 };
    pub const MS_10: TickLength = TickLength { samples: 80 };
    pub const MS_20: TickLength = TickLength::DEFAULT;
    /// Longest tick accepted, in samples.
    pub const MAX_SAMPLES: usize = 320;

    pub fn from_samples(samples: u32) -> Result<Self, BadTickLength> {
        if samples == 0 || samples as usize > Self::MAX_SAMPLES || samples % 8 != 0 {
            return Err(BadTickLength(samples));
        }
        Ok(TickLength { samples: samples as u16 })
    }
    pub fn from_ms(ms: u32) -> Result<Self, BadTickLength> {
        Self::from_samples(ms.saturating_mul(8))
    }
    pub const fn samples(self) -> usize {
        self.samples as usize
    }
    pub const fn ms(self) -> u32 {
        self.samples as u32 / 8
    }
    pub const fn duration(self) -> Duration {
        Duration(self.samples as u64)
    }
    /// Wall-clock length of a tick, for backends that pace like hardware.
    pub fn wall(self) -> std::time::Duration {
        std::time::Duration::from_micros(self.samples as u64 * 125)
    }
}

impl Default for TickLength {
    fn default() -> Self {
        Self::DEFAULT
    }
}
impl TryFrom<u16> for TickLength {
    type Error = BadTickLength;
    fn try_from(v: u16) -> Result<Self, BadTickLength> {
        Self::from_samples(v as u32)
    }
}
impl From<TickLength> for u16 {
    fn from(t: TickLength) -> u16 {
        t.samples
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_lengths() {
        assert_eq!(TickLength::DEFAULT.samples(), 160);
        assert_eq!(TickLength::from_ms(10).unwrap().samples(), 80);
        assert_eq!(TickLength::from_ms(5).unwrap(), TickLength::MS_5);
        assert!(TickLength::from_samples(0).is_err());
        assert!(TickLength::from_samples(161).is_err());
        assert!(TickLength::from_samples(328).is_err());
        assert_eq!(TickLength::MS_20.wall(), std::time::Duration::from_millis(20));
    }

    #[test]
    fn time_arithmetic_and_display() {
        let t = BoardTime::from_ms(1500) + Duration::from_ms(25);
        assert_eq!(t.as_ms(), 1525);
        assert_eq!(t.to_string(), "1.525s");
        assert_eq!(BoardTime::from_ms(10).since(BoardTime::from_ms(20)), Duration::ZERO);
        assert_eq!(BoardTime::ZERO - Duration::from_ms(1), BoardTime::ZERO);
    }
}
