//! ctibox board simulator: simulated voice boards and the world behind them.
//!
//! - [`board`]: the [`SimWorld`] trait and the in-process board.

pub mod board;

pub use board::{InProcessBoard, SimWorld, fill_idle};
