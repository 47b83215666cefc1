//! The ingest door: `POST /odf` with a raw XML body (plain or
//! `Content-Encoding: gzip`) and the source's token as
//! `Authorization: Bearer TOKEN`. The answer comes only after the
//! sequencer says the message is durable (or why it is not taken). See
//! docs/relay.md, "Ingest".

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use futures_util::StreamExt;
use tokio::sync::oneshot;

use super::odf::{self, Header, InflateError, OdfError};
use super::quarantine::Quarantine;
use super::sequencer::{SequencerHandle, Stats, Submit};
use crate::model::relay::{Outcome, TailEntry};

/// Bodies above this are inflated and checked on a blocking thread.
const INLINE_BYTES: usize = 256 * 1024;

/// What the door needs.
#[derive(Debug)]
pub struct IngestState {
    /// Source id and its token, in file order.
    tokens: Vec<(String, Vec<u8>)>,
    /// The largest message taken (after inflation).
    max_message: u64,
    sequencer: SequencerHandle,
    quarantine: Arc<Quarantine>,
    stats: Arc<Stats>,
}

impl IngestState {
    /// The door for these sources (id, token), taking messages up to
    /// `max_message` bytes.
    pub fn new(
        tokens: Vec<(String, Vec<u8>)>,
        max_message: u64,
        sequencer: SequencerHandle,
        quarantine: Arc<Quarantine>,
        stats: Arc<Stats>,
    ) -> IngestState {
        IngestState {
            tokens,
            max_message,
            sequencer,
            quarantine,
            stats,
        }
    }
}

/// The router serving `POST /odf`.
pub fn router(state: Arc<IngestState>) -> Router {
    Router::new()
        .route("/odf", post(post_odf))
        // The handler counts the body itself against `max_message`.
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
}

/// Whether `a` and `b` are equal, in time that depends only on their
/// lengths.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = u8::from(a.len() != b.len());
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= std::hint::black_box(x ^ y);
    }
    diff == 0
}

/// The source whose token this is, comparing against every token so the
/// time taken does not tell which one (or whether any) matched.
fn source_of<'a>(tokens: &'a [(String, Vec<u8>)], given: &[u8]) -> Option<&'a str> {
    let mut found = None;
    for (id, token) in tokens {
        if ct_eq(token, given) && !token.is_empty() {
            found = Some(id.as_str());
        }
    }
    found
}

fn bearer(headers: &HeaderMap) -> Option<&[u8]> {
    let v = headers.get(header::AUTHORIZATION)?.as_bytes();
    let (scheme, token) = v.split_at_checked(7)?;
    scheme.eq_ignore_ascii_case(b"bearer ").then_some(token)
}

fn text(code: StatusCode, body: String) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

fn too_large(max: u64) -> Response {
    text(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("the message is over the limit of {max} bytes\n"),
    )
}

async fn post_odf(State(st): State<Arc<IngestState>>, headers: HeaderMap, body: Body) -> Response {
    let received = SystemTime::now();
    let Some(source) = bearer(&headers).and_then(|t| source_of(&st.tokens, t)) else {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "missing or unknown token\n",
        )
            .into_response();
    };
    let source = source.to_owned();
    let gzip = match headers
        .get(header::CONTENT_ENCODING)
        .map(axum::http::HeaderValue::as_bytes)
    {
        None => false,
        Some(v) if v.eq_ignore_ascii_case(b"identity") => false,
        Some(v) if v.eq_ignore_ascii_case(b"gzip") || v.eq_ignore_ascii_case(b"x-gzip") => true,
        Some(_) => {
            return text(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Content-Encoding must be gzip or none\n".to_owned(),
            );
        }
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > st.max_message) {
        // A client that asked to be told first has sent nothing yet.
        let waits = headers
            .get(header::EXPECT)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
        if !waits {
            discard(body.into_data_stream()).await;
        }
        return too_large(st.max_message);
    }
    let raw = match read_limited(body, st.max_message).await {
        Ok(raw) => raw,
        Err(resp) => return *resp,
    };
    let checked = if raw.len() > INLINE_BYTES {
        let max = st.max_message;
        match tokio::task::spawn_blocking(move || check(raw, gzip, max)).await {
            Ok(r) => r,
            Err(e) => return text(StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")),
        }
    } else {
        check(raw, gzip, st.max_message)
    };
    let (header, xml) = match checked {
        Checked::Ok(h, xml) => (h, xml),
        Checked::TooLarge => return too_large(st.max_message),
        Checked::Bad(xml, reason) => return quarantine(&st, received, source, xml, reason).await,
    };
    submit(&st, source, *header, xml, received).await
}

/// Reads the body, stopping as soon as it passes `max`.
async fn read_limited(body: Body, max: u64) -> Result<Vec<u8>, Box<Response>> {
    let mut stream = body.into_data_stream();
    let mut raw = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            Box::new(text(
                StatusCode::BAD_REQUEST,
                format!("the body could not be read: {e}\n"),
            ))
        })?;
        if (raw.len() + chunk.len()) as u64 > max {
            discard(stream).await;
            return Err(Box::new(too_large(max)));
        }
        raw.extend_from_slice(&chunk);
    }
    Ok(raw)
}

