//! `ctibox board …`: open a board directly, like dahdi_tool and
//! dahdi_monitor, to see and poke its lines without the daemon.
//!
//! These commands attach to the board as its driver, so they cannot run
//! while the daemon holds the same board; the simulator says who holds it.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration as WallDuration;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use serde::Serialize;

use ctibox_boardsim::open_board;
use ctibox_driver::engine::{self, EngineCommand, EngineConfig, EngineEvent, EngineHandle, EngineStatsSnapshot};
use ctibox_driver::hal::{
    Board, BoardCommand, BoardEvent, BoardInfo, BoardStats, BoardTime, ChannelId, ChannelKind, CommandKind, EventKind,
    Polarity, SignalState, Target,
};
use ctibox_driver::media::detectors::{DetectorEvent, Detectors};

/// The board to use when none is given: `$CTIBOX_BOARD`, else the
/// simulator's default socket.
fn default_board() -> String {
    std::env::var("CTIBOX_BOARD").unwrap_or_else(|_| "sim".into())
}

#[derive(Debug, Args)]
pub struct BoardArgs {
    /// Board to open: `sim[:SOCKET]`, `builtin[:fxo=4,fxs=4,…]`
    /// (default: $CTIBOX_BOARD or `sim`).
    #[arg(long, global = true, default_value_t = default_board())]
    board: String,
    /// Print JSON instead of tables (one object per line for streams).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    cmd: BoardCmd,
}

#[derive(Debug, Subcommand)]
enum BoardCmd {
    /// Spans, channels, hook and ring state, slips.
    Status,
    /// Stream the board's events live (Ctrl-C to stop).
    Monitor(MonitorArgs),
    /// Ring an FXS port's phone.
    Ring(HoldArgs),
    /// Take an FXO port off-hook (seize the line).
    Offhook(HoldArgs),
    /// Put an FXO port on-hook.
    Onhook {
        /// Channel number (1-based, as in `ctibox board status`).
        channel: u16,
    },
}

#[derive(Debug, Args)]
struct MonitorArgs {
    /// Answer ringing FXO lines after this many rings.
    #[arg(long, value_name = "RINGS")]
    answer_after: Option<u32>,
    /// On answered lines, send the caller's audio back (echo test).
    #[arg(long, requires = "answer_after")]
    echo: bool,
    /// Stop after this many seconds of board time.
    #[arg(long = "for", value_name = "SECONDS")]
    duration: Option<f64>,
    /// Do not run the detectors (DTMF, call-progress tones, caller ID, fax
    /// tones): show line events only.
    #[arg(long)]
    no_detect: bool,
    /// Also run voice activity detection.
    #[arg(long)]
    vad: bool,
}

#[derive(Debug, Args)]
struct HoldArgs {
    /// Channel number (1-based, as in `ctibox board status`).
    channel: u16,
    /// How long to hold, in seconds of board time.
    #[arg(long = "for", value_name = "SECONDS", default_value_t = 2.0)]
    duration: f64,
}

pub fn run(args: BoardArgs) -> Result<i32> {
    match &args.cmd {
        BoardCmd::Status => status(&args),
        BoardCmd::Monitor(m) => monitor(&args, m),
        BoardCmd::Ring(h) => hold(&args, h, CommandKind::RingStart, CommandKind::RingStop, ChannelKind::Fxs),
        BoardCmd::Offhook(h) => hold(&args, h, CommandKind::OffHook, CommandKind::OnHook, ChannelKind::Fxo),
        BoardCmd::Onhook { channel } => onhook(&args, *channel),
    }
}

fn open(args: &BoardArgs, what: &str) -> Result<Box<dyn Board>> {
    let opened = open_board(&args.board, &format!("ctibox board {what}"))?;
    Ok(opened.board)
}

#[derive(Serialize)]
struct StatusJson<'a> {
    board: &'a BoardInfo,
    signals: &'a SignalState,
    stats: BoardStats,
    board_time: BoardTime,
}

