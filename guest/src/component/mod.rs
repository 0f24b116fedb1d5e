//! The WIT glue: converts between the WIT types and the library's, and
//! moves bytes over `wasi:http`. Nothing here decides anything.
//!
//! One crate makes three components, by feature: the host's (`bridge`
//! world), the benchmark's (`bench`: the bridge plus `calibrate`), and the
//! edge runtimes' (`edge`: a standard `wasi:http/proxy` component).

#[cfg(all(feature = "bench", feature = "edge"))]
compile_error!("the bench and edge features make different components: enable one");

/// The bindings of a world that exports the contract. The segment
/// description is the contract crate's type, which has the WIT's shape
/// field for field, so a probe's answer crosses the
/// boundary without a copy into a twin type.
#[cfg(not(feature = "edge"))]
macro_rules! bindings {
    ($world:literal) => {
        wit_bindgen::generate!({
            path: "../wit",
            world: $world,
            generate_all,
            with: {
                "streamplace:livepeer/types@0.4.0/frame-rate": lpbridge_contract::FrameRate,
                "streamplace:livepeer/types@0.4.0/video-codec": lpbridge_contract::segment::VideoCodec,
                "streamplace:livepeer/types@0.4.0/audio-codec": lpbridge_contract::segment::AudioCodec,
                "streamplace:livepeer/types@0.4.0/video-info": lpbridge_contract::segment::VideoInfo,
                "streamplace:livepeer/types@0.4.0/audio-info": lpbridge_contract::segment::AudioInfo,
                "streamplace:livepeer/types@0.4.0/segment-info": lpbridge_contract::segment::SegmentInfo,
                "streamplace:livepeer/check@0.4.0/sample-time": lpbridge_contract::timeline::SampleTime,
                "streamplace:livepeer/check@0.4.0/edit-span": lpbridge_contract::timeline::EditSpan,
            },
        });
    };
}

#[cfg(not(any(feature = "bench", feature = "edge")))]
bindings!("bridge");
#[cfg(feature = "bench")]
bindings!("bench");
// The edge world exports `wasi:http/proxy` alone: no contract types.
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
