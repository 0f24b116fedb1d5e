//! The gateway exchange over `wasi:http`, shared by every world: POST the
//! TS, wait for the head, read the answer, and name each `error-code` as
//! the library's `TransportError`.

use super::wasi::http::outgoing_handler;
use super::wasi::http::types::{
    ErrorCode, Fields, FutureIncomingResponse, IncomingResponse, Method, OutgoingBody, OutgoingRequest, Scheme,
    http_error_code,
};
use super::wasi::io::streams::{InputStream, OutputStream, StreamError};
use crate::session::{self as core, TranscodeError, TransportError};
use lpbridge_media::multipart;
use std::ops::ControlFlow;

/// Reads the gateway's answer: a plain-text error, or the multipart body
/// whose parts are joined as each completes and handed to `sink` at once.
pub fn read_answer(
    response: IncomingResponse,
    mut collector: core::Collector,
    sink: &mut dyn FnMut(core::Collected) -> Result<(), TranscodeError>,
) -> Result<(), TranscodeError> {
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .first()
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .unwrap_or_default();
    let body = response
        .consume()
        .map_err(|_| transport_other("response body already taken"))?;
    let stream = body
        .stream()
        .map_err(|_| transport_other("response body stream already taken"))?;
    let read = |limit: usize, f: &mut dyn FnMut(&[u8]) -> Result<bool, TranscodeError>| read_stream(&stream, limit, f);
    if status != 200 {
        let mut text = Vec::new();
        read(16 * 1024, &mut |chunk| {
            text.extend_from_slice(chunk);
            Ok(text.len() < core::MAX_ERROR_BODY)
        })?;
        let body: String = String::from_utf8_lossy(&text)
            .chars()
            .take(core::MAX_ERROR_BODY)
            .collect();
        return Err(TranscodeError::Status {
            status,
            body: body.trim_end().to_string(),
        });
    }
    if !core::is_multipart(&content_type) {
        return Err(TranscodeError::NotMultipart(content_type));
    }
    let mut parser = multipart::Parser::new(&content_type).map_err(TranscodeError::Multipart)?;
    read(64 * 1024, &mut |chunk| {
        parser.push(chunk).map_err(TranscodeError::Multipart)?;
        while let Some(part) = parser.next_part() {
            sink(collector.push(part)?)?; // joined as soon as it is complete
        }
        Ok(true)
    })?;
    parser.finish().map_err(TranscodeError::Multipart)?;
    collector.finish()
}

/// Reads `stream` in chunks of at most `limit` until it ends or `f` says
/// stop.
fn read_stream(
    stream: &InputStream,
    limit: usize,
    f: &mut dyn FnMut(&[u8]) -> Result<bool, TranscodeError>,
) -> Result<(), TranscodeError> {
    loop {
        match stream.blocking_read(limit as u64) {
            Ok(chunk) => {
                if !f(&chunk)? {
                    return Ok(());
                }
            }
            Err(StreamError::Closed) => return Ok(()),
            Err(StreamError::LastOperationFailed(e)) => {
                return Err(TranscodeError::Transport(match http_error_code(&e) {
                    Some(code) => transport(&code, Stage::Body),
                    // Not an HTTP failure: the host's own, as it describes
                    // it, without what follows its first line (a backtrace,
                    // under RUST_BACKTRACE).
                    None => TransportError::Other(first_line(&e.to_debug_string())),
                }));
            }
        }
    }
}

/// POSTs the segment's TS to `target`, written into the request as it is
/// made, so that the TS is never whole in memory beside the segment.
/// Returns once the body is sent; the response is the caller's to wait for.
pub fn post(
    target: &core::Target,
    headers: &[(&str, String)],
    ts: &lpbridge_media::Planned<'_>,
) -> Result<FutureIncomingResponse, TranscodeError> {
    let http = |what: &str, e: &dyn std::fmt::Debug| transport_other(&format!("request {what}: {e:?}"));
    let mut list: Vec<(String, Vec<u8>)> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
        .collect();
    list.push(("Content-Length".into(), ts.ts_len().to_string().into_bytes()));
    let fields = Fields::from_list(&list).map_err(|e| http("headers", &e))?;
    let request = OutgoingRequest::new(fields);
    let scheme = if target.https { Scheme::Https } else { Scheme::Http };
    request.set_method(&Method::Post).map_err(|e| http("method", &e))?;
    request.set_scheme(Some(&scheme)).map_err(|e| http("scheme", &e))?;
    request
        .set_authority(Some(&target.authority))
        .map_err(|e| http("authority", &e))?;
    request
        .set_path_with_query(Some(&target.path))
        .map_err(|e| http("path", &e))?;
    let body = request.body().map_err(|e| http("body", &e))?;
    let future =
        outgoing_handler::handle(request, None).map_err(|e| TranscodeError::Transport(transport(&e, Stage::Head)))?;

    // Write the TS. A failed write or finish is judged by the response,
    // which `receive` reads: a host that denies the request closes the
    // stream first, and the response says so.
    let written = match body.write() {
        Ok(out) => ts.write_ts(&mut |piece| write_piece(&out, piece)),
        Err(()) => Ok(()),
    };
    // No flush after the last write: with Content-Length, hyper drops the
    // body as soon as it has every byte.
    let _ = OutgoingBody::finish(body, None);
    written.map_err(TranscodeError::Media)?;
    Ok(future)
}

