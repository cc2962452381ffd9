//! Ringing, both ways.
//!
//! - [`RingDetector`] (FXO): the board's `RingOn`/`RingOff` become counted
//!   rings. A burst counts once it has lasted [`RingConfig::min_on_ms`]
//!   (shorter bursts are spikes: a polarity reversal or a CID pre-alert
//!   glitch; DAHDI's wctdm debounces ring detect for 64 ms). Bursts less
//!   than [`RingConfig::merge_gap_ms`] apart belong to one ring (the UK
//!   double ring is 400/200/400/2000 ms, zonedata.c). A ring cadence that
//!   ends, no burst for [`RingConfig::stop_ms`] after the last one, means
//!   the ringing stopped: the caller gave up.
//! - [`RingCadence`] (FXS): the cadence the board applies when it rings a
//!   phone (our board model rings with the country cadence on its own), so
//!   that the line knows when the first ring ends and caller ID may be sent
//!   in the silence after it (GR-30 Type I: ≥ 500 ms after ring 1 ends).
//!
//! A ring that never ends (ring voltage stuck on) keeps the detector
//! ringing; nothing here times that out.

use crate::dsp::tones::Country;
use crate::hal::{BoardTime, Duration};

use super::analog::{ConfigError, check_less, check_range};

/// FXO ring detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingConfig {
    /// A burst must last this long to count.
    pub min_on_ms: u32,
    /// Bursts closer than this belong to the same ring.
    pub merge_gap_ms: u32,
    /// No burst for this long after the last one: the ringing stopped.
    pub stop_ms: u32,
}

impl Default for RingConfig {
    fn default() -> Self {
        RingConfig { min_on_ms: 150, merge_gap_ms: 500, stop_ms: 7000 }
    }
}

impl RingConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_range("ring.min_on_ms", self.min_on_ms, 10, 2000)?;
        check_range("ring.merge_gap_ms", self.merge_gap_ms, 0, 2000)?;
        check_range("ring.stop_ms", self.stop_ms, 1000, 60_000)?;
        check_less("ring.merge_gap_ms", self.merge_gap_ms, "ring.stop_ms", self.stop_ms)
    }
}

/// What the ring detector reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RingEvent {
    /// Ring `count` began (its first burst qualified).
    Ring { count: u8 },
    /// No ring for the stop time after the last: ringing is over.
    Stopped,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Burst {
    /// No ring voltage.
    Off,
    /// Ring voltage since `since`, not yet long enough to count.
    Pending { since: BoardTime },
    /// Ring voltage that belongs to a counted ring.
    Counted,
}

/// FXO ring counting; see the module doc.
#[derive(Debug, Clone)]
pub struct RingDetector {
    cfg: RingConfig,
    burst: Burst,
    /// Rings counted in this cadence (0: not ringing).
    count: u8,
    /// End of the last counted burst.
    last_off: Option<BoardTime>,
    spikes: u32,
}

impl RingDetector {
    /// A detector with no ring. The config must be valid.
    pub fn new(cfg: RingConfig) -> Self {
        RingDetector { cfg, burst: Burst::Off, count: 0, last_off: None, spikes: 0 }
    }

    /// Rings counted in the current cadence.
    pub fn count(&self) -> u8 {
        self.count
    }
    /// Whether a cadence is going on.
    pub fn is_ringing(&self) -> bool {
        self.count > 0
    }
    /// Whether ring voltage is on now (counted or not).
    pub fn voltage(&self) -> bool {
        self.burst != Burst::Off
    }
    /// Bursts ignored as too short.
    pub fn spikes(&self) -> u32 {
        self.spikes
    }

    /// `RingOn` at `now` (call `poll(now)` first).
    pub fn ring_on(&mut self, now: BoardTime) {
        if self.burst != Burst::Off {
            return;
        }
        let merge = Duration::from_ms(self.cfg.merge_gap_ms as u64);
        self.burst = match self.last_off {
            Some(off) if self.count > 0 && now.since(off) < merge => Burst::Counted,
            _ => Burst::Pending { since: now },
        };
    }

    /// `RingOff` at `now` (call `poll(now)` first).
    pub fn ring_off(&mut self, now: BoardTime) {
        match self.burst {
            Burst::Off => {}
            Burst::Pending { .. } => {
                self.spikes = self.spikes.saturating_add(1);
                self.burst = Burst::Off;
            }
            Burst::Counted => {
                self.burst = Burst::Off;
                self.last_off = Some(now);
            }
        }
    }

    fn qualify_deadline(&self) -> Option<BoardTime> {
        match self.burst {
            Burst::Pending { since } => Some(since + Duration::from_ms(self.cfg.min_on_ms as u64)),
            _ => None,
        }
    }

