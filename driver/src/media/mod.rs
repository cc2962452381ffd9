//! Per-channel media: audio files, players, recorders, tone generators and
//! the switch that connects channels.

pub mod detectors;
pub mod player;
pub mod recorder;
pub mod switch;
pub mod wav;
