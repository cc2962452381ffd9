//! Ring cadence timing: when ringing voltage goes on and off, to the
//! sample.
//!
//! The CO rings an FXO port with its country's cadence and reports each
//! transition as a `RingOn`/`RingOff` event; a phone on an FXS port counts
//! rings the same way once the driver says `RingStart` (the card applies the
//! cadence, as real FXS hardware does).

use ctibox_driver::hal::{BoardTime, Duration};

/// One transition of the ringing voltage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingEdge {
    pub at: BoardTime,
    /// Ringing voltage goes on (else off).
    pub on: bool,
    /// This transition begins the last (long) pause of a ring: the ring is
    /// over.
    pub ring_over: bool,
    /// Rings begun so far, this one included.
    pub rings: u32,
}

/// One ringing episode's cadence position.
#[derive(Debug, Clone, Copy)]
pub struct Ringer {
    cadence: [u32; 8],
    len: usize,
    active: bool,
    /// Whether ringing voltage is on now.
    on: bool,
    /// Time of the next transition.
    next: BoardTime,
    /// Cadence step that starts at `next` (even = on).
    step: usize,
    /// Rings begun in this episode.
    rings: u32,
}

impl Ringer {
    /// A ringer for `cadence_ms` (on, off, on, off… at most 8 steps).
    pub fn new(cadence_ms: &[u32]) -> Self {
        let mut cadence = [0u32; 8];
        let len = cadence_ms.len().min(8) & !1;
        cadence[..len].copy_from_slice(&cadence_ms[..len]);
        let len = if len == 0 {
            cadence[0] = 1000;
            cadence[1] = 4000;
            2
        } else {
            len
        };
        Ringer { cadence, len, active: false, on: false, next: BoardTime::ZERO, step: 0, rings: 0 }
    }

    /// Start ringing at `at` (the first ring begins then).
    pub fn start(&mut self, at: BoardTime) {
        self.active = true;
        self.on = false;
        self.next = at;
        self.step = 0;
        self.rings = 0;
    }

    pub fn is_active(&self) -> bool {
        self.active
    }
    /// Whether ringing voltage is on.
    pub fn is_on(&self) -> bool {
        self.active && self.on
    }
    /// Rings begun since the last start.
    pub fn rings(&self) -> u32 {
        self.rings
    }

    /// Run the cadence up to (not including) `end`; `f` is called for each
    /// transition in time order.
    pub fn run(&mut self, end: BoardTime, mut f: impl FnMut(RingEdge)) {
        while self.active && self.next < end {
            let on = self.step % 2 == 0;
            if self.step == 0 {
                // A ring is one whole cadence (UK: the double burst).
                self.rings += 1;
            }
            self.on = on;
            f(RingEdge { at: self.next, on, ring_over: self.step == self.len - 1, rings: self.rings });
            self.next += Duration::from_ms(self.cadence[self.step] as u64);
            self.step = (self.step + 1) % self.len;
        }
    }

    /// Stop at `at`; returns true when ringing voltage was on (a RingOff is
    /// due at `at`).
    pub fn stop(&mut self, at: BoardTime) -> bool {
        self.run(at, |_| {});
        let was_on = self.is_on();
        self.active = false;
        self.on = false;
        was_on
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cadence_transitions_are_exact() {
        let mut r = Ringer::new(&[1000, 4000]);
        r.start(BoardTime::from_ms(100));
        let mut seen = Vec::new();
        for k in 0..600 {
            r.run(BoardTime::from_ms(20 * (k + 1)), |e| seen.push((e.at.as_ms(), e.on)));
        }
        assert_eq!(&seen[..4], &[(100, true), (1100, false), (5100, true), (6100, false)]);
        assert_eq!(r.rings(), 3);
        assert!(!r.stop(BoardTime::from_ms(12_000)));
        let mut uk = Ringer::new(&[400, 200, 400, 2000]);
        uk.start(BoardTime::ZERO);
        let mut seen = Vec::new();
        uk.run(BoardTime::from_ms(3001), |e| seen.push((e.at.as_ms(), e.on)));
        assert_eq!(seen, vec![(0, true), (400, false), (600, true), (1000, false), (3000, true)]);
        assert_eq!(uk.rings(), 2);
        assert!(uk.stop(BoardTime::from_ms(3100)));
    }
}
