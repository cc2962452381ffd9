//! The `sim` backend: a board served by `ctibox-sim` over a Unix socket.
//!
//! [`SimBoard::connect`] attaches to the simulator, learns the board's
//! layout and current signalling state from its HELLO, and then exchanges
//! one TICK / REPLY pair per tick. In the simulator's fast mode the next
//! tick comes as soon as we reply; in real-time mode it comes on the
//! simulator's clock and a late reply is counted as a slip by the
//! simulator (reported in every TICK).

pub mod transport;
pub mod wire;

use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use crate::hal::{
    Board, BoardCommand, BoardError, BoardEvent, BoardInfo, BoardStats, SignalState, Tick, check_command,
};
use transport::{FrameError, read_frame};
use wire::{Attach, Hello, MessageType, Pace, Writer};

/// Where `ctibox-sim` listens unless told otherwise.
pub const DEFAULT_SOCKET: &str = "/tmp/ctibox-sim.sock";

/// A board simulated by `ctibox-sim`, reached over its Unix socket.
#[derive(Debug)]
pub struct SimBoard {
    stream: UnixStream,
    path: PathBuf,
    info: BoardInfo,
    pace: Pace,
    signals: SignalState,
    stats: BoardStats,
    rbuf: Vec<u8>,
    writer: Writer,
    /// Number of the tick last read, which the next REPLY answers.
    last_tick: Option<u64>,
}

fn frame_error(path: &Path, e: FrameError) -> BoardError {
    match e {
        FrameError::Closed => {
            BoardError::Disconnected(format!("simulator at {} closed the connection", path.display()))
        }
        FrameError::Io(error) => {
            BoardError::Io { what: format!("reading from simulator at {}", path.display()), error }
        }
        FrameError::Wire(w) => BoardError::Protocol(w.to_string()),
    }
}

impl SimBoard {
    /// Attach to the simulator at `path` as `client` (a name the simulator
    /// shows in its status).
    pub fn connect(path: impl AsRef<Path>, client: &str) -> Result<SimBoard, BoardError> {
        let path = path.as_ref().to_path_buf();
        let mut stream = UnixStream::connect(&path).map_err(|error| BoardError::Io {
            what: format!("connecting to the simulator at {} (is `ctibox-sim serve` running?)", path.display()),
            error,
        })?;
        let mut writer = Writer::with_capacity(64 * 1024);
        let frame = Attach { version: wire::VERSION, client: client.to_owned() }.emit(&mut writer);
        // A simulator that refuses us may close before our ATTACH is
        // written; its REFUSE is still waiting to be read, and says why.
        let write_err = stream.write_all(frame).err();
        let mut rbuf = Vec::with_capacity(64 * 1024);
        if let Err(e) = read_frame(&mut stream, &mut rbuf) {
            return Err(match write_err {
                Some(error) => BoardError::Io { what: format!("writing to simulator at {}", path.display()), error },
                None => frame_error(&path, e),
            });
        }
        let (t, r) = wire::split_frame(&rbuf).map_err(|e| BoardError::Protocol(e.to_string()))?;
        match t {
            MessageType::Hello => {}
            MessageType::Refuse | MessageType::Bye => {
                let reason = wire::parse_reason(r).unwrap_or_else(|e| format!("(unreadable reason: {e})"));
                return Err(BoardError::Disconnected(format!(
                    "simulator at {} refused the connection: {reason}",
                    path.display()
                )));
            }
            other => return Err(BoardError::Protocol(format!("expected HELLO from the simulator, got {other:?}"))),
        }
        let hello = Hello::parse(&rbuf).map_err(|e| BoardError::Protocol(e.to_string()))?;
        Ok(SimBoard {
            stream,
            path,
            info: hello.info,
            pace: hello.pace,
            signals: hello.signals,
            stats: BoardStats::default(),
            rbuf,
            writer,
            last_tick: None,
        })
    }

    /// How the simulator paces ticks.
    pub fn pace(&self) -> Pace {
        self.pace
    }

    /// Say goodbye and close (dropping the board closes too, without a
    /// reason).
    pub fn close(mut self, reason: &str) {
        let f = wire::emit_reason(&mut self.writer, MessageType::Bye, reason);
        let _ = self.stream.write_all(f);
    }

    fn io_err(&self, what: &str, error: std::io::Error) -> BoardError {
        BoardError::Io { what: format!("{what} simulator at {}", self.path.display()), error }
    }
}

impl Board for SimBoard {
    fn info(&self) -> &BoardInfo {
        &self.info
    }

    fn read_tick(&mut self, rx: &mut [u8], events: &mut Vec<BoardEvent>) -> Result<Tick, BoardError> {
        if rx.len() != self.info.tick_bytes() {
            return Err(BoardError::BufferSize { which: "rx", expected: self.info.tick_bytes(), got: rx.len() });
        }
        if self.pace == Pace::Fast {
            // The next tick follows our reply at once: look for it before
            // sleeping.
            transport::spin_until_readable(self.stream.as_fd(), transport::LOCKSTEP_SPIN);
        }
        read_frame(&mut self.stream, &mut self.rbuf).map_err(|e| frame_error(&self.path, e))?;
        let (t, r) = wire::split_frame(&self.rbuf).map_err(|e| BoardError::Protocol(e.to_string()))?;
        match t {
            MessageType::Tick => {
                let first = events.len();
                let h = wire::parse_tick(r, rx, events).map_err(|e| BoardError::Protocol(e.to_string()))?;
                for ev in &events[first..] {
                    self.signals.apply_event(ev);
                }
                self.stats.ticks += 1;
                self.stats.slips = h.slips;
                self.last_tick = Some(h.number);
                Ok(Tick { number: h.number, start: h.start })
            }
            MessageType::Bye | MessageType::Refuse => {
                let reason = wire::parse_reason(r).unwrap_or_else(|e| format!("(unreadable reason: {e})"));
                Err(BoardError::Disconnected(format!("simulator at {} said goodbye: {reason}", self.path.display())))
            }
            other => Err(BoardError::Protocol(format!("expected TICK from the simulator, got {other:?}"))),
        }
    }

    fn write_tick(&mut self, tx: &[u8], commands: &[BoardCommand]) -> Result<(), BoardError> {
        if tx.len() != self.info.tick_bytes() {
            return Err(BoardError::BufferSize { which: "tx", expected: self.info.tick_bytes(), got: tx.len() });
        }
        for c in commands {
            check_command(&self.info, c)?;
        }
        let Some(number) = self.last_tick else {
            return Err(BoardError::Protocol("write_tick before any read_tick".into()));
        };
        let head = wire::emit_reply_head(&mut self.writer, number, commands, tx.len());
        if let Err(e) = transport::write_parts(&mut self.stream, head, tx) {
            if matches!(e.kind(), std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset) {
                return Err(BoardError::Disconnected(format!(
                    "simulator at {} closed the connection",
                    self.path.display()
                )));
            }
            return Err(self.io_err("writing to", e));
        }
        for c in commands {
            self.signals.apply_command(c);
        }
        Ok(())
    }

    fn stats(&self) -> BoardStats {
        self.stats
    }

    fn signals(&self) -> &SignalState {
        &self.signals
    }

    fn paced_by_clock(&self) -> bool {
        self.pace == Pace::RealTime
    }
}
