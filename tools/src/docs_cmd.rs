//! `ctibox completions SHELL` and `ctibox man [--dir DIR]`: shell
//! completion scripts (clap_complete) and roff man pages (clap_mangen),
//! generated from the command line's own definition so they never drift.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use clap_complete::Shell;

#[derive(Debug, Args)]
#[command(after_help = "\
bash: ctibox completions bash > /etc/bash_completion.d/ctibox
zsh:  ctibox completions zsh > \"${fpath[1]}/_ctibox\"
fish: ctibox completions fish > ~/.config/fish/completions/ctibox.fish")]
pub struct CompletionsArgs {
    /// bash, zsh, fish, elvish or powershell.
    pub shell: Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write ctibox.1 and a page per subcommand (ctibox-cdr.1, …) into
    /// this directory (default: print ctibox.1 on stdout).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

pub fn completions(args: CompletionsArgs, mut cmd: clap::Command) -> Result<i32> {
    let name = cmd.get_name().to_string();
    // Into a buffer first: clap_complete panics when it cannot write.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, name, &mut script);
    let mut out = std::io::stdout().lock();
    out.write_all(&script)?;
    out.flush()?;
    Ok(0)
}

pub fn man(args: ManArgs, cmd: clap::Command) -> Result<i32> {
    match args.dir {
        Some(dir) => {
            std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
            let pages = page_count(&cmd);
            clap_mangen::generate_to(cmd, &dir).with_context(|| format!("writing man pages into {}", dir.display()))?;
            eprintln!("{pages} man pages written to {}", dir.display());
        }
        None => {
            let mut out = std::io::stdout().lock();
            clap_mangen::Man::new(cmd).render(&mut out)?;
            out.flush()?;
        }
    }
    Ok(0)
}

/// Pages `generate_to` writes: the command and each visible subcommand.
fn page_count(cmd: &clap::Command) -> usize {
    1 + cmd.get_subcommands().filter(|s| !s.is_hide_set()).map(page_count).sum::<usize>()
}
