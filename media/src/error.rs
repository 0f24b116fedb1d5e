//! The library's one error type is the contract's [`MediaError`]: the
//! component hands it over the WIT as `media-error` without losing a case,
//! and the host reports it in the same words.

pub use lpbridge_contract::MediaError as Error;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
