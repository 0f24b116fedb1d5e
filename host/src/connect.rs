//! The connection a gateway request goes out on, for plain `http://`
//! gateways: wasmtime-wasi-http's `default_send_request` with a smaller
//! read buffer. `https://` gateways go through that default (rustls) as is.
//!
//! Why: a segment whose response head is in waits for an instance to read
//! its body, and meanwhile hyper reads ahead into its buffer and one chunk
//! of the body channel, each growing to ~400 KB with hyper's defaults: up
//! to ~0.8 MB per waiting segment. With a 64 KiB buffer the rest of the
//! answer waits in the socket, and TCP flow control holds the gateway back
//! until it is read; at 200 sessions flat out, peak RSS fell from 270-288
//! MB to 208-228 MB.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody};

/// hyper's read buffer on a gateway connection (its minimum is 8 KiB).
pub const READ_BUFFER: usize = 64 << 10;

/// Drives the connection once the response head is in; wasmtime-wasi-http
/// spawns it. The type its `WasiHttpHooks::send_request` takes.
pub type IoFuture = Box<dyn Future<Output = Result<(), HttpError>> + Send>;

/// Sends `request` on a new HTTP/1.1 connection, within the three timeouts
/// of `options` (the caller has bounded them): connect (TCP and handshake),
/// first byte (the response head), and between the body's frames.
pub async fn send_plain(
    mut request: http::Request<WasiBody>,
    options: RequestOptions,
) -> Result<(http::Response<WasiBody>, IoFuture), HttpError> {
    let ten_minutes = Duration::from_secs(600);
    let connect = options.connect_timeout.unwrap_or(ten_minutes);
    let first_byte = options.first_byte_timeout.unwrap_or(ten_minutes);
    let between_bytes = options
        .between_bytes_timeout
        .unwrap_or(ten_minutes)
        .max(Duration::from_nanos(1));

    let authority = request.uri().authority().ok_or(HttpError::HttpRequestUriInvalid)?;
    let address = match authority.port_u16() {
        Some(_) => authority.to_string(),
        None => format!("{authority}:80"),
    };
    let (mut sender, conn) = tokio::time::timeout(connect, async {
        let stream = TcpStream::connect(&address).await.map_err(HttpError::Connect)?;
        hyper::client::conn::http1::Builder::new()
            .max_buf_size(READ_BUFFER)
            .handshake::<_, WasiBody>(TokioIo::new(stream))
            .await
            .map_err(HttpError::from)
    })
    .await
    .map_err(|_| HttpError::ConnectionTimeout)??;

    // Origin-form on the wire: scheme and authority are only for proxies.
    let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
    *request.uri_mut() = http::Uri::try_from(path).map_err(|_| HttpError::HttpRequestUriInvalid)?;

    // The connection must be driven while we wait for the head; if it ends
    // first (the gateway closed it), its result is kept for the I/O future.
    let mut conn = Box::pin(conn);
    let mut ended = None;
    let send = tokio::time::timeout(first_byte, sender.send_request(request));
    tokio::pin!(send);
    let head = loop {
        tokio::select! {
            biased;
            head = &mut send => break head,
            done = &mut conn, if ended.is_none() => ended = Some(done),
        }
    };
    let response = head.map_err(|_| HttpError::ConnectionReadTimeout)??;
    let io: IoFuture = Box::new(async move {
        let done = match ended {
            Some(done) => done,
            None => conn.await,
        };
        done.map_err(|e| {
            if e.is_timeout() {
                HttpError::HttpResponseTimeout
            } else {
                HttpError::from(e)
            }
        })
    });
    let response = response.map(|incoming| {
        BetweenBytes {
            incoming,
            limit: between_bytes,
            deadline: Box::pin(tokio::time::sleep(between_bytes)),
        }
        .boxed_unsync()
    });
    Ok((response, io))
}

/// The response body, failing with `ConnectionReadTimeout` when no frame
/// comes for `limit`.
struct BetweenBytes {
    incoming: Incoming,
    limit: Duration,
    deadline: Pin<Box<Sleep>>,
}

impl Body for BetweenBytes {
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
        match Pin::new(&mut self.incoming).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                let next = Instant::now() + self.limit;
                self.deadline.as_mut().reset(next);
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) if e.is_timeout() => Poll::Ready(Some(Err(HttpError::HttpResponseTimeout))),
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(HttpError::from(e)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => match self.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(HttpError::ConnectionReadTimeout))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.incoming.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.incoming.size_hint()
    }
}
