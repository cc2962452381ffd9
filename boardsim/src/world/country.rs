//! Country profiles of the simulated central office: ring cadence,
//! call-progress tones and caller-ID signalling.
//!
//! The tone figures are those of TELEPHONY_FACTS section 3 (dahdi-tools
//! `zonedata.c`); the caller-ID choice follows its section 4 (China and the
//! US send Bell 202 FSK between the first and second ring, ETSI countries and
//! the UK V.23). This table stands in until the shared profiles of
//! `ctibox_driver::dsp::tones` land; then the tones come from there.
//!
//! SIT is simplified as dahdi does it (950/1400/1800 Hz, 330 ms each, then
//! 1 s off); Russia uses 1400 Hz, as Asterisk writes it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use ctibox_driver::dsp::tonegen::{ToneFreq, ToneSpec, ToneStep};

/// Level the CO sends its call-progress tones at, per frequency, dBm0.
pub const CO_TONE_DBM0: f32 = -13.0;

/// A country whose central office the world imitates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Country {
    CN,
    RU,
    US,
    UK,
    EU,
}

/// A country code that is not one of ours.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown country `{0}` (known: CN, RU, US, UK, EU)")]
pub struct UnknownCountry(pub String);

impl FromStr for Country {
    type Err = UnknownCountry;
    fn from_str(s: &str) -> Result<Self, UnknownCountry> {
        match s.to_ascii_uppercase().as_str() {
            "CN" => Ok(Country::CN),
            "RU" => Ok(Country::RU),
            "US" => Ok(Country::US),
            "UK" | "GB" => Ok(Country::UK),
            "EU" | "DE" => Ok(Country::EU),
            _ => Err(UnknownCountry(s.to_string())),
        }
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Country::CN => "CN",
            Country::RU => "RU",
            Country::US => "US",
            Country::UK => "UK",
            Country::EU => "EU",
        })
    }
}

/// The call-progress tones a CO plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProgressTone {
    Dial,
    Ringback,
    Busy,
    Congestion,
    CallWaiting,
    Sit,
}

impl ProgressTone {
    pub const ALL: [ProgressTone; 6] = [
        ProgressTone::Dial,
        ProgressTone::Ringback,
        ProgressTone::Busy,
        ProgressTone::Congestion,
        ProgressTone::CallWaiting,
        ProgressTone::Sit,
    ];
    pub fn name(self) -> &'static str {
        match self {
            ProgressTone::Dial => "dial tone",
            ProgressTone::Ringback => "ringback",
            ProgressTone::Busy => "busy",
            ProgressTone::Congestion => "congestion",
            ProgressTone::CallWaiting => "call waiting",
            ProgressTone::Sit => "SIT",
        }
    }
    pub fn index(self) -> usize {
        self as usize
    }
}

/// How the CO sends caller ID to a ringing line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallerIdSignalling {
    /// Bell 202 FSK (1200/2200 Hz) between the first and second ring.
    Bell202,
    /// V.23 FSK (1300/2100 Hz) between the first and second ring.
    V23,
    /// DTMF digits before the first ring.
    Dtmf,
}

/// One tone as on/off steps of frequencies (Hz) at [`CO_TONE_DBM0`].
#[derive(Debug, Clone, Copy)]
struct ToneRow {
    /// Steps: (frequencies, ms); an empty frequency list is a silent step.
    steps: &'static [(&'static [f32], u32)],
    /// Repeat the steps (false: the last step lasts forever).
    repeat: bool,
}

/// A continuous tone: one step that lasts forever.
macro_rules! cont {
    ($($f:expr),+) => {
        ToneRow { steps: &[(&[$($f),+], 0)], repeat: false }
    };
}

/// Everything the CO needs to know about a country.
#[derive(Debug, Clone, Copy)]
pub struct CountryProfile {
    pub country: Country,
    /// Ring cadence: on, off, on, off… in ms, repeated.
    pub ring_cadence_ms: &'static [u32],
    pub caller_id: CallerIdSignalling,
    /// What an unallocated number hears by default.
    pub unknown_number: ProgressTone,
    tones: [ToneRow; 6],
}

const CN: CountryProfile = CountryProfile {
    country: Country::CN,
    ring_cadence_ms: &[1000, 4000],
    caller_id: CallerIdSignalling::Bell202,
    unknown_number: ProgressTone::Congestion,
    tones: [
        cont!(450.0),
        ToneRow { steps: &[(&[450.0], 1000), (&[], 4000)], repeat: true },
        ToneRow { steps: &[(&[450.0], 350), (&[], 350)], repeat: true },
        ToneRow { steps: &[(&[450.0], 700), (&[], 700)], repeat: true },
        ToneRow { steps: &[(&[450.0], 400), (&[], 4000)], repeat: true },
        ToneRow {
            steps: &[
                (&[450.0], 100),
                (&[], 100),
                (&[450.0], 100),
                (&[], 100),
                (&[450.0], 100),
                (&[], 100),
                (&[450.0], 400),
                (&[], 400),
            ],
            repeat: true,
        },
    ],
};

const RU: CountryProfile = CountryProfile {
    country: Country::RU,
    ring_cadence_ms: &[1000, 4000],
    caller_id: CallerIdSignalling::V23,
    unknown_number: ProgressTone::Congestion,
    tones: [
        cont!(425.0),
        ToneRow { steps: &[(&[425.0], 1000), (&[], 4000)], repeat: true },
        ToneRow { steps: &[(&[425.0], 350), (&[], 350)], repeat: true },
        ToneRow { steps: &[(&[425.0], 175), (&[], 175)], repeat: true },
        ToneRow { steps: &[(&[425.0], 200), (&[], 5000)], repeat: true },
        ToneRow { steps: &[(&[950.0], 330), (&[1400.0], 330), (&[1800.0], 330), (&[], 1000)], repeat: true },
    ],
};

