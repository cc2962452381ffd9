//! The seam between the simulated world and the board it presents.
//!
//! A [`SimWorld`] is everything behind the card's ports: the central office
//! and its callers behind FXO ports, the phones on FXS ports. It advances one
//! tick at a time. Two transports present it to a driver as a board:
//! [`InProcessBoard`] links it into the driver's process (lock-step, for
//! tests), and [`crate::server`] serves it over a Unix socket in fast
//! (lock-step) or real-time (paced) mode.
//!
//! Timing: in tick `N` the world hears the driver's audio of tick `N − 1`
//! and produces the audio the driver receives in tick `N`, so audio takes
//! one tick from the driver to the far end, as on hardware with one tick of
//! buffering.

use ctibox_driver::hal::{
    Board, BoardCommand, BoardError, BoardEvent, BoardInfo, BoardStats, BoardTime, SignalState, Tick, check_command,
};

/// The world behind a simulated board.
pub trait SimWorld: Send {
    /// The board layout this world simulates.
    fn info(&self) -> &BoardInfo;

    /// Advance one tick that starts at `now`.
    ///
    /// - `from_driver`: the driver's audio of the previous tick
    ///   (`info().tick_bytes()` bytes, channel-major G.711); the idle pattern
    ///   when the driver sent nothing (not attached, or late).
    /// - `commands`: the driver's commands, to take effect at `now`. They
    ///   have been checked against the channel kinds already.
    /// - `to_driver`: fill with the audio the board receives in this tick.
    /// - `events`: append what the board sees in this tick, stamped within
    ///   `[now, now + tick)`, in time order.
    fn tick(
        &mut self,
        now: BoardTime,
        from_driver: &[u8],
        commands: &[BoardCommand],
        to_driver: &mut [u8],
        events: &mut Vec<BoardEvent>,
    );

    /// The driver went away: every port the driver controls returns to idle
    /// (FXO on-hook; FXS not ringing, normal polarity, loop current on), as
    /// when a driver closes its channels.
    fn driver_detached(&mut self, now: BoardTime);

    /// Whether the world has nothing more to do (a scenario has ended). A
    /// server stops serving once this is true.
    fn finished(&self) -> bool {
        false
    }

    /// The server's counters after a tick (ticks served, slips…), so the
    /// world can report them in its status. Called by [`crate::server`]
    /// after every tick; nothing else calls it.
    fn served(&mut self, _report: &crate::server::ServeReport) {}
}

impl<W: SimWorld + ?Sized> SimWorld for Box<W> {
    fn info(&self) -> &BoardInfo {
        (**self).info()
    }
    fn tick(
        &mut self,
        now: BoardTime,
        from_driver: &[u8],
        commands: &[BoardCommand],
        to_driver: &mut [u8],
        events: &mut Vec<BoardEvent>,
    ) {
        (**self).tick(now, from_driver, commands, to_driver, events)
    }
    fn driver_detached(&mut self, now: BoardTime) {
        (**self).driver_detached(now)
    }
    fn finished(&self) -> bool {
        (**self).finished()
    }
    fn served(&mut self, report: &crate::server::ServeReport) {
        (**self).served(report)
    }
}

/// Fill a tick buffer with each channel's idle pattern.
pub fn fill_idle(info: &BoardInfo, buf: &mut [u8]) {
    let n = info.tick.samples();
    for (ch, chunk) in info.channels.iter().zip(buf.chunks_mut(n)) {
        let law = info.law_of(ch.id).unwrap_or(ctibox_driver::hal::Law::ALaw);
        chunk.fill(law.silence());
    }
}

/// A simulated world linked into the driver's process: a [`Board`] that
/// steps the world in lock-step with the driver, as fast as it asks.
#[derive(Debug)]
pub struct InProcessBoard<W: SimWorld> {
    world: W,
    info: BoardInfo,
    tick: u64,
    /// Driver audio of the last tick, fed to the world on the next one.
    last_tx: Vec<u8>,
    /// Commands the driver gave with its last tick.
    pending: Vec<BoardCommand>,
    signals: SignalState,
    stats: BoardStats,
    /// Whether `read_tick` was called without a `write_tick` since.
    awaiting_write: bool,
}

impl<W: SimWorld> InProcessBoard<W> {
    pub fn new(world: W) -> Self {
        let info = world.info().clone();
        let mut last_tx = vec![0u8; info.tick_bytes()];
        fill_idle(&info, &mut last_tx);
        let signals = SignalState::idle(&info);
        InProcessBoard {
            world,
            info,
            tick: 0,
            last_tx,
            pending: Vec::with_capacity(64),
            signals,
            stats: BoardStats::default(),
            awaiting_write: false,
        }
    }

