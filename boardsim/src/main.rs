//! `ctibox-sim`: the board simulator's command line.
//!
//! - `serve`: a world of N FXO lines and M FXS phones on the board socket,
//!   with a control socket for live commands.
//! - `run FILE`: a scenario's world, served until its timelines are done;
//!   prints one line per expectation and exits 0 (all passed), 1 (something
//!   failed) or 2 (bad scenario file).
//! - `call`, `dial`, `hangup`, `offhook`, `flash`, `answer`, `status`: live
//!   commands to a running simulator through its control socket (`call
//!   --count N` places N calls over one connection).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use nix::sys::signal::{SigSet, Signal};

use ctibox_boardsim::control::{self, ControlServer, WireRequest};
use ctibox_boardsim::scenario::{self, RunOutcome};
use ctibox_boardsim::server::{self, Pace, ServeOptions};
use ctibox_boardsim::world::{CallerIdMode, Country, LineConfig, PhoneConfig, World, WorldConfig};
use ctibox_driver::hal::{Duration, Law, TickLength};

const DEFAULT_SOCKET: &str = "/tmp/ctibox-sim.sock";
const DEFAULT_CONTROL: &str = "/tmp/ctibox-sim.ctl";

#[derive(Debug, Parser)]
#[command(
    name = "ctibox-sim",
    version,
    about = "ctibox board simulator: a central office, callers and phones behind a simulated analog board"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Args)]
struct PaceArgs {
    /// Lock-step with the driver, as fast as it answers (default).
    #[arg(long, conflicts_with = "realtime")]
    fast: bool,
    /// Paced like hardware, one tick per tick length of wall time.
    #[arg(long)]
    realtime: bool,
}

impl PaceArgs {
    fn pace(&self) -> Pace {
        if self.realtime { Pace::RealTime } else { Pace::Fast }
    }
}

/// How the served world's lines and phones behave (a scenario file says
/// this per line and phone; `serve` says it for all of them).
#[derive(Debug, Args)]
struct PortArgs {
    /// Caller ID the exchange sends to a ringing FXO port: off, fsk or dtmf.
    #[arg(long, default_value = "off")]
    cid: String,
    /// Every phone answers by itself after this many rings.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    answer: Option<u32>,
    /// A phone hangs up this many seconds after it answered a call; a
    /// range `MIN-MAX` spreads the phones evenly over it (the first talks
    /// MIN, the last MAX), so their calls do not all end together.
    #[arg(long, value_name = "SECS|MIN-MAX")]
    talk: Option<String>,
    /// A phone hangs up this many seconds after the board releases its call
    /// (loop current withdrawn while it is off-hook).
    #[arg(long)]
    release: Option<f64>,
}

impl PortArgs {
    /// Lines and phones for a world of `fxo` + `fxs` ports.
    fn apply(&self, cfg: &mut WorldConfig) -> anyhow::Result<()> {
        let cid = match self.cid.to_ascii_lowercase().as_str() {
            "off" => CallerIdMode::Off,
            "fsk" => CallerIdMode::Fsk,
            "dtmf" => CallerIdMode::Dtmf,
            _ => bail!("--cid: unknown caller ID mode \"{}\" (off, fsk or dtmf)", self.cid),
        };
        let secs = |name: &str, v: Option<f64>| -> anyhow::Result<Option<Duration>> {
            match v {
                None => Ok(None),
                Some(s) if s.is_finite() && s > 0.0 && s <= 86_400.0 => {
                    Ok(Some(Duration::from_ms((s * 1000.0) as u64)))
                }
                Some(s) => bail!("--{name}: {s} is not a number of seconds between 0 and 86400"),
            }
        };
        let (talk_min, talk_max) = match self.talk.as_deref().map(str::trim) {
            None => (None, None),
            Some(t) => {
                let number = |v: &str| {
                    v.trim().parse::<f64>().map_err(|_| anyhow::anyhow!("--talk: `{t}` is not SECS or MIN-MAX"))
                };
                let (a, b) = match t.split_once('-') {
                    Some((a, b)) => (number(a)?, number(b)?),
                    None => (number(t)?, number(t)?),
                };
                if a > b {
                    bail!("--talk: the range {t} runs backwards");
                }
                (secs("talk", Some(a))?, secs("talk", Some(b))?)
            }
        };
        let talk = |i: u16| -> Option<Duration> {
            let (a, b) = (talk_min?.as_ms(), talk_max?.as_ms());
            let span = u64::from(cfg.fxs.saturating_sub(1).max(1));
            Some(Duration::from_ms(a + (b - a) * u64::from(i) / span))
        };
        let release = secs("release", self.release)?;
        cfg.lines = (0..cfg.fxo)
            .map(|i| LineConfig { caller_id: cid, ..LineConfig::new(format!("{}", 8000 + u32::from(i) + 1)) })
            .collect();
        let phones = (0..cfg.fxs)
            .map(|i| PhoneConfig {
                auto_answer_rings: self.answer,
                talk_for: talk(i),
                hang_up_on_release: release,
                ..PhoneConfig::new(format!("{}", 801 + u32::from(i)))
            })
            .collect();
        cfg.phones = phones;
        Ok(())
    }
}

