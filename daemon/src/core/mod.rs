//! Call control: the core thread that owns every call (being written).

pub mod api;
pub mod handle;

pub use api::*;
pub use handle::{CoreHandle, CoreInbox, CoreResult, Envelope, ReplyTo};