    pub fn world(&self) -> &W {
        &self.world
    }
    pub fn world_mut(&mut self) -> &mut W {
        &mut self.world
    }
    pub fn into_world(self) -> W {
        self.world
    }
    /// Board time of the next tick.
    pub fn now(&self) -> BoardTime {
        BoardTime::from_samples(self.tick * self.info.tick.samples() as u64)
    }
}

impl<W: SimWorld> Board for InProcessBoard<W> {
    fn info(&self) -> &BoardInfo {
        &self.info
    }

    fn read_tick(&mut self, rx: &mut [u8], events: &mut Vec<BoardEvent>) -> Result<Tick, BoardError> {
        if rx.len() != self.info.tick_bytes() {
            return Err(BoardError::BufferSize { which: "rx", expected: self.info.tick_bytes(), got: rx.len() });
        }
        if self.awaiting_write {
            // The driver skipped a write: the world hears idle audio.
            fill_idle(&self.info, &mut self.last_tx);
            self.pending.clear();
            self.stats.slips += 1;
        }
        let now = self.now();
        let first = events.len();
        self.world.tick(now, &self.last_tx, &self.pending, rx, events);
        for ev in &events[first..] {
            self.signals.apply_event(ev);
        }
        self.pending.clear();
        let tick = Tick { number: self.tick, start: now };
        self.tick += 1;
        self.stats.ticks += 1;
        self.awaiting_write = true;
        Ok(tick)
    }

    fn write_tick(&mut self, tx: &[u8], commands: &[BoardCommand]) -> Result<(), BoardError> {
        if tx.len() != self.info.tick_bytes() {
            return Err(BoardError::BufferSize { which: "tx", expected: self.info.tick_bytes(), got: tx.len() });
        }
        for c in commands {
            check_command(&self.info, c)?;
        }
        self.last_tx.copy_from_slice(tx);
        self.pending.clear();
        self.pending.extend_from_slice(commands);
        for c in commands {
            self.signals.apply_command(c);
        }
        self.awaiting_write = false;
        Ok(())
    }

    fn stats(&self) -> BoardStats {
        self.stats
    }

    fn signals(&self) -> &SignalState {
        &self.signals
    }

    fn paced_by_clock(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ctibox_driver::hal::{BoardLayout, ChannelId, CommandKind, EventKind, Law, TickLength};

    /// A world that loops each channel's driver audio back to it and rings
    /// FXO 1 at 100 ms.
    struct Echo {
        info: BoardInfo,
        detached: bool,
    }
    impl SimWorld for Echo {
        fn info(&self) -> &BoardInfo {
            &self.info
        }
        fn tick(
            &mut self,
            now: BoardTime,
            from_driver: &[u8],
            _commands: &[BoardCommand],
            to_driver: &mut [u8],
            events: &mut Vec<BoardEvent>,
        ) {
            to_driver.copy_from_slice(from_driver);
            if now == BoardTime::from_ms(100) {
                events.push(BoardEvent::channel(now, ChannelId(1), EventKind::RingOn));
            }
        }
        fn driver_detached(&mut self, _now: BoardTime) {
            self.detached = true;
        }
    }

    #[test]
    fn lock_step_loopback_with_one_tick_delay() {
        let info = BoardLayout::new("echo", TickLength::MS_10).analog_span(Law::ALaw, 1, 1).build().unwrap();
        let mut b = InProcessBoard::new(Echo { info, detached: false });
        let n = b.info().tick_bytes();
        let mut rx = vec![0u8; n];
        let mut ev = Vec::new();
        let t0 = b.read_tick(&mut rx, &mut ev).unwrap();
        assert_eq!(t0.number, 0);
        assert!(rx.iter().all(|&c| c == 0xD5), "idle before the driver wrote");
        b.write_tick(&vec![0x42; n], &[BoardCommand::new(ChannelId(1), CommandKind::OffHook)]).unwrap();
        b.read_tick(&mut rx, &mut ev).unwrap();
        assert!(rx.iter().all(|&c| c == 0x42), "driver audio comes back one tick later");
        assert!(b.signals().channel(ChannelId(1)).unwrap().off_hook);
        // Wrong command for the kind is refused.
        let err = b.write_tick(&vec![0; n], &[BoardCommand::new(ChannelId(1), CommandKind::RingStart)]);
        assert!(err.is_err());
        for _ in 0..9 {
            b.read_tick(&mut rx, &mut ev).unwrap();
            b.write_tick(&vec![0; n], &[]).unwrap();
        }
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].at, BoardTime::from_ms(100));
        assert!(b.signals().channel(ChannelId(1)).unwrap().ringing);
        assert_eq!(b.stats().slips, 1, "the refused write left one tick unwritten");
    }
}
