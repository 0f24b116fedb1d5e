//! Every limit the library holds bytes nobody trusts to, in one place.
//!
//! Most limits are not constants: a declared count or size is held to
//! what the input could hold (a sample count above the file's length is
//! a lie, whatever the size fields say), and fails as
//! [`MediaError::TooLarge`](crate::Error::TooLarge) naming both. The
//! constants are the limits that cannot come from the input's length.

/// A part's header block in the gateway's `multipart/mixed` answer may not
/// exceed this; go-livepeer's are ~200 bytes.
pub const MAX_PART_HEADER_BYTES: usize = 16 * 1024;

/// A jump of more than this between two frames' DTS in a rendition's TS
/// is a discontinuity (a gateway restarting its clock), not a gap: 10 s at
/// 90 kHz.
pub const MAX_DTS_STEP: i64 = 10 * 90_000;

/// The largest Opus pre-skip `check` takes as usual: 80 ms at 48 kHz.
pub const MAX_OPUS_PRE_SKIP: u16 = 3840;
