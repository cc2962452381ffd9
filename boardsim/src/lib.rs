//! ctibox board simulator.
