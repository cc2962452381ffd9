//! Hook and loop-current conditioning: raw line conditions in, qualified
//! line signals out.
//!
//! - [`HookMonitor`] (FXS): the phone's raw hook transitions, as a DAHDI
//!   card reports them, become debounced [`HookEvent`]s. A change must
//!   persist [`HookConfig::debounce_ms`] (DAHDI `wctdm.c` polls every 16 ms
//!   and wants ~32 ms). An on-hook spell of an off-hook phone is a *flash*
//!   when it lasts from [`HookConfig::flash_min_ms`] to
//!   [`HookConfig::flash_max_ms`] (DAHDI rx flash maximum, 1250 ms); a
//!   longer one is a hang-up, reported only once the maximum has passed; a
//!   shorter one (but past the debounce) is ignored as a glitch. Times are
//!   measured between the raw edges, not the debounced reports.
//! - [`LoopCurrentMonitor`] (FXO): a loop-current drop that lasts
//!   [`LoopCurrentConfig::cpc_ms`] is the far end's disconnect (calling
//!   party control, open switch interval); it is reported then, without
//!   waiting for the current to return. Shorter drops are glitches
//!   (counted).
//!
//! Both are pure: time is passed in, `poll` runs what fell due, and
//! `next_deadline` says when to call it next.

use crate::hal::{BoardTime, Duration};

use super::analog::{ConfigError, check_less, check_range, earliest};

/// FXS hook timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HookConfig {
    /// A raw hook change must persist this long (DAHDI: ~32 ms).
    pub debounce_ms: u32,
    /// Shortest on-hook spell taken as a flash; shorter ones are ignored.
    pub flash_min_ms: u32,
    /// Longest on-hook spell taken as a flash (DAHDI rxflash: 1250 ms);
    /// longer is a hang-up.
    pub flash_max_ms: u32,
}

impl Default for HookConfig {
    fn default() -> Self {
        HookConfig { debounce_ms: 30, flash_min_ms: 80, flash_max_ms: 1250 }
    }
}

impl HookConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_range("hook.debounce_ms", self.debounce_ms, 0, 200)?;
        check_range("hook.flash_min_ms", self.flash_min_ms, 1, 2000)?;
        check_range("hook.flash_max_ms", self.flash_max_ms, 1, 5000)?;
        check_less("hook.debounce_ms", self.debounce_ms, "hook.flash_min_ms", self.flash_min_ms)?;
        check_less("hook.flash_min_ms", self.flash_min_ms, "hook.flash_max_ms", self.flash_max_ms)
    }
}

/// What the phone did, qualified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookEvent {
    /// The on-hook phone went off-hook (debounced).
    OffHook,
    /// The off-hook phone hung up: on-hook past the flash maximum.
    OnHook,
    /// The off-hook phone flashed.
    Flash,
}

/// FXS hook debounce and flash timing; see the module doc.
#[derive(Debug, Clone)]
pub struct HookMonitor {
    cfg: HookConfig,
    /// Last raw state from the board (true = off-hook) and when it began.
    raw_off: bool,
    raw_at: BoardTime,
    /// Debounced state.
    stable_off: bool,
    /// What was last reported upwards.
    reported_off: bool,
    /// While reported off-hook: when the debounced on-hook spell began.
    on_since: Option<BoardTime>,
    /// An off-hook to report after a hang-up was reported late (a spell
    /// that turned out longer than the flash maximum).
    offhook_pending: Option<BoardTime>,
}

impl HookMonitor {
    /// A monitor for a phone that is on-hook. The config must be valid.
    pub fn new(cfg: HookConfig) -> Self {
        HookMonitor {
            cfg,
            raw_off: false,
            raw_at: BoardTime::ZERO,
            stable_off: false,
            reported_off: false,
            on_since: None,
            offhook_pending: None,
        }
    }

    pub fn config(&self) -> &HookConfig {
        &self.cfg
    }

    /// Whether the phone counts as off-hook (what was last reported).
    pub fn is_off_hook(&self) -> bool {
        self.reported_off
    }

    /// Whether an on-hook spell of an off-hook phone is being timed.
    pub fn in_flash_window(&self) -> bool {
        self.on_since.is_some()
    }

    /// A raw hook transition (`off` = off-hook) at `now`. Call `poll(now)`
    /// until `None` first, so that what fell due earlier is decided first
    /// (a spell is timed from the debounced edges it saw).
    pub fn raw(&mut self, now: BoardTime, off: bool) {
        if off != self.raw_off {
            self.raw_off = off;
            self.raw_at = now;
        }
    }

