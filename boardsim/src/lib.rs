//! ctibox board simulator: simulated voice boards and the world behind them.
//!
//! - [`board`]: the [`SimWorld`] trait and the in-process board.
//! - [`server`]: serving a world over a Unix socket, fast or real time.
//! - [`open`]: opening any board by its config string, `builtin` included.

pub mod board;
pub mod control;
pub mod open;
pub mod scenario;
pub mod server;
pub mod world;

pub use board::{InProcessBoard, SimWorld, fill_idle};
pub use open::{Opened, open_board};
