//! Serving a simulated world to a driver over a Unix socket, like a card.
//!
//! One driver is attached at a time; a second one is refused with a reason
//! naming who holds the board. A driver that goes away (closes, says BYE,
//! or breaks the protocol) is detached: the world puts its ports back to
//! idle and the server waits for the next driver.
//!
//! Two paces ([`Pace`]):
//! - **Fast**: lock-step. The next tick is sent as soon as the driver has
//!   replied to the last one, so a 10-minute scenario runs in about a second.
//!   With no driver attached the world does not move.
//! - **Real time**: a `timerfd` fires every tick, like a card's interrupt.
//!   If the driver's reply to the previous tick has not arrived by then, the
//!   tick is a *slip*: the world hears idle audio for it, the late reply is
//!   discarded when it comes, and the count goes out in every TICK. With no
//!   driver attached the world keeps running (lines ring, callers give up).
//!
//! Everything happens on one thread around one `poll()`. In real-time
//! mode that thread asks for `SCHED_FIFO` at [`REALTIME_PRIORITY`], above
//! the engine's, so that like a card's clock the ticks keep time when the
//! machine is busy; refused, it keeps the normal scheduler and says so in
//! the log.

use std::io::{self, IoSlice, Write};
use std::os::fd::AsFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};

use ctibox_driver::backend::sim::transport::{self, FrameAssembler};
pub use ctibox_driver::backend::sim::wire::Pace;
use ctibox_driver::backend::sim::wire::{self, Attach, Hello, MessageType, TickHeader, Writer};
use ctibox_driver::engine::priority;
use ctibox_driver::hal::{
    BoardCommand, BoardEvent, BoardInfo, BoardTime, ChannelKind, ChannelSignal, SignalState, check_command,
};

use crate::board::{SimWorld, fill_idle};

/// The `SCHED_FIFO` priority of a real-time server's thread: above the
/// engine's ([`ctibox_driver::engine::priority::DEFAULT_RT_PRIORITY`]), as a
/// card's interrupt comes before its driver.
pub const REALTIME_PRIORITY: u8 = 20;

/// How to serve.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Unix socket path to listen on.
    pub socket: PathBuf,
    pub pace: Pace,
    /// Set to stop serving (checked at least every 100 ms).
    pub stop: Arc<AtomicBool>,
}

impl ServeOptions {
    pub fn new(socket: impl Into<PathBuf>, pace: Pace) -> Self {
        ServeOptions { socket: socket.into(), pace, stop: Arc::new(AtomicBool::new(false)) }
    }
}

/// What happened while serving (also in the world's status, tick by tick:
/// [`crate::SimWorld::served`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ServeReport {
    /// Ticks the world advanced.
    pub ticks: u64,
    /// Ticks played without the driver's reply (real-time mode).
    pub slips: u64,
    /// Drivers that attached.
    pub connections: u64,
    /// Drivers refused because another was attached.
    pub refused: u64,
    /// Timer periods the server itself missed (machine overloaded).
    pub overruns: u64,
}