    /// A flash the hardware timed itself (DAHDI `WINKFLASH`).
    pub fn hardware_flash(&mut self) -> Option<HookEvent> {
        (self.reported_off && self.on_since.is_none()).then_some(HookEvent::Flash)
    }

    fn debounce_deadline(&self) -> Option<BoardTime> {
        (self.raw_off != self.stable_off).then(|| self.raw_at + Duration::from_ms(self.cfg.debounce_ms as u64))
    }

    fn flash_deadline(&self) -> Option<BoardTime> {
        // While a raw off-hook is still being debounced, the spell may yet
        // turn out to be a flash: its end decides.
        match (self.on_since, self.raw_off) {
            // A spell of exactly the maximum is still a flash.
            (Some(t), false) => Some(t + Duration::from_ms(self.cfg.flash_max_ms as u64) + Duration(1)),
            _ => None,
        }
    }

    /// When `poll` next has something to do.
    pub fn next_deadline(&self) -> Option<BoardTime> {
        earliest(earliest(self.debounce_deadline(), self.flash_deadline()), self.offhook_pending)
    }

    /// Run the timers due at `now` until one yields an event; call again
    /// until `None`.
    pub fn poll(&mut self, now: BoardTime) -> Option<HookEvent> {
        // Each step clears or moves the deadline it ran; three sources.
        for _ in 0..8 {
            if self.offhook_pending.is_some_and(|t| t <= now) {
                self.offhook_pending = None;
                self.reported_off = true;
                return Some(HookEvent::OffHook);
            }
            let deb = self.debounce_deadline().filter(|&t| t <= now);
            let flash = self.flash_deadline().filter(|&t| t <= now);
            let ev = match (deb, flash) {
                (Some(d), Some(f)) if f < d => self.flash_expired(),
                (Some(_), _) => self.settle(),
                (None, Some(_)) => self.flash_expired(),
                (None, None) => return None,
            };
            if ev.is_some() {
                return ev;
            }
        }
        None
    }

    fn flash_expired(&mut self) -> Option<HookEvent> {
        self.on_since = None;
        self.reported_off = false;
        Some(HookEvent::OnHook)
    }

    /// The raw state has persisted the debounce time.
    fn settle(&mut self) -> Option<HookEvent> {
        self.stable_off = self.raw_off;
        let edge = self.raw_at;
        if self.stable_off {
            match self.on_since.take() {
                None if self.reported_off => None,
                None => {
                    self.reported_off = true;
                    Some(HookEvent::OffHook)
                }
                Some(t) => {
                    let spell = edge.since(t);
                    if spell < Duration::from_ms(self.cfg.flash_min_ms as u64) {
                        None
                    } else if spell <= Duration::from_ms(self.cfg.flash_max_ms as u64) {
                        Some(HookEvent::Flash)
                    } else {
                        // Only when timers ran late: hang-up, then a new
                        // off-hook.
                        self.reported_off = false;
                        self.offhook_pending = Some(edge);
                        Some(HookEvent::OnHook)
                    }
                }
            }
        } else {
            if self.reported_off {
                self.on_since = Some(edge);
            }
            None
        }
    }

    /// Forget the timing; the phone counts as on-hook.
    pub fn reset(&mut self) {
        *self = HookMonitor::new(self.cfg);
    }
}

/// FXO loop-current qualification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoopCurrentConfig {
    /// Drops shorter than this are line glitches (counted, never acted on).
    pub glitch_ms: u32,
    /// A drop lasting this long is the far end's disconnect (CPC). COs
    /// send 100–600 ms; DAHDI hangs up after 64 ms (`battdebounce`).
    pub cpc_ms: u32,
}

impl Default for LoopCurrentConfig {
    fn default() -> Self {
        LoopCurrentConfig { glitch_ms: 100, cpc_ms: 100 }
    }
}

impl LoopCurrentConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_range("loop_current.glitch_ms", self.glitch_ms, 0, 2000)?;
        check_range("loop_current.cpc_ms", self.cpc_ms, 10, 5000)?;
        if self.glitch_ms > self.cpc_ms {
            return Err(ConfigError::Order {
                field: "loop_current.glitch_ms",
                value: self.glitch_ms,
                relation: "at most",
                other: "loop_current.cpc_ms",
                other_value: self.cpc_ms,
            });
        }
        Ok(())
    }
}

