//! Conversions between the integer types a segment's numbers come in, each
//! named for what it does at the edge of its range, so that no number read
//! from a segment is wrapped or truncated by an `as` cast without saying
//! so (the crate warns on lossy casts: lib.rs). Saturating is the choice
//! where the value was already checked against the input's size (so the
//! edge is never reached) or where a hostile value's only consequence is a
//! wrong but bounded number in a report.

/// A count, a length or a duration as the `u32` an MP4 or TS field holds,
/// saturating at `u32::MAX`.
pub(crate) fn u32_sat(v: impl TryInto<u32>) -> u32 {
    v.try_into().unwrap_or(u32::MAX)
}

/// As [`u32_sat`], for a `u16` field.
pub(crate) fn u16_sat(v: impl TryInto<u16>) -> u16 {
    v.try_into().unwrap_or(u16::MAX)
}

/// As [`u32_sat`], for a `u8` field.
pub(crate) fn u8_sat(v: impl TryInto<u8>) -> u8 {
    v.try_into().unwrap_or(u8::MAX)
}

/// An unsigned duration, time or offset as `i64`, saturating at
/// `i64::MAX`.
pub(crate) fn i64_sat(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// A signed difference as `i32` (a composition offset), clamped to its
/// range.
pub(crate) fn i32_sat(v: i64) -> i32 {
    i32::try_from(v).unwrap_or(if v < 0 { i32::MIN } else { i32::MAX })
}

/// A signed time as `u64`, a negative one as 0.
pub(crate) fn u64_sat(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// A `u64` offset or length as an index, saturating at `usize::MAX` (only
/// reachable on a 32-bit target, for a number already checked against
/// the input's length, which fits).
pub(crate) fn usize_sat(v: u64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

/// A non-negative float as `u32`: Rust's float casts saturate and take
/// NaN to 0, which is what every caller wants.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
pub(crate) fn u32_of_f64(v: f64) -> u32 {
    v as u32
}
