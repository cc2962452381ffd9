//! `ctiboxd`: the control daemon. A thin shell over
//! [`ctibox_daemon::service::Service`]: flags, signals (SIGTERM/SIGINT stop,
//! SIGHUP reloads the config and keeps the old one when the new one has
//! errors) and the systemd protocol (`READY=1` once the API listens,
//! `WATCHDOG=1` while the engine ticks and the call core answers).

use std::io::{BufRead, IsTerminal, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Parser, Subcommand};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

use ctibox_daemon::config::demo::DEMO_CONFIG;
use ctibox_daemon::core::CoreRequest;
use ctibox_daemon::service::{ConfigSource, Service, ServiceOptions};

const DEFAULT_CONFIG: &str = "/etc/ctibox/ctibox.toml";
/// Where `ctibox-sim call|dial|…` look for a simulator by default.
const DEFAULT_SIM_CONTROL: &str = "/tmp/ctibox-sim.ctl";

#[derive(Debug, Parser)]
#[command(name = "ctiboxd", version, about = "ctibox call-center daemon")]
struct Cli {
    /// Configuration file. Without this flag, /etc/ctibox/ctibox.toml, or the
    /// built-in demo configuration when that file does not exist.
    #[arg(long, env = "CTIBOX_CONFIG")]
    config: Option<PathBuf>,
    /// Board to open instead of the config's `[board] backend`
    /// (`builtin:fxo=4,fxs=4`, `sim:/path/to.sock`, …).
    #[arg(long)]
    board: Option<String>,
    /// Database file instead of `data_dir/ctibox.db`.
    #[arg(long)]
    db: Option<PathBuf>,
    /// API address instead of the config's `[api] listen`.
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Control socket of a built-in simulated board, for `ctibox-sim call`,
    /// `dial`, `hangup`… ("none": no control socket).
    #[arg(long, default_value = DEFAULT_SIM_CONTROL)]
    sim_control: String,
    /// Print the built-in demo configuration (a commented example) and exit.
    #[arg(long)]
    print_demo_config: bool,
    #[command(subcommand)]
    cmd: Option<Cmd>,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Hash a password for `password_hash` in the config (read from stdin,
    /// or asked for on a terminal).
    HashPassword,
    /// Write the demo's IVR directory (flow `main.toml` and its order
    /// database `shop.db`) to DIR, for a config made from the demo.
    WriteDemoIvr {
        /// Where (e.g. /etc/ctibox/ivr).
        dir: PathBuf,
    },
    /// Check a configuration file and exit (like `ctibox config check`).
    Check {
        /// The file (default: the one the daemon would load).
        file: Option<PathBuf>,
    },
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("CTIBOX_LOG").unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let code = match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ctiboxd: {}", ctibox_driver::error_chain(e.as_ref()));
            1
        }
    };
    std::process::exit(code);
}

/// The config file without `--config`, or the demo.
fn config_source(flag: Option<PathBuf>) -> ConfigSource {
    match flag {
        Some(p) => ConfigSource::File(p),
        None if Path::new(DEFAULT_CONFIG).exists() => ConfigSource::File(DEFAULT_CONFIG.into()),
        None => ConfigSource::Demo,
    }
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    if cli.print_demo_config {
        print!("{DEMO_CONFIG}");
        return Ok(0);
    }
    match cli.cmd {
        Some(Cmd::HashPassword) => return hash_password(),
        Some(Cmd::WriteDemoIvr { dir }) => {
            ctibox_daemon::config::demo::install_ivr(&dir).map_err(anyhow::Error::msg)?;
            println!("{}: the demo IVR flow main.toml and shop.db", dir.display());
            return Ok(0);
        }
        Some(Cmd::Check { file }) => {
            let source = match file {
                Some(f) => ConfigSource::File(f),
                None => config_source(cli.config),
            };
            return Ok(check(&source));
        }
        None => {}
    }
    let source = config_source(cli.config);
    if source == ConfigSource::Demo {
        tracing::warn!(
            "no {DEFAULT_CONFIG}: running the built-in demo config (`ctiboxd --print-demo-config` shows it)"
        );
    }
    let sim_control = (cli.sim_control != "none").then(|| PathBuf::from(&cli.sim_control));
    let signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP]).context("cannot catch signals")?;
    let service = Service::start(ServiceOptions {
        source: source.clone(),
        board: cli.board,
        database: cli.db,
        listen: cli.listen,
        sim_control,
    })?;
    announce(&service, &source);
    notify("READY=1");
    let code = serve(&service, signals);
    notify("STOPPING=1");
    tracing::info!("stopping: calls in progress end as interrupted");
    service.shutdown();
    Ok(code)
}

