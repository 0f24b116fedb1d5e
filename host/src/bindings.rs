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

// The contract crate's shapes and these records, both ways where both
// ways are crossed: exhaustive, so a field or a case added to one side
// fails to compile until the other has it.

impl From<types::FrameRate> for lpbridge_contract::FrameRate {
    fn from(types::FrameRate { num, den }: types::FrameRate) -> Self {
        lpbridge_contract::FrameRate { num, den }
    }
}

impl From<lpbridge_contract::FrameRate> for types::FrameRate {
    fn from(lpbridge_contract::FrameRate { num, den }: lpbridge_contract::FrameRate) -> Self {
        types::FrameRate { num, den }
    }
}

impl From<lpbridge_contract::H264Profile> for session::H264Profile {
    fn from(p: lpbridge_contract::H264Profile) -> Self {
        use lpbridge_contract::H264Profile as P;
        match p {
            P::Baseline => session::H264Profile::Baseline,
            P::Main => session::H264Profile::Main,
            P::High => session::H264Profile::High,
            P::ConstrainedHigh => session::H264Profile::ConstrainedHigh,
        }
    }
}

impl From<&lpbridge_contract::Profile> for session::Profile {
    fn from(p: &lpbridge_contract::Profile) -> Self {
        let lpbridge_contract::Profile {
            name,
            width,
            height,
            bitrate,
            fps,
            h264_profile,
        } = p;
        session::Profile {
            name: name.clone(),
            width: *width,
            height: *height,
            bitrate: *bitrate,
            fps: fps.map(Into::into),
            h264_profile: h264_profile.map(Into::into),
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
