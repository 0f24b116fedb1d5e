//! `wasi:http/types.http-error-code` that also answers for a failed
//! response body.
//!
//! wasmtime-wasi-http 48 gives a code only for I/O errors made from an
//! `ErrorCode`. A body that fails (a stall past the between-bytes limit, a
//! reset mid-answer) leaves its `wasmtime_wasi_http::Error` in the stream's
//! error instead, so a guest asking `http-error-code` gets `none` and only
//! prose to go on (`to-debug-string`, with a backtrace under
//! `RUST_BACKTRACE`). This one maps that error to its code, so the guest
//! reads the same typed answer it would from any other `wasi:http` host.

use anyhow::Result;
use wasmtime::StoreContextMut;
use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::WasiView;
use wasmtime_wasi_http::Error;
use wasmtime_wasi_http::p2::bindings::http::types::ErrorCode;

/// The interface as wasmtime-wasi-http links it.
const TYPES: &str = "wasi:http/types@0.2.12";

/// Replaces the linked `http-error-code` with [`error_code`], for any
/// store whose data holds its resources the WASI way.
pub fn link<T: WasiView + 'static>(linker: &mut Linker<T>) -> Result<()> {
    linker.allow_shadowing(true);
    linker.instance(TYPES)?.func_wrap(
        "http-error-code",
        |mut store: StoreContextMut<'_, T>, (err,): (Resource<wasmtime::Error>,)| {
            let e = store.data_mut().ctx().table.get(&err)?;
            Ok((error_code(e),))
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

/// The code of an I/O error from `wasi:http`, if it came from HTTP.
pub fn error_code(e: &wasmtime::Error) -> Option<ErrorCode> {
    if let Some(code) = e.downcast_ref::<ErrorCode>() {
        return Some(code.clone());
    }
    Some(match e.downcast_ref::<Error>()? {
        Error::ConnectionReadTimeout => ErrorCode::ConnectionReadTimeout,
        Error::HttpResponseTimeout => ErrorCode::HttpResponseTimeout,
        Error::ConnectionTerminated => ErrorCode::ConnectionTerminated,
        Error::HttpResponseIncomplete => ErrorCode::HttpResponseIncomplete,
        Error::Hyper(h) if h.is_timeout() => ErrorCode::HttpResponseTimeout,
        // The body ended early: a close or a reset mid-answer.
        Error::Hyper(h) if h.is_incomplete_message() || h.is_body_write_aborted() || is_io(h) => {
            ErrorCode::ConnectionTerminated
        }
        Error::Hyper(_) => ErrorCode::HttpProtocolError,
        other => ErrorCode::InternalError(Some(other.to_string())),
    })
}

/// hyper failed on the socket itself (reset, broken pipe).
fn is_io(h: &hyper::Error) -> bool {
    std::error::Error::source(h).is_some_and(|s| s.is::<std::io::Error>())
}