#[derive(Debug, Args)]
struct ControlArg {
    /// The simulator's control socket.
    #[arg(long, default_value = DEFAULT_CONTROL)]
    control: PathBuf,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Serve a world with FXO lines and FXS phones.
    Serve {
        #[arg(long, default_value_t = 4)]
        fxo: u16,
        #[arg(long, default_value_t = 4)]
        fxs: u16,
        /// alaw or ulaw.
        #[arg(long, default_value = "alaw")]
        law: String,
        /// CN, RU, US, UK or EU.
        #[arg(long, default_value = "CN")]
        country: String,
        #[arg(long, default_value_t = 20)]
        tick_ms: u32,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Board socket the driver attaches to.
        #[arg(long, default_value = DEFAULT_SOCKET)]
        socket: PathBuf,
        /// Control socket for live commands.
        #[arg(long, default_value = DEFAULT_CONTROL)]
        control: PathBuf,
        #[command(flatten)]
        pace: PaceArgs,
        #[command(flatten)]
        ports: PortArgs,
    },
    /// Run a scenario file until its timelines are done.
    Run {
        file: PathBuf,
        #[arg(long, default_value = DEFAULT_SOCKET)]
        socket: PathBuf,
        /// Also accept live commands on this control socket.
        #[arg(long)]
        control: Option<PathBuf>,
        /// Write the results as JSON here.
        #[arg(long)]
        report: Option<PathBuf>,
        #[command(flatten)]
        pace: PaceArgs,
    },
    /// Ring a line from a caller.
    Call {
        #[arg(long)]
        line: u16,
        /// Call this many lines from --line on, one after another over one
        /// connection: line L+i is called from FROM+i (as many digits as
        /// FROM) with pattern SEED+i.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
        count: u16,
        #[arg(long)]
        from: String,
        /// What the caller says: a WAV file…
        #[arg(long, conflicts_with_all = ["tone", "pattern"])]
        audio: Option<PathBuf>,
        /// …or a continuous tone (Hz; give twice for a dual tone)…
        #[arg(long, conflicts_with = "pattern")]
        tone: Vec<f32>,
        /// …or a seeded pseudo-random pattern.
        #[arg(long)]
        pattern: Option<u64>,
        /// Hang up this many seconds after the answer.
        #[arg(long)]
        hangup_after: Option<f64>,
        #[command(flatten)]
        control: ControlArg,
    },
    /// Dial DTMF from a phone, or key DTMF as a line's caller/party.
    Dial {
        #[arg(long, conflicts_with = "line", required_unless_present = "line")]
        phone: Option<u16>,
        #[arg(long)]
        line: Option<u16>,
        digits: String,
        #[command(flatten)]
        control: ControlArg,
    },
    /// A line's far end hangs up, or a phone goes on-hook.
    Hangup {
        #[arg(long, conflicts_with = "phone", required_unless_present = "phone")]
        line: Option<u16>,
        #[arg(long)]
        phone: Option<u16>,
        #[command(flatten)]
        control: ControlArg,
    },
    /// A phone goes off-hook.
    Offhook {
        #[arg(long)]
        phone: u16,
        #[command(flatten)]
        control: ControlArg,
    },
    /// A phone flashes the hook.
    Flash {
        #[arg(long)]
        phone: u16,
        #[command(flatten)]
        control: ControlArg,
    },
    /// A ringing phone answers.
    Answer {
        #[arg(long)]
        phone: u16,
        #[command(flatten)]
        control: ControlArg,
    },
    /// Show every line and phone.
    Status {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        control: ControlArg,
    },
}

/// Block SIGINT/SIGTERM in every thread and set `stop` when one arrives.
fn stop_on_signals() -> anyhow::Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    let mut set = SigSet::empty();
    set.add(Signal::SIGINT);
    set.add(Signal::SIGTERM);
    set.thread_block().context("blocking signals")?;
    let s = stop.clone();
    std::thread::Builder::new().name("signals".into()).spawn(move || {
        if set.wait().is_ok() {
            s.store(true, Ordering::Relaxed);
        }
    })?;
    Ok(stop)
}

fn parse_law(s: &str) -> anyhow::Result<Law> {
    match s.to_ascii_lowercase().as_str() {
        "alaw" | "a" => Ok(Law::ALaw),
        "ulaw" | "mulaw" | "u" => Ok(Law::MuLaw),
        _ => bail!("--law: unknown law \"{s}\" (alaw or ulaw)"),
    }
}