    fn stop_deadline(&self) -> Option<BoardTime> {
        match (self.burst, self.last_off) {
            (Burst::Off, Some(off)) if self.count > 0 => Some(off + Duration::from_ms(self.cfg.stop_ms as u64)),
            _ => None,
        }
    }

    /// When `poll` next has something to do.
    pub fn next_deadline(&self) -> Option<BoardTime> {
        // At most one of the two is set.
        self.qualify_deadline().or(self.stop_deadline())
    }

    /// Run what fell due by `now`; call until `None`.
    pub fn poll(&mut self, now: BoardTime) -> Option<RingEvent> {
        if self.qualify_deadline().is_some_and(|t| t <= now) {
            self.burst = Burst::Counted;
            self.count = self.count.saturating_add(1);
            return Some(RingEvent::Ring { count: self.count });
        }
        if self.stop_deadline().is_some_and(|t| t <= now) {
            self.count = 0;
            self.last_off = None;
            return Some(RingEvent::Stopped);
        }
        None
    }

    /// Forget the cadence (on answering, releasing or going idle). Ring
    /// voltage on now counts afresh as a new burst.
    pub fn reset(&mut self, now: BoardTime) {
        let on = self.burst != Burst::Off;
        *self = RingDetector { spikes: self.spikes, ..RingDetector::new(self.cfg) };
        if on {
            self.burst = Burst::Pending { since: now };
        }
    }
}

/// Most on/off steps in a ring cadence.
pub const MAX_CADENCE_STEPS: usize = 8;

/// A ring cadence: on, off, on, off… in ms, repeated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingCadence {
    steps: [u32; MAX_CADENCE_STEPS],
    len: u8,
}

impl RingCadence {
    /// Steps `on, off[, on, off…]`, each at least 50 ms, 2 to
    /// [`MAX_CADENCE_STEPS`] of them, an even number.
    pub fn from_ms(steps: &[u32]) -> Result<Self, ConfigError> {
        if steps.len() < 2 || steps.len() > MAX_CADENCE_STEPS || steps.len() % 2 != 0 {
            return Err(ConfigError::Invalid {
                field: "ring_cadence",
                problem: "needs on/off pairs: 2, 4, 6 or 8 steps",
            });
        }
        for &s in steps {
            check_range("ring_cadence", s, 50, 20_000)?;
        }
        let mut c = RingCadence { steps: [0; MAX_CADENCE_STEPS], len: steps.len() as u8 };
        c.steps[..steps.len()].copy_from_slice(steps);
        Ok(c)
    }

    /// The country's cadence (`dsp::tones` profiles: CN/RU/EU 1000/4000,
    /// US 2000/4000, UK 400/200/400/2000).
    pub fn for_country(country: Country) -> Self {
        let p = country.profile();
        RingCadence::from_ms(&p.ring_cadence_ms).unwrap_or(RingCadence::US)
    }

    /// US: 2 s on, 4 s off.
    pub const US: RingCadence = RingCadence { steps: [2000, 4000, 0, 0, 0, 0, 0, 0], len: 2 };

    pub fn steps(&self) -> &[u32] {
        &self.steps[..self.len as usize]
    }

    /// Index of the longest silence (the pause between rings).
    fn pause_index(&self) -> usize {
        let mut best = 1;
        for i in (1..self.len as usize).step_by(2) {
            if self.steps[i] > self.steps[best] {
                best = i;
            }
        }
        best
    }

    /// When the first ring ends, from ring start: everything before the
    /// longest silence (UK: 400 + 200 + 400 = 1000 ms).
    pub fn first_ring_ms(&self) -> u32 {
        self.steps[..self.pause_index()].iter().sum()
    }

    /// The silence after the first ring.
    pub fn pause_ms(&self) -> u32 {
        self.steps[self.pause_index()]
    }

    /// One whole cycle.
    pub fn period_ms(&self) -> u32 {
        self.steps().iter().sum()
    }
}