/// Why serving failed.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot listen on {path}: {error}")]
    Bind { path: PathBuf, error: io::Error },
    #[error("another simulator is already serving at {0}")]
    InUse(PathBuf),
    #[error("{what}: {error}")]
    Sys { what: &'static str, error: nix::Error },
    #[error("{what}: {error}")]
    Io { what: &'static str, error: io::Error },
}

/// A bound simulator socket, ready to serve a world.
#[derive(Debug)]
pub struct Server {
    listener: UnixListener,
    path: PathBuf,
}

impl Server {
    /// Bind the socket. A stale socket file left by a dead simulator is
    /// replaced; a live one is an error.
    pub fn bind(path: impl AsRef<Path>) -> Result<Server, ServerError> {
        let path = path.as_ref().to_path_buf();
        if path.exists() {
            if UnixStream::connect(&path).is_ok() {
                return Err(ServerError::InUse(path));
            }
            let _ = std::fs::remove_file(&path);
        }
        let listener = UnixListener::bind(&path).map_err(|error| ServerError::Bind { path: path.clone(), error })?;
        listener.set_nonblocking(true).map_err(|error| ServerError::Io { what: "set listener non-blocking", error })?;
        Ok(Server { listener, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Serve `world` until it is finished or `stop` is set.
    pub fn run<W: SimWorld>(&self, world: &mut W, pace: Pace, stop: &AtomicBool) -> Result<ServeReport, ServerError> {
        let mut s = Session::new(world, pace);
        s.run(&self.listener, stop)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Bind `opts.socket` and serve `world` until it is finished or stopped.
pub fn serve<W: SimWorld>(world: &mut W, opts: &ServeOptions) -> Result<ServeReport, ServerError> {
    Server::bind(&opts.socket)?.run(world, opts.pace, &opts.stop)
}

/// The attached driver.
struct Conn {
    stream: UnixStream,
    asm: FrameAssembler,
    name: Option<String>,
    attached_at_tick: u64,
    /// Tick whose reply we are waiting for.
    awaiting: Option<u64>,
}

enum ConnFate {
    Keep,
    Drop(String),
}

struct Session<'w, W: SimWorld> {
    world: &'w mut W,
    info: BoardInfo,
    pace: Pace,
    tick: u64,
    signals: SignalState,
    to_driver: Vec<u8>,
    from_driver: Vec<u8>,
    reply_audio: Vec<u8>,
    commands: Vec<BoardCommand>,
    reply_commands: Vec<BoardCommand>,
    /// Commands of replies that came after their tick had played out as a
    /// slip: their audio is gone, but a hook or ring command still takes
    /// effect (late), at the next tick, as a card would carry it out.
    late_commands: Vec<BoardCommand>,
    events: Vec<BoardEvent>,
    writer: Writer,
    report: ServeReport,
    conn: Option<Conn>,
}

impl<'w, W: SimWorld> Session<'w, W> {
    fn new(world: &'w mut W, pace: Pace) -> Self {
        let info = world.info().clone();
        let n = info.tick_bytes();
        let mut from_driver = vec![0u8; n];
        fill_idle(&info, &mut from_driver);
        let signals = SignalState::idle(&info);
        Session {
            world,
            pace,
            tick: 0,
            signals,
            to_driver: vec![0u8; n],
            from_driver,
            reply_audio: vec![0u8; n],
            commands: Vec::with_capacity(256),
            reply_commands: Vec::with_capacity(256),
            late_commands: Vec::with_capacity(256),
            events: Vec::with_capacity(256),
            writer: Writer::with_capacity(n + 4096),
            report: ServeReport::default(),
            conn: None,
            info,
        }
    }

    fn now(&self) -> BoardTime {
        BoardTime::from_samples(self.tick * self.info.tick.samples() as u64)
    }

    fn run(&mut self, listener: &UnixListener, stop: &AtomicBool) -> Result<ServeReport, ServerError> {
        let timer = match self.pace {
            Pace::RealTime => {
                match priority::set_fifo(REALTIME_PRIORITY) {
                    Ok(()) => tracing::info!("real-time ticks under SCHED_FIFO priority {REALTIME_PRIORITY}"),
                    Err(e) => tracing::info!("real-time ticks under the normal scheduler: {e}"),
                }
                let t = TimerFd::new(ClockId::CLOCK_MONOTONIC, TimerFlags::TFD_NONBLOCK)
                    .map_err(|error| ServerError::Sys { what: "create tick timer", error })?;
                t.set(Expiration::Interval(TimeSpec::from_duration(self.info.tick.wall())), TimerSetTimeFlags::empty())
                    .map_err(|error| ServerError::Sys { what: "start tick timer", error })?;
                Some(t)
            }
            Pace::Fast => None,
        };
        // When the world finishes, the reply to the last tick is still
        // collected (for up to a second) so the driver is not cut off
        // mid-write.
        let mut finish_deadline: Option<std::time::Instant> = None;
        loop {
            let finished = self.world.finished();
            if stop.load(Ordering::Relaxed) || finished {
                let awaiting = self.conn.as_ref().is_some_and(|c| c.awaiting.is_some());
                let deadline = *finish_deadline
                    .get_or_insert_with(|| std::time::Instant::now() + std::time::Duration::from_secs(1));
                if !finished || !awaiting || std::time::Instant::now() > deadline {
                    let reason = if finished { "the simulation has finished" } else { "the simulator is stopping" };
                    self.detach(reason);
                    return Ok(self.report);
                }
            }
            // Fast pace: step as soon as the driver is ready for a tick.
            if self.pace == Pace::Fast
                && !self.world.finished()
                && let Some(c) = &self.conn
                && c.name.is_some()
                && c.awaiting.is_none()
            {
                self.step_and_send();
                continue;
            }
            // Fast pace: the driver's reply usually comes within
            // microseconds; look for it before sleeping in poll().
            if self.pace == Pace::Fast
                && let Some(c) = &self.conn
                && c.awaiting.is_some()
                && transport::spin_until_readable(c.stream.as_fd(), transport::LOCKSTEP_SPIN)
            {
                self.service_conn();
                continue;
            }
            let (listen_ready, conn_ready, timer_ready) = {
                let mut fds = Vec::with_capacity(3);
                fds.push(PollFd::new(listener.as_fd(), PollFlags::POLLIN));
                let conn_idx = self.conn.as_ref().map(|c| {
                    fds.push(PollFd::new(c.stream.as_fd(), PollFlags::POLLIN));
                    fds.len() - 1
                });
                let timer_idx = timer.as_ref().map(|t| {
                    fds.push(PollFd::new(t.as_fd(), PollFlags::POLLIN));
                    fds.len() - 1
                });
                match poll(&mut fds, PollTimeout::from(100u16)) {
                    Ok(_) => {}
                    Err(nix::errno::Errno::EINTR) => continue,
                    Err(error) => return Err(ServerError::Sys { what: "poll", error }),
                }
                let ready = |i: usize| fds[i].revents().is_some_and(|r| !r.is_empty());
                (ready(0), conn_idx.is_some_and(ready), timer_idx.is_some_and(ready))
            };
            if timer_ready && let Some(t) = &timer {
                let mut buf = [0u8; 8];
                let fired = match nix::unistd::read(std::os::fd::AsRawFd::as_raw_fd(&t.as_fd()), &mut buf) {
                    Ok(8) => u64::from_ne_bytes(buf),
                    _ => 0,
                };
                if fired > 1 {
                    self.report.overruns += fired - 1;
                }
                for _ in 0..fired {
                    self.realtime_tick();
                }
                // Replies read while a tick was being sent wait in the
                // assembler, where poll() cannot see them.
                self.handle_frames();
            }
            if conn_ready {
                self.service_conn();
            }
            if listen_ready {
                self.accept(listener);
            }
        }
    }

    /// Real-time tick: count a slip if the driver did not answer in time.
    fn realtime_tick(&mut self) {
        let attached = self.conn.as_ref().is_some_and(|c| c.name.is_some());
        if let Some(c) = &mut self.conn
            && c.awaiting.take().is_some()
        {
            self.report.slips += 1;
            fill_idle(&self.info, &mut self.from_driver);
            self.commands.clear();
        }
        if attached {
            self.step_and_send();
        } else {
            self.step();
        }
    }

    /// Advance the world one tick.
    fn step(&mut self) {
        let now = self.now();
        self.events.clear();
        if !self.late_commands.is_empty() {
            // The late ones were sent first.
            self.late_commands.append(&mut self.commands);
            std::mem::swap(&mut self.late_commands, &mut self.commands);
        }
        self.world.tick(now, &self.from_driver, &self.commands, &mut self.to_driver, &mut self.events);
        for ev in &self.events {
            self.signals.apply_event(ev);
        }
        self.commands.clear();
        // Until the driver replies, the world hears idle audio.
        fill_idle(&self.info, &mut self.from_driver);
        self.tick += 1;
        self.report.ticks += 1;
        self.world.served(&self.report);
    }

    fn step_and_send(&mut self) {
        let number = self.tick;
        let start = self.now();
        self.step();
        let h = TickHeader { number, start, slips: self.report.slips };
        let head = wire::emit_tick_head(&mut self.writer, &h, &self.events, self.to_driver.len());
        let Some(c) = &mut self.conn else { return };
        // The audio goes out from where the world wrote it, after the head.
        match write_parts_patiently(&mut c.stream, Some(&mut c.asm), head, &self.to_driver) {
            Ok(()) => c.awaiting = Some(number),
            Err(e) => self.detach(&format!("cannot send tick {number}: {e}")),
        }
    }

    fn accept(&mut self, listener: &UnixListener) {
        loop {
            match listener.accept() {
                Ok((mut stream, _)) => {
                    // The attached driver may be gone with its end not read
                    // yet (a driver that died and started again at once):
                    // read it first, so a dead one is detached, not kept.
                    if self.conn.is_some() {
                        self.service_conn();
                    }
                    if let Some(c) = &self.conn {
                        let who = c.name.as_deref().unwrap_or("a driver still attaching");
                        let reason = format!("board busy: {who} has been attached since tick {}", c.attached_at_tick);
                        let f = wire::emit_reason(&mut self.writer, MessageType::Refuse, &reason);
                        let _ = stream.set_nonblocking(false);
                        let _ = stream.set_write_timeout(Some(std::time::Duration::from_millis(200)));
                        let _ = stream.write_all(f);
                        self.report.refused += 1;
                        tracing::info!("refused a second driver: {reason}");
                        continue;
                    }
                    if let Err(e) = stream.set_nonblocking(true) {
                        tracing::warn!("cannot use a new connection: {e}");
                        continue;
                    }
                    self.conn = Some(Conn {
                        stream,
                        asm: FrameAssembler::new(),
                        name: None,
                        attached_at_tick: self.tick,
                        awaiting: None,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    return;
                }
            }
        }
    }

    fn service_conn(&mut self) {
        let Some(c) = &mut self.conn else { return };
        let open = match c.asm.fill(&mut c.stream) {
            Ok(open) => open,
            Err(e) => {
                self.detach(&format!("read error: {e}"));
                return;
            }
        };
        if self.handle_frames() && !open {
            self.detach("the driver closed the connection");
        }
    }

    /// Handle the driver's frames already read; false when the driver was
    /// dropped for one of them.
    fn handle_frames(&mut self) -> bool {
        loop {
            match self.next_frame() {
                Some(ConnFate::Keep) => continue,
                Some(ConnFate::Drop(reason)) => {
                    self.detach(&reason);
                    return false;
                }
                None => return true,
            }
        }
    }

    /// Handle the next whole frame from the driver, if any.
    fn next_frame(&mut self) -> Option<ConnFate> {
        let c = self.conn.as_mut()?;
        let frame = match c.asm.next_frame()? {
            Ok(f) => f,
            Err(e) => return Some(ConnFate::Drop(format!("protocol error: {e}"))),
        };
        let (t, r) = match wire::split_frame(frame) {
            Ok(x) => x,
            Err(e) => return Some(ConnFate::Drop(format!("protocol error: {e}"))),
        };
        if c.name.is_none() {
            let attach = match Attach::parse(frame) {
                Ok(a) => a,
                Err(e) => return Some(ConnFate::Drop(format!("expected ATTACH: {e}"))),
            };
            if attach.version != wire::VERSION {
                let reason = format!(
                    "protocol version {} is not supported (the simulator speaks {})",
                    attach.version,
                    wire::VERSION
                );
                let f = wire::emit_reason(&mut self.writer, MessageType::Refuse, &reason);
                let _ = write_all_patiently(&mut c.stream, f);
                return Some(ConnFate::Drop(reason));
            }
            let hello = Hello {
                version: wire::VERSION,
                pace: self.pace,
                next_tick: self.tick,
                info: self.info.clone(),
                signals: self.signals.clone(),
            };
            let f = hello.emit(&mut self.writer);
            if let Err(e) = write_all_patiently(&mut c.stream, f) {
                return Some(ConnFate::Drop(format!("cannot send HELLO: {e}")));
            }
            tracing::info!(client = %attach.client, tick = self.tick, "driver attached");
            c.name = Some(attach.client);
            c.attached_at_tick = self.tick;
            self.report.connections += 1;
            return Some(ConnFate::Keep);
        }
        match t {
            MessageType::Reply => {
                self.reply_commands.clear();
                let number = match wire::parse_reply(r, &mut self.reply_audio, &mut self.reply_commands) {
                    Ok(n) => n,
                    Err(e) => return Some(ConnFate::Drop(format!("bad REPLY: {e}"))),
                };
                // A late reply to a tick already played out as a slip: its
                // audio is dropped, its commands are carried out at the
                // next tick.
                let late = c.awaiting != Some(number);
                if late && !(self.pace == Pace::RealTime && number < self.tick) {
                    return Some(ConnFate::Drop(format!(
                        "REPLY for tick {number} but the board is waiting for {:?}",
                        c.awaiting
                    )));
                }
                if let Some(e) = self.reply_commands.iter().find_map(|cmd| check_command(&self.info, cmd).err()) {
                    return Some(ConnFate::Drop(format!("bad command in tick {number}: {e}")));
                }
                for cmd in &self.reply_commands {
                    self.signals.apply_command(cmd);
                }
                if late {
                    self.late_commands.append(&mut self.reply_commands);
                } else {
                    c.awaiting = None;
                    std::mem::swap(&mut self.from_driver, &mut self.reply_audio);
                    std::mem::swap(&mut self.commands, &mut self.reply_commands);
                }
                Some(ConnFate::Keep)
            }
            MessageType::Bye => {
                let reason = wire::parse_reason(r).unwrap_or_default();
                Some(ConnFate::Drop(format!("the driver said goodbye: {reason}")))
            }
            other => Some(ConnFate::Drop(format!("unexpected {other:?} from the driver"))),
        }
    }

    /// Let the driver go and put its side of every port back to idle.
    fn detach(&mut self, reason: &str) {
        let Some(mut c) = self.conn.take() else { return };
        if c.name.is_some() {
            let f = wire::emit_reason(&mut self.writer, MessageType::Bye, reason);
            let _ = write_all_patiently(&mut c.stream, f);
            tracing::info!(client = c.name.as_deref().unwrap_or(""), tick = self.tick, "driver detached: {reason}");
            let now = self.now();
            self.world.driver_detached(now);
            reset_driver_side(&self.info, &mut self.signals);
        }
        fill_idle(&self.info, &mut self.from_driver);
        self.commands.clear();
        self.late_commands.clear();
    }
}

/// Return the driver-controlled half of every channel's signalling to idle.
fn reset_driver_side(info: &BoardInfo, signals: &mut SignalState) {
    for (ch, st) in info.channels.iter().zip(signals.channels.iter_mut()) {
        let idle = ChannelSignal::idle(ch.kind);
        match ch.kind {
            ChannelKind::Fxo => st.off_hook = false,
            ChannelKind::Fxs => {
                st.ringing = false;
                st.polarity = idle.polarity;
                st.loop_current = idle.loop_current;
            }
            ChannelKind::E1Bearer => st.tx_cas = idle.tx_cas,
            ChannelKind::DChannel => {}
        }
    }
}

/// Write a whole frame to a non-blocking socket, waiting up to a second for
/// room when the peer is slow to read.
fn write_all_patiently(stream: &mut UnixStream, frame: &[u8]) -> io::Result<()> {
    write_parts_patiently(stream, None, frame, &[])
}

/// Write a frame made of `head` then `tail` (one vectored write when there
/// is room) to a non-blocking socket, waiting up to a second for room when
/// the peer is slow to read.
///
/// While it waits, what the driver sends is read into `inbox` (its frames
/// are handled later, in order): a driver that is itself blocked writing
/// its replies reads again only once they are taken, so waiting without
/// reading would hold both sides until the timeout. That happens when the
/// server sends several ticks in a row (after the tick thread was held up
/// and the timer fired more than once) while replies are still coming in.
fn write_parts_patiently(
    stream: &mut UnixStream,
    mut inbox: Option<&mut FrameAssembler>,
    head: &[u8],
    tail: &[u8],
) -> io::Result<()> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    let mut parts = [IoSlice::new(head), IoSlice::new(tail)];
    let mut bufs = &mut parts[..];
    IoSlice::advance_slices(&mut bufs, 0);
    while !bufs.is_empty() {
        match stream.write_vectored(bufs) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut bufs, n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if std::time::Instant::now() > deadline {
                    return Err(io::Error::new(io::ErrorKind::TimedOut, "driver not reading for 1 s"));
                }
                let flags = if inbox.is_some() { PollFlags::POLLOUT | PollFlags::POLLIN } else { PollFlags::POLLOUT };
                let mut fds = [PollFd::new(stream.as_fd(), flags)];
                let _ = poll(&mut fds, PollTimeout::from(50u16));
                let readable = fds[0].revents().is_some_and(|r| r.intersects(PollFlags::POLLIN | PollFlags::POLLHUP));
                if readable
                    && let Some(asm) = inbox.as_deref_mut()
                    && !asm.fill(stream)?
                {
                    return Err(io::Error::new(io::ErrorKind::BrokenPipe, "the driver closed the connection"));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ctibox_driver::backend::sim::SimBoard;
    use ctibox_driver::hal::{Board, BoardLayout, ChannelId, CommandKind, EventKind, Law, TickLength};
    use std::sync::Mutex;

    /// Loops each channel's driver audio back; rings FXO 1 at 100 ms; counts
    /// detaches.
    struct Echo {
        info: BoardInfo,
        detached: Arc<Mutex<u32>>,
        stop_at_tick: Option<u64>,
        ticks: u64,
        /// Every command the world was given, with its tick.
        seen: Arc<Mutex<Vec<(u64, BoardCommand)>>>,
    }
    impl SimWorld for Echo {
        fn info(&self) -> &BoardInfo {
            &self.info
        }
        fn tick(
            &mut self,
            now: BoardTime,
            from_driver: &[u8],
            commands: &[BoardCommand],
            to_driver: &mut [u8],
            events: &mut Vec<BoardEvent>,
        ) {
            self.ticks += 1;
            self.seen.lock().unwrap().extend(commands.iter().map(|c| (self.ticks, *c)));
            to_driver.copy_from_slice(from_driver);
            if now == BoardTime::from_ms(100) {
                events.push(BoardEvent::channel(now, ChannelId(1), EventKind::RingOn));
            }
        }
        fn driver_detached(&mut self, _now: BoardTime) {
            *self.detached.lock().unwrap() += 1;
        }
        fn finished(&self) -> bool {
            self.stop_at_tick.is_some_and(|t| self.ticks >= t)
        }
    }

    fn echo(stop_at_tick: Option<u64>) -> (Echo, Arc<Mutex<u32>>) {
        let info = BoardLayout::new("echo", TickLength::DEFAULT).analog_span(Law::ALaw, 2, 2).build().unwrap();
        let d = Arc::new(Mutex::new(0));
        (Echo { info, detached: d.clone(), stop_at_tick, ticks: 0, seen: Arc::default() }, d)
    }

    fn sock(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("ctibox-srv-{}-{name}.sock", std::process::id()))
    }

    #[test]
    fn fast_mode_loopback_refusal_and_reconnect() {
        let path = sock("fast");
        let server = Server::bind(&path).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let (mut world, detached) = echo(None);
        let stop2 = stop.clone();
        let h = std::thread::spawn(move || server.run(&mut world, Pace::Fast, &stop2).unwrap());

        let mut b = SimBoard::connect(&path, "test-driver").unwrap();
        assert_eq!(b.pace(), Pace::Fast);
        assert_eq!(b.info().channel_count(), 4);
        let n = b.info().tick_bytes();
        let mut rx = vec![0u8; n];
        let mut ev = Vec::new();
        for i in 0..10u8 {
            let t = b.read_tick(&mut rx, &mut ev).unwrap();
            assert_eq!(t.number, i as u64);
            if i > 0 {
                assert!(rx.iter().all(|&c| c == i - 1), "tick {i}: driver audio back one tick later");
            }
            b.write_tick(&vec![i; n], &[]).unwrap();
        }
        assert_eq!(ev.len(), 1, "ring at 100 ms = tick 5");
        assert_eq!(ev[0].at, BoardTime::from_ms(100));
        assert!(b.signals().channel(ChannelId(1)).unwrap().ringing);

        // A second driver is refused, naming the first.
        let err = SimBoard::connect(&path, "intruder").unwrap_err().to_string();
        assert!(err.contains("board busy: test-driver"), "{err}");

        // Go off-hook, then vanish without a word.
        b.read_tick(&mut rx, &mut ev).unwrap();
        b.write_tick(&vec![0; n], &[BoardCommand::new(ChannelId(1), CommandKind::OffHook)]).unwrap();
        drop(b);

        // The next driver sees the board where it was, with our port on-hook.
        let mut b2 = SimBoard::connect(&path, "second").unwrap();
        let st = b2.signals().channel(ChannelId(1)).unwrap();
        assert!(!st.off_hook && st.ringing, "{st:?}");
        let t = b2.read_tick(&mut rx, &mut ev).unwrap();
        // The server may already have sent tick 11 to the driver that left.
        assert!(matches!(t.number, 11 | 12), "the board clock carries on across drivers: {}", t.number);
        b2.write_tick(&vec![0; n], &[]).unwrap();
        b2.close("done");
        stop.store(true, Ordering::Relaxed);
        let report = h.join().unwrap();
        assert_eq!(report.connections, 2);
        assert_eq!(report.refused, 1);
        assert_eq!(report.slips, 0);
        assert!(*detached.lock().unwrap() >= 2);
        assert!(!path.exists(), "socket removed when the server goes");
    }

    #[test]
    fn realtime_mode_counts_slips_of_a_slow_driver() {
        let path = sock("rt");
        let server = Server::bind(&path).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let (mut world, _) = echo(None);
        let stop2 = stop.clone();
        let h = std::thread::spawn(move || server.run(&mut world, Pace::RealTime, &stop2).unwrap());
        let mut b = SimBoard::connect(&path, "slow").unwrap();
        assert_eq!(b.pace(), Pace::RealTime);
        let n = b.info().tick_bytes();
        let mut rx = vec![0u8; n];
        let mut ev = Vec::new();
        // Answer 5 ticks promptly, then sleep through 3 tick periods once.
        for _ in 0..5 {
            b.read_tick(&mut rx, &mut ev).unwrap();
            b.write_tick(&vec![0; n], &[]).unwrap();
        }
        b.read_tick(&mut rx, &mut ev).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(70));
        b.write_tick(&vec![0; n], &[]).unwrap();
        // Catch up: the board kept its clock; read what has piled up.
        let mut slips = 0;
        for _ in 0..10 {
            b.read_tick(&mut rx, &mut ev).unwrap();
            slips = b.stats().slips;
            b.write_tick(&vec![0; n], &[]).unwrap();
        }
        assert!(slips >= 1, "a 70 ms stall in 20 ms ticks must slip");
        b.close("done");
        stop.store(true, Ordering::Relaxed);
        let report = h.join().unwrap();
        assert_eq!(report.slips, slips.max(report.slips));
        assert!(report.ticks >= 16);
    }

    /// After a stall the server sends several ticks in a row while the
    /// driver, catching up, writes its replies: each side's frames fill the
    /// socket. The server reads while it waits to write, so neither waits
    /// for the other and the driver stays attached.
    #[test]
    fn realtime_server_reads_replies_while_waiting_to_send() {
        let path = sock("rt-big");
        let server = Server::bind(&path).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        // 960 channels: a tick (or a reply) is 153 600 bytes, as much as the
        // socket holds, so two frames in a row wait for the reader.
        let info = BoardLayout::new("big", TickLength::DEFAULT).analog_span(Law::ALaw, 480, 480).build().unwrap();
        let detached = Arc::new(Mutex::new(0));
        let mut world = Echo { info, detached: detached.clone(), stop_at_tick: None, ticks: 0, seen: Arc::default() };
        let stop2 = stop.clone();
        let h = std::thread::spawn(move || server.run(&mut world, Pace::RealTime, &stop2).unwrap());
        let mut b = SimBoard::connect(&path, "catching-up").unwrap();
        let n = b.info().tick_bytes();
        assert!(n >= 150_000, "{n}");
        let mut rx = vec![0u8; n];
        let mut ev = Vec::new();
        for round in 0..3 {
            b.read_tick(&mut rx, &mut ev).unwrap();
            // Held up for five tick periods: the timer fires five times.
            std::thread::sleep(std::time::Duration::from_millis(100));
            b.write_tick(&vec![0; n], &[]).unwrap();
            for i in 0..20 {
                b.read_tick(&mut rx, &mut ev).unwrap_or_else(|e| panic!("round {round}, tick {i}: {e}"));
                b.write_tick(&vec![0; n], &[]).unwrap_or_else(|e| panic!("round {round}, reply {i}: {e}"));
            }
        }
        assert_eq!(*detached.lock().unwrap(), 0, "the server dropped a driver that was catching up");
        b.close("done");
        stop.store(true, Ordering::Relaxed);
        h.join().unwrap();
    }

    /// A reply that comes after its tick played out (a slip) loses its
    /// audio, not its commands: the off-hook in it reaches the world at the
    /// next tick, as a card carries out a hook change whenever it is made.
    #[test]
    fn a_late_replys_commands_still_take_effect() {
        let path = sock("rt-late");
        let server = Server::bind(&path).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let (mut world, _) = echo(None);
        let seen = world.seen.clone();
        let stop2 = stop.clone();
        let h = std::thread::spawn(move || server.run(&mut world, Pace::RealTime, &stop2).unwrap());
        let mut b = SimBoard::connect(&path, "late").unwrap();
        let n = b.info().tick_bytes();
        let mut rx = vec![0u8; n];
        let mut ev = Vec::new();
        for _ in 0..3 {
            b.read_tick(&mut rx, &mut ev).unwrap();
            b.write_tick(&vec![0; n], &[]).unwrap();
        }
        // Late by three tick periods, with an off-hook in the reply.
        b.read_tick(&mut rx, &mut ev).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(70));
        let off_hook = BoardCommand::new(ChannelId(1), CommandKind::OffHook);
        b.write_tick(&vec![0; n], &[off_hook]).unwrap();
        for _ in 0..10 {
            b.read_tick(&mut rx, &mut ev).unwrap();
            b.write_tick(&vec![0; n], &[]).unwrap();
        }
        assert!(b.stats().slips >= 1, "a 70 ms stall in 20 ms ticks must slip");
        b.close("done");
        stop.store(true, Ordering::Relaxed);
        h.join().unwrap();
        let seen = seen.lock().unwrap();
        assert_eq!(seen.iter().filter(|(_, c)| *c == off_hook).count(), 1, "the late off-hook, once: {seen:?}");
    }

    #[test]
    fn stale_socket_is_replaced_and_live_one_refused() {
        let path = sock("stale");
        std::fs::write(&path, b"").unwrap();
        let s = Server::bind(&path).unwrap();
        assert!(matches!(Server::bind(&path), Err(ServerError::InUse(_))));
        drop(s);
    }

    #[test]
    fn finished_world_ends_serving_and_says_bye() {
        let path = sock("fin");
        let server = Server::bind(&path).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let (mut world, _) = echo(Some(3));
        let h = std::thread::spawn(move || server.run(&mut world, Pace::Fast, &stop).unwrap());
        let mut b = SimBoard::connect(&path, "d").unwrap();
        let n = b.info().tick_bytes();
        let mut rx = vec![0u8; n];
        let mut ev = Vec::new();
        let mut err = None;
        for _ in 0..5 {
            match b.read_tick(&mut rx, &mut ev) {
                Ok(_) => b.write_tick(&vec![0; n], &[]).unwrap(),
                Err(e) => {
                    err = Some(e.to_string());
                    break;
                }
            }
        }
        let err = err.expect("the board ends");
        assert!(err.contains("the simulation has finished"), "{err}");
        assert_eq!(h.join().unwrap().ticks, 3);
    }
}
