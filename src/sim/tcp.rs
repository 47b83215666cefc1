//! Simulated TCP devices (timing links, scoreboards, …): one listener per
//! address that accepts connections and holds them until the peer closes.
//!
//! While the device is silent (down, venue uplink down, the down phase of
//! flapping) a connect must fail the way it does to a dead box: it times
//! out, it is not refused. Linux completes the TCP handshake in the kernel
//! whether or not the program calls `accept`, so merely not accepting is
//! not enough. Instead the listener stops accepting, its accept queue is
//! cut to the smallest (backlog 0, `listen` again on the same socket) and
//! the simulator fills it with its own connections: with the queue full,
//! Linux drops every further SYN, and a client's connect hangs until its
//! timeout. When the fault clears, the backlog is raised again and the
//! listener accepts (and closes) the fillers; a client still retrying its
//! SYN then gets through, as when a box comes back.
//!
//! The port is never let go while the simulator runs: another program
//! (or another simulator) on the same machine cannot take it in between.
//! Only if the queue cannot be filled (out of file descriptors) is the
//! listener closed, so that connects are refused, and bound again later.
//!
//! The listener checks the fault state every [`POLL`], so a fault takes
//! effect on TCP within that time and two probes of the plug
//! (`2 x PLUG_PROBE`).

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::JoinSet;

use super::{Shared, stopped};

/// How often a listener looks at the fault state.
pub const POLL: Duration = Duration::from_millis(100);

/// The accept queue of a listener that is up.
const BACKLOG: u32 = 1024;

/// Connections held open per listener at most; more are closed at once.
const MAX_HELD: usize = 256;

/// How long a held connection may stay idle before it is closed.
const HOLD_MAX: Duration = Duration::from_secs(600);

/// A loopback connect to a listener with room in its queue completes at
/// once; one that takes longer than this has hit a full queue.
const PLUG_PROBE: Duration = Duration::from_millis(150);

/// Connections tried at most to fill a dead listener's queue.
const PLUG_MAX: usize = 8;

fn socket_for(addr: SocketAddr) -> io::Result<TcpSocket> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    // Rebinding after a silent phase must not trip over the plug's
    // connections in TIME_WAIT. (On Linux this does not let two listeners
    // share a port: a port held by another program still fails.)
    socket.set_reuseaddr(true)?;
    Ok(socket)
}

/// Binds a normal listener on `addr`.
pub(crate) fn bind_open(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = socket_for(addr)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

/// Sets the accept queue of a listening socket (`listen` again: Linux
/// only changes the backlog of a socket that already listens).
fn set_backlog(listener: &TcpListener, backlog: u32) -> io::Result<()> {
    socket2::SockRef::from(listener).listen(i32::try_from(backlog).unwrap_or(i32::MAX))
}

/// Makes `listener` (bound on `addr`, no longer accepting) drop every
/// SYN: its queue cut to the smallest and filled by our own connections,
/// which are returned (dropping them empties the queue again).
async fn plug(addr: SocketAddr, listener: &TcpListener) -> io::Result<Vec<TcpStream>> {
    set_backlog(listener, 0)?;
    let mut fillers = Vec::new();
    // Two probes in a row that go unanswered prove the queue full: one
    // alone may only be a busy machine (then a client would still get
    // through, and a down device would answer).
    let mut unanswered = 0;
    for _ in 0..PLUG_MAX + 2 {
        match tokio::time::timeout(PLUG_PROBE, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => {
                unanswered = 0;
                fillers.push(stream);
            }
            Ok(Err(e)) => return Err(e),
            Err(_) => {
                unanswered += 1;
                if unanswered == 2 {
                    // The queue is full: SYNs are dropped from here on.
                    return Ok(fillers);
                }
            }
        }
    }
    Err(io::Error::other(
        "the accept queue did not fill up; connects would still succeed",
    ))
}

fn silent(shared: &Shared, devices: &[usize]) -> bool {
    let now = Instant::now();
    devices.iter().all(|d| shared.state.view(*d, now).silent)
}

async fn hold(mut stream: TcpStream) {
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(HOLD_MAX, stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => {}
            _ => return,
        }
    }
}

/// Serves `devices` on `addr` (bound as `listener`) until the simulator
/// stops, going silent and coming back as their faults say.
pub(crate) async fn serve(
    addr: SocketAddr,
    listener: TcpListener,
    devices: Vec<usize>,
    shared: Shared,
) {
    let mut open = Some(listener);
    let mut held = JoinSet::new();
    loop {
        // Up: accept and hold, until the device goes silent.
        if let Some(listener) = &open {
            let mut tick = tokio::time::interval(POLL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    biased;
                    () = stopped(shared.stop.clone()) => return,
                    _ = tick.tick() => {
                        if silent(&shared, &devices) {
                            break;
                        }
                    }
                    accepted = listener.accept() => {
                        while held.try_join_next().is_some() {}
                        if let Ok((stream, _)) = accepted
                            && held.len() < MAX_HELD
                        {
                            held.spawn(hold(stream));
                        }
                    }
                }
            }
        }
        // Down: the box is dead, and so are its connections.
        held.abort_all();
        let mut fillers = Vec::new();
        if let Some(listener) = &open {
            match plug(addr, listener).await {
                Ok(f) => fillers = f,
                Err(e) => {
                    tracing::warn!("{addr}: cannot make connects time out ({e}); they are refused");
                    open = None;
                }
            }
        }
        loop {
            tokio::select! {
                () = stopped(shared.stop.clone()) => return,
                () = tokio::time::sleep(POLL) => {}
            }
            if !silent(&shared, &devices) {
                break;
            }
        }
        // Back up: room in the queue again; the fillers are accepted and
        // closed by the loop above.
        drop(fillers);
        if let Some(listener) = &open
            && let Err(e) = set_backlog(listener, BACKLOG)
        {
            tracing::warn!("{addr}: cannot listen again ({e}); taking the port anew");
            open = None;
        }
        while open.is_none() {
            match bind_open(addr) {
                Ok(l) => open = Some(l),
                Err(e) => {
                    tracing::warn!("{addr}: cannot listen again ({e}); retrying");
                    tokio::select! {
                        () = stopped(shared.stop.clone()) => return,
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
            }
        }
    }
}