impl Default for RingCadence {
    fn default() -> Self {
        RingCadence::US
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> BoardTime {
        BoardTime::from_ms(v)
    }

    /// Feed `(ms, on)` ring edges, poll every 10 ms until `end_ms`.
    fn run(cfg: RingConfig, edges: &[(u64, bool)], end_ms: u64) -> Vec<(u64, RingEvent)> {
        let mut d = RingDetector::new(cfg);
        let mut out = Vec::new();
        let mut e = edges.iter().peekable();
        let mut t = 0;
        while t <= end_ms {
            while let Some(ev) = d.poll(ms(t)) {
                out.push((t, ev));
            }
            while let Some(&&(at, on)) = e.peek() {
                if at > t {
                    break;
                }
                while let Some(ev) = d.poll(ms(at)) {
                    out.push((at, ev));
                }
                if on {
                    d.ring_on(ms(at))
                } else {
                    d.ring_off(ms(at))
                }
                e.next();
            }
            t += 10;
        }
        out
    }

    /// Ring edges for `cycles` of `cadence` from `start`.
    fn cadence(start: u64, steps: &[u64], cycles: usize) -> Vec<(u64, bool)> {
        let mut v = Vec::new();
        let mut t = start;
        for _ in 0..cycles {
            for (i, &s) in steps.iter().enumerate() {
                v.push((t, i % 2 == 0));
                t += s;
            }
        }
        v
    }

    #[test]
    fn us_cadence_counts_and_stops() {
        let ev = run(RingConfig::default(), &cadence(1000, &[2000, 4000], 3), 30_000);
        assert_eq!(
            ev,
            vec![
                (1150, RingEvent::Ring { count: 1 }),
                (7150, RingEvent::Ring { count: 2 }),
                (13_150, RingEvent::Ring { count: 3 }),
                // Last ring ended at 15 000; stopped 7 s later.
                (22_000, RingEvent::Stopped),
            ]
        );
    }

    #[test]
    fn uk_double_ring_is_one_ring() {
        let ev = run(RingConfig::default(), &cadence(0, &[400, 200, 400, 2000], 2), 20_000);
        assert_eq!(
            ev,
            vec![
                (150, RingEvent::Ring { count: 1 }),
                (3150, RingEvent::Ring { count: 2 }),
                (11_000, RingEvent::Stopped)
            ]
        );
    }

    #[test]
    fn spikes_are_ignored() {
        let cfg = RingConfig::default();
        // A 100 ms spike, then silence: nothing at all.
        assert_eq!(run(cfg, &[(500, true), (600, false)], 20_000), vec![]);
        // A spike between two rings neither counts nor restarts the stop timer.
        let mut edges = cadence(0, &[1000, 4000], 1);
        edges.extend([(2000, true), (2050, false)]);
        edges.extend(cadence(5000, &[1000, 4000], 1));
        let ev = run(cfg, &edges, 20_000);
        assert_eq!(
            ev,
            vec![
                (150, RingEvent::Ring { count: 1 }),
                (5150, RingEvent::Ring { count: 2 }),
                (13_000, RingEvent::Stopped)
            ]
        );
        let mut d = RingDetector::new(cfg);
        d.ring_on(ms(0));
        d.ring_off(ms(50));
        assert_eq!(d.spikes(), 1);
    }

    #[test]
    fn duplicate_edges_and_reset() {
        let mut d = RingDetector::new(RingConfig::default());
        d.ring_off(ms(0));
        d.ring_on(ms(100));
        d.ring_on(ms(200));
        assert_eq!(d.poll(ms(250)), Some(RingEvent::Ring { count: 1 }));
        assert!(d.voltage() && d.is_ringing());
        d.reset(ms(300));
        assert_eq!(d.count(), 0);
        // Voltage still on after the reset counts afresh.
        assert_eq!(d.poll(ms(450)), Some(RingEvent::Ring { count: 1 }));
        d.ring_off(ms(500));
        d.reset(ms(600));
        assert_eq!(d.next_deadline(), None);
    }

    #[test]
    fn ring_config_validation() {
        assert!(RingConfig::default().validate().is_ok());
        let bad = RingConfig { merge_gap_ms: 1500, stop_ms: 1200, ..Default::default() };
        assert!(matches!(bad.validate(), Err(ConfigError::Order { field: "ring.merge_gap_ms", .. })));
        let bad = RingConfig { min_on_ms: 0, ..Default::default() };
        assert!(matches!(bad.validate(), Err(ConfigError::TooShort { field: "ring.min_on_ms", .. })));
    }

    #[test]
    fn cadences() {
        let us = RingCadence::for_country(Country::Us);
        assert_eq!((us.first_ring_ms(), us.pause_ms(), us.period_ms()), (2000, 4000, 6000));
        let cn = RingCadence::for_country(Country::Cn);
        assert_eq!((cn.first_ring_ms(), cn.pause_ms()), (1000, 4000));
        let uk = RingCadence::for_country(Country::Uk);
        assert_eq!(uk.steps(), &[400, 200, 400, 2000]);
        assert_eq!((uk.first_ring_ms(), uk.pause_ms()), (1000, 2000));
        assert!(RingCadence::from_ms(&[1000]).is_err());
        assert!(RingCadence::from_ms(&[1000, 4000, 500]).is_err());
        assert!(matches!(RingCadence::from_ms(&[1000, 10]), Err(ConfigError::TooShort { .. })));
        assert_eq!(RingCadence::default(), RingCadence::US);
    }
}
