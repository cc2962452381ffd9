//! Opening any board by its config string, including the simulator linked
//! into the process.
//!
//! `builtin[:key=value,…]` is a simulated analog board inside this process
//! (no `ctibox-sim` needed): the daemon's demo board and the tools' quick
//! checks. Keys: `fxo` (4), `fxs` (4), `law` (`alaw`/`ulaw`), `country`
//! (`CN`, `RU`, `US`, `UK`, `EU`), `tick` (ms, 20), `seed` (1), `pace`
//! (`realtime`, the default, paced by the clock like a card; or `fast`,
//! lock-step), `cid` (`off`, `fsk`, `dtmf`: caller ID the central office
//! sends with inbound calls), `answer` (phones go off-hook by themselves
//! after this many rings; 0, the default: never). Every other string goes to
//! [`ctibox_driver::backend::open`].

use std::time::{Duration as WallDuration, Instant};

use ctibox_driver::backend::{self, OpenError};
use ctibox_driver::hal::{
    Board, BoardCommand, BoardError, BoardEvent, BoardInfo, BoardStats, Law, SignalState, Tick, TickLength,
};

use crate::board::InProcessBoard;
use crate::world::config::{CallerIdMode, LineConfig, PhoneConfig};
use crate::world::{ControlHandle, World, WorldConfig};

/// Options of a `builtin` board.
#[derive(Debug, Clone)]
pub struct BuiltinSpec {
    pub config: WorldConfig,
    pub realtime: bool,
}

/// Parse the part after `builtin:`.
pub fn parse_builtin(arg: Option<&str>) -> Result<BuiltinSpec, String> {
    let mut config = WorldConfig::default();
    let mut realtime = true;
    let mut cid = CallerIdMode::Off;
    let mut answer = None;
    for item in arg.unwrap_or("").split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (k, v) = item.split_once('=').ok_or_else(|| format!("`{item}` is not key=value"))?;
        let num = |what: &str| -> Result<u64, String> {
            v.parse::<u64>().map_err(|_| format!("{what} must be a whole number, not `{v}`"))
        };
        match k {
            "fxo" => config.fxo = u16::try_from(num("fxo")?).map_err(|_| "fxo is too large".to_string())?,
            "fxs" => config.fxs = u16::try_from(num("fxs")?).map_err(|_| "fxs is too large".to_string())?,
            "law" => {
                config.law = match v {
                    "alaw" => Law::ALaw,
                    "ulaw" => Law::MuLaw,
                    _ => return Err(format!("law must be alaw or ulaw, not `{v}`")),
                }
            }
            "country" => config.country = v.parse().map_err(|e| format!("country: {e}"))?,
            "tick" => {
                config.tick = TickLength::from_ms(num("tick")? as u32).map_err(|e| format!("tick: {e}"))?;
            }
            "seed" => config.seed = num("seed")?,
            "pace" => {
                realtime = match v {
                    "realtime" => true,
                    "fast" => false,
                    _ => return Err(format!("pace must be realtime or fast, not `{v}`")),
                }
            }
            "cid" => {
                cid = match v {
                    "off" => CallerIdMode::Off,
                    "fsk" => CallerIdMode::Fsk,
                    "dtmf" => CallerIdMode::Dtmf,
                    _ => return Err(format!("cid must be off, fsk or dtmf, not `{v}`")),
                }
            }
            "answer" => answer = Some(num("answer")? as u32).filter(|&n| n > 0),
            _ => {
                return Err(format!(
                    "unknown key `{k}` (known: fxo, fxs, law, country, tick, seed, pace, cid, answer)"
                ));
            }
        }
    }
    if config.fxo + config.fxs == 0 {
        return Err("a board needs at least one port (fxo or fxs)".into());
    }
    // Lines and phones as the world would make them, with these settings.
    config.lines = (0..config.fxo)
        .map(|i| LineConfig { caller_id: cid, ..LineConfig::new(format!("{}", 8000 + i as u32 + 1)) })
        .collect();
    config.phones = (0..config.fxs)
        .map(|i| PhoneConfig { auto_answer_rings: answer, ..PhoneConfig::new(format!("{}", 801 + i as u32)) })
        .collect();
    Ok(BuiltinSpec { config, realtime })
}

/// A board opened by [`open_board`], with the simulator's control handle
/// when it is a built-in one.
#[derive(Debug)]
pub struct Opened {
    pub board: Box<dyn Board>,
    /// Live control of the built-in world (place calls, dial on phones).
    pub control: Option<ControlHandle>,
}

/// Open the board named by `spec` (see the module doc).
pub fn open_board(spec: &str, client: &str) -> Result<Opened, OpenError> {
    let parsed = backend::BoardSpec::parse(spec);
    if parsed.kind != "builtin" {
        return Ok(Opened { board: backend::open(spec, client)?, control: None });
    }
    let b = parse_builtin(parsed.arg).map_err(|problem| OpenError::BadArgument { spec: spec.into(), problem })?;
    let world =
        World::new(b.config).map_err(|e| OpenError::BadArgument { spec: spec.into(), problem: e.to_string() })?;
    let control = Some(world.control_handle());
    let board = InProcessBoard::new(world);
    let board: Box<dyn Board> = if b.realtime { Box::new(Paced::new(board)) } else { Box::new(board) };
    Ok(Opened { board, control })
}

