//! Line signalling: pure state machines, both sides of each line.
//!
//! - [`analog`]: loop-start FXO and FXS ([`analog::AnalogLine`]), built
//!   from [`hook`] (FXS hook debounce and flash, FXO loop-current
//!   qualification), [`cadence`] (FXO ring counting, FXS ring cadence),
//!   [`digitmap`] (when an extension's number is complete), [`fxo`] and
//!   [`fxs`].
//!
//! Not here yet: MFC/R2 (`r2`) and ISDN PRI (`pri`).

pub mod analog;
pub mod cadence;
pub mod digitmap;
pub mod fxo;
pub mod fxs;
pub mod hook;
