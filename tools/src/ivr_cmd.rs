//! `ctibox ivr check DIR` and `ctibox ivr graph FLOW.toml [--svg OUT.svg]`:
//! IVR flow files checked and drawn without the daemon, with the daemon's
//! own reader and checks (`ctibox_daemon::ivr::{parse, check, graph}`;
//! docs/ivr.md).
//!
//! `check` prints every error and warning on stderr as `file:line:col:
//! message` (warnings as `…: warning: …`), in file and line order, then a
//! summary line; exit code 1 when there is an error. `graph` prints DOT on
//! stdout, or with `--svg` runs Graphviz's `dot -Tsvg` and writes the file.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};

use ctibox_daemon::config::ConfigError;
use ctibox_daemon::ivr::check::{CheckContext, check_flows};
use ctibox_daemon::ivr::flow::Flow;
use ctibox_daemon::ivr::graph::to_dot;
use ctibox_daemon::ivr::parse::{load_dir, parse_flow};
use ctibox_daemon::ivr::prompts::PromptIndex;

#[derive(Debug, Args)]
pub struct IvrArgs {
    #[command(subcommand)]
    pub cmd: IvrCmd,
}

#[derive(Debug, Subcommand)]
pub enum IvrCmd {
    /// Check every flow file (*.toml) in a directory: errors and warnings
    /// as file:line:col, exit 1 on errors.
    Check(CheckArgs),
    /// Draw a flow as Graphviz DOT (or SVG with --svg).
    Graph(GraphArgs),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The flow directory (e.g. /etc/ctibox/ivr), with its prompts/.
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    /// The flow file.
    pub flow: PathBuf,
    /// Write an SVG picture here (runs `dot -Tsvg`; needs Graphviz)
    /// instead of printing DOT.
    #[arg(long, value_name = "OUT.svg")]
    pub svg: Option<PathBuf>,
}

pub fn run(args: IvrArgs) -> Result<i32> {
    match args.cmd {
        IvrCmd::Check(a) => check(&a.dir),
        IvrCmd::Graph(a) => graph(&a.flow, a.svg.as_deref()),
    }
}

fn check(dir: &Path) -> Result<i32> {
    if !dir.is_dir() {
        bail!("{}: not a directory (give the directory of the flow files)", dir.display());
    }
    let (flows, mut errors) = load_dir(dir);
    let prompts = PromptIndex::scan(dir).with_context(|| format!("cannot read the prompts of {}", dir.display()))?;
    let report = check_flows(&flows, &CheckContext { prompts: &prompts });
    errors.extend(report.errors);
    for line in findings(&errors, &report.warnings) {
        eprintln!("{line}");
    }
    let (e, w) = (errors.len(), report.warnings.len());
    if e > 0 {
        eprintln!("{} and {} in {}", plural(e, "error", "errors"), plural(w, "warning", "warnings"), dir.display());
        return Ok(1);
    }
    println!("{}", summary(&flows, w));
    Ok(0)
}

/// Errors and warnings as printed: in file and line order, warnings
/// marked.
fn findings(errors: &[ConfigError], warnings: &[ConfigError]) -> Vec<String> {
    let mut all: Vec<(&ConfigError, bool)> =
        errors.iter().map(|e| (e, false)).chain(warnings.iter().map(|w| (w, true))).collect();
    all.sort_by(|(a, _), (b, _)| (&a.file, a.line, a.col).cmp(&(&b.file, b.line, b.col)));
    all.into_iter()
        .map(|(e, warning)| {
            if warning {
                let mut w = e.clone();
                w.message = format!("warning: {}", w.message);
                w.to_string()
            } else {
                e.to_string()
            }
        })
        .collect()
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `ok: 2 flows (after_hours, main), 10 nodes`.
fn summary(flows: &[Flow], warnings: usize) -> String {
    let nodes: usize = flows.iter().map(|f| f.nodes.len()).sum();
    let names: Vec<&str> = flows.iter().map(|f| f.name.as_str()).collect();
    let mut s = format!(
        "ok: {} ({}), {}",
        plural(flows.len(), "flow", "flows"),
        names.join(", "),
        plural(nodes, "node", "nodes")
    );
    if warnings > 0 {
        s.push_str(&format!(" ({})", plural(warnings, "warning", "warnings")));
    }
    s
}

fn graph(file: &Path, svg: Option<&Path>) -> Result<i32> {
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let flow = match parse_flow(file, &text) {
        Ok(f) => f,
        Err(errors) => {
            for e in &errors.0 {
                eprintln!("{e}");
            }
            eprintln!("{} in {}", plural(errors.len(), "error", "errors"), file.display());
            return Ok(1);
        }
    };
    let dot = to_dot(&flow);
    match svg {
        None => crate::emit(&dot)?,
        Some(out) => {
            render_svg(&dot, out)?;
            eprintln!("wrote {}", out.display());
        }
    }
    Ok(0)
}

/// Runs `dot -Tsvg -o OUT` with the DOT text on its stdin.
fn render_svg(dot: &str, out: &Path) -> Result<()> {
    let mut child = match Command::new("dot")
        .arg("-Tsvg")
        .arg("-o")
        .arg(out)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "--svg needs Graphviz's `dot`, which is not installed (Debian: apt install graphviz); without --svg the \
             DOT text is printed for rendering elsewhere"
        ),
        Err(e) => return Err(e).context("cannot run Graphviz's `dot`"),
    };
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(dot.as_bytes()).context("cannot send the graph to `dot`")?;
    }
    let output = child.wait_with_output().context("waiting for `dot`")?;
    if !output.status.success() {
        bail!("`dot -Tsvg` failed ({}): {}", output.status, String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(file: &str, line: usize, msg: &str) -> ConfigError {
        ConfigError { file: file.into(), line: Some(line), col: None, message: msg.into() }
    }

    #[test]
    fn findings_in_file_and_line_order() {
        let errors = [err("b.toml", 3, "e2"), err("a.toml", 9, "e1")];
        let warnings = [err("b.toml", 1, "w1")];
        assert_eq!(findings(&errors, &warnings), ["a.toml:9: e1", "b.toml:1: warning: w1", "b.toml:3: e2"]);
    }
}
