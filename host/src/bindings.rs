//! The only `bindgen!` of the host: the `bridge` world from `wit/`.
#![allow(missing_docs, clippy::all)]

wasmtime::component::bindgen!({
    path: "../wit",
    world: "bridge",
    exports: { default: async },
    require_store_data_send: true,
    with: {
        "wasi:http": wasmtime_wasi_http::p2::bindings::http,
        "wasi:io": wasmtime_wasi::p2::bindings::io,
        "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
    },
});

pub use exports::streamplace::livepeer::{check, multipart, remux, session};
pub use streamplace::livepeer::types;

impl types::Mp4Layout {
    /// The layout a `--fragmented` flag (or its setting) asks for.
    pub fn fragmented_if(fragmented: bool) -> Self {
        if fragmented {
            types::Mp4Layout::Fragmented
        } else {
            types::Mp4Layout::Progressive
        }
    }
}

impl session::Check {
    /// Its name in metrics labels and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            session::Check::Size => "size",
            session::Check::FrameCount => "frame-count",
            session::Check::Duration => "duration",
            session::Check::FirstFrame => "first-frame",
            session::Check::Timestamps => "timestamps",
        }
    }
}

impl session::H264Profile {
    /// go-livepeer's name for it, as its profiles JSON spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            session::H264Profile::Baseline => "H264Baseline",
            session::H264Profile::Main => "H264Main",
            session::H264Profile::High => "H264High",
            session::H264Profile::ConstrainedHigh => "H264ConstrainedHigh",
        }
    }
}

/// `1920x1080, asked 284x160`; `frame-count 25 frames, asked 44 to 49
/// frames`.
impl std::fmt::Display for session::Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.what {
            session::Check::Size => write!(f, "{}, asked {}", self.got, self.expected),
            what => write!(f, "{} {}, asked {}", what.as_str(), self.got, self.expected),
        }
    }
}