/// Tell the person who started us where things are.
fn announce(service: &Service, source: &ConfigSource) {
    let addr = service.api_addr;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "ctiboxd {} running ({source})", env!("CARGO_PKG_VERSION"));
    let _ = writeln!(out, "  board:   {}", service.daemon.engine.info.name);
    let _ = writeln!(out, "  console: http://{addr}/");
    let _ = writeln!(out, "  API:     http://{addr}/api/v1  (docs/api.md; `ctibox --api http://{addr} status`)");
    let _ = writeln!(out, "  events:  ws://{addr}/api/v1/events");
    if *source == ConfigSource::Demo {
        let _ = writeln!(out, "  users:   admin/admin, super/super, alice/alice (801), bob/bob (802)");
    }
    if let Some(p) = service.sim_control_path() {
        let p = p.display();
        let _ = writeln!(out, "  simulated board control: ctibox-sim call --control {p} --line 1 --from 13800138000");
    }
    let _ = out.flush();
}

/// Run until SIGTERM/SIGINT or until the board stops. Returns the exit code.
fn serve(service: &Service, mut signals: signal_hook::iterator::Signals) -> i32 {
    let watchdog = watchdog_interval();
    let stats = service.daemon.engine.stats.clone();
    let mut last_ticks = stats.snapshot().ticks;
    let mut next_watchdog = Instant::now();
    loop {
        for sig in signals.pending() {
            match sig {
                SIGHUP => match service.reload() {
                    Ok(()) => tracing::info!("SIGHUP: configuration reloaded"),
                    Err(errors) => {
                        for e in &errors {
                            tracing::error!("{e}");
                        }
                        tracing::error!(
                            errors = errors.len(),
                            "SIGHUP: the new configuration has errors; the old one stays"
                        );
                    }
                },
                _ => return 0,
            }
        }
        if !service.daemon.engine_running() {
            tracing::error!("the board stopped; ctiboxd stops too");
            return 1;
        }
        if let Some(every) = watchdog
            && Instant::now() >= next_watchdog
        {
            let ticks = stats.snapshot().ticks;
            let core_alive = service.daemon.core.request(CoreRequest::Snapshot, Duration::from_secs(1)).is_ok();
            if ticks > last_ticks && core_alive {
                notify("WATCHDOG=1");
            } else {
                tracing::error!(
                    ticks,
                    core_alive,
                    "not telling the watchdog we are alive: the engine or the core is stuck"
                );
            }
            last_ticks = ticks;
            next_watchdog = Instant::now() + every;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Half the watchdog period systemd asked for, when it asked us.
fn watchdog_interval() -> Option<Duration> {
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    if let Some(pid) = std::env::var("WATCHDOG_PID").ok().and_then(|p| p.parse::<u32>().ok())
        && pid != std::process::id()
    {
        return None;
    }
    Some(Duration::from_micros(usec / 2).max(Duration::from_millis(100)))
}

/// Send `msg` to systemd's notification socket, when there is one.
fn notify(msg: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else { return };
    let sock = match std::os::unix::net::UnixDatagram::unbound() {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "sd_notify: no socket");
            return;
        }
    };
    let bytes = path.as_encoded_bytes();
    let sent = if let Some(name) = bytes.strip_prefix(b"@") {
        use std::os::linux::net::SocketAddrExt;
        std::os::unix::net::SocketAddr::from_abstract_name(name).and_then(|a| sock.send_to_addr(msg.as_bytes(), &a))
    } else {
        sock.send_to(msg.as_bytes(), Path::new(&path))
    };
    if let Err(e) = sent {
        tracing::warn!(error = %e, msg, "sd_notify failed");
    }
}

/// `ctiboxd check`: every error with file:line:col.
fn check(source: &ConfigSource) -> i32 {
    match source.load() {
        Ok(c) => {
            for w in &c.warnings {
                eprintln!("warning: {w}");
            }
            println!("{source}: ok");
            0
        }
        Err(errors) => {
            for e in &errors.0 {
                eprintln!("{e}");
            }
            eprintln!("{source}: {} error(s)", errors.0.len());
            1
        }
    }
}

/// `ctiboxd hash-password`: an argon2id PHC string for `password_hash`.
fn hash_password() -> anyhow::Result<i32> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("password (shown as you type; pipe it in to hide it): ");
    }
    let mut line = String::new();
    stdin.lock().read_line(&mut line).context("cannot read the password from stdin")?;
    let password = line.trim_end_matches(['\n', '\r']);
    if password.is_empty() {
        anyhow::bail!("the password is empty");
    }
    let hash = ctibox_daemon::api::hash_password(password).context("cannot hash")?;
    println!("{hash}");
    // The hash must verify: a broken build must not lock anyone out.
    if !ctibox_daemon::api::verify_password(password, &hash) {
        anyhow::bail!("the hash does not verify");
    }
    Ok(0)
}
