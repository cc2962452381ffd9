//! The ACD: queues, agents and routing decisions.
//!
//! Pure: no I/O, no clock. Board time (ms) comes in with every call; the
//! core (`core/acd.rs`) acts on what comes out.

pub mod spec;

pub use spec::{AgentSpec, Member, QueueSpec, Relax, Strategy};
