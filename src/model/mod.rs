//! Pure domain model of the status wall: [`Status`], the device check state
//! machine ([`DeviceState`]), and the [`Topology`] of venues, devices and
//! redundancy groups with its [`evaluate`]d roll-up.
//!
//! Imports nothing but `std`: no IO, no clock, no serialisation.

pub mod device;
pub mod status;
pub mod topology;

pub use device::{
    Change, CheckResult, DeviceState, FLAP_HISTORY, Policy, StateType, percent_state_change,
};
pub use status::{Status, worst};
pub use topology::{
    DeviceIdx, DeviceNode, Evaluation, GroupEval, GroupIdx, GroupNode, Topology, VenueEval,
    VenueIdx, VenueNode, evaluate,
};