/// Writes one piece of the TS as the stream takes it; breaks when the
/// stream is closed (the host refused or the gateway went).
fn write_piece(out: &OutputStream, mut piece: &[u8]) -> ControlFlow<()> {
    while !piece.is_empty() {
        match out.check_write() {
            Ok(0) => out.subscribe().block(),
            Ok(n) => {
                let k = (n as usize).min(piece.len());
                if out.write(&piece[..k]).is_err() {
                    return ControlFlow::Break(());
                }
                piece = &piece[k..];
            }
            Err(_) => return ControlFlow::Break(()),
        }
    }
    ControlFlow::Continue(())
}

/// Waits for the response head.
pub fn response_head(future: &FutureIncomingResponse) -> Result<IncomingResponse, TranscodeError> {
    future.subscribe().block();
    match future.get() {
        Some(Ok(Ok(response))) => Ok(response),
        Some(Ok(Err(code))) => Err(TranscodeError::Transport(transport(&code, Stage::Head))),
        Some(Err(())) | None => Err(transport_other("no response")),
    }
}

/// Where an error-code came: before the response head or in its body. A
/// read timeout is the first-byte limit before and the between-bytes limit
/// after.
#[derive(Clone, Copy)]
enum Stage {
    Head,
    Body,
}

fn transport(code: &ErrorCode, stage: Stage) -> TransportError {
    match (code, stage) {
        (ErrorCode::HttpRequestDenied, _) => TransportError::Denied,
        (ErrorCode::ConnectionRefused, _) => TransportError::ConnectionRefused,
        (ErrorCode::ConnectionTimeout, _) => TransportError::ConnectTimeout,
        (ErrorCode::ConnectionReadTimeout | ErrorCode::HttpResponseTimeout, Stage::Head) => {
            TransportError::FirstByteTimeout
        }
        (ErrorCode::ConnectionReadTimeout | ErrorCode::HttpResponseTimeout, Stage::Body) => {
            TransportError::BetweenBytesTimeout
        }
        (ErrorCode::ConnectionTerminated | ErrorCode::HttpResponseIncomplete, _) => {
            TransportError::ConnectionTerminated
        }
        (other, _) => TransportError::Other(words(other)),
    }
}

/// The other `wasi:http` error-codes in words an operator reads, the
/// payload kept where it says more; a code not named here by its name.
fn words(code: &ErrorCode) -> String {
    let text = match code {
        ErrorCode::DnsTimeout => "the gateway's name did not resolve in time".to_string(),
        ErrorCode::DnsError(dns) => match &dns.rcode {
            Some(rcode) => format!("the gateway's name does not resolve ({rcode})"),
            None => "the gateway's name does not resolve".to_string(),
        },
        ErrorCode::DestinationNotFound => "no such gateway host".to_string(),
        ErrorCode::DestinationUnavailable => "the gateway host is unavailable".to_string(),
        ErrorCode::DestinationIpProhibited | ErrorCode::DestinationIpUnroutable => {
            "the gateway's address cannot be reached from here".to_string()
        }
        ErrorCode::ConnectionWriteTimeout => "the gateway stopped reading the segment".to_string(),
        ErrorCode::ConnectionLimitReached => "no connection left to the gateway".to_string(),
        ErrorCode::TlsProtocolError => "the TLS handshake failed".to_string(),
        ErrorCode::TlsCertificateError => "the gateway's TLS certificate was refused".to_string(),
        ErrorCode::TlsAlertReceived(alert) => match &alert.alert_message {
            Some(message) => format!("the gateway ended TLS with an alert: {message}"),
            None => "the gateway ended TLS with an alert".to_string(),
        },
        ErrorCode::HttpProtocolError => "the gateway's answer is not valid HTTP".to_string(),
        ErrorCode::HttpResponseHeaderSectionSize(_) | ErrorCode::HttpResponseHeaderSize(_) => {
            "the gateway's answer has headers over the host's limit".to_string()
        }
        ErrorCode::HttpResponseBodySize(_) => "the gateway's answer is over the host's size limit".to_string(),
        ErrorCode::HttpResponseTransferCoding(_) | ErrorCode::HttpResponseContentCoding(_) => {
            "the gateway's answer uses a coding the host cannot read".to_string()
        }
        ErrorCode::InternalError(Some(why)) => why.clone(),
        other => format!("{other:?}"),
    };
    first_line(&text)
}

fn transport_other(what: &str) -> TranscodeError {
    TranscodeError::Transport(TransportError::Other(what.to_string()))
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().trim().to_string()
}
