//! SNMP on the wire: BER, messages, USM (work in progress).