fn status(args: &BoardArgs) -> Result<i32> {
    let mut board = open(args, "status")?;
    // One tick brings the board's counters (slips) and time.
    let n = board.info().tick_bytes();
    let mut rx = vec![0u8; n];
    let mut events = Vec::new();
    let tick = board.read_tick(&mut rx, &mut events)?;
    let mut idle = vec![0u8; n];
    ctibox_boardsim::fill_idle(board.info(), &mut idle);
    board.write_tick(&idle, &[])?;
    let info = board.info();
    let signals = board.signals();
    let stats = board.stats();
    if args.json {
        let j = StatusJson { board: info, signals, stats, board_time: tick.start };
        println!("{}", serde_json::to_string_pretty(&j)?);
        return Ok(0);
    }
    println!("board {}   tick {} ms   board time {}   slips {}", info.name, info.tick.ms(), tick.start, stats.slips);
    for span in &info.spans {
        let last = span.first_channel.0 + span.channel_count.saturating_sub(1);
        println!(
            "span {}  {}  {}  channels {}-{}  alarms {}",
            span.id,
            span.kind,
            span.law,
            span.first_channel,
            last,
            signals.alarms(span.id).unwrap_or_default()
        );
    }
    println!(
        "{:>4}  {:<5}  {:<8}  {:<7}  {:<4}  {:<8}  {:<4}",
        "CH", "KIND", "HOOK", "RING", "LOOP", "POLARITY", "CAS"
    );
    for ch in &info.channels {
        let s = signals.channel(ch.id).copied().unwrap_or_default();
        let hook = if s.off_hook { "off-hook" } else { "on-hook" };
        let ring = match (ch.kind, s.ringing) {
            (_, false) => "-",
            (ChannelKind::Fxo, true) => "ringing",
            (_, true) => "ringing",
        };
        let lc = if s.loop_current { "yes" } else { "no" };
        let pol = match s.polarity {
            Polarity::Normal => "normal",
            Polarity::Reversed => "reversed",
        };
        let cas = if ch.kind == ChannelKind::E1Bearer { format!("{}/{}", s.rx_cas, s.tx_cas) } else { "-".into() };
        println!("{:>4}  {:<5}  {:<8}  {:<7}  {:<4}  {:<8}  {:<4}", ch.id.0, ch.kind.name(), hook, ring, lc, pol, cas);
    }
    Ok(0)
}

/// Human-readable line for one board event.
fn event_line(info: &BoardInfo, ev: &BoardEvent) -> String {
    let target = match ev.target {
        Target::Channel(c) => match info.channel(c) {
            Some(ch) => format!("ch {:<3} {:<5}", c, ch.kind.name()),
            None => format!("ch {c:<3} ?    "),
        },
        Target::Span(s) => format!("span {s:<7}"),
    };
    let detail = match ev.kind {
        EventKind::CasBits { bits } => format!(" {bits}"),
        EventKind::Alarm { alarms } => format!(" {alarms}"),
        EventKind::HdlcFrame { frame } => format!(" {frame:?}"),
        _ => String::new(),
    };
    format!("{:>12}  {}  {}{}", ev.at.to_string(), target, ev.kind.name(), detail)
}

/// Human-readable line for what a channel's detectors found.
fn detector_line(info: &BoardInfo, ch: ChannelId, ev: &DetectorEvent) -> String {
    let kind = info.channel(ch).map_or("?", |c| c.kind.name());
    let (at, what) = match *ev {
        DetectorEvent::DtmfBegin { digit, start } => (start, format!("dtmf {digit} (key down)")),
        DetectorEvent::Dtmf { digit, start, end, level_dbm0 } => {
            (end, format!("dtmf {digit} ({} ms, {level_dbm0:.1} dBm0)", end.since(start).as_ms()))
        }
        DetectorEvent::Tone { kind, at, level_dbm0, .. } => (at, format!("tone {kind} ({level_dbm0:.1} dBm0)")),
        DetectorEvent::ToneEnd { kind, end } => (end, format!("tone {kind} ended")),
        DetectorEvent::CallerId { caller_id, end, fsk, .. } => {
            let number = caller_id.number.as_ref().and_then(|n| n.as_str()).unwrap_or("-").to_string();
            let name = caller_id.name.as_ref().and_then(|n| n.as_str()).unwrap_or("").to_string();
            (end, format!("caller id {} number={number} name={name}", if fsk { "fsk" } else { "dtmf" }))
        }
        DetectorEvent::CallerIdFailed { end, .. } => (end, "caller id damaged (ignored)".to_string()),
        DetectorEvent::Fax { tone, at, .. } => (at, format!("fax tone {tone}")),
        DetectorEvent::FaxEnded { tone, end } => (end, format!("fax tone {tone} ended")),
        DetectorEvent::VoiceStart { at, .. } => (at, "voice start".to_string()),
        DetectorEvent::VoiceStop { at, .. } => (at, "voice stop".to_string()),
        DetectorEvent::SilenceTimeout { at, .. } => (at, "silence timeout".to_string()),
    };
    format!("{:>12}  ch {:<3} {:<5}  {what}", at.to_string(), ch, kind)
}

