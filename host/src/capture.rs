//! The bytes of one exchange with the gateway, kept for the canary: the TS
//! the serving component sent and the answer it read, copied as they pass
//! through the host's `wasi:http` (the component is not asked for them,
//! and the gateway is never asked twice). Only a segment the canary
//! samples is captured, and each side only up to a limit: past it, the
//! capture is marked cut and the segment is not compared. The frames are
//! kept as they are (`Bytes` share their buffer): nothing is copied on the
//! request's path; the shadow joins them on its own thread.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, SizeHint};
use wasmtime_wasi_http::WasiBody;

use crate::lock::Locked;

/// The most either side keeps: the service's largest segment body.
pub const LIMIT: usize = 64 << 20;

/// One side of an exchange.
#[derive(Default)]
pub struct Side {
    kept: Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    frames: Vec<Bytes>,
    len: usize,
    cut: bool,
}

/// One side's frames, whole.
pub struct Frames(Vec<Bytes>);

impl Frames {
    /// The bytes in one buffer: on the shadow's thread, not the request's.
    pub fn concat(&self) -> Vec<u8> {
        self.0.concat()
    }
}

impl Side {
    /// The whole side, or `None` when it passed the limit.
    pub fn take(&self) -> Option<Frames> {
        let kept = std::mem::take(&mut *self.kept.locked());
        (!kept.cut).then_some(Frames(kept.frames))
    }

    fn keep(&self, data: &Bytes) {
        let mut kept = self.kept.locked();
        if kept.cut {
            return;
        }
        if kept.len + data.len() > LIMIT {
            *kept = Kept {
                cut: true,
                ..Kept::default()
            };
        } else {
            kept.len += data.len();
            kept.frames.push(data.clone());
        }
    }

    /// Forgets what an earlier attempt left.
    fn clear(&self) {
        *self.kept.locked() = Kept::default();
    }
}

/// The request body and the answer (with its `Content-Type`) of the last
/// attempt at a segment.
#[derive(Default)]
pub struct Capture {
    pub sent: Side,
    pub answer: Side,
    pub content_type: Mutex<Option<String>>,
}

impl Capture {
    /// `request`, its body kept in `sent` as it goes out.
    pub fn request(self: &Arc<Self>, request: http::Request<WasiBody>) -> http::Request<WasiBody> {
        self.sent.clear();
        self.answer.clear();
        request.map(|body| self.tee(body, false))
    }

    /// `response`, its body kept in `answer` as the component reads it.
    pub fn response(self: &Arc<Self>, response: http::Response<WasiBody>) -> http::Response<WasiBody> {
        *self.content_type.locked() = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        response.map(|body| self.tee(body, true))
    }

    fn tee(self: &Arc<Self>, body: WasiBody, answer: bool) -> WasiBody {
        Tee {
            body,
            side: self.clone(),
            answer,
        }
        .boxed_unsync()
    }
}

/// A body whose data frames are also kept in one side of a capture.
struct Tee {
    body: WasiBody,
    side: Arc<Capture>,
    answer: bool,
}

impl Body for Tee {
    type Data = Bytes;
    type Error = wasmtime_wasi_http::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(data) = frame.data_ref()
        {
            let side = if self.answer {
                &self.side.answer
            } else {
                &self.side.sent
            };
            side.keep(data);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