/// Counts of drops that were not disconnects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoopCurrentStats {
    /// Drops shorter than the glitch time.
    pub glitches: u32,
    /// Drops past the glitch time but shorter than the CPC time.
    pub short_drops: u32,
}

/// FXO loop-current qualification; see the module doc.
#[derive(Debug, Clone)]
pub struct LoopCurrentMonitor {
    cfg: LoopCurrentConfig,
    present: bool,
    /// When the current dropped (while a disconnect may still be reported).
    drop_at: Option<BoardTime>,
    stats: LoopCurrentStats,
}

impl LoopCurrentMonitor {
    /// A monitor for a line with loop current. The config must be valid.
    pub fn new(cfg: LoopCurrentConfig) -> Self {
        LoopCurrentMonitor { cfg, present: true, drop_at: None, stats: LoopCurrentStats::default() }
    }

    pub fn has_current(&self) -> bool {
        self.present
    }
    pub fn stats(&self) -> LoopCurrentStats {
        self.stats
    }

    /// `LoopCurrentDrop` at `now`.
    pub fn drop(&mut self, now: BoardTime) {
        if self.present {
            self.present = false;
            self.drop_at = Some(now);
        }
    }

    /// `LoopCurrentRestore` at `now`.
    pub fn restore(&mut self, now: BoardTime) {
        if !self.present {
            self.present = true;
            if let Some(t) = self.drop_at.take() {
                if now.since(t) < Duration::from_ms(self.cfg.glitch_ms as u64) {
                    self.stats.glitches = self.stats.glitches.saturating_add(1);
                } else {
                    self.stats.short_drops = self.stats.short_drops.saturating_add(1);
                }
            }
        }
    }

    /// Start timing afresh from `now` (on going off-hook): a line without
    /// current now is reported after the CPC time; an older report is
    /// forgotten.
    pub fn rearm(&mut self, now: BoardTime) {
        self.drop_at = (!self.present).then_some(now);
    }

    /// When `poll` next has something to do.
    pub fn next_deadline(&self) -> Option<BoardTime> {
        self.drop_at.map(|t| t + Duration::from_ms(self.cfg.cpc_ms as u64))
    }

