//! [`AnyProbe`]: checks each device with the probe its target names
//! (SNMP, HTTP or TCP), for the engine's scheduler.

use crate::config::Inventory;
use crate::config::venues::{Device, ProbeTarget};
use crate::snmp::client::Client;

use super::http::HttpProbe;
use super::snmp::SnmpProbe;
use super::tcp::TcpProbe;
use super::{Outcome, Probe};

/// SNMP, HTTP and TCP probes behind one [`Probe`].
#[derive(Debug)]
pub struct AnyProbe {
    snmp: SnmpProbe,
    http: HttpProbe,
    tcp: TcpProbe,
}

impl AnyProbe {
    /// Probes for every device of `inventory`, with its retries. The SNMP
    /// client multiplexes every agent over four IPv4 and four IPv6 sockets
    /// (dual-stack: each target over its own family). Must be
    /// called inside a Tokio runtime.
    pub fn new(inventory: &Inventory) -> Result<Self, String> {
        let retries = inventory.event.retries;
        let client =
            Client::default_dual().map_err(|e| format!("cannot open a UDP socket: {e}"))?;
        Ok(AnyProbe {
            snmp: SnmpProbe::new(client, &inventory.profiles, retries),
            http: HttpProbe::new(retries)?,
            tcp: TcpProbe::new(retries),
        })
    }
}

impl Probe for AnyProbe {
    async fn check(&self, device: &Device) -> Outcome {
        match device.probe {
            ProbeTarget::Snmp { .. } => self.snmp.check(device).await,
            ProbeTarget::Http { .. } => self.http.check(device).await,
            ProbeTarget::Tcp { .. } => self.tcp.check(device).await,
        }
    }
}
