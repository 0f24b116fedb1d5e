//! The bridge for edge runtimes: what the `edge` component (a standard
//! `wasi:http/proxy` component) decides, kept here as pure functions so it
//! is tested natively. The component's glue (`component/edge.rs`) only
//! moves bytes between these and `wasi:http`.
//!
//! The edge is stateless: the caller owns the session (manifest, seq,
//! in-flight guard), as Streamplace's node does, and names it in the path.
//! The gateway's manifest is the caller's plus a digest of the profiles
//! ([`manifest`]), so a ladder that changes never meets a manifest fixed to
//! another one.
//!
//! - `POST /live/{manifest}/{seq}.mp4`: the segment in, `multipart/mixed`
//!   out, one MP4 part per rendition, framed as `lpbridge serve` frames it.
//! - `POST /v1/probe`: the segment's info as JSON.
//! - `POST /v1/check`: the segment's findings, as `lpbridge serve` answers.
//! - `GET /healthz`: the component's version and contract version.

pub mod config;
pub mod manifest;
pub mod profiles;
pub mod reply;
pub mod route;

pub use config::{Config, ConfigError};
pub use reply::Failure;
pub use route::Route;

/// The contract this library implements: the version on `wit/`'s package
/// line, which a test holds it to.
pub const CONTRACT: &str = "0.4.0";

#[cfg(test)]
mod tests {
    #[test]
    fn the_contract_is_the_wits_package_version() {
        let wit = include_str!("../../../wit/livepeer.wit");
        let line = format!("package streamplace:livepeer@{};", super::CONTRACT);
        assert!(
            wit.lines().any(|l| l.trim() == line),
            "wit/livepeer.wit has no {line:?}"
        );
    }
}