fn serve_world(world: &mut World, socket: &Path, pace: Pace, stop: Arc<AtomicBool>) -> anyhow::Result<()> {
    let opts = ServeOptions { socket: socket.to_path_buf(), pace, stop };
    tracing::info!("serving {} on {} ({pace:?})", ctibox_boardsim::SimWorld::info(world).name, socket.display());
    let report = server::serve(world, &opts).with_context(|| format!("serving on {}", socket.display()))?;
    tracing::info!(
        "served {} ticks to {} driver(s), {} slips, {} refused",
        report.ticks,
        report.connections,
        report.slips,
        report.refused
    );
    Ok(())
}

fn live(control: &Path, req: WireRequest, json: bool) -> anyhow::Result<ExitCode> {
    let reply = control::send(control, &req)?;
    if !reply.ok {
        eprintln!("ctibox-sim: {}", reply.error.as_deref().unwrap_or("the request failed"));
        return Ok(ExitCode::from(1));
    }
    match (&reply.status, json) {
        (Some(s), true) => println!("{}", serde_json::to_string_pretty(s)?),
        (Some(s), false) => print!("{}", control::render_status(s)),
        (None, _) => {
            let at = reply.at_ms.unwrap_or(0);
            println!("ok at board time {}.{:03}s", at / 1000, at % 1000);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `call --count N`: the calls of `first` on N lines, one request after
/// another over one connection. A call that fails is named on stderr and
/// the others are still placed.
fn call_many(control: &Path, first: &WireRequest, count: u16) -> anyhow::Result<ExitCode> {
    let line0 = first.line.unwrap_or(1);
    let last_line =
        line0.checked_add(count - 1).with_context(|| format!("--line {line0} --count {count}: past line 65535"))?;
    let from0 = first.from.clone().unwrap_or_default();
    control::nth_number(&from0, u64::from(count) - 1).map_err(|e| anyhow::anyhow!("--from: {e}"))?;
    let mut client = control::Client::connect(control)?;
    let (mut placed, mut failed) = (0u32, 0u32);
    let (mut first_at, mut last_at) = (None, 0);
    for i in 0..count {
        let mut r = first.clone();
        r.line = Some(line0 + i);
        r.from = Some(control::nth_number(&from0, u64::from(i)).map_err(|e| anyhow::anyhow!("--from: {e}"))?);
        r.pattern = first.pattern.map(|p| p.wrapping_add(u64::from(i)));
        let reply = client.request(&r)?;
        if reply.ok {
            placed += 1;
            let at = reply.at_ms.unwrap_or(0);
            first_at.get_or_insert(at);
            last_at = at;
        } else {
            failed += 1;
            eprintln!("ctibox-sim: line {}: {}", line0 + i, reply.error.as_deref().unwrap_or("the request failed"));
        }
    }
    let ms = |t: u64| format!("{}.{:03}s", t / 1000, t % 1000);
    match first_at {
        Some(t0) => println!(
            "{placed} of {count} calls placed on lines {line0}-{last_line}, board time {} to {}",
            ms(t0),
            ms(last_at)
        ),
        None => println!("none of {count} calls placed on lines {line0}-{last_line}"),
    }
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ctibox-sim: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.cmd {
        Cmd::Serve { fxo, fxs, law, country, tick_ms, seed, socket, control, pace, ports } => {
            let country: Country = country.parse().map_err(|e| anyhow::anyhow!("--country: {e}"))?;
            let tick = TickLength::from_ms(tick_ms).map_err(|e| anyhow::anyhow!("--tick-ms: {e}"))?;
            let mut cfg =
                WorldConfig { fxo, fxs, law: parse_law(&law)?, tick, country, seed, ..WorldConfig::default() };
            ports.apply(&mut cfg)?;
            let mut world = World::new(cfg).context("the world's configuration")?;
            let stop = stop_on_signals()?;
            let _ctl = ControlServer::start(&control, world.control_handle())?;
            tracing::info!("control socket {}", control.display());
            serve_world(&mut world, &socket, pace.pace(), stop)?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Run { file, socket, control, report, pace } => {
            let stop = stop_on_signals()?;
            let mut ctl_err = None;
            let outcome = scenario::run_file(&file, |world| {
                let _ctl = match &control {
                    Some(p) => match ControlServer::start(p, world.control_handle()) {
                        Ok(c) => Some(c),
                        Err(e) => {
                            ctl_err = Some(e.to_string());
                            return Err(e.to_string());
                        }
                    },
                    None => None,
                };
                serve_world(world, &socket, pace.pace(), stop.clone()).map_err(|e| format!("{e:#}"))?;
                if stop.load(Ordering::Relaxed) {
                    return Err("interrupted".into());
                }
                Ok(())
            });
            match &outcome {
                RunOutcome::BadScenario(e) => {
                    eprintln!("ctibox-sim: {e}");
                }
                RunOutcome::Ran(r) => {
                    print!("{}", r.render());
                    if let Some(p) = &report {
                        std::fs::write(p, r.to_json()).with_context(|| format!("writing {}", p.display()))?;
                    }
                }
            }
            if let Some(e) = ctl_err {
                tracing::error!("{e}");
            }
            Ok(ExitCode::from(outcome.exit_code() as u8))
        }
        Cmd::Call { line, count, from, audio, tone, pattern, hangup_after, control } => {
            let mut r = WireRequest::op("call");
            r.line = Some(line);
            r.from = Some(from);
            r.wav = audio.map(|p| std::path::absolute(&p).unwrap_or(p));
            r.tone = if tone.is_empty() { None } else { Some(tone) };
            r.pattern = pattern;
            r.hangup_after_ms = hangup_after.map(|s| (s * 1000.0).round().max(0.0) as u64);
            if count == 1 { live(&control.control, r, false) } else { call_many(&control.control, &r, count) }
        }
        Cmd::Dial { phone, line, digits, control } => {
            let mut r = WireRequest::op("dial");
            r.phone = phone;
            r.line = line;
            r.digits = Some(digits);
            live(&control.control, r, false)
        }
        Cmd::Hangup { line, phone, control } => {
            let mut r = WireRequest::op("hangup");
            r.phone = phone;
            r.line = line;
            live(&control.control, r, false)
        }
        Cmd::Offhook { phone, control } => {
            let mut r = WireRequest::op("offhook");
            r.phone = Some(phone);
            live(&control.control, r, false)
        }
        Cmd::Flash { phone, control } => {
            let mut r = WireRequest::op("flash");
            r.phone = Some(phone);
            live(&control.control, r, false)
        }
        Cmd::Answer { phone, control } => {
            let mut r = WireRequest::op("answer");
            r.phone = Some(phone);
            live(&control.control, r, false)
        }
        Cmd::Status { json, control } => live(&control.control, WireRequest::op("status"), json),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ports(cid: &str, answer: Option<u32>, talk: Option<&str>, release: Option<f64>) -> PortArgs {
        PortArgs { cid: cid.into(), answer, talk: talk.map(str::to_string), release }
    }

    #[test]
    fn serve_options_set_every_line_and_phone() {
        let mut cfg = WorldConfig { fxo: 3, fxs: 2, ..WorldConfig::default() };
        ports("FSK", Some(1), Some("30"), Some(0.5)).apply(&mut cfg).unwrap();
        assert_eq!(cfg.lines.len(), 3);
        assert!(cfg.lines.iter().all(|l| l.caller_id == CallerIdMode::Fsk));
        assert_eq!(cfg.lines[2].number, "8003");
        assert_eq!(cfg.phones.len(), 2);
        assert_eq!(cfg.phones[1].number, "802");
        assert!(cfg.phones.iter().all(|p| p.auto_answer_rings == Some(1)
            && p.talk_for == Some(Duration::from_ms(30_000))
            && p.hang_up_on_release == Some(Duration::from_ms(500))));
        // Without options the phones wait to be told, as before.
        let mut plain = WorldConfig { fxo: 1, fxs: 1, ..WorldConfig::default() };
        ports("off", None, None, None).apply(&mut plain).unwrap();
        assert_eq!(plain.phones[0].auto_answer_rings, None);
        assert_eq!(plain.phones[0].talk_for, None);
        assert_eq!(plain.lines[0].caller_id, CallerIdMode::Off);
    }

    #[test]
    fn a_talk_range_spreads_the_phones_over_it() {
        let mut cfg = WorldConfig { fxo: 0, fxs: 5, ..WorldConfig::default() };
        ports("off", Some(1), Some("20-40"), None).apply(&mut cfg).unwrap();
        let talk: Vec<u64> = cfg.phones.iter().map(|p| p.talk_for.unwrap().as_ms()).collect();
        assert_eq!(talk, [20_000, 25_000, 30_000, 35_000, 40_000]);
    }

    #[test]
    fn bad_serve_options_name_the_option() {
        let mut cfg = WorldConfig::default();
        let e = ports("v23", None, None, None).apply(&mut cfg).unwrap_err().to_string();
        assert!(e.contains("--cid") && e.contains("v23"), "{e}");
        for bad in ["-1", "ten", "40-20", "0"] {
            let e = ports("off", None, Some(bad), None).apply(&mut cfg).unwrap_err().to_string();
            assert!(e.starts_with("--talk:"), "{bad}: {e}");
        }
        let e = ports("off", None, None, Some(f64::NAN)).apply(&mut cfg).unwrap_err().to_string();
        assert!(e.starts_with("--release:"), "{e}");
    }
}
