//! Board backends and the factory that opens one from a config string.
//!
//! A board is named by a string `KIND[:ARGUMENT]`:
//!
//! | string | board |
//! |---|---|
//! | `sim` or `sim:/path/to.sock` | a board served by `ctibox-sim` ([`sim`]) |
//! | `dahdi[:SPAN…]` | a DAHDI-driven card — not written yet |
//! | `modem:/dev/ttyACM0` | a V.253 voice modem — not written yet |
//!
//! The built-in simulator linked into a process (`builtin:…`) is opened by
//! `ctibox_boardsim::open_board`, which handles that kind and hands the
//! rest to [`open`] here (the driver cannot depend on the simulator).

pub mod sim;

use crate::hal::{Board, BoardError};

/// A board string that names no board we can open.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("board `{spec}`: unknown backend `{kind}` (known: sim, dahdi, modem{extra})")]
    UnknownBackend { spec: String, kind: String, extra: &'static str },
    #[error("board `{spec}`: the {kind} backend is not available in this build: {why}")]
    NotAvailable { spec: String, kind: &'static str, why: &'static str },
    #[error("board `{spec}`: {error}")]
    Board { spec: String, error: BoardError },
    #[error("board `{spec}`: {problem}")]
    BadArgument { spec: String, problem: String },
}

/// A parsed board string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardSpec<'a> {
    pub kind: &'a str,
    pub arg: Option<&'a str>,
}

impl<'a> BoardSpec<'a> {
    pub fn parse(spec: &'a str) -> BoardSpec<'a> {
        let spec = spec.trim();
        match spec.split_once(':') {
            Some((k, a)) => BoardSpec { kind: k, arg: Some(a) },
            None => BoardSpec { kind: spec, arg: None },
        }
    }
}

/// Open the board named by `spec`. `client` names this program to boards
/// that show who is attached (the simulator).
pub fn open(spec: &str, client: &str) -> Result<Box<dyn Board>, OpenError> {
    let s = BoardSpec::parse(spec);
    match s.kind {
        "sim" => {
            let path = match s.arg {
                Some(p) if !p.is_empty() => p,
                Some(_) => {
                    return Err(OpenError::BadArgument {
                        spec: spec.into(),
                        problem: "`sim:` needs a socket path after the colon".into(),
                    });
                }
                None => sim::DEFAULT_SOCKET,
            };
            let b =
                sim::SimBoard::connect(path, client).map_err(|error| OpenError::Board { spec: spec.into(), error })?;
            Ok(Box::new(b))
        }
        "dahdi" => Err(OpenError::NotAvailable {
            spec: spec.into(),
            kind: "DAHDI",
            why: "the DAHDI card backend is not written yet; use `sim` or `builtin` for now",
        }),
        "modem" => Err(OpenError::NotAvailable {
            spec: spec.into(),
            kind: "V.253 modem",
            why: "the voice-modem backend is not written yet; use `sim` or `builtin` for now",
        }),
        other => Err(OpenError::UnknownBackend { spec: spec.into(), kind: other.into(), extra: "" }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_parsing_and_errors() {
        assert_eq!(BoardSpec::parse("sim"), BoardSpec { kind: "sim", arg: None });
        assert_eq!(BoardSpec::parse(" sim:/tmp/x.sock "), BoardSpec { kind: "sim", arg: Some("/tmp/x.sock") });
        let e = open("foo:bar", "t").err().unwrap().to_string();
        assert!(e.contains("unknown backend `foo`"), "{e}");
        let e = open("dahdi", "t").err().unwrap().to_string();
        assert!(e.contains("not written yet"), "{e}");
        let e = open("sim:", "t").err().unwrap().to_string();
        assert!(e.contains("needs a socket path"), "{e}");
        let e = open("sim:/nonexistent/ctibox.sock", "t").err().unwrap().to_string();
        assert!(e.contains("is `ctibox-sim serve` running?"), "{e}");
    }
}
