//! A console's WebSocket (`/api/ws`): authenticated at the upgrade (the
//! `Authorization` header, or the Unix-socket peer) or by a first
//! [`ClientMsg::Auth`] within 5 s; then Hello, the full snapshot and the
//! deltas of the fan-out, and a Reply to each command. Each connection
//! has its own task; a write that takes over 30 s drops the console; a
//! ping every 15 s, and no pong for 45 s closes it. `?view=wall` sends the
//! wall's JSON instead (at most twice a second, when it changed) and takes
//! no commands.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Extension;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::stream::SplitSink;
use futures_util::{SinkExt as _, StreamExt as _};
use serde::Deserialize;
use tokio::sync::{broadcast, mpsc};
use tokio::time::Instant;

use super::Shared;
use super::fanout::{Frame, Step, step};
use super::http::{check_token, identify, unauthorized};
use super::listen::Peer;
use crate::api::delta::{self, Focus};
use crate::api::wire::{self, ClientMsg, ServerMsg};
use crate::engine::command::{Identity, Refusal};

/// A write that takes longer drops the console.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// A ping this often.
const PING_EVERY: Duration = Duration::from_secs(15);
/// No pong for this long closes the connection.
const PONG_TIMEOUT: Duration = Duration::from_secs(45);
/// The first message's deadline when the upgrade carried no token.
const AUTH_TIMEOUT: Duration = Duration::from_secs(5);
/// The wall gets at most this many updates a second.
const WALL_EVERY: Duration = Duration::from_millis(500);
/// The largest message a console may send (a command is small).
const MAX_MESSAGE: usize = 1 << 20;

/// The query of `/api/ws`.
#[derive(Debug, Deserialize)]
pub(super) struct WsQuery {
    view: Option<String>,
}

/// Decrements the console count when a connection ends.
struct Slot(Arc<Shared>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.consoles.fetch_sub(1, Ordering::Relaxed);
    }
}

/// `GET /api/ws`.
pub(super) async fn upgrade(
    State(shared): State<Arc<Shared>>,
    Extension(peer): Extension<Peer>,
    Query(query): Query<WsQuery>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let wall = match query.view.as_deref() {
        None | Some("console") => false,
        Some("wall") => true,
        Some(other) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("unknown view `{other}`: use `wall`, or none for a console\n"),
            )
                .into_response();
        }
    };
    // The wall is read-only and needs no token (like /metrics).
    let identity = if wall {
        None
    } else {
        match identify(&shared, &peer, &headers).await {
            Some(Ok(identity)) => Some(identity),
            Some(Err(denied)) => return unauthorized(&shared, &peer, &denied.reason).await,
            None => None,
        }
    };
    let n = shared.consoles.fetch_add(1, Ordering::Relaxed);
    let slot = Slot(Arc::clone(&shared));
    if n >= shared.max_consoles {
        drop(slot);
        tracing::warn!(
            "api: console from {} refused: {n} connected already",
            peer.name
        );
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{n} consoles are connected, the most [api] max_consoles allows\n"),
        )
            .into_response();
    }
    ws.max_message_size(MAX_MESSAGE)
        .on_upgrade(move |socket| async move {
            let _slot = slot;
            if wall {
                run_wall(shared, socket).await;
            } else {
                run_console(shared, peer, identity, socket).await;
            }
        })
}

/// Sends with the write timeout; false when the console is gone or slow.
async fn send(sink: &mut SplitSink<WebSocket, Message>, msg: Message) -> bool {
    matches!(
        tokio::time::timeout(WRITE_TIMEOUT, sink.send(msg)).await,
        Ok(Ok(()))
    )
}

fn text(msg: &ServerMsg) -> Message {
    Message::Text(Utf8Bytes::from(
        serde_json::to_string(msg).unwrap_or_default(),
    ))
}

/// The details of a console's focus as a binary frame; none when nothing
/// changed.
fn detail(seq: u64, devices: Vec<(u32, crate::engine::snapshot::DeviceSnap)>) -> Option<Message> {
    (!devices.is_empty())
        .then(|| Message::Binary(wire::encode_binary(&ServerMsg::Detail { seq, devices }).into()))
}

fn binary(frame: &Frame) -> Message {
    Message::Binary(frame.bytes.clone())
}

/// Tells the console why it is closed, then closes.
async fn close(mut socket: WebSocket, code: u16, reason: &str) {
    let _ = tokio::time::timeout(WRITE_TIMEOUT, async {
        let _ = socket
            .send(text(&ServerMsg::Error {
                reason: reason.to_owned(),
            }))
            .await;
        let _ = socket
            .send(Message::Close(Some(CloseFrame {
                code,
                reason: Utf8Bytes::from(reason.chars().take(100).collect::<String>()),
            })))
            .await;
    })
    .await;
}

