//! The only `bindgen!` of the host: the `remuxer` world from `wit/`.
#![allow(missing_docs, clippy::all)]

wasmtime::component::bindgen!({
    path: "../wit",
    world: "remuxer",
    exports: { default: async },
    additional_derives: [serde::Serialize],
});

pub use exports::streamplace::livepeer::{multipart, remux};
pub use streamplace::livepeer::types;
