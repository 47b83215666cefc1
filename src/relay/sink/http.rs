//! HTTP sink: each message is posted unchanged to the consumer's URL over
//! a kept-alive connection, with `Content-Type: application/xml`,
//! `X-Toc-Seq` (the journal sequence number) and `X-Toc-Source` (the
//! source that posted it).
//!
//! A 2xx answer delivers it. 5xx, 408, 429 and connection errors are
//! retried with backoff, in order (the sink waits). Any other answer
//! means the consumer refuses that message for good: counted as
//! rejected, logged, passed.

use std::fmt::Write as _;
use std::time::Duration;

use hyper::body::Bytes;

use super::Attempt;
use crate::relay::envelope::Envelope;

/// How long one POST may take, connection included (large messages exist).
const TIMEOUT: Duration = Duration::from_secs(30);
/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug)]
pub(super) struct HttpSink {
    url: String,
    client: Result<reqwest::Client, String>,
}

/// An error and its causes, in words.
fn words(e: &reqwest::Error) -> String {
    let mut out = if e.is_connect() {
        "cannot connect".to_owned()
    } else if e.is_timeout() {
        "timed out".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let _ = write!(out, ": {s}");
        source = s.source();
    }
    out
}

impl HttpSink {
    pub(super) fn new(url: &str) -> HttpSink {
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(TIMEOUT)
            .tcp_nodelay(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build an HTTP client: {e}"));
        HttpSink {
            url: url.to_owned(),
            client,
        }
    }

    pub(super) async fn deliver(&self, seq: u64, env: &Envelope, body: &Bytes) -> Attempt {
        let client = match &self.client {
            Ok(c) => c,
            Err(e) => return Attempt::Retry(e.clone()),
        };
        let sent = client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/xml")
            .header("X-Toc-Seq", seq)
            .header("X-Toc-Source", env.source.as_str())
            .body(body.clone())
            .send()
            .await;
        match sent {
            Err(e) => Attempt::Retry(format!("{}: {}", self.url, words(&e))),
            Ok(r) => {
                let status = r.status();
                // Read the answer so the connection is kept alive.
                let _ = r.bytes().await;
                if status.is_success() {
                    Attempt::Done
                } else if status.is_server_error()
                    || status == reqwest::StatusCode::REQUEST_TIMEOUT
                    || status == reqwest::StatusCode::TOO_MANY_REQUESTS
                {
                    Attempt::Retry(format!("{} answers {status}", self.url))
                } else {
                    Attempt::Refused(format!("{} answers {status}", self.url))
                }
            }
        }
    }
}
