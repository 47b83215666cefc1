//! The HTTP probe: one GET of a device's health URL, judged on its status,
//! its body, a JSON field and its latency.
//!
//! Each attempt runs on a fresh connection, without any proxy and without
//! following redirects, and is bounded by the device's `timeout`. Transport
//! failures (timeout, refused, TLS, reset) are tried again up to `retries`
//! times; an answer, even a wrong one, is final.

use std::error::Error as StdError;
use std::time::{Duration, Instant};

use reqwest::{Client, Response, StatusCode, redirect};

use super::{Outcome, Probe, Reading};
use crate::config::venues::{Checks, Device, JsonCheck, ProbeTarget};
use crate::model::{CheckResult, redact_urls};

/// The most of a body the probe reads.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// Values longer than this are cut in reasons, which are read on the wall.
const SHOWN_VALUE: usize = 60;

/// Checks HTTP(S) health endpoints. Build it once and share it: it holds
/// the two HTTP clients (verifying certificates and not).
#[derive(Debug, Clone)]
pub struct HttpProbe {
    verifying: Client,
    trusting: Client,
    retries: u32,
}

impl HttpProbe {
    /// A probe that tries a transport failure again up to `retries` times.
    pub fn new(retries: u32) -> Result<Self, String> {
        let builder = || {
            Client::builder()
                .use_rustls_tls()
                .user_agent(concat!("toc/", env!("CARGO_PKG_VERSION"), " health probe"))
                .redirect(redirect::Policy::none())
                .no_proxy()
                .pool_max_idle_per_host(0)
        };
        let verifying = builder()
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        let trusting = builder()
            .danger_accept_invalid_certs(true)
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Self {
            verifying,
            trusting,
            retries,
        })
    }
}

impl Probe for HttpProbe {
    async fn check(&self, device: &Device) -> Outcome {
        let ProbeTarget::Http { url } = &device.probe else {
            return Outcome::new(CheckResult::Unknown("not an HTTP device".to_owned()));
        };
        let client = if device.checks.tls_verify {
            &self.verifying
        } else {
            &self.trusting
        };
        let attempts = self.retries.saturating_add(1);
        let mut failure = String::new();
        for _ in 0..attempts {
            failure = match fetch(client, url, device.timeout).await {
                Ok(answer) => return judge(&answer, &device.checks),
                Err(Failure::TimedOut) => format!(
                    "timed out after {}",
                    humantime::format_duration(device.timeout)
                ),
                // A reason may quote the URL: never its credentials.
                Err(Failure::Transport(reason)) => redact_urls(&reason).into_owned(),
            };
        }
        if attempts > 1 {
            failure = format!("{failure} ({attempts} attempts)");
        }
        Outcome::new(CheckResult::Fail(failure))
    }
}

/// What one attempt got back.
struct Answer {
    status: StatusCode,
    body: Vec<u8>,
    /// The body was longer than [`BODY_LIMIT`] and was cut there.
    cut: bool,
    latency: Duration,
}

enum Failure {
    TimedOut,
    Transport(String),
}

/// One GET, headers and body, bounded by `timeout`.
async fn fetch(client: &Client, url: &str, timeout: Duration) -> Result<Answer, Failure> {
    let start = Instant::now();
    let exchange = async {
        let mut response = client.get(url).send().await.map_err(|e| transport(&e))?;
        let status = response.status();
        let (body, cut) = read_body(&mut response).await?;
        Ok(Answer {
            status,
            body,
            cut,
            latency: start.elapsed(),
        })
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .unwrap_or(Err(Failure::TimedOut))
}

/// Reads at most [`BODY_LIMIT`] bytes of the body.
async fn read_body(response: &mut Response) -> Result<(Vec<u8>, bool), Failure> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| transport(&e))? {
        let room = BODY_LIMIT - body.len();
        if chunk.len() > room {
            body.extend_from_slice(chunk.get(..room).unwrap_or_default());
            return Ok((body, true));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, false))
}

/// The verdict on an answer: status, then body, then JSON, then latency.
fn judge(answer: &Answer, checks: &Checks) -> Outcome {
    let mut outcome = Outcome::new(CheckResult::Ok).with_latency(answer.latency);
    outcome
        .readings
        .push(Reading::new("http.status", answer.status.as_u16()));
    outcome
        .readings
        .push(Reading::new("http.latency_ms", answer.latency.as_millis()));
    let expected = checks.expect_status.unwrap_or(200);
    outcome.result = if answer.status.as_u16() == expected {
        judge_body(answer, checks, &mut outcome.readings)
            .unwrap_or_else(|| judge_latency(answer.latency, checks.latency_warn))
    } else {
        CheckResult::Fail(format!(
            "HTTP {}, expected {expected}",
            show_status(answer.status)
        ))
    };
    outcome
}

