//! ctibox board driver: the board model, its backends, DSP, signalling,
//! media and the real-time engine.
//!
//! See `docs/architecture.md` for how the parts fit together.

pub mod backend;
pub mod dsp;
pub mod engine;
pub mod hal;
pub mod media;
pub mod signaling;

/// An error and its causes on one line, `outer: cause: cause`, each cause
/// added only when the text so far does not already say it (many errors
/// quote their cause). What the binaries print on failure.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut msg = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !msg.contains(&text) {
            msg.push_str(": ");
            msg.push_str(&text);
        }
        cause = c.source();
    }
    msg
}

#[cfg(test)]
mod tests {
    #[derive(Debug, thiserror::Error)]
    #[error("cannot open the board: {0}")]
    struct Quoting(#[source] std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error("start failed")]
    struct Plain(#[source] Quoting);

    #[test]
    fn error_chain_names_each_cause_once() {
        let e = Plain(Quoting(std::io::Error::other("no such socket")));
        assert_eq!(super::error_chain(&e), "start failed: cannot open the board: no such socket");
    }
}
