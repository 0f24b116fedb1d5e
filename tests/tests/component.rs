//! The built component, called through wasmtime: same bytes as the native
//! library, typed errors across the boundary, and a store per call that a
//! hostile input cannot poison.

use lpbridge::bindings::multipart::PartBody;
use lpbridge::{Limits, Runtime};
use lpbridge_contract::{MediaError, MultipartError};
use lpbridge_media::JoinOptions;
use lpbridge_tests::*;

#[test]
fn component_output_equals_native_output() {
    for path in streamplace_fixtures().iter().chain(generated_fixtures().iter()) {
        let src = std::fs::read(path).unwrap();
        let native = lpbridge_media::split(&src).unwrap();
        let wasm = block_on(runtime().split(&src)).unwrap().unwrap();
        assert_eq!(native.video_ts, wasm.video_ts, "{}", path.display());
        assert_eq!(native.audio_mp4, wasm.audio_mp4, "{}", path.display());
        assert_eq!(
            native.info.video.as_ref().unwrap().frames,
            wasm.info.video.as_ref().unwrap().frames
        );
        assert_eq!(native.info.duration_ns, wasm.info.duration_ns);

        let joined = lpbridge_media::join(&native.video_ts, &native.audio_mp4, JoinOptions::default()).unwrap();
        let wasm_joined = block_on(runtime().join(&wasm.video_ts, &wasm.audio_mp4))
            .unwrap()
            .unwrap();
        assert_eq!(joined, wasm_joined, "{}", path.display());

        let info = block_on(runtime().probe(&src)).unwrap().unwrap();
        assert_eq!(
            info.video.as_ref().unwrap().width,
            native.info.video.as_ref().unwrap().width
        );
        assert_eq!(
            info.audio.as_ref().unwrap().codec.name(),
            native.info.audio.as_ref().unwrap().codec.name()
        );
    }
}

/// `calibrate` is the bench world's (`host/benches/remux.rs` builds it and
/// checks its echo); the production component does not export it.
#[test]
fn the_embedded_component_has_no_benchmark_hook() {
    let err = block_on(runtime().echo(b"x")).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "the component exports no streamplace:livepeer/calibrate@{}#echo (the bench world has it)",
            lpbridge::CONTRACT
        )
    );
}

#[test]
fn media_errors_are_typed_across_the_boundary() {
    let rt = runtime();
    assert!(matches!(
        block_on(rt.split(b"")).unwrap(),
        Err(MediaError::Truncated(_))
    ));
    let noise: Vec<u8> = (0..100_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    assert!(matches!(
        block_on(rt.split(&noise)).unwrap(),
        Err(MediaError::Malformed { .. })
    ));
    assert!(matches!(
        block_on(rt.probe(&noise)).unwrap(),
        Err(MediaError::Malformed { .. })
    ));
    let five = std::fs::read(
        streamplace_fixtures()
            .into_iter()
            .find(|p| p.ends_with("5sec.mp4"))
            .unwrap(),
    )
    .unwrap();
    let parts = lpbridge_media::split(&five).unwrap();
    assert!(matches!(
        block_on(rt.join(&parts.video_ts[..1000], &parts.audio_mp4)).unwrap(),
        Err(MediaError::Truncated(_))
    ));
    assert!(matches!(
        block_on(rt.join(&parts.video_ts, &parts.video_ts)).unwrap(),
        Err(MediaError::Malformed { .. })
    ));
}

#[test]
fn multipart_through_the_component() {
    let rt = runtime();
    let body = b"--0a1b2c3d4e5f60718293\r\nContent-Disposition: attachment; filename=\"720p_3.ts\"\r\nContent-Length: 5\r\nContent-Type: video/mp2t; name=\"720p_3.ts\"\r\nRendition-Name: 720p\r\n\r\nhello\r\n--0a1b2c3d4e5f60718293\r\nContent-Length: 18\r\nContent-Type: application/vnd+livepeer.uri\r\nRendition-Name: 360p\r\n\r\nhttps://os/360p.ts\r\n--0a1b2c3d4e5f60718293--\r\n";
    let parts = block_on(rt.multipart("multipart/mixed; boundary=0a1b2c3d4e5f60718293", body))
        .unwrap()
        .unwrap();
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[0].name.as_deref(), Some("720p"));
    assert_eq!(parts[0].filename.as_deref(), Some("720p_3.ts"));
    assert!(matches!(&parts[0].body, PartBody::Bytes(b) if b == b"hello"));
    assert!(matches!(&parts[1].body, PartBody::Url(u) if u == "https://os/360p.ts"));
    let cut = &body[..body.len() - 10];
    assert!(matches!(
        block_on(rt.multipart("multipart/mixed; boundary=0a1b2c3d4e5f60718293", cut)).unwrap(),
        Err(MultipartError::Truncated(_))
    ));
}

#[test]
fn memory_cap_errors_and_the_next_call_still_works() {
    // 2 MiB of linear memory, about 1 MiB of it the guest's stack and
    // data, cannot hold a 1 MB segment and the TS made from it.
    let small = Runtime::embedded(Limits {
        memory_bytes: 2 << 20,
        ..Limits::default()
    })
    .unwrap();
    let big = std::fs::read(
        streamplace_fixtures()
            .into_iter()
            .find(|p| p.ends_with("sample-segment.mp4"))
            .unwrap(),
    )
    .unwrap();
    let err = block_on(small.split(&big));
    assert!(err.is_err(), "a call over the memory cap must fail, not succeed");
    let tiny = std::fs::read(
        streamplace_fixtures()
            .into_iter()
            .find(|p| p.ends_with("short-video.mp4"))
            .unwrap(),
    )
    .unwrap();
    let ok = block_on(small.split(&tiny)).unwrap();
    assert!(ok.is_ok(), "a fresh store per call: the next segment succeeds");
}

/// The shipped components are built with overflow checks (the workspace's
/// release profile for the guest and the contract crate): an overflow on
/// hostile bytes traps that one call instead of wrapping into a length
/// that reads elsewhere. The checks leave their panic messages in the
/// binary; a build without them has none.
#[test]
fn the_shipped_components_carry_overflow_checks() {
    for (name, bytes) in [
        ("bridge", lpbridge::EMBEDDED_COMPONENT),
        ("edge", lpbridge::EDGE_COMPONENT),
    ] {
        for op in ["add", "subtract", "multiply"] {
            let message = format!("attempt to {op} with overflow");
            assert!(
                bytes.windows(message.len()).any(|w| w == message.as_bytes()),
                "the {name} component has no {message:?}: built without overflow checks"
            );
        }
    }
}