/// `503 Service Unavailable`, or the bare number for unregistered codes.
fn show_status(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}

/// A failure of the body or JSON checks, if any.
fn judge_body(
    answer: &Answer,
    checks: &Checks,
    readings: &mut Vec<Reading>,
) -> Option<CheckResult> {
    if let Some(needle) = &checks.body_contains {
        let found = needle.is_empty()
            || answer
                .body
                .windows(needle.len())
                .any(|w| w == needle.as_bytes());
        if !found {
            let within = if answer.cut {
                " in its first 1 MiB"
            } else {
                ""
            };
            return Some(CheckResult::Fail(format!(
                "body does not contain \"{}\"{within}",
                shorten(needle)
            )));
        }
    }
    let json = checks.json.as_ref()?;
    if answer.cut {
        return Some(CheckResult::Fail(
            "body is over 1 MiB, too large to read as JSON".to_owned(),
        ));
    }
    match json_value(&answer.body, json) {
        Ok(value) => {
            readings.push(Reading::new(format!("json.{}", json.field), &value));
            (value != json.expect).then(|| {
                CheckResult::Fail(format!(
                    "json {} is \"{}\", expected \"{}\"",
                    json.field,
                    shorten(&value),
                    shorten(&json.expect)
                ))
            })
        }
        Err(reason) => Some(CheckResult::Fail(reason)),
    }
}