/// Paces any board like hardware: `read_tick` returns no earlier than the
/// tick's wall-clock time from the start. A caller that comes back more than
/// a tick late has slipped; the board counts it (the ticks are not lost: an
/// in-process world simply runs a little late).
#[derive(Debug)]
pub struct Paced<B: Board> {
    inner: B,
    start: Option<Instant>,
    tick: WallDuration,
    next: u64,
    slips: u64,
}

impl<B: Board> Paced<B> {
    pub fn new(inner: B) -> Self {
        let tick = inner.info().tick.wall();
        Paced { inner, start: None, tick, next: 0, slips: 0 }
    }
    pub fn inner(&self) -> &B {
        &self.inner
    }
}

impl<B: Board> Board for Paced<B> {
    fn info(&self) -> &BoardInfo {
        self.inner.info()
    }
    fn read_tick(&mut self, rx: &mut [u8], events: &mut Vec<BoardEvent>) -> Result<Tick, BoardError> {
        let start = *self.start.get_or_insert_with(Instant::now);
        let due = start + self.tick * (self.next as u32);
        let now = Instant::now();
        if now < due {
            std::thread::sleep(due - now);
        } else if now > due + self.tick {
            self.slips += 1;
        }
        self.next += 1;
        self.inner.read_tick(rx, events)
    }
    fn write_tick(&mut self, tx: &[u8], commands: &[BoardCommand]) -> Result<(), BoardError> {
        self.inner.write_tick(tx, commands)
    }
    fn stats(&self) -> BoardStats {
        let mut s = self.inner.stats();
        s.slips += self.slips;
        s
    }
    fn signals(&self) -> &SignalState {
        self.inner.signals()
    }
    fn paced_by_clock(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_spec_parsing() {
        let b = parse_builtin(Some("fxo=2, fxs=6,law=ulaw,country=US,tick=10,pace=fast")).unwrap();
        assert_eq!((b.config.fxo, b.config.fxs, b.config.law), (2, 6, Law::MuLaw));
        assert_eq!(b.config.tick, TickLength::MS_10);
        assert!(!b.realtime);
        assert!(parse_builtin(None).unwrap().realtime);
        let b = parse_builtin(Some("fxo=2,fxs=3,cid=fsk,answer=2")).unwrap();
        assert_eq!(b.config.lines.len(), 2);
        assert!(b.config.lines.iter().all(|l| l.caller_id == CallerIdMode::Fsk));
        assert_eq!(b.config.lines[1].number, "8002");
        assert_eq!(b.config.phones.iter().map(|p| p.auto_answer_rings).collect::<Vec<_>>(), vec![Some(2); 3]);
        assert_eq!(b.config.phones[2].number, "803");
        let b = parse_builtin(Some("cid=dtmf,answer=0")).unwrap();
        assert_eq!(b.config.lines[0].caller_id, CallerIdMode::Dtmf);
        assert_eq!(b.config.phones[0].auto_answer_rings, None);
        for (bad, want) in [
            ("fxo=x", "fxo must be a whole number"),
            ("law=pcm", "law must be alaw or ulaw"),
            ("tick=3.5", "tick must be a whole number"),
            ("tick=50", "tick:"),
            ("colour=red", "unknown key `colour`"),
            ("fxo", "is not key=value"),
            ("fxo=0,fxs=0", "at least one port"),
            ("pace=slow", "pace must be"),
            ("cid=yes", "cid must be off, fsk or dtmf"),
            ("answer=-1", "answer must be a whole number"),
        ] {
            let e = parse_builtin(Some(bad)).unwrap_err();
            assert!(e.contains(want), "{bad}: {e}");
        }
    }

    #[test]
    fn open_builtin_and_refuse_nonsense() {
        let o = open_board("builtin:fxo=1,fxs=1,pace=fast", "test").unwrap();
        assert_eq!(o.board.info().channel_count(), 2);
        assert!(o.control.is_some());
        let e = open_board("builtin:fxo=lots", "test").unwrap_err().to_string();
        assert!(e.contains("board `builtin:fxo=lots`: fxo must be a whole number"), "{e}");
        assert!(open_board("nonsense", "test").is_err());
    }

    #[test]
    fn paced_board_keeps_wall_time() {
        let o = open_board("builtin:fxo=1,fxs=0,tick=5", "test").unwrap();
        let mut b = o.board;
        let n = b.info().tick_bytes();
        let (mut rx, mut ev) = (vec![0u8; n], Vec::new());
        let t0 = Instant::now();
        for _ in 0..11 {
            b.read_tick(&mut rx, &mut ev).unwrap();
            b.write_tick(&vec![0xD5; n], &[]).unwrap();
        }
        let el = t0.elapsed();
        assert!(el >= WallDuration::from_millis(50), "11 ticks of 5 ms span at least 50 ms: {el:?}");
    }
}
