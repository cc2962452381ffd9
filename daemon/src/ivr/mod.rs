//! IVR: voice menus that answer routine questions and hand the rest to
//! agents with what the caller already said.
//!
//! - `flow.rs`: the flow model (nodes, prompts, conditions).
//! - `parse.rs`: flow files (TOML, one flow per file under the config's
//!   `ivr/` directory) into [`flow::Flow`]s, every error with file:line.
//! - `check.rs`: whole-directory checks (`ctibox ivr check DIR`).
//! - `graph.rs`: a flow as Graphviz DOT (`ctibox ivr graph FLOW`).
//! - `interp.rs`: the interpreter, a pure state machine per call.
//! - `say/`: numbers, digits, money, dates, times, durations and ordinals
//!   as prompt names, per language.
//! - `prompts.rs`: prompt files found, converted once at load, and the
//!   default prompt set shipped in the binary.
//! - `set.rs`: a config's flows and prompts, loaded and checked (start and
//!   reload).

pub mod check;
pub mod flow;
pub mod graph;
pub mod interp;
pub mod parse;
pub mod prompts;
pub mod say;
pub mod set;

use flow::Lang;

/// Whether a prompt name can be played (used by checks).
pub trait PromptLookup {
    /// A prompt `name` exists for `lang` (in the flow directory's prompts or
    /// the default set).
    fn has(&self, lang: Lang, name: &str) -> bool;
}
