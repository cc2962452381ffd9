//! What the simulated central office takes from its country: call-progress
//! tones and ring cadence from the shared profiles
//! ([`ctibox_driver::dsp::tones`]), the caller-ID modulation, and what an
//! unallocated number hears.
//!
//! Caller ID follows TELEPHONY_FACTS section 4: China and the US send Bell
//! 202 FSK between the first and second ring, Russia, the UK and ETSI
//! countries V.23. An unknown number hears congestion in China and Russia,
//! SIT elsewhere (configurable per world).

use std::sync::{Arc, LazyLock};

use serde::{Deserialize, Serialize};

use ctibox_driver::dsp::tonegen::ToneSpec;
use ctibox_driver::dsp::tones::{ToneDetectorConfig, ToneDetectorDescriptor, ToneProfile};

pub use ctibox_driver::dsp::tones::{Country, ToneKind as ProgressTone, UnknownCountry};

/// Index of a tone kind in [`ProgressTone::ALL`] (for per-tone arrays).
pub fn tone_index(t: ProgressTone) -> usize {
    ProgressTone::ALL.iter().position(|&k| k == t).unwrap_or(0)
}

/// A tone kind in words for reports ("dial tone", "SIT"…).
pub fn tone_words(t: ProgressTone) -> &'static str {
    match t {
        ProgressTone::Dial => "dial tone",
        ProgressTone::Ringback => "ringback",
        ProgressTone::Busy => "busy",
        ProgressTone::Congestion => "congestion",
        ProgressTone::CallWaiting => "call waiting",
        ProgressTone::Sit => "SIT",
        ProgressTone::Unknown => "an unknown tone",
    }
}

/// How the CO sends caller ID to a ringing line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallerIdSignalling {
    /// Bell 202 FSK (1200/2200 Hz).
    Bell202,
    /// V.23 FSK (1300/2100 Hz).
    V23,
}

/// Everything the CO needs to know about a country.
#[derive(Debug)]
pub struct CountryProfile {
    pub country: Country,
    /// The shared tone profile (tones and ring cadence).
    pub tones: ToneProfile,
    /// The shared detector built from it (one per country, for every
    /// listener).
    pub detector: Option<Arc<ToneDetectorDescriptor>>,
    pub caller_id: CallerIdSignalling,
    /// What an unallocated number hears by default.
    pub unknown_number: ProgressTone,
}

static PROFILES: LazyLock<Vec<CountryProfile>> = LazyLock::new(|| {
    Country::ALL
        .iter()
        .map(|&c| {
            let tones = c.profile();
            let detector = tones.detector(&ToneDetectorConfig::default()).ok();
            let (caller_id, unknown_number) = match c {
                Country::Cn => (CallerIdSignalling::Bell202, ProgressTone::Congestion),
                Country::Us => (CallerIdSignalling::Bell202, ProgressTone::Sit),
                Country::Ru => (CallerIdSignalling::V23, ProgressTone::Congestion),
                Country::Uk | Country::Eu => (CallerIdSignalling::V23, ProgressTone::Sit),
            };
            CountryProfile { country: c, tones, detector, caller_id, unknown_number }
        })
        .collect()
});

impl CountryProfile {
    pub fn of(country: Country) -> &'static CountryProfile {
        let i = Country::ALL.iter().position(|&c| c == country).unwrap_or(0);
        &PROFILES[i]
    }

    /// The tone to play, if the profile has it.
    pub fn tone(&self, tone: ProgressTone) -> Option<ToneSpec> {
        self.tones.spec(tone)
    }

    /// Ring cadence: on, off, on, off… in ms.
    pub fn ring_cadence_ms(&self) -> &[u32] {
        &self.tones.ring_cadence_ms
    }

    /// One full ring cycle, ms.
    pub fn ring_period_ms(&self) -> u64 {
        self.tones.ring_cadence_ms.iter().map(|&m| m as u64).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_country_has_its_tones_cadence_and_detector() {
        for c in Country::ALL {
            let p = CountryProfile::of(c);
            assert_eq!(p.country, c);
            assert!(p.detector.is_some(), "{c}");
            for t in [ProgressTone::Dial, ProgressTone::Ringback, ProgressTone::Busy, ProgressTone::Congestion] {
                assert!(p.tones.spec(t).is_some(), "{c} {t}");
            }
            assert_eq!(p.ring_cadence_ms().len() % 2, 0);
        }
        assert_eq!(CountryProfile::of(Country::Us).ring_period_ms(), 6000);
        assert_eq!(CountryProfile::of(Country::Uk).ring_period_ms(), 3000);
    }
}