/// Waits for the first message to be `Auth` (within 5 s).
async fn first_auth(shared: &Shared, socket: &mut WebSocket) -> Result<Identity, String> {
    let first = tokio::time::timeout(AUTH_TIMEOUT, socket.recv())
        .await
        .map_err(|_| {
            "no token: send `Authorization: Bearer TOKEN` or an auth message within 5 s".to_owned()
        })?;
    let Some(Ok(Message::Text(t))) = first else {
        return Err("no token: the first message must be an auth message".to_owned());
    };
    match serde_json::from_str::<ClientMsg>(&t) {
        Ok(ClientMsg::Auth { v, token }) => {
            if v != wire::VERSION {
                return Err(format!(
                    "version {v} is not spoken here; this server speaks version {}",
                    wire::VERSION
                ));
            }
            check_token(shared, token).await.map_err(|d| d.reason)
        }
        Ok(ClientMsg::Command { .. } | ClientMsg::Focus { .. }) | Err(_) => {
            Err("no token: the first message must be an auth message".to_owned())
        }
    }
}

/// A console: authenticate, Hello, Full, then deltas and replies.
async fn run_console(
    shared: Arc<Shared>,
    peer: Peer,
    identity: Option<Identity>,
    mut socket: WebSocket,
) {
    let identity = match identity {
        Some(i) => i,
        None => match first_auth(&shared, &mut socket).await {
            Ok(i) => i,
            Err(reason) => {
                crate::api::auth::audit_denied(&shared.handle, &peer.name, &reason).await;
                tracing::info!("api: websocket from {} refused: {reason}", peer.name);
                close(socket, 4401, &reason).await;
                return;
            }
        },
    };
    tracing::info!("api: console {} connected as {}", peer.name, identity.user);
    let handle = shared.handle.with_identity(identity.clone());
    // Subscribe before the full snapshot is taken: nothing falls between.
    let mut frames = shared.hub.subscribe();
    let (mut sink, stream) = socket.split();
    let hello = ServerMsg::Hello {
        v: wire::VERSION,
        identity,
        server: format!("toc {}", env!("CARGO_PKG_VERSION")),
    };
    if !send(&mut sink, text(&hello)).await {
        return;
    }
    // Only the snapshot is kept: the frame (a megabyte at 10,000
    // devices), and the snapshot of its moment once the console moved on,
    // must not stay alive for as long as the console is connected.
    let (mut have, mut cur) = {
        let full = shared.hub.latest().full();
        if !send(&mut sink, binary(&full)).await {
            return;
        }
        (full.seq, Arc::clone(&full.snapshot))
    };
    // Replies, pongs and the focus come from the reader.
    let (out_tx, mut out_rx) = mpsc::channel::<Message>(32);
    let (pong_tx, pong_rx) = tokio::sync::watch::channel(Instant::now());
    let (focus_tx, mut focus_rx) = tokio::sync::watch::channel(Focus::default());
    let reader = tokio::spawn(read_console(stream, handle, out_tx, (pong_tx, focus_tx)));
    let mut ping = tokio::time::interval_at(Instant::now() + PING_EVERY, PING_EVERY);
    // The devices the console looks at (`cur`: the snapshot it has).
    let mut focus: Vec<u32> = Vec::new();
    loop {
        let mut msgs = Vec::with_capacity(2);
        tokio::select! {
            biased;
            out = out_rx.recv() => match out {
                Some(m) => msgs.push(m),
                None => break,
            },
            changed = focus_rx.changed() => {
                if changed.is_err() {
                    break;
                }
                focus = focus_rx.borrow_and_update().devices_in(&cur);
                msgs.extend(detail(cur.seq, delta::details(None, &cur, &focus)));
            }
            frame = frames.recv() => {
                let frame = match frame {
                    Ok(frame) => match step(have, frame.from, frame.seq) {
                        Step::Skip => continue,
                        Step::Send => frame,
                        Step::Resync => shared.hub.latest().full(),
                    },
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        let full = shared.hub.latest().full();
                        if full.seq <= have {
                            continue;
                        }
                        full
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                };
                have = frame.seq;
                msgs.push(binary(&frame));
                let prev = std::mem::replace(&mut cur, Arc::clone(&frame.snapshot));
                // A full snapshot carries every device whole already.
                if frame.from.is_some() && !focus.is_empty() {
                    msgs.extend(detail(cur.seq, delta::details(Some(&prev), &cur, &focus)));
                }
            }
            _ = ping.tick() => {
                if pong_rx.borrow().elapsed() > PONG_TIMEOUT {
                    tracing::info!("api: console {} closed: no pong for 45 s", peer.name);
                    break;
                }
                msgs.push(Message::Ping(axum::body::Bytes::new()));
            }
        }
        for msg in msgs {
            if !send(&mut sink, msg).await {
                tracing::info!(
                    "api: console {} dropped (gone, or a write took over 30 s)",
                    peer.name
                );
                reader.abort();
                return;
            }
        }
    }
    reader.abort();
    let _ = tokio::time::timeout(Duration::from_secs(1), sink.close()).await;
    tracing::info!("api: console {} disconnected", peer.name);
}

