//! `ctibox`: the technician's command line.
//!
//! - `ctibox board …` opens a board directly (status, live monitor, ring,
//!   off-hook/on-hook), like dahdi_tool and dahdi_monitor.
//! - `ctibox dsp …` runs the detectors and generators on WAV files.

mod board;
mod dsp;

use clap::{Parser, Subcommand};

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
    };
    match code {
        Ok(c) => std::process::exit(c),
        Err(e) => {
            eprintln!("ctibox: {}", error_chain(&e));
            std::process::exit(2);
        }
    }
}

/// An error and its causes, each cause added only when the message does not
/// already say it (many errors quote their cause).
fn error_chain(e: &anyhow::Error) -> String {
    let mut msg = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !msg.contains(&c) {
            msg.push_str(": ");
            msg.push_str(&c);
        }
    }
    msg
}
