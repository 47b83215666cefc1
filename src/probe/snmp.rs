//! snmp probe (work in progress in this step).
