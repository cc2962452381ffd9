//! `ctibox config check FILE [--board BACKEND]`: validates the daemon's
//! configuration without the daemon, with the daemon's own checks
//! (`ctibox_daemon::config`).
//!
//! Every problem prints on stderr as `file:line:col: message` (like a
//! compiler) and the exit code is 1; warnings print as `file:line:col:
//! warning: message` and do not fail the check. A good file prints one
//! summary line on stdout. With `--board`, the board is opened (as the
//! daemon would, so not while the daemon holds it) and the channel numbers
//! and kinds of the trunks and extensions are checked against its layout.
//! The IVR directory the file names (or `ivr/` next to it) is loaded and
//! checked as the daemon would: flows, prompts, and `ivr:FLOW` targets.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};

use ctibox_daemon::config::{Config, ConfigErrors};

#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub cmd: ConfigCmd,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCmd {
    /// Check a ctiboxd config file: every error as file:line:col, exit 1 if
    /// any.
    Check(CheckArgs),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The config file (e.g. /etc/ctibox/ctibox.toml).
    pub file: PathBuf,
    /// Also check the channels against this board (`builtin:fxo=4,fxs=4`,
    /// `sim[:SOCKET]`, `dahdi`); `config` for the board the file names.
    #[arg(long, value_name = "BACKEND")]
    pub board: Option<String>,
}

pub fn run(args: ConfigArgs) -> Result<i32> {
    match args.cmd {
        ConfigCmd::Check(a) => check(a),
    }
}

fn check(args: CheckArgs) -> Result<i32> {
    let config = match Config::load(&args.file) {
        Ok(c) => c,
        Err(errors) => return Ok(report(&errors)),
    };
    for w in &config.warnings {
        eprintln!("{}", warning_line(w));
    }
    let ivr = match ctibox_daemon::ivr::set::IvrSet::load(&config) {
        Ok(i) => i,
        Err(errors) => return Ok(report(&errors)),
    };
    for w in &ivr.warnings {
        eprintln!("{}", warning_line(w));
    }
    let mut checked_board = None;
    if let Some(spec) = &args.board {
        let spec = if spec == "config" { config.board.clone() } else { spec.clone() };
        let opened = ctibox_boardsim::open_board(&spec, "ctibox config check")
            .with_context(|| format!("cannot open the board {spec:?}"))?;
        let info = opened.board.info();
        if let Err(errors) = config.check_board(info) {
            return Ok(report(&errors));
        }
        checked_board = Some(format!("{} ({} channels)", info.name, info.channel_count()));
    }
    let mut line = summary(&config, checked_board.as_deref());
    if !ivr.flows.is_empty() {
        line.push_str(&format!("; {}", plural(ivr.flows.len(), "IVR flow", "IVR flows")));
    }
    println!("{line}");
    Ok(0)
}

fn report(errors: &ConfigErrors) -> i32 {
    for e in &errors.0 {
        eprintln!("{e}");
    }
    let n = errors.len();
    eprintln!("{n} error{} in the configuration", if n == 1 { "" } else { "s" });
    1
}

fn warning_line(w: &ctibox_daemon::config::ConfigError) -> String {
    let mut w = w.clone();
    w.message = format!("warning: {}", w.message);
    w.to_string()
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `ok: 4 trunk lines in 1 trunk group, 4 extensions, …`.
fn summary(c: &Config, board: Option<&str>) -> String {
    let lines: usize = c.trunks.iter().map(|t| t.channels.len()).sum();
    let mut out = format!(
        "ok: {} in {}, {}, {}, {}, {}; board {}; API on {}",
        plural(lines, "trunk line", "trunk lines"),
        plural(c.trunks.len(), "trunk group", "trunk groups"),
        plural(c.extensions.len(), "extension", "extensions"),
        plural(c.ring_groups.len(), "ring group", "ring groups"),
        plural(c.dial_plan.routes.len(), "dial-plan route", "dial-plan routes"),
        plural(c.users.len(), "user", "users"),
        c.board,
        c.listen
    );
    if !c.warnings.is_empty() {
        out.push_str(&format!(" ({})", plural(c.warnings.len(), "warning", "warnings")));
    }
    if let Some(b) = board {
        out.push_str(&format!("; channels match board {b}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_the_demo() {
        let c = Config::demo();
        let s = summary(&c, None);
        assert!(
            s.starts_with(
                "ok: 4 trunk lines in 1 trunk group, 4 extensions, 2 ring groups, 5 dial-plan routes, 5 users"
            ),
            "{s}"
        );
    }
}