/// A detector event as JSON: `{"kind": …, "at": …, …}`.
fn detector_json(ev: &DetectorEvent) -> serde_json::Value {
    use serde_json::json;
    match *ev {
        DetectorEvent::DtmfBegin { digit, start } => {
            json!({"kind": "dtmf_begin", "digit": digit.to_string(), "start": start})
        }
        DetectorEvent::Dtmf { digit, start, end, level_dbm0 } => {
            json!({"kind": "dtmf", "digit": digit.to_string(), "start": start, "end": end, "level_dbm0": level_dbm0})
        }
        DetectorEvent::Tone { kind, start, at, level_dbm0 } => {
            json!({"kind": "tone", "tone": kind.to_string(), "start": start, "at": at, "level_dbm0": level_dbm0})
        }
        DetectorEvent::ToneEnd { kind, end } => json!({"kind": "tone_end", "tone": kind.to_string(), "end": end}),
        DetectorEvent::CallerId { caller_id, start, end, fsk } => json!({
            "kind": "caller_id",
            "number": caller_id.number.as_ref().and_then(|n| n.as_str()),
            "name": caller_id.name.as_ref().and_then(|n| n.as_str()),
            "start": start, "end": end, "fsk": fsk
        }),
        DetectorEvent::CallerIdFailed { start, end, fsk } => {
            json!({"kind": "caller_id_failed", "start": start, "end": end, "fsk": fsk})
        }
        DetectorEvent::Fax { tone, start, at, level_dbm0 } => {
            json!({"kind": "fax", "tone": tone.to_string(), "start": start, "at": at, "level_dbm0": level_dbm0})
        }
        DetectorEvent::FaxEnded { tone, end } => json!({"kind": "fax_ended", "tone": tone.to_string(), "end": end}),
        DetectorEvent::VoiceStart { start, at } => json!({"kind": "voice_start", "start": start, "at": at}),
        DetectorEvent::VoiceStop { end, at } => json!({"kind": "voice_stop", "end": end, "at": at}),
        DetectorEvent::SilenceTimeout { since, at } => json!({"kind": "silence_timeout", "since": since, "at": at}),
    }
}

