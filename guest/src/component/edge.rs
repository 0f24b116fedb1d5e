//! The export of the `edge` world: `wasi:http/incoming-handler`, over the
//! library's `edge` routes. It reads the request, calls the library, and
//! writes what it is given; every decision is in `crate::edge`.
//!
//! It relies on nothing but the standard world: a host that gives it
//! `wasi:http` and an environment runs it (wasmtime serve, jco, Spin).

use super::Component;
use super::exports::wasi::http::incoming_handler::Guest;
use super::http::{post, read_answer, response_head};
use super::wasi::http::types::{
    Fields, IncomingBody, IncomingRequest, Method, OutgoingBody, OutgoingResponse, OutputStream, ResponseOutparam,
};
use super::wasi::io::streams::StreamError;
use super::wasi::random::random::get_random_u64;
use crate::edge::{self, Config, Failure, Route, profiles, reply};
use crate::ladder;
use crate::session::{self as core, Collected, TranscodeError, TransportError, Verification};

impl Guest for Component {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let path = request.path_with_query().unwrap_or_default();
        let route = Route::of(method_name(&request.method()), &path);
        let config = || Config::from_vars(std::env::vars()).map_err(|e| reply::not_configured(&e));
        let failed = match route {
            Route::Health => return respond(out, 200, "application/json", reply::health_json().as_bytes()),
            Route::WrongMethod => Failure::wrong_method(),
            Route::NotFound => Failure::not_found(),
            Route::BadSegment(why) => reply::bad_request(why),
            Route::Probe => match config().and_then(|c| read_body(&request, c.max_body)) {
                Ok(segment) => match lpbridge_media::probe(&segment) {
                    Ok(info) => return respond(out, 200, "application/json", info.to_json().to_string().as_bytes()),
                    Err(e) => Failure::from(&TranscodeError::Media(e)),
                },
                Err(f) => f,
            },
            Route::Check => match config().and_then(|c| Ok((read_body(&request, c.max_body)?, c))) {
                Ok((segment, c)) => {
                    let report = lpbridge_media::check::check(&segment);
                    let json = reply::check_json(&report, &c.ladder);
                    return respond(out, 200, "application/json", json.as_bytes());
                }
                Err(f) => f,
            },
            Route::Segment { manifest, seq } => match config() {
                Ok(c) => return segment(&c, &request, &manifest, seq, Answer::new(out, &manifest, seq)),
                Err(f) => f,
            },
        };
        respond_failure(out, &failed);
    }
}

fn method_name(m: &Method) -> &str {
    match m {
        Method::Get => "GET",
        Method::Head => "HEAD",
        Method::Post => "POST",
        Method::Put => "PUT",
        Method::Delete => "DELETE",
        Method::Connect => "CONNECT",
        Method::Options => "OPTIONS",
        Method::Trace => "TRACE",
        Method::Patch => "PATCH",
        Method::Other(other) => other,
    }
}

/// `POST /live/{manifest}/{seq}.mp4`: split, send, and answer each
/// rendition as soon as it is joined.
fn segment(config: &Config, request: &IncomingRequest, manifest: &str, seq: u64, mut answer: Answer) {
    match transcode(config, request, manifest, seq, &mut answer) {
        Ok(()) => answer.close(),
        Err(f) => answer.fail(&f),
    }
}

