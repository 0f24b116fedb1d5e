//! The only `bindgen!` of the host: the `remuxer` world from `wit/`.
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

pub use exports::streamplace::livepeer::{multipart, remux, session};
pub use streamplace::livepeer::types;
