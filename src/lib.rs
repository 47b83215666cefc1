//! toc: a Technology Operations Center console for multi-venue sports
//! events. See README.md and docs/config.md.

pub mod api;
pub mod config;
pub mod console;
pub mod engine;
pub mod incident;
pub mod model;
pub mod notify;
pub mod playbook;
pub mod probe;
pub mod relay;
pub mod runtime;
pub mod sim;
pub mod snmp;
pub mod store;