/// Signals Ctrl-C and SIGTERM through a flag.
fn stop_flag() -> Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone()).context("installing the signal handler")?;
    }
    Ok(stop)
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum MonitorJson<'a> {
    Board(&'a BoardEvent),
    Detected { channel: ChannelId, event: serde_json::Value },
    Action { at: BoardTime, channel: ChannelId, action: &'static str },
    Refused { at: BoardTime, command: &'static str, why: String },
}

fn monitor(args: &BoardArgs, m: &MonitorArgs) -> Result<i32> {
    let board = open(args, "monitor")?;
    let info = board.info().clone();
    let stop = stop_flag()?;
    let (handle, join) = engine::spawn(board, EngineConfig::default())?;
    if !m.no_detect {
        let detectors = Detectors { dtmf: true, tones: true, cid_fsk: true, cid_dtmf: false, fax: true, vad: m.vad };
        for ch in info.channels.iter().filter(|c| c.kind.has_audio()) {
            let _ = handle.send(EngineCommand::SetDetectors { channel: ch.id, detectors });
        }
    }
    if !args.json {
        println!(
            "monitoring {} ({} channels, {} ms ticks){}; Ctrl-C to stop",
            info.name,
            info.channel_count(),
            info.tick.ms(),
            match m.answer_after {
                Some(n) => format!(", answering after {n} ring{}", if n == 1 { "" } else { "s" }),
                None => String::new(),
            }
        );
    }
    let until = m.duration.map(|s| BoardTime::from_samples((s * 8000.0).round().max(0.0) as u64));
    let mut rings: HashMap<ChannelId, u32> = HashMap::new();
    let mut answered: HashMap<ChannelId, bool> = HashMap::new();
    let mut exit = 0;
    let say = |line: String, json: MonitorJson<'_>| {
        if args.json {
            if let Ok(s) = serde_json::to_string(&json) {
                println!("{s}");
            }
        } else {
            println!("{line}");
        }
    };
    loop {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let now = handle.stats.snapshot().board_time;
        if until.is_some_and(|u| now >= u) {
            break;
        }
        let ev = match handle.events.recv_timeout(WallDuration::from_millis(100)) {
            Ok(ev) => ev,
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => continue,
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
        };
        match ev {
            EngineEvent::Board(ev) => {
                say(event_line(&info, &ev), MonitorJson::Board(&ev));
                if let (Some(n), Target::Channel(ch)) = (m.answer_after, ev.target) {
                    answer_logic(&handle, &info, ch, &ev, n, m.echo, &mut rings, &mut answered, &say);
                }
            }
            EngineEvent::Refused { command, at, why } => {
                say(
                    format!("{:>12}  refused {command}: {why}", at.to_string()),
                    MonitorJson::Refused { at, command, why: why.to_string() },
                );
            }
            EngineEvent::BoardFailed { at, error } => {
                eprintln!("{:>12}  board stopped: {error}", at.to_string());
                exit = 1;
                break;
            }
            // A key going down is reported again, complete, when it is
            // released: people read the second one.
            EngineEvent::Detected { event: DetectorEvent::DtmfBegin { .. }, .. } if !args.json => {}
            EngineEvent::Detected { channel, event } => {
                say(
                    detector_line(&info, channel, &event),
                    MonitorJson::Detected { channel, event: detector_json(&event) },
                );
            }
            EngineEvent::MediaDone { .. }
            | EngineEvent::RecordDone { .. }
            | EngineEvent::Line { .. }
            | EngineEvent::Tick { .. }
            | EngineEvent::Released(_) => {}
        }
    }
    handle.stop();
    match join.join() {
        Ok(Ok(())) => {}
        Ok(Err(e)) if exit == 0 => {
            eprintln!("board stopped: {e}");
            exit = 1;
        }
        Ok(Err(_)) => {}
        Err(_) => bail!("the engine thread panicked"),
    }
    eprintln!("{}", engine_summary(&handle.stats.snapshot(), info.tick.wall()));
    Ok(exit)
}

/// How the engine kept up, for the end of a monitor run: ticks, the share
/// of tick time spent working, the longest tick's work, the board's slips.
fn engine_summary(s: &EngineStatsSnapshot, tick: WallDuration) -> String {
    let busy = if s.ticks == 0 { 0.0 } else { s.busy_ns as f64 / (s.ticks as f64 * tick.as_nanos() as f64) * 100.0 };
    format!(
        "engine: {} ticks, busy {busy:.1}% of the tick time, longest tick {:.2} ms of work, {} slips reported by the board",
        s.ticks,
        s.max_tick_ns as f64 / 1e6,
        s.board_slips
    )
}

/// `--answer-after`: count rings on FXO lines, answer, hang up when the far
/// end goes away.
#[allow(clippy::too_many_arguments)]
fn answer_logic(
    handle: &EngineHandle,
    info: &BoardInfo,
    ch: ChannelId,
    ev: &BoardEvent,
    after: u32,
    echo: bool,
    rings: &mut HashMap<ChannelId, u32>,
    answered: &mut HashMap<ChannelId, bool>,
    say: &dyn Fn(String, MonitorJson<'_>),
) {
    if info.channel(ch).map(|c| c.kind) != Some(ChannelKind::Fxo) {
        return;
    }
    let is_answered = answered.get(&ch).copied().unwrap_or(false);
    match ev.kind {
        EventKind::RingOn if !is_answered => {
            let n = rings.entry(ch).or_insert(0);
            *n += 1;
            if *n >= after {
                let _ = handle.send(EngineCommand::Board(BoardCommand::new(ch, CommandKind::OffHook)));
                if echo {
                    let _ = handle.send(EngineCommand::Echo { channel: ch, on: true });
                }
                answered.insert(ch, true);
                let what = if echo { "answer (echo on)" } else { "answer" };
                say(
                    format!("{:>12}  ch {:<3} fxo    {what}", ev.at.to_string(), ch),
                    MonitorJson::Action { at: ev.at, channel: ch, action: "answer" },
                );
            }
        }
        EventKind::LoopCurrentDrop if is_answered => {
            let _ = handle.send(EngineCommand::Board(BoardCommand::new(ch, CommandKind::OnHook)));
            let _ = handle.send(EngineCommand::Echo { channel: ch, on: false });
            answered.insert(ch, false);
            rings.insert(ch, 0);
            say(
                format!("{:>12}  ch {:<3} fxo    hang up (far end left)", ev.at.to_string(), ch),
                MonitorJson::Action { at: ev.at, channel: ch, action: "hangup" },
            );
        }
        _ => {}
    }
}

/// Check a channel number against the board and the kind a command needs.
fn check_channel(info: &BoardInfo, channel: u16, want: ChannelKind, what: &str) -> Result<ChannelId> {
    let ch = ChannelId(channel);
    let Some(c) = info.channel(ch) else {
        bail!("channel {channel} does not exist: {} has channels 1-{}", info.name, info.channel_count());
    };
    if c.kind != want {
        bail!("channel {channel} is an {} port; `{what}` needs an {} port", c.kind.name(), want.name());
    }
    Ok(ch)
}

fn hold(args: &BoardArgs, h: &HoldArgs, on: CommandKind, off: CommandKind, want: ChannelKind) -> Result<i32> {
    let what = match on {
        CommandKind::RingStart => "ring",
        _ => "offhook",
    };
    if !(h.duration.is_finite() && h.duration >= 0.0) {
        bail!("--for must be a number of seconds, 0 or more");
    }
    let mut board = open(args, what)?;
    let info = board.info().clone();
    let ch = check_channel(&info, h.channel, want, what)?;
    let n = info.tick_bytes();
    let (mut rx, mut idle, mut events) = (vec![0u8; n], vec![0u8; n], Vec::new());
    ctibox_boardsim::fill_idle(&info, &mut idle);
    let ticks = ((h.duration * 1000.0) / info.tick.ms() as f64).ceil() as u64;
    for i in 0..=ticks {
        events.clear();
        board.read_tick(&mut rx, &mut events)?;
        for ev in &events {
            if !args.json {
                println!("{}", event_line(&info, ev));
            } else if let Ok(s) = serde_json::to_string(ev) {
                println!("{s}");
            }
        }
        let cmd = if i == 0 {
            Some(on)
        } else if i == ticks {
            Some(off)
        } else {
            None
        };
        let cmds: Vec<BoardCommand> = cmd.map(|k| BoardCommand::new(ch, k)).into_iter().collect();
        board.write_tick(&idle, &cmds)?;
    }
    if !args.json {
        println!("{what} on channel {ch} for {:.1} s: done", h.duration);
    }
    Ok(0)
}

fn onhook(args: &BoardArgs, channel: u16) -> Result<i32> {
    let mut board = open(args, "onhook")?;
    let info = board.info().clone();
    let ch = check_channel(&info, channel, ChannelKind::Fxo, "onhook")?;
    let n = info.tick_bytes();
    let (mut rx, mut idle, mut events) = (vec![0u8; n], vec![0u8; n], Vec::new());
    ctibox_boardsim::fill_idle(&info, &mut idle);
    board.read_tick(&mut rx, &mut events)?;
    board.write_tick(&idle, &[BoardCommand::new(ch, CommandKind::OnHook)])?;
    if !args.json {
        println!("channel {ch} on-hook");
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_summary_gives_busy_share_and_longest_tick() {
        let s = EngineStatsSnapshot {
            ticks: 100,
            busy_ns: 100 * 2_000_000,
            max_tick_ns: 3_500_000,
            board_slips: 2,
            ..Default::default()
        };
        assert_eq!(
            engine_summary(&s, WallDuration::from_millis(20)),
            "engine: 100 ticks, busy 10.0% of the tick time, longest tick 3.50 ms of work, 2 slips reported by the board"
        );
        assert!(engine_summary(&EngineStatsSnapshot::default(), WallDuration::from_millis(20)).contains("busy 0.0%"));
    }
}