fn transcode(
    config: &Config,
    request: &IncomingRequest,
    manifest: &str,
    seq: u64,
    answer: &mut Answer,
) -> Result<(), Failure> {
    let asked = header(&request.headers(), "livepeer-transcode-configuration");
    // The caller's manifest and the gateway URL checked before the body is
    // read; the gateway's manifest is known once the profiles are.
    core::target(&config.gateway, manifest, seq).map_err(|e| reply::failure(&e))?;
    let segment = read_body(request, config.max_body)?;
    let media = |e| Failure::from(&TranscodeError::Media(e));
    // The TS goes to the gateway as it is written, never whole beside the
    // segment; the segment goes once it is sent, before any rendition
    // comes: the peak is the segment or the renditions, not both and a TS.
    let planned = lpbridge_media::plan(&segment).map_err(media)?;
    let video = planned
        .info()
        .video
        .clone()
        .ok_or_else(|| media(lpbridge_media::Error::NoVideo))?;
    let profiles = match asked {
        Some(value) => profiles::from_header(&value)
            .map_err(|why| reply::bad_request(format!("Livepeer-Transcode-Configuration: {why}")))?,
        None => ladder::renditions(&config.ladder, video.width, video.height, video.frame_rate),
    };
    if profiles.is_empty() {
        return Ok(()); // nothing below the source: an empty multipart answer
    }
    let manifest = edge::manifest::gateway_manifest(manifest, &profiles);
    answer.manifest.clone_from(&manifest);
    let target = core::target(&config.gateway, &manifest, seq).map_err(|e| reply::failure(&e))?;
    let headers = core::request_headers(planned.info(), &manifest, &profiles);
    let audio_mp4 = planned.audio_mp4();
    let sent = post(&target, &headers, &planned);
    drop(planned);
    drop(segment);
    let response = sent.and_then(|f| response_head(&f)).map_err(|e| reply::failure(&e))?;
    let verification = config.verify.map(|mode| Verification { mode, source: video });
    let options = lpbridge_media::JoinOptions {
        fragmented: config.fragmented,
    };
    let collector = core::Collector::new(&audio_mp4, &profiles, options, verification);
    read_answer(response, collector, &mut |c| answer.part(c)).map_err(|e| reply::failure(&e))?;
    Ok(())
}

/// The segment route's answer, started when there is something to say: a
/// JSON error until the first part is written, then a multipart body that
/// a later failure ends without its close delimiter, so the caller sees
/// the truncation (as go-livepeer's own answers do).
struct Answer {
    out: Option<ResponseOutparam>,
    body: Option<(OutgoingBody, OutputStream)>,
    boundary: String,
    manifest: String,
    seq: u64,
}

impl Answer {
    fn new(out: ResponseOutparam, manifest: &str, seq: u64) -> Self {
        Answer {
            out: Some(out),
            body: None,
            boundary: reply::boundary(get_random_u64(), get_random_u64()),
            manifest: manifest.to_string(),
            seq,
        }
    }

    /// Sends the head, once.
    fn start(&mut self) -> Option<&OutputStream> {
        if let Some(out) = self.out.take() {
            let content_type = format!("multipart/mixed; boundary={}", self.boundary);
            let seq = self.seq.to_string();
            let headers = [
                ("content-type", content_type.as_str()),
                ("livepeer-manifest", self.manifest.as_str()),
                ("livepeer-seq", seq.as_str()),
            ];
            self.body = open(out, 200, &headers);
        }
        self.body.as_ref().map(|(_, stream)| stream)
    }

    fn part(&mut self, c: Collected) -> Result<(), TranscodeError> {
        let first = self.out.is_some();
        let r = c.rendition;
        for m in &r.mismatches {
            eprintln!("lpbridge edge: rendition {} kept with a mismatch: {m}", r.name);
        }
        let head = reply::part_head(&self.boundary, first, &r);
        let written = self
            .start()
            .is_some_and(|s| write_all(s, &head).is_ok() && write_all(s, &r.mp4).is_ok() && flush(s, false).is_ok());
        if !written {
            // The caller stopped reading: nothing more is worth joining.
            return Err(TranscodeError::Transport(TransportError::Other(
                "the caller stopped reading the answer".into(),
            )));
        }
        Ok(())
    }

    /// Every rendition is out: the close delimiter (none for no parts, as
    /// serve answers an empty ladder).
    fn close(mut self) {
        let wrote_parts = self.out.is_none();
        let close = reply::close(&self.boundary);
        if let Some(stream) = self.start()
            && wrote_parts
        {
            let _ = write_all(stream, &close);
        }
        self.finish();
    }

