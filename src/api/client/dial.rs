//! One attempt to reach the server: TCP (plain or TLS) or a Unix socket,
//! the WebSocket upgrade (with the bearer token), the server's `Hello`
//! (its protocol version) and the full snapshot.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode, header};
use tokio_tungstenite::tungstenite::{self, Message};

use super::{Options, Target};
use crate::api::wire::{self, ServerMsg};
use crate::engine::command::Identity;
use crate::engine::snapshot::Snapshot;

/// A byte stream the WebSocket runs over.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// The WebSocket to the server.
pub type Ws = WebSocketStream<Box<dyn Io>>;

/// A connection that said hello and sent the full snapshot.
pub struct Opened {
    /// The WebSocket, after the first `Full`.
    pub ws: Ws,
    /// Who the server says the connection acts as.
    pub identity: Identity,
    /// The server's version.
    pub server: String,
    /// The full snapshot.
    pub snapshot: Snapshot,
}

impl fmt::Debug for Opened {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Opened")
            .field("identity", &self.identity)
            .field("server", &self.server)
            .field("seq", &self.snapshot.seq)
            .finish_non_exhaustive()
    }
}

/// Why an attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialError {
    /// The server refused who we are (401 or 403).
    Refused {
        /// The server's URL or socket.
        target: String,
        /// The HTTP status.
        status: u16,
    },
    /// The server speaks another protocol version.
    Version {
        /// The server's URL or socket.
        target: String,
        /// Its version.
        server: u32,
    },
    /// Anything else (cannot connect, TLS, bad frames, the server said
    /// why and closed): one sentence.
    Other(String),
}

impl fmt::Display for DialError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DialError::Refused { target, status } if *status == 401 => write!(
                f,
                "the server refused the token ({target} answered 401 Unauthorized): check TOC_TOKEN or --token-file"
            ),
            DialError::Refused { target, status } => write!(
                f,
                "the server refused this connection ({target} answered {status})"
            ),
            DialError::Version { target, server } => write!(
                f,
                "the server at {target} speaks API version {server}, this console speaks {}: use a toc of the server's version",
                wire::VERSION
            ),
            DialError::Other(why) => f.write_str(why),
        }
    }
}

/// Dials the same server again and again.
#[derive(Clone)]
pub struct Dialer {
    target: Target,
    token: Option<String>,
    tls: Option<(
        tokio_rustls::TlsConnector,
        rustls::pki_types::ServerName<'static>,
    )>,
    timeout: Duration,
    /// How long the link may stay silent.
    pub idle_timeout: Duration,
}

impl fmt::Debug for Dialer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dialer")
            .field("target", &self.target.to_string())
            .field("token", &self.token.as_ref().map(|_| "…"))
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

impl Dialer {
    /// Checks what can be checked before dialing (a CA file for `wss://`,
    /// and reads it).
    pub fn new(target: Target, token: Option<String>, opts: &Options) -> Result<Dialer, String> {
        let tls = match &target {
            Target::Url(url) if url.scheme() == "wss" => {
                let Some(ca) = &opts.ca else {
                    return Err(format!(
                        "{target}: wss needs the CA certificate that signed the server's (--ca FILE or TOC_CA); this console does not use the platform's roots"
                    ));
                };
                let host = url.host_str().unwrap_or_default().to_owned();
                let name = rustls::pki_types::ServerName::try_from(host.clone())
                    .map_err(|e| format!("{target}: {host:?} is not a TLS server name: {e}"))?;
                Some((connector(ca)?, name))
            }
            _ => None,
        };
        Ok(Dialer {
            target,
            token,
            tls,
            timeout: opts.connect_timeout,
            idle_timeout: opts.idle_timeout,
        })
    }

    /// The server dialed.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// One attempt, within the connect timeout.
    pub async fn open(&self) -> Result<Opened, DialError> {
        match tokio::time::timeout(self.timeout, self.attempt()).await {
            Ok(opened) => opened,
            Err(_) => Err(DialError::Other(format!(
                "{} did not answer within {} s",
                self.target,
                self.timeout.as_secs()
            ))),
        }
    }