const US: CountryProfile = CountryProfile {
    country: Country::US,
    ring_cadence_ms: &[2000, 4000],
    caller_id: CallerIdSignalling::Bell202,
    unknown_number: ProgressTone::Sit,
    tones: [
        cont!(350.0, 440.0),
        ToneRow { steps: &[(&[440.0, 480.0], 2000), (&[], 4000)], repeat: true },
        ToneRow { steps: &[(&[480.0, 620.0], 500), (&[], 500)], repeat: true },
        ToneRow { steps: &[(&[480.0, 620.0], 250), (&[], 250)], repeat: true },
        ToneRow { steps: &[(&[440.0], 300), (&[], 10000)], repeat: true },
        ToneRow { steps: &[(&[950.0], 330), (&[1400.0], 330), (&[1800.0], 330), (&[], 1000)], repeat: true },
    ],
};

const UK: CountryProfile = CountryProfile {
    country: Country::UK,
    ring_cadence_ms: &[400, 200, 400, 2000],
    caller_id: CallerIdSignalling::V23,
    unknown_number: ProgressTone::Sit,
    tones: [
        cont!(350.0, 440.0),
        ToneRow { steps: &[(&[400.0, 450.0], 400), (&[], 200), (&[400.0, 450.0], 400), (&[], 2000)], repeat: true },
        ToneRow { steps: &[(&[400.0], 375), (&[], 375)], repeat: true },
        ToneRow { steps: &[(&[400.0], 400), (&[], 350), (&[400.0], 225), (&[], 525)], repeat: true },
        ToneRow { steps: &[(&[400.0], 100), (&[], 4000)], repeat: true },
        ToneRow {
            steps: &[(&[950.0], 330), (&[], 15), (&[1400.0], 330), (&[], 15), (&[1800.0], 330), (&[], 1000)],
            repeat: true,
        },
    ],
};

const EU: CountryProfile = CountryProfile {
    country: Country::EU,
    ring_cadence_ms: &[1000, 4000],
    caller_id: CallerIdSignalling::V23,
    unknown_number: ProgressTone::Sit,
    tones: [
        cont!(425.0),
        ToneRow { steps: &[(&[425.0], 1000), (&[], 4000)], repeat: true },
        ToneRow { steps: &[(&[425.0], 480), (&[], 480)], repeat: true },
        ToneRow { steps: &[(&[425.0], 240), (&[], 240)], repeat: true },
        ToneRow { steps: &[(&[425.0], 200), (&[], 200), (&[425.0], 200), (&[], 5000)], repeat: true },
        ToneRow { steps: &[(&[950.0], 330), (&[1400.0], 330), (&[1800.0], 330), (&[], 1000)], repeat: true },
    ],
};

impl CountryProfile {
    pub fn of(country: Country) -> &'static CountryProfile {
        match country {
            Country::CN => &CN,
            Country::RU => &RU,
            Country::US => &US,
            Country::UK => &UK,
            Country::EU => &EU,
        }
    }

    /// The tone as a [`ToneSpec`] at [`CO_TONE_DBM0`] per frequency.
    pub fn tone(&self, tone: ProgressTone) -> ToneSpec {
        let row = &self.tones[tone.index()];
        let mut steps = [ToneStep::default(); 8];
        for (s, (freqs, ms)) in steps.iter_mut().zip(row.steps) {
            let mut f = [ToneFreq::default(); 2];
            for (o, hz) in f.iter_mut().zip(freqs.iter()) {
                *o = ToneFreq { hz: *hz, dbm0: CO_TONE_DBM0 };
            }
            *s = ToneStep::tone(&f[..freqs.len().min(2)], *ms);
        }
        // The table is fixed and every entry is checked by the tests below.
        #[allow(clippy::expect_used)]
        ToneSpec::new(&steps[..row.steps.len()], row.repeat).expect("country tone table entries are valid")
    }

    /// The tone's steps as (frequencies, ms) for detectors.
    pub fn tone_steps(&self, tone: ProgressTone) -> (&'static [(&'static [f32], u32)], bool) {
        let row = &self.tones[tone.index()];
        (row.steps, row.repeat)
    }

    /// Every frequency any of this country's tones uses.
    pub fn tone_frequencies(&self) -> Vec<f32> {
        let mut v: Vec<f32> = Vec::new();
        for row in &self.tones {
            for (freqs, _) in row.steps {
                for f in freqs.iter() {
                    if !v.contains(f) {
                        v.push(*f);
                    }
                }
            }
        }
        v
    }

    /// One full ring cycle, ms.
    pub fn ring_period_ms(&self) -> u64 {
        self.ring_cadence_ms.iter().map(|&m| m as u64).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tone_of_every_country_builds() {
        for c in [Country::CN, Country::RU, Country::US, Country::UK, Country::EU] {
            let p = CountryProfile::of(c);
            for t in ProgressTone::ALL {
                let (steps, repeat) = p.tone_steps(t);
                let spec = p.tone(t);
                assert_eq!(spec.steps().len(), steps.len(), "{c} {t:?}");
                assert_eq!(spec.repeat, repeat);
            }
            assert_eq!(p.ring_cadence_ms.len() % 2, 0);
        }
        assert_eq!(CountryProfile::of(Country::US).ring_period_ms(), 6000);
        assert_eq!(CountryProfile::of(Country::UK).ring_period_ms(), 3000);
        assert_eq!("cn".parse::<Country>().unwrap(), Country::CN);
        assert!("XX".parse::<Country>().is_err());
    }
}