    fn fail(mut self, failure: &Failure) {
        match self.out.take() {
            Some(out) => respond_failure(out, failure),
            None => {
                eprintln!("lpbridge edge: answer cut short: {}", failure.message);
                self.finish();
            }
        }
    }

    fn finish(&mut self) {
        if let Some((body, stream)) = self.body.take() {
            let _ = flush(&stream, true);
            drop(stream);
            let _ = OutgoingBody::finish(body, None);
        }
    }
}

/// Sets the response head and opens its body; none if the host refused it.
fn open(out: ResponseOutparam, status: u16, headers: &[(&str, &str)]) -> Option<(OutgoingBody, OutputStream)> {
    let list: Vec<(String, Vec<u8>)> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
        .collect();
    let fields = Fields::from_list(&list).ok()?;
    let response = OutgoingResponse::new(fields);
    response.set_status_code(status).ok()?;
    let body = response.body().ok()?;
    ResponseOutparam::set(out, Ok(response));
    let stream = body.write().ok()?;
    Some((body, stream))
}

fn respond(out: ResponseOutparam, status: u16, content_type: &str, bytes: &[u8]) {
    let length = bytes.len().to_string();
    let headers = [("content-type", content_type), ("content-length", length.as_str())];
    if let Some((body, stream)) = open(out, status, &headers) {
        let _ = write_all(&stream, bytes).and_then(|()| flush(&stream, true));
        drop(stream);
        let _ = OutgoingBody::finish(body, None);
    }
}

fn respond_failure(out: ResponseOutparam, failure: &Failure) {
    respond(out, failure.status(), "application/json", failure.json().as_bytes());
}

fn write_all(stream: &OutputStream, mut bytes: &[u8]) -> Result<(), StreamError> {
    while !bytes.is_empty() {
        let n = stream.check_write()?;
        if n == 0 {
            stream.subscribe().block();
            continue;
        }
        let k = (n as usize).min(bytes.len());
        stream.write(&bytes[..k])?;
        bytes = &bytes[k..];
    }
    Ok(())
}

/// Waits until what was written has gone out. After the last byte, a host
/// may report the stream closed because the body is complete (wasmtime 48
/// does so, now and then, once a body with a content-length has every
/// byte): that is success.
fn flush(stream: &OutputStream, last: bool) -> Result<(), StreamError> {
    match stream.blocking_flush() {
        Err(StreamError::Closed) if last => Ok(()),
        other => other,
    }
}

fn header(fields: &Fields, name: &str) -> Option<String> {
    fields
        .get(name)
        .first()
        .map(|v| String::from_utf8_lossy(v).trim().to_string())
}

/// The request body, refused past `limit` before it is all read: at once
/// when its content-length says so, else as soon as it passes the limit.
fn read_body(request: &IncomingRequest, limit: usize) -> Result<Vec<u8>, Failure> {
    let declared = header(&request.headers(), "content-length").and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(Failure::body_too_large(limit));
    }
    let gone = || reply::bad_request("the request body was already taken");
    let body = request.consume().map_err(|()| gone())?;
    let stream = body.stream().map_err(|()| gone())?;
    let mut bytes = Vec::with_capacity(declared.unwrap_or(0) as usize);
    loop {
        match stream.blocking_read(64 * 1024) {
            Ok(chunk) if bytes.len() + chunk.len() > limit => return Err(Failure::body_too_large(limit)),
            Ok(chunk) => bytes.extend_from_slice(&chunk),
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(e)) => {
                let why = e.to_debug_string();
                return Err(reply::bad_request(format!(
                    "reading the body: {}",
                    why.lines().next().unwrap_or_default()
                )));
            }
        }
    }
    drop(stream);
    let _ = IncomingBody::finish(body);
    Ok(bytes)
}
