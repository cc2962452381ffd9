//! `ctibox`: the technician's command line.
//!
//! - `ctibox board …` opens a board directly (status, live monitor, ring,
//!   off-hook/on-hook), like dahdi_tool and dahdi_monitor.
//! - `ctibox dsp …` runs the detectors and generators on WAV files.
//! - `ctibox status | channels | calls | originate | … | cdr | customers |
//!   monitor` talk to the daemon's HTTP API (docs/cli.md, docs/api.md), and
//!   so do the ACD's `agents | agent | queues | queue` and the outbound
//!   campaigns' `campaign | dnc`.
//! - `ctibox config check` validates a daemon config file offline.
//! - `ctibox ivr check | graph` checks IVR flow files and draws them.
//! - `ctibox completions | man` generate shell completions and man pages.
//!
//! Exit codes: 0 success, 1 the command's "no" (refused import rows, a bad
//! config, a number `dnc check` does not find), 2 an error (API errors,
//! unreachable daemon, bad arguments).

mod acd;
mod api;
mod board;
mod calls;
mod campaign;
mod cdr;
mod config_cmd;
mod docs_cmd;
mod dsp;
mod ivr_cmd;
mod monitor;
mod table;
mod wall_time;

use anyhow::Result;
use clap::{CommandFactory, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "ctibox", version, about = "ctibox technician tools")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Open a board directly: status, monitor, ring, offhook, onhook.
    Board(board::BoardArgs),
    /// Detectors and generators on files: dtmf, cid, tones, learn, gen.
    Dsp(dsp::DspArgs),
    /// Log in to the daemon and print the token
    /// (export CTIBOX_TOKEN=$(ctibox login --user admin)).
    Login(LoginArgs),
    /// The daemon: system, board, engine, calls, records.
    Status(calls::ReadArgs),
    /// Every board channel: kind, extension or trunk, status, call.
    Channels(calls::ReadArgs),
    /// Active calls and their legs.
    Calls(calls::ReadArgs),
    /// Click-to-dial: ring extension FROM, then call TO; prints the call id.
    Originate(calls::OriginateArgs),
    /// Answer a ringing inbound call (the caller waits on hold).
    Answer(calls::CallArgs),
    /// Hang up a call, or one leg of it.
    Hangup(calls::HangupArgs),
    /// Put a leg's party on hold (music on hold).
    Hold(calls::LegArgs),
    /// Take a leg's party off hold.
    Unhold(calls::LegArgs),
    /// Transfer a leg's party (blind, or --attended then --complete).
    Transfer(calls::TransferArgs),
    /// Add a third party to a call.
    Conference(calls::ConferenceArgs),
    /// ACD agents: id, name, state, reason, since, extension, queues.
    Agents(calls::ReadArgs),
    /// An ACD agent: login, logout, ready, not-ready, history.
    Agent(acd::AgentArgs),
    /// ACD queues: waiting, longest wait, agents, service level; `report`.
    Queues(acd::QueuesArgs),
    /// A caller waiting in a queue: priority, pick (admin, supervisor).
    Queue(acd::QueueArgs),
    /// Outbound campaigns: list, show, numbers, import, pause, resume.
    Campaign(campaign::CampaignArgs),
    /// The do-not-call list: list, add, remove, check.
    Dnc(campaign::DncArgs),
    /// The call journal, filtered, as a table, CSV or JSON.
    Cdr(cdr::CdrArgs),
    /// Customers: import a CSV file.
    Customers(cdr::CustomersArgs),
    /// Live CTI events: a snapshot, then one line per event (Ctrl-C to stop).
    Monitor(monitor::MonitorArgs),
    /// The daemon's configuration file: check.
    Config(config_cmd::ConfigArgs),
    /// IVR flow files: check a directory, graph a flow.
    Ivr(ivr_cmd::IvrArgs),
    /// Shell completion script on stdout.
    Completions(docs_cmd::CompletionsArgs),
    /// Man pages (roff).
    Man(docs_cmd::ManArgs),
}

#[derive(Debug, clap::Args)]
struct LoginArgs {
    #[command(flatten)]
    api: api::ApiArgs,
}

/// `ctibox login`: the token alone on stdout.
fn login(args: LoginArgs) -> Result<i32> {
    let user = match (&args.api.user, std::env::var("CTIBOX_USER")) {
        (Some(u), _) => u.clone(),
        (None, Ok(u)) if !u.trim().is_empty() => u.trim().to_string(),
        _ => anyhow::bail!("log in as whom? give --user NAME (or set CTIBOX_USER)"),
    };
    let credentials = api::Login::for_user(user, args.api.password_file.as_ref())?;
    let answer = api::login(&args.api.base(), &credentials)?;
    println!("{}", answer.token);
    eprintln!(
        "logged in as {} ({}), valid until {} UTC",
        answer.username,
        answer.role,
        wall_time::format_utc(answer.expires_at_ms)
    );
    Ok(0)
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("CTIBOX_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let code = match cli.cmd {
        Cmd::Board(a) => board::run(a),
        Cmd::Dsp(a) => dsp::run(a),
        Cmd::Login(a) => login(a),
        Cmd::Status(a) => calls::status(a),
        Cmd::Channels(a) => calls::channels(a),
        Cmd::Calls(a) => calls::calls(a),
        Cmd::Originate(a) => calls::originate(a),
        Cmd::Answer(a) => calls::answer(a),
        Cmd::Hangup(a) => calls::hangup(a),
        Cmd::Hold(a) => calls::hold(a, true),
        Cmd::Unhold(a) => calls::hold(a, false),
        Cmd::Transfer(a) => calls::transfer(a),
        Cmd::Conference(a) => calls::conference(a),
        Cmd::Agents(a) => acd::agents(a),
        Cmd::Agent(a) => acd::agent(a),
        Cmd::Queues(a) => acd::queues(a),
        Cmd::Queue(a) => acd::queue(a),
        Cmd::Campaign(a) => campaign::campaign(a),
        Cmd::Dnc(a) => campaign::dnc(a),
        Cmd::Cdr(a) => cdr::cdr(a),
        Cmd::Customers(a) => cdr::customers(a),
        Cmd::Monitor(a) => monitor::run(a),
        Cmd::Config(a) => config_cmd::run(a),
        Cmd::Ivr(a) => ivr_cmd::run(a),
        Cmd::Completions(a) => docs_cmd::completions(a, Cli::command()),
        Cmd::Man(a) => docs_cmd::man(a, Cli::command()),
    };
    match code {
        Ok(c) => std::process::exit(c),
        // Whoever read our output has gone (`ctibox cdr | head`): not an
        // error worth a message.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            std::process::exit(0)
        }
        Err(e) => {
            eprintln!("ctibox: {}", error_chain(&e));
            std::process::exit(2);
        }
    }
}

/// Writes `text` to stdout; an error (a closed pipe) is returned, not a
/// panic as from `print!`.
pub(crate) fn emit(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// An error and its causes, each cause added only when the message does not
/// already say it (many errors quote their cause).
fn error_chain(e: &anyhow::Error) -> String {
    ctibox_driver::error_chain(e.as_ref())
}
