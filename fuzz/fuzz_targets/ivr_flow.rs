//! Fuzz the IVR flow files: any text must parse to a flow or to errors
//! naming file:line, never panic; a flow that parses must check, draw and
//! start running without panicking either.
//!
//! `cargo +nightly fuzz run ivr_flow` (from the repository root).

#![no_main]

use std::path::Path;
use std::sync::Arc;

use ctibox_daemon::ivr::check::{CheckContext, check_flows};
use ctibox_daemon::ivr::graph::to_dot;
use ctibox_daemon::ivr::interp::{Input, LocalTime, Session, Vars};
use ctibox_daemon::ivr::parse::parse_flow;
use ctibox_daemon::ivr::prompts::PromptIndex;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let flow = match parse_flow(Path::new("fuzz.toml"), text) {
        Ok(f) => f,
        Err(errors) => {
            for e in &errors.0 {
                assert!(e.to_string().starts_with("fuzz.toml"), "{e}");
            }
            return;
        }
    };
    let index = PromptIndex::builtin();
    let _ = check_flows(std::slice::from_ref(&flow), &CheckContext { prompts: &index });
    let dot = to_dot(&flow);
    assert!(dot.starts_with("digraph"));
    let local = LocalTime { year: 2026, month: 11, day: 21, weekday: 5, minute: 600 };
    let mut s = Session::new(Arc::new(flow), Vars::new());
    let mut now = 0;
    let _ = s.start(now, local);
    for (i, input) in [Input::PlayDone, Input::Digit('1'), Input::Timer, Input::PlayDone, Input::Digit('#'), Input::Timer]
        .into_iter()
        .enumerate()
    {
        now += 1000 * (i as u64 + 1);
        let _ = s.handle(input, now, local);
    }
});