    /// Whether a disconnect qualified by `now` (reported once per drop).
    pub fn poll(&mut self, now: BoardTime) -> bool {
        if self.next_deadline().is_some_and(|t| t <= now) {
            self.drop_at = None;
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> BoardTime {
        BoardTime::from_ms(v)
    }

    /// Feed raw hook edges `(ms, off)` and poll every ms up to `end_ms`;
    /// collect `(ms, event)`.
    fn run(edges: &[(u64, bool)], end_ms: u64) -> Vec<(u64, HookEvent)> {
        let mut m = HookMonitor::new(HookConfig::default());
        let mut out = Vec::new();
        let mut e = edges.iter().peekable();
        for t in 0..=end_ms {
            while let Some(ev) = m.poll(ms(t)) {
                out.push((t, ev));
            }
            while let Some(&&(at, off)) = e.peek() {
                if at != t {
                    break;
                }
                m.raw(ms(t), off);
                e.next();
            }
        }
        out
    }

    #[test]
    fn hook_config_validation() {
        assert!(HookConfig::default().validate().is_ok());
        let bad = HookConfig { flash_min_ms: 1300, ..Default::default() };
        assert!(matches!(bad.validate(), Err(ConfigError::Order { field: "hook.flash_min_ms", .. })));
        let bad = HookConfig { debounce_ms: 100, flash_min_ms: 80, ..Default::default() };
        assert!(matches!(bad.validate(), Err(ConfigError::Order { field: "hook.debounce_ms", .. })));
        let bad = HookConfig { flash_max_ms: 9000, ..Default::default() };
        assert!(matches!(bad.validate(), Err(ConfigError::TooLong { field: "hook.flash_max_ms", .. })));
    }

    #[test]
    fn off_hook_is_debounced() {
        assert_eq!(run(&[(100, true)], 200), vec![(130, HookEvent::OffHook)]);
        // A 20 ms bounce is not a change.
        assert_eq!(run(&[(100, true), (120, false)], 300), vec![]);
        // Contact bounce before settling: timed from the last edge.
        assert_eq!(run(&[(100, true), (105, false), (110, true)], 300), vec![(140, HookEvent::OffHook)]);
    }

    #[test]
    fn flash_window() {
        // Off-hook at 100 (reported 130); on-hook spells of various lengths.
        let f = |on: u64, len: u64| run(&[(100, true), (on, false), (on + len, true)], on + len + 2000);
        // 50 ms: past the debounce but short of the flash minimum: nothing.
        assert_eq!(f(1000, 50), vec![(130, HookEvent::OffHook)]);
        // 80 ms and 500 ms and 1250 ms: a flash once the off-hook settles.
        assert_eq!(f(1000, 80), vec![(130, HookEvent::OffHook), (1110, HookEvent::Flash)]);
        assert_eq!(f(1000, 500), vec![(130, HookEvent::OffHook), (1530, HookEvent::Flash)]);
        assert_eq!(f(1000, 1250), vec![(130, HookEvent::OffHook), (2280, HookEvent::Flash)]);
        // 1260 ms: hang-up at 1000+1250, then a new off-hook.
        assert_eq!(
            f(1000, 1260),
            vec![(130, HookEvent::OffHook), (2251, HookEvent::OnHook), (2290, HookEvent::OffHook)]
        );
        // A 10 ms off-hook blip inside the window does not end it.
        assert_eq!(
            run(&[(100, true), (1000, false), (1400, true), (1410, false)], 3000),
            vec![(130, HookEvent::OffHook), (2251, HookEvent::OnHook)]
        );
        // A real off-hook that begins just before the window closes is a flash.
        assert_eq!(
            run(&[(100, true), (1000, false), (2240, true)], 3000),
            vec![(130, HookEvent::OffHook), (2270, HookEvent::Flash)]
        );
    }

    #[test]
    fn late_polling_keeps_order() {
        let mut m = HookMonitor::new(HookConfig::default());
        m.raw(ms(100), true);
        assert_eq!(m.poll(ms(200)), Some(HookEvent::OffHook));
        m.raw(ms(1000), false);
        assert_eq!(m.poll(ms(1100)), None);
        assert!(m.in_flash_window());
        // Not polled when the window closed at 2250: the off-hook at 2500
        // arrives first. The spell was 1500 ms: a hang-up, then off-hook.
        m.raw(ms(2500), true);
        assert_eq!(m.poll(ms(3000)), Some(HookEvent::OnHook));
        assert_eq!(m.poll(ms(3000)), Some(HookEvent::OffHook));
        assert_eq!(m.poll(ms(3000)), None);
        assert!(m.is_off_hook());
        assert_eq!(m.next_deadline(), None);
    }

    #[test]
    fn hardware_flash_only_when_off_hook() {
        let mut m = HookMonitor::new(HookConfig::default());
        assert_eq!(m.hardware_flash(), None);
        m.raw(ms(0), true);
        assert_eq!(m.poll(ms(30)), Some(HookEvent::OffHook));
        assert_eq!(m.hardware_flash(), Some(HookEvent::Flash));
        m.reset();
        assert!(!m.is_off_hook());
    }

    #[test]
    fn loop_current_qualification() {
        let cfg = LoopCurrentConfig { glitch_ms: 100, cpc_ms: 250 };
        assert!(cfg.validate().is_ok());
        let mut m = LoopCurrentMonitor::new(cfg);
        // A 40 ms glitch.
        m.drop(ms(1000));
        assert_eq!(m.next_deadline(), Some(ms(1250)));
        m.restore(ms(1040));
        assert_eq!(m.next_deadline(), None);
        // A 150 ms drop: not a glitch, not a disconnect.
        m.drop(ms(2000));
        assert!(!m.poll(ms(2149)));
        m.restore(ms(2150));
        assert_eq!(m.stats(), LoopCurrentStats { glitches: 1, short_drops: 1 });
        // A CPC: reported at 250 ms, once.
        m.drop(ms(3000));
        m.drop(ms(3100));
        assert!(!m.poll(ms(3249)));
        assert!(m.poll(ms(3250)));
        assert!(!m.poll(ms(9000)));
        assert!(!m.has_current());
        // Rearming on going off-hook with no current reports again later.
        m.rearm(ms(10_000));
        assert!(m.poll(ms(10_250)));
        m.restore(ms(11_000));
        m.rearm(ms(12_000));
        assert_eq!(m.next_deadline(), None);
        let bad = LoopCurrentConfig { glitch_ms: 300, cpc_ms: 250 };
        assert!(matches!(bad.validate(), Err(ConfigError::Order { field: "loop_current.glitch_ms", .. })));
    }
}
