//! ctibox control daemon: call control, dial plan, records, API.
//!
//! The binary `ctiboxd` is a thin shell over this library so that tests can
//! run the daemon's parts directly.

pub mod acd;
pub mod api;
pub mod config;
pub mod core;
pub mod daemon;
pub mod ivr;
pub mod records;
pub mod service;
