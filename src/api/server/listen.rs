//! The listeners: TCP (plain, or TLS when `[api]` has a certificate) and
//! a Unix socket. Every connection is served by hyper on a task of its
//! own, with upgrades (the WebSocket), and each request carries a
//! [`Peer`]: where it came from and, over the Unix socket, the uid of the
//! process at the other end (`SO_PEERCRED`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

use super::Addr;
use crate::config::venues::{Api, ApiTls};

/// Who is at the other end of a connection.
#[derive(Debug, Clone)]
pub(crate) struct Peer {
    /// For the audit: `127.0.0.1:53412` or `unix:uid 1000`.
    pub(crate) name: String,
    /// The OS user of a Unix-socket peer.
    pub(crate) uid: Option<u32>,
}

/// Listeners bound, not yet served.
pub(super) struct Bound {
    tcp: std::net::TcpListener,
    tcp_addr: SocketAddr,
    tls: Option<TlsAcceptor>,
    unix: Option<(std::os::unix::net::UnixListener, PathBuf)>,
}

impl Bound {
    /// Every address, TCP first.
    pub(super) fn addrs(&self) -> Vec<Addr> {
        let mut v = vec![if self.tls.is_some() {
            Addr::Https(self.tcp_addr)
        } else {
            Addr::Http(self.tcp_addr)
        }];
        if let Some((_, p)) = &self.unix {
            v.push(Addr::Unix(p.clone()));
        }
        v
    }
}

/// The TLS acceptor of a certificate and key in PEM files.
fn tls_acceptor(tls: &ApiTls) -> Result<TlsAcceptor, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let read =
        |p: &Path| std::fs::read(p).map_err(|e| format!("api: cannot read {}: {e}", p.display()));
    let cert_pem = read(&tls.cert)?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| {
            format!(
                "api: {} is not a PEM certificate chain: {e}",
                tls.cert.display()
            )
        })?;
    if certs.is_empty() {
        return Err(format!(
            "api: {} holds no certificate (a PEM `BEGIN CERTIFICATE` block)",
            tls.cert.display()
        ));
    }
    let key = PrivateKeyDer::from_pem_slice(&read(&tls.key)?)
        .map_err(|e| format!("api: {} is not a PEM private key: {e}", tls.key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("api: TLS: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("api: TLS certificate {}: {e}", tls.cert.display()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Binds the Unix socket at `path`: a stale file (nobody answers on it)
/// is removed first; a live one is an error. Mode 0666: any local user
/// may connect, and is who the OS says they are.
fn bind_unix(path: &Path) -> Result<std::os::unix::net::UnixListener, String> {
    use std::os::unix::fs::{FileTypeExt as _, PermissionsExt as _};
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            return Err(format!(
                "api: {} exists and is not a socket; remove it or choose another [api] socket",
                path.display()
            ));
        }
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(format!(
                "api: another server answers on {}; stop it or choose another [api] socket",
                path.display()
            ));
        }
        std::fs::remove_file(path).map_err(|e| {
            format!(
                "api: cannot remove the stale socket {}: {e}",
                path.display()
            )
        })?;
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("api: cannot create {}: {e}", dir.display()))?;
    }
    let listener = std::os::unix::net::UnixListener::bind(path)
        .map_err(|e| format!("api: cannot listen on unix:{}: {e}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666))
        .map_err(|e| format!("api: cannot open {} to local users: {e}", path.display()))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("api: unix:{}: {e}", path.display()))?;
    Ok(listener)
}

/// Binds every listener of `api` (a port in use is an error now).
pub(super) fn bind(api: &Api) -> Result<Bound, String> {
    let tls = api.tls.as_ref().map(tls_acceptor).transpose()?;
    let tcp = std::net::TcpListener::bind(api.listen)
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .map_err(|e| format!("api: cannot listen on {}: {e}", api.listen))?;
    let tcp_addr = tcp
        .local_addr()
        .map_err(|e| format!("api: no local address: {e}"))?;
    let unix = match &api.socket {
        Some(p) => Some((bind_unix(p)?, p.clone())),
        None => None,
    };
    Ok(Bound {
        tcp,
        tcp_addr,
        tls,
        unix,
    })
}

/// Serves one connection with upgrades, `peer` in every request.
fn serve_conn<S>(io: S, app: Router, peer: Peer, mut stop: watch::Receiver<bool>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let svc = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(peer.clone());
        let mut app = app.clone();
        async move { tower_service::Service::call(&mut app, req).await }
    });
    tokio::spawn(async move {
        let conn = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(io), svc)
            .with_upgrades();
        tokio::pin!(conn);
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!("api: connection ended: {e}");
                }
            }
            _ = stop.wait_for(|s| *s) => {}
        }
    });
}

/// Accept loops for every listener; they end when `stop` turns true.
pub(super) fn serve(
    bound: Bound,
    app: Router,
    stop: watch::Receiver<bool>,
) -> Result<Vec<JoinHandle<()>>, String> {
    let mut tasks = Vec::new();
    let tcp = tokio::net::TcpListener::from_std(bound.tcp)
        .map_err(|e| format!("api: {}: {e}", bound.tcp_addr))?;
    let tls = bound.tls;
    let tcp_app = app.clone();
    let tcp_stop = stop.clone();
    tasks.push(tokio::spawn(async move {
        loop {
            let (stream, from) = match tcp.accept().await {
                Ok(c) => c,
                Err(e) => {
                    // Out of descriptors, mostly: wait, do not spin.
                    tracing::warn!("api: accept: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let peer = Peer {
                name: from.to_string(),
                uid: None,
            };
            match &tls {
                None => serve_conn(stream, tcp_app.clone(), peer, tcp_stop.clone()),
                Some(acceptor) => {
                    let acceptor = acceptor.clone();
                    let app = tcp_app.clone();
                    let stop = tcp_stop.clone();
                    tokio::spawn(async move {
                        let handshake = tokio::time::timeout(
                            std::time::Duration::from_secs(10),
                            acceptor.accept(stream),
                        )
                        .await;
                        match handshake {
                            Ok(Ok(tls)) => serve_conn(tls, app, peer, stop),
                            Ok(Err(e)) => tracing::info!("api: TLS handshake from {from}: {e}"),
                            Err(_) => tracing::info!("api: TLS handshake from {from} timed out"),
                        }
                    });
                }
            }
        }
    }));
    if let Some((listener, path)) = bound.unix {
        let unix = tokio::net::UnixListener::from_std(listener)
            .map_err(|e| format!("api: unix:{}: {e}", path.display()))?;
        tasks.push(tokio::spawn(async move {
            loop {
                let (stream, _) = match unix.accept().await {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::warn!("api: accept on unix:{}: {e}", path.display());
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let uid = stream.peer_cred().ok().map(|c| c.uid());
                let peer = Peer {
                    name: uid.map_or_else(
                        || "unix:unknown uid".to_owned(),
                        |u| format!("unix:uid {u}"),
                    ),
                    uid,
                };
                serve_conn(stream, app.clone(), peer, stop.clone());
            }
        }));
    }
    Ok(tasks)
}
