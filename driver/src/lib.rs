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