/// How much of an oversized body is read and dropped before the 413, and
/// for how long: enough that a source sending a message over the limit
/// reads the answer, where closing with its bytes unread would reset the
/// connection and lose the answer; bounded, so a sender cannot hold the
/// connection open by sending forever.
const DISCARD_BYTES: u64 = 64 << 20;
const DISCARD_TIME: Duration = Duration::from_secs(5);

/// Reads and drops the rest of a body, up to [`DISCARD_BYTES`] and
/// [`DISCARD_TIME`].
async fn discard(mut stream: axum::body::BodyDataStream) {
    let drain = async {
        let mut seen = 0u64;
        while let Some(Ok(chunk)) = stream.next().await {
            seen += chunk.len() as u64;
            if seen > DISCARD_BYTES {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(DISCARD_TIME, drain).await;
}

enum Checked {
    Ok(Box<Header>, Vec<u8>),
    TooLarge,
    Bad(Vec<u8>, String),
}

/// Inflates when gzip, reads the header and checks the whole message is
/// well-formed.
fn check(raw: Vec<u8>, gzip: bool, max: u64) -> Checked {
    let xml = if gzip {
        match odf::inflate(&raw, max) {
            Ok(x) => x,
            Err(InflateError::TooLarge { .. }) => return Checked::TooLarge,
            Err(e @ InflateError::Corrupt(_)) => return Checked::Bad(raw, e.to_string()),
        }
    } else {
        raw
    };
    let r: Result<Header, OdfError> =
        odf::parse_header(&xml).and_then(|h| odf::check_well_formed(&xml).map(|()| h));
    match r {
        Ok(h) => Checked::Ok(Box::new(h), xml),
        Err(e) => Checked::Bad(xml, e.to_string()),
    }
}

async fn quarantine(
    st: &Arc<IngestState>,
    at: SystemTime,
    source: String,
    xml: Vec<u8>,
    reason: String,
) -> Response {
    let header = odf::parse_header(&xml).ok();
    st.stats.record(TailEntry {
        at,
        source: source.clone(),
        document_code: header
            .as_ref()
            .map(|h| h.key.document_code.clone())
            .unwrap_or_default(),
        document_type: header
            .as_ref()
            .map(|h| h.key.document_type.clone())
            .unwrap_or_default(),
        version: header.as_ref().map_or(0, |h| h.version),
        result_status: header.and_then(|h| h.result_status),
        outcome: Outcome::Quarantined,
        seq: None,
        reason: Some(reason.clone()),
    });
    let q = Arc::clone(&st.quarantine);
    let why = reason.clone();
    let kept = tokio::task::spawn_blocking(move || q.put(at, &source, &xml, &why)).await;
    match kept {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "relay: quarantine could not keep a message"),
        Err(e) => tracing::warn!(error = %e, "relay: quarantine task failed"),
    }
    text(StatusCode::BAD_REQUEST, format!("{reason}\n"))
}

async fn submit(
    st: &Arc<IngestState>,
    source: String,
    header: Header,
    body: Vec<u8>,
    received: SystemTime,
) -> Response {
    let (reply, answer) = oneshot::channel();
    let s = Submit {
        source,
        header,
        body,
        received,
        reply,
    };
    if let Err(e) = st.sequencer.submit(s).await {
        return text(StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n"));
    }
    match answer.await {
        Err(_) => text(
            StatusCode::SERVICE_UNAVAILABLE,
            "the relay is stopping\n".to_owned(),
        ),
        Ok(Err(e)) => text(StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")),
        Ok(Ok(ack)) => {
            let body = match ack.seq {
                Some(seq) => serde_json::json!({ "outcome": ack.outcome, "seq": seq }),
                None => serde_json::json!({ "outcome": ack.outcome }),
            };
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                body.to_string(),
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_compare_and_source_lookup() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"abcd"));
        assert!(!ct_eq(b"", b"a"));
        let tokens = vec![
            ("a".to_owned(), b"tok-a".to_vec()),
            ("b".to_owned(), b"tok-b".to_vec()),
            ("empty".to_owned(), Vec::new()),
        ];
        assert_eq!(source_of(&tokens, b"tok-b"), Some("b"));
        assert_eq!(source_of(&tokens, b"tok-a"), Some("a"));
        assert_eq!(source_of(&tokens, b"tok-c"), None);
        assert_eq!(
            source_of(&tokens, b""),
            None,
            "an empty token never matches"
        );
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), None);
        h.insert(header::AUTHORIZATION, "bearer xyz".parse().expect("value"));
        assert_eq!(bearer(&h), Some(&b"xyz"[..]));
        h.insert(header::AUTHORIZATION, "Basic xyz".parse().expect("value"));
        assert_eq!(bearer(&h), None);
    }
}
