//! See the module list in `ivr/mod.rs`.
