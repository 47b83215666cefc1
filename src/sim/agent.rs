//! The simulated SNMP agent (being written in this step; this is its
//! interface).

use std::sync::Arc;

use tokio::net::UdpSocket;

use crate::config::Inventory;
use crate::sim::faults::SimState;

/// Serves, on `socket`, every SNMP device of `inventory` whose probe
/// address has this socket's port, selected by community `@context` (v2c)
/// or v3 context name. Runs until the task is dropped or aborted.
pub async fn serve(
    socket: UdpSocket,
    inventory: Arc<Inventory>,
    state: Arc<SimState>,
) -> std::io::Result<()> {
    let _ = (inventory, state);
    let mut buf = vec![0u8; 65_535];
    loop {
        let _ = socket.recv_from(&mut buf).await?;
    }
}
