//! SNMP on the wire, shared by the poller ([`crate::probe::snmp`]) and the
//! simulated agent ([`crate::sim::agent`]): BER, v2c and v3 messages, the
//! USM security model (RFC 3414, RFC 3826, RFC 7860) and a client that
//! multiplexes many targets over a few UDP sockets.

pub mod ber;
pub mod client;
pub mod pdu;
pub mod security;
pub mod usm;

pub use pdu::{Message, Oid, Pdu, PduType, Value};
