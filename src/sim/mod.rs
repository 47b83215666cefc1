//! Simulated venues: SNMP agents, HTTP health endpoints and TCP listeners
//! for every loopback device of a venues file, with fault injection.

pub mod agent;
pub mod faults;
