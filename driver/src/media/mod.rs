//! Per-channel media: audio files, players, recorders, tone generators and
//! the switch that bridges channels.

pub mod wav;