/// A console's reader: runs each command and queues its reply for the
/// writer; notes every pong.
async fn read_console(
    mut stream: futures_util::stream::SplitStream<WebSocket>,
    handle: crate::engine::EngineHandle,
    out_tx: mpsc::Sender<Message>,
    (pong_tx, focus_tx): (
        tokio::sync::watch::Sender<Instant>,
        tokio::sync::watch::Sender<Focus>,
    ),
) {
    while let Some(Ok(msg)) = stream.next().await {
        match msg {
            Message::Text(t) => {
                let reply = match serde_json::from_str::<ClientMsg>(&t) {
                    Ok(ClientMsg::Command { id, command }) => ServerMsg::Reply {
                        id,
                        reply: if matches!(command, crate::engine::Command::Session(_)) {
                            Err(Refusal::Invalid(
                                "a session record is the server's to write, not a command to send"
                                    .to_owned(),
                            ))
                        } else {
                            handle.send(command).await
                        },
                    },
                    Ok(ClientMsg::Focus { focus }) => {
                        focus_tx.send_replace(focus);
                        continue;
                    }
                    Ok(ClientMsg::Auth { .. }) => ServerMsg::Error {
                        reason: "already authenticated; an auth message comes only first"
                            .to_owned(),
                    },
                    Err(e) => ServerMsg::Error {
                        reason: format!("not a message of version {}: {e}", wire::VERSION),
                    },
                };
                if out_tx.send(text(&reply)).await.is_err() {
                    break;
                }
            }
            Message::Pong(_) => {
                let _ = pong_tx.send(Instant::now());
            }
            Message::Close(_) => break,
            Message::Binary(_) | Message::Ping(_) => {}
        }
    }
}

/// The wall: its JSON, at most twice a second, when it changed.
async fn run_wall(shared: Arc<Shared>, socket: WebSocket) {
    let (mut sink, mut stream) = socket.split();
    // It takes no commands: anything it sends is read and dropped (pongs
    // keep it alive).
    let (pong_tx, pong_rx) = tokio::sync::watch::channel(Instant::now());
    let (cmd_tx, mut cmd_rx) = mpsc::channel::<u64>(8);
    let reader = tokio::spawn(async move {
        while let Some(Ok(msg)) = stream.next().await {
            match msg {
                Message::Pong(_) => {
                    let _ = pong_tx.send(Instant::now());
                }
                Message::Text(t) => {
                    if let Ok(ClientMsg::Command { id, .. }) = serde_json::from_str(&t)
                        && cmd_tx.send(id).await.is_err()
                    {
                        break;
                    }
                }
                Message::Close(_) => break,
                _ => {}
            }
        }
    });
    let mut latest = shared.hub.watch_latest();
    let mut last = String::new();
    let mut ping = tokio::time::interval_at(Instant::now() + PING_EVERY, PING_EVERY);
    let mut next_at = Instant::now();
    loop {
        let snap = Arc::clone(&latest.borrow_and_update().snapshot);
        let json = serde_json::to_string(&crate::api::wall::view(&snap)).unwrap_or_default();
        if json != last {
            if !send(&mut sink, Message::Text(Utf8Bytes::from(json.clone()))).await {
                break;
            }
            last = json;
            next_at = Instant::now() + WALL_EVERY;
        }
        tokio::time::sleep_until(next_at).await;
        let msg = tokio::select! {
            changed = latest.changed() => {
                if changed.is_err() {
                    break;
                }
                continue;
            }
            id = cmd_rx.recv() => match id {
                Some(id) => text(&ServerMsg::Reply {
                    id,
                    reply: Err(Refusal::Unsupported("the wall view takes no commands".to_owned())),
                }),
                None => break,
            },
            _ = ping.tick() => {
                if pong_rx.borrow().elapsed() > PONG_TIMEOUT {
                    break;
                }
                Message::Ping(axum::body::Bytes::new())
            }
        };
        if !send(&mut sink, msg).await {
            break;
        }
    }
    reader.abort();
}