/// The JSON field's value as text, or why it cannot be read.
fn json_value(body: &[u8], check: &JsonCheck) -> Result<String, String> {
    let root: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("body is not JSON: {e}"))?;
    let mut value = &root;
    for part in check.field.split('.') {
        let next = match value {
            serde_json::Value::Object(map) => map.get(part),
            serde_json::Value::Array(items) => {
                part.parse::<usize>().ok().and_then(|i| items.get(i))
            }
            _ => None,
        };
        value = next.ok_or_else(|| format!("json has no field {}", check.field))?;
    }
    Ok(match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

fn judge_latency(latency: Duration, warn: Option<Duration>) -> CheckResult {
    match warn {
        Some(warn) if latency > warn => CheckResult::Warn(format!(
            "slow: {} ms, warn above {} ms",
            latency.as_millis(),
            warn.as_millis()
        )),
        _ => CheckResult::Ok,
    }
}

/// At most [`SHOWN_VALUE`] characters, with `…` when cut.
fn shorten(text: &str) -> String {
    if text.chars().count() <= SHOWN_VALUE {
        return text.to_owned();
    }
    let mut short: String = text.chars().take(SHOWN_VALUE - 1).collect();
    short.push('…');
    short
}

/// A short reason for a transport failure, from the innermost cause that
/// an operator can act on.
fn transport(err: &reqwest::Error) -> Failure {
    let mut cause: Option<&(dyn StdError + 'static)> = Some(err);
    let mut dns = false;
    while let Some(e) = cause {
        // hyper-util's connector says "dns error" and wraps the resolver's
        // io::Error, whose kind says nothing useful.
        if e.to_string().starts_with("dns error") {
            dns = true;
        }
        if let Some(tls) = find_tls(e) {
            return Failure::Transport(format!("TLS: {}", tls_reason(tls)));
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if dns {
                break;
            }
            if let Some(reason) = io_reason(io) {
                return Failure::Transport(reason);
            }
        }
        cause = e.source();
    }
    if dns {
        let host = err
            .url()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        return Failure::Transport(format!("cannot resolve {host}"));
    }
    Failure::Transport(shorten(&innermost(err)))
}

/// The rustls error of a cause, directly or wrapped in `io::Error`s (whose
/// `source` skips the error they wrap).
fn find_tls<'a>(mut e: &'a (dyn StdError + 'static)) -> Option<&'a rustls::Error> {
    loop {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        let inner = e.downcast_ref::<std::io::Error>()?.get_ref()?;
        e = inner;
    }
}

/// A TLS failure in words an operator can act on (rustls's own names,
/// like `CaUsedAsEndEntity`, say nothing to most people).
fn tls_reason(err: &rustls::Error) -> String {
    match err {
        rustls::Error::InvalidCertificate(cert) => certificate_reason(cert),
        rustls::Error::AlertReceived(alert) => format!("server refused the handshake ({alert:?})"),
        rustls::Error::NoCertificatesPresented => "the server sent no certificate".to_owned(),
        rustls::Error::PeerIncompatible(_) => {
            "the server speaks no TLS version or cipher toc accepts".to_owned()
        }
        rustls::Error::InvalidMessage(_) | rustls::Error::PeerMisbehaved(_) => {
            "the server broke the TLS protocol (is it TLS at all?)".to_owned()
        }
        other => shorten(&other.to_string()),
    }
}

/// Why a server's certificate is refused, in words.
fn certificate_reason(cert: &rustls::CertificateError) -> String {
    use rustls::CertificateError as C;
    #[allow(deprecated)]
    let words = match cert {
        C::UnknownIssuer => "untrusted certificate (unknown issuer)",
        C::Expired | C::ExpiredContext { .. } => "certificate expired",
        C::NotValidYet | C::NotValidYetContext { .. } => "certificate not valid yet",
        C::NotValidForName | C::NotValidForNameContext { .. } => {
            "certificate is for another host name"
        }
        C::Revoked => "certificate revoked",
        C::BadSignature => "bad certificate signature",
        C::BadEncoding => "the server's certificate cannot be read (bad encoding)",
        C::UnhandledCriticalExtension => {
            "the server's certificate has a critical extension toc does not know"
        }
        C::UnsupportedSignatureAlgorithm
        | C::UnsupportedSignatureAlgorithmContext { .. }
        | C::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => {
            "the server's certificate is signed with an algorithm toc does not accept"
        }
        C::InvalidPurpose | C::InvalidPurposeContext { .. } => {
            "the server's certificate is not for a TLS server (extended key usage)"
        }
        C::UnknownRevocationStatus
        | C::ExpiredRevocationList
        | C::ExpiredRevocationListContext { .. } => {
            "the server's certificate revocation status is unknown"
        }
        C::Other(other) => return webpki_reason(&format!("{:?}", other.0)),
        _ => "invalid certificate",
    };
    words.to_owned()
}

/// The words for the certificate errors rustls passes on from webpki as
/// `Other`, by the error's name (the start of its `Debug`).
fn webpki_reason(debug: &str) -> String {
    let name = debug
        .split(|c: char| !c.is_ascii_alphanumeric())
        .next()
        .unwrap_or_default();
    match name {
        "CaUsedAsEndEntity" => {
            "the server's certificate is a CA certificate used as a server certificate".to_owned()
        }
        "EndEntityUsedAsCa" => "the certificate chain uses a server certificate as a CA".to_owned(),
        "UnsupportedCertVersion" => {
            "the server's certificate is not an X.509 v3 certificate".to_owned()
        }
        "RequiredEkuNotFound" | "RequiredEkuNotFoundContext" | "EmptyEkuExtension" => {
            "the server's certificate is not for a TLS server (extended key usage)".to_owned()
        }
        "PathLenConstraintViolated" | "MaximumPathDepthExceeded" => {
            "the certificate chain is too long for its CA".to_owned()
        }
        "NameConstraintViolation" => {
            "the server's certificate is outside what its CA may sign (name constraints)".to_owned()
        }
        "BadDer"
        | "BadDerTime"
        | "TrailingData"
        | "ExtensionValueInvalid"
        | "MalformedExtensions" => {
            "the server's certificate cannot be read (bad encoding)".to_owned()
        }
        "InvalidCertValidity" => "the server's certificate has invalid validity dates".to_owned(),
        "UnsupportedCriticalExtension" => {
            "the server's certificate has a critical extension toc does not know".to_owned()
        }
        "CertDistrusted" => "the server's certificate is distrusted".to_owned(),
        _ => format!("invalid certificate ({})", shorten(name)),
    }
}

fn io_reason(io: &std::io::Error) -> Option<String> {
    use std::io::ErrorKind as K;
    Some(
        match io.kind() {
            K::ConnectionRefused => "connection refused",
            K::ConnectionReset => "connection reset",
            K::ConnectionAborted => "connection aborted",
            K::UnexpectedEof => "connection closed before the answer",
            K::HostUnreachable => "host unreachable",
            K::NetworkUnreachable => "network unreachable",
            K::AddrNotAvailable => "address not available",
            K::TimedOut => "connect timed out",
            _ => return None,
        }
        .to_owned(),
    )
}

/// The message of the deepest cause, which is usually the most precise.
fn innermost(err: &reqwest::Error) -> String {
    let mut last: &(dyn StdError + 'static) = err;
    while let Some(next) = last.source() {
        last = next;
    }
    last.to_string()
}

#[cfg(test)]
mod tests {
    use super::webpki_reason;

    #[test]
    fn webpki_errors_read_in_words() {
        assert_eq!(
            webpki_reason("CaUsedAsEndEntity"),
            "the server's certificate is a CA certificate used as a server certificate"
        );
        assert_eq!(
            webpki_reason("RequiredEkuNotFoundContext(RequiredEkuNotFoundContext { .. })"),
            "the server's certificate is not for a TLS server (extended key usage)"
        );
        assert_eq!(
            webpki_reason("SomethingNew { x: 1 }"),
            "invalid certificate (SomethingNew)"
        );
    }
}
