//! The WIT glue: converts between the WIT types and the library's, and
//! moves bytes over `wasi:http`. Nothing here decides anything.
//!
//! One crate makes three components, by feature: the host's (`bridge`
//! world), the benchmark's (`bench`: the bridge plus `calibrate`), and the
//! edge runtimes' (`edge`: a standard `wasi:http/proxy` component).

#[cfg(all(feature = "bench", feature = "edge"))]
compile_error!("the bench and edge features make different components: enable one");

#[cfg(not(any(feature = "bench", feature = "edge")))]
wit_bindgen::generate!({
    path: "../wit",
    world: "bridge",
    generate_all,
});

#[cfg(feature = "bench")]
wit_bindgen::generate!({
    path: "../wit",
    world: "bench",
    generate_all,
});

#[cfg(feature = "edge")]
wit_bindgen::generate!({
    path: "../wit",
    world: "edge",
    generate_all,
});

#[cfg(not(feature = "edge"))]
mod bridge;
#[cfg(feature = "edge")]
mod edge;
mod http;

struct Component;

export!(Component);
