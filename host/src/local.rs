//! The built-in gateway for `--gateway local`, behind the `gateway` cargo
//! feature (on by default: `lpbridge demo` and the tests need it). A
//! production build leaves it out with `--no-default-features`: the
//! binary then links no media parsing at all, `lpbridge gateway` and
//! `lpbridge demo` are not among its commands, and `local` is refused
//! with the feature named.

/// A running built-in gateway; it serves for as long as this lives.
#[cfg(feature = "gateway")]
pub type Local = lpbridge_gateway::Gateway;

/// No built-in gateway in this build: nothing can hold one.
#[cfg(not(feature = "gateway"))]
pub enum Local {}

/// The built-in gateway on a loopback port.
#[cfg(feature = "gateway")]
pub async fn start() -> anyhow::Result<Local> {
    use anyhow::Context;
    lpbridge_gateway::Gateway::start(([127, 0, 0, 1], 0).into(), Default::default())
        .await
        .context("start the built-in gateway")
}

/// Refused: this build has no built-in gateway.
#[cfg(not(feature = "gateway"))]
pub async fn start() -> anyhow::Result<Local> {
    anyhow::bail!(
        "--gateway local: this lpbridge was built without its built-in gateway \
         (cargo feature `gateway`); name a gateway by its URL"
    )
}

/// Its base URL.
#[cfg(feature = "gateway")]
pub fn url(local: &Local) -> String {
    local.url()
}

/// Its base URL (there is none).
#[cfg(not(feature = "gateway"))]
pub fn url(local: &Local) -> String {
    match *local {}
}