    async fn attempt(&self) -> Result<Opened, DialError> {
        let target = self.target.to_string();
        let failed = |what: &str, e: &dyn fmt::Display| {
            DialError::Other(format!("cannot {what} {target}: {e}"))
        };
        let (io, url): (Box<dyn Io>, String) = match &self.target {
            Target::Socket(path) => {
                #[cfg(unix)]
                {
                    let s = tokio::net::UnixStream::connect(path)
                        .await
                        .map_err(|e| failed("connect to", &e))?;
                    (Box::new(s), "ws://localhost/api/ws".to_owned())
                }
                #[cfg(not(unix))]
                {
                    let _ = path;
                    return Err(DialError::Other(
                        "Unix sockets are not available here".to_owned(),
                    ));
                }
            }
            Target::Url(url) => {
                let host = url.host_str().unwrap_or_default();
                let port = url.port_or_known_default().unwrap_or(80);
                let tcp = tokio::net::TcpStream::connect((host, port))
                    .await
                    .map_err(|e| failed("connect to", &e))?;
                tcp.set_nodelay(true).ok();
                let io: Box<dyn Io> = match &self.tls {
                    Some((connector, name)) => Box::new(
                        connector
                            .connect(name.clone(), tcp)
                            .await
                            .map_err(|e| failed("set up TLS with", &e))?,
                    ),
                    None => Box::new(tcp),
                };
                (io, url.as_str().to_owned())
            }
        };
        let mut request = url
            .into_client_request()
            .map_err(|e| failed("make a request for", &e))?;
        if let Some(token) = &self.token {
            let value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
                DialError::Other("the token has characters a header cannot carry".to_owned())
            })?;
            request.headers_mut().insert(header::AUTHORIZATION, value);
        }
        let config = tungstenite::protocol::WebSocketConfig::default()
            .max_message_size(Some(64 << 20))
            .max_frame_size(Some(64 << 20));
        let (ws, _) = tokio_tungstenite::client_async_with_config(request, io, Some(config))
            .await
            .map_err(|e| match e {
                tungstenite::Error::Http(response)
                    if matches!(
                        response.status(),
                        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
                    ) =>
                {
                    DialError::Refused {
                        target: target.clone(),
                        status: response.status().as_u16(),
                    }
                }
                tungstenite::Error::Http(response) => DialError::Other(format!(
                    "{target} answered {} to the WebSocket upgrade (is it a toc serve API?)",
                    response.status()
                )),
                e => failed("open the WebSocket of", &e),
            })?;
        hello(ws, &target).await
    }
}

/// Reads `Hello` (checks the version), then the full snapshot.
async fn hello(mut ws: Ws, target: &str) -> Result<Opened, DialError> {
    let (identity, server) = match next_msg(&mut ws, target).await? {
        ServerMsg::Hello {
            v,
            identity,
            server,
        } => {
            if v != wire::VERSION {
                return Err(DialError::Version {
                    target: target.to_owned(),
                    server: v,
                });
            }
            (identity, server)
        }
        other => return Err(unexpected(target, "Hello", &other)),
    };
    match next_msg(&mut ws, target).await? {
        ServerMsg::Full { snapshot } => Ok(Opened {
            ws,
            identity,
            server,
            snapshot: *snapshot,
        }),
        other => Err(unexpected(target, "the full snapshot", &other)),
    }
}

fn unexpected(target: &str, wanted: &str, got: &ServerMsg) -> DialError {
    match got {
        ServerMsg::Error { reason } => DialError::Other(format!("{target}: {reason}")),
        _ => DialError::Other(format!(
            "{target} sent something else than {wanted} first: not a toc API of version {}",
            wire::VERSION
        )),
    }
}

/// The next message of the server; pings and pongs skipped.
async fn next_msg(ws: &mut Ws, target: &str) -> Result<ServerMsg, DialError> {
    loop {
        let frame = match ws.next().await {
            Some(Ok(frame)) => frame,
            Some(Err(e)) => return Err(DialError::Other(format!("{target}: {e}"))),
            None => {
                return Err(DialError::Other(format!("{target} closed the connection")));
            }
        };
        match decode(frame) {
            Decoded::Msg(msg) => return Ok(msg),
            Decoded::Skip => {}
            Decoded::Closed(why) | Decoded::Bad(why) => {
                return Err(DialError::Other(format!("{target}: {why}")));
            }
        }
    }
}

/// What a frame holds.
pub enum Decoded {
    /// A message.
    Msg(ServerMsg),
    /// A ping or a pong: nothing for us.
    Skip,
    /// A close frame, and why.
    Closed(String),
    /// A frame that is not a message of this version.
    Bad(String),
}

/// Reads a frame: binary frames deflated, text frames plain JSON.
pub fn decode(frame: Message) -> Decoded {
    let msg = match frame {
        Message::Binary(bytes) => wire::decode_binary(&bytes),
        Message::Text(text) => wire::decode_text(text.as_str()),
        Message::Close(Some(close)) if !close.reason.is_empty() => {
            return Decoded::Closed(format!(
                "the server closed the connection: {}",
                close.reason
            ));
        }
        Message::Close(_) => return Decoded::Closed("the server closed the connection".to_owned()),
        Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => return Decoded::Skip,
    };
    match msg {
        Ok(msg) => Decoded::Msg(msg),
        Err(e) => Decoded::Bad(e.to_string()),
    }
}

/// A TLS connector that trusts only the certificates of `ca` (PEM).
fn connector(ca: &std::path::Path) -> Result<tokio_rustls::TlsConnector, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let shown = ca.display();
    let pem = std::fs::read(ca).map_err(|e| format!("cannot read the CA file {shown}: {e}"))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| format!("the CA file {shown} is not PEM: {e}"))?;
        roots
            .add(cert)
            .map_err(|e| format!("the CA file {shown} holds a certificate rustls refuses: {e}"))?;
    }
    if roots.is_empty() {
        return Err(format!("the CA file {shown} holds no certificate"));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}
