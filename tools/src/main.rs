//! `ctibox`: the technician's command line.
//!
//! - `ctibox board …` opens a board directly (status, live monitor, ring,
//!   off-hook/on-hook), like dahdi_tool and dahdi_monitor.

mod board;

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
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("CTIBOX_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let code = match cli.cmd {
        Cmd::Board(a) => board::run(a),
    };
    match code {
        Ok(c) => std::process::exit(c),
        Err(e) => {
            eprintln!("ctibox: {e:#}");
            std::process::exit(2);
        }
    }
}
