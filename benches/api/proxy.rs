//! A counting Unix-socket proxy: one listening socket per console in the
//! bench's folder, each connection forwarded to the server's socket, the
//! bytes from the server counted (WebSocket frames as on the wire:
//! headers, deflated payloads, pings; the HTTP upgrade answer too).
//! The server sees the bench's own uid as the peer (the proxy's
//! connection), so no token is needed.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{UnixListener, UnixStream};

/// One console's proxy socket and its byte counter.
pub struct Proxy {
    /// Where the console connects.
    pub path: PathBuf,
    received: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Listens on `path`, forwarding each connection to `server`.
    pub fn start(path: PathBuf, server: PathBuf) -> Result<Proxy, String> {
        let listener =
            UnixListener::bind(&path).map_err(|e| format!("bind {}: {e}", path.display()))?;
        let received = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&received);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let counter = Arc::clone(&counter);
                let server = server.clone();
                tokio::spawn(async move {
                    if let Ok(upstream) = UnixStream::connect(&server).await {
                        forward(client, upstream, &counter).await;
                    }
                });
            }
        });
        Ok(Proxy {
            path,
            received,
            task,
        })
    }

    /// Bytes the server sent through this proxy so far.
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn forward(client: UnixStream, upstream: UnixStream, counter: &AtomicU64) {
    let (mut client_r, mut client_w) = client.into_split();
    let (mut up_r, mut up_w) = upstream.into_split();
    let to_server = async {
        let _ = tokio::io::copy(&mut client_r, &mut up_w).await;
        let _ = up_w.shutdown().await;
    };
    let to_client = async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match up_r.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    counter.fetch_add(n as u64, Ordering::Relaxed);
                    let Some(chunk) = buf.get(..n) else { break };
                    if client_w.write_all(chunk).await.is_err() {
                        break;
                    }
                }
            }
        }
        let _ = client_w.shutdown().await;
    };
    tokio::join!(to_server, to_client);
}
