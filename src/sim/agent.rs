//! The simulated SNMP agent (work in progress).
