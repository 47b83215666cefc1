//! Pure domain model of the status wall: [`Status`], the device check state
//! machine ([`DeviceState`]), and the [`Topology`] of venues, devices and
//! redundancy groups with its [`evaluate`]d roll-up.
//!
//! Only hard states reach the wall: [`DeviceState::status`] is the last hard
//! status (or MAINTENANCE, or DEGRADED while flapping), so a soft failure not
//! yet confirmed by `max_attempts` checks changes neither a device's shown
//! status nor its group, venue or dependants. The device view shows the soft
//! state through [`DeviceState::raw_status`], [`DeviceState::state_type`] and
//! [`DeviceState::attempt`].
//!
//! Imports nothing but `std` and `serde` (its types are wire-ready): no
//! IO, no clock.

pub mod device;
pub mod observation;
pub mod problem;
pub mod relay;
pub mod status;
pub mod text;
pub mod topology;

pub use device::{
    Change, CheckResult, DeviceState, FLAP_HISTORY, Policy, StateType, TRANSITIONS_KEPT,
    Transition, Transitions, percent_state_change,
};
pub use observation::{HostSample, Observation, Outcome, Reading};
pub use problem::{ProblemKey, ProblemKind, Subject};
pub use status::{Status, worst};
pub use text::{find_id, printable, redact_urls};
pub use topology::{
    DeviceIdx, DeviceNode, Evaluation, FeedIdx, GroupEval, GroupIdx, GroupNode, SinkIdx, Topology,
    VenueEval, VenueIdx, VenueNode, evaluate,
};
