//! Split and join throughput: natively, inside the component, and for
//! `ffmpeg -c copy` and `gst-launch-1.0` doing the same remux on the same
//! files, all measured in one run on this machine.
//!
//! `cargo bench -p lpbridge --features mimalloc --bench remux` (or
//! `scripts/bench-remux.sh`).
//! Inputs are made by `tests/fixtures/make.sh --bench`: a 2 s 720p30
//! segment and a 60 s 720p30 file. For the external tools the whole-process
//! time includes start-up; their steady-state throughput is the difference
//! in bytes between the two files over the difference in time.

#![allow(clippy::unwrap_used)] // an unwrap here is an assertion

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use lpbridge::{Limits, Runtime};
use lpbridge_media::JoinOptions;

/// The allocator `lpbridge` itself uses, for native and component alike.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Enough resident linear memory for the 60 s file (~100 MB per call).
const KEEP_RESIDENT: usize = 256 << 20;

mod common;
use common::time;

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The component of the `bench` world (the bridge plus `calibrate.echo`),
/// built for this run the way `host/build.rs` builds the embedded one, in a
/// target directory of its own.
fn bench_component(root: &Path) -> Vec<u8> {
    let dir = root.join("target/guest-wasm-bench");
    run(Command::new(env!("CARGO"))
        .args(["build", "--release", "-p", "lpbridge-guest", "--features", "bench"])
        .args(["--target", "wasm32-wasip2", "--manifest-path"])
        .arg(root.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&dir)
        .env_remove("RUSTFLAGS")
        .env("CARGO_ENCODED_RUSTFLAGS", "-Ctarget-feature=+simd128"));
    std::fs::read(dir.join("wasm32-wasip2/release/lpbridge_guest.wasm")).expect("the bench component")
}

fn ffmpeg_split(src: &Path, dir: &Path) -> Command {
    let mut c = Command::new("ffmpeg");
    c.args(["-nostdin", "-v", "error", "-y", "-i"])
        .arg(src)
        .args(["-map", "0:v", "-c", "copy", "-f", "mpegts"])
        .arg(dir.join("ff.ts"))
        .args(["-map", "0:a", "-c", "copy", "-f", "mp4"])
        .arg(dir.join("ff.m4a"));
    c
}

fn ffmpeg_join(ts: &Path, audio: &Path, dir: &Path) -> Command {
    let mut c = Command::new("ffmpeg");
    c.args(["-nostdin", "-v", "error", "-y", "-i"])
        .arg(ts)
        .arg("-i")
        .arg(audio)
        .args(["-map", "0:v", "-map", "1:a", "-c", "copy", "-f", "mp4"])
        .arg(dir.join("ff-joined.mp4"));
    c
}

/// Streamplace's own split pipeline (pkg/media/segment_conv.go).
fn gst_split(src: &Path, dir: &Path) -> Command {
    let mut c = Command::new("gst-launch-1.0");
    c.arg("-q").args(
        format!(
            "filesrc location={} ! qtdemux name=d \
             d.video_0 ! queue ! h264parse ! video/x-h264,stream-format=byte-stream ! mpegtsmux ! filesink location={} \
             d.audio_0 ! queue ! opusparse ! mp4mux ! filesink location={}",
            src.display(),
            dir.join("gst.ts").display(),
            dir.join("gst.m4a").display()
        )
        .split(' '),
    );
    c
}

fn gst_join(ts: &Path, audio: &Path, dir: &Path) -> Command {
    let mut c = Command::new("gst-launch-1.0");
    c.arg("-q").args(
        format!(
            "filesrc location={} ! tsdemux ! h264parse ! video/x-h264,stream-format=avc ! queue ! mp4mux name=m ! filesink location={} \
             filesrc location={} ! qtdemux ! opusparse ! queue ! m.",
            ts.display(),
            dir.join("gst-joined.mp4").display(),
            audio.display()
        )
        .split(' '),
    );
    c
}

struct Row {
    what: &'static str,
    op: &'static str,
    /// (bytes in, time) for the 2 s and the 60 s file.
    short: (u64, Duration),
    long: (u64, Duration),
}

fn mbps(bytes: u64, t: Duration) -> f64 {
    bytes as f64 / t.as_secs_f64() / 1e6
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // cargo test --benches asks for the list
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let inputs = root.join("target/bench-fixtures");
    run(Command::new("bash")
        .arg(root.join("tests/fixtures/make.sh"))
        .arg(&inputs)
        .arg("--bench"));
    let out = root.join("target/bench-out");
    std::fs::create_dir_all(&out).unwrap();
    let limits = Limits {
        keep_resident_bytes: KEEP_RESIDENT,
        ..Limits::default()
    };
    let runtime = Runtime::embedded(limits).expect("component");
    let calibrate = Runtime::new(&bench_component(&root), limits).expect("bench component");
    let tokio = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let sample: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
    assert_eq!(
        tokio.block_on(calibrate.echo(&sample)).unwrap(),
        sample,
        "echo gives back its input"
    );
    let budget = Duration::from_secs(2);

    let mut rows: Vec<Row> = Vec::new();
    let mut per_file = Vec::new();
    for name in ["seg720p.mp4", "long720p.mp4"] {
        let src_path = inputs.join(name);
        let src = std::fs::read(&src_path).unwrap();
        let parts = lpbridge_media::split(&src).unwrap();
        let ts_path = out.join(format!("{name}.ts"));
        let audio_path = out.join(format!("{name}.m4a"));
        std::fs::write(&ts_path, &parts.video_ts).unwrap();
        std::fs::write(&audio_path, &parts.audio_mp4).unwrap();
        let join_in = (parts.video_ts.len() + parts.audio_mp4.len()) as u64;
        let split_in = src.len() as u64;

        let mut t = Vec::new();
        t.push((
            "native",
            "split",
            split_in,
            time(budget, || {
                std::hint::black_box(lpbridge_media::split(&src).unwrap());
            }),
        ));
        t.push((
            "native",
            "join",
            join_in,
            time(budget, || {
                std::hint::black_box(
                    lpbridge_media::join(&parts.video_ts, &parts.audio_mp4, JoinOptions::default()).unwrap(),
                );
            }),
        ));
        // Join as `receive` runs it under --verify strict or warn: the
        // rendition checked against a profile of its own size at the
        // source's rate, and the source's video.
        let source = parts.info.video.clone().expect("the fixture has video");
        let profile = lpbridge_contract::ladder::Profile {
            name: "same".into(),
            width: source.width,
            height: source.height,
            bitrate: 0,
            fps: None,
            h264_profile: None,
        };
        t.push((
            "native verified",
            "join",
            join_in,
            time(budget, || {
                let joined =
                    lpbridge_media::join_rendition(&parts.video_ts, &parts.audio_mp4, JoinOptions::default()).unwrap();
                let mismatches = lpbridge_media::verify::check(&profile, &source, &joined);
                assert!(mismatches.is_empty(), "{mismatches:?}");
                std::hint::black_box(joined);
            }),
        ));
        t.push((
            "component",
            "split",
            split_in,
            time(budget, || {
                std::hint::black_box(tokio.block_on(runtime.split(&src)).unwrap().unwrap());
            }),
        ));
        t.push((
            "component",
            "join",
            join_in,
            time(budget, || {
                std::hint::black_box(
                    tokio
                        .block_on(runtime.join(&parts.video_ts, &parts.audio_mp4))
                        .unwrap()
                        .unwrap(),
                );
            }),
        ));
        // The floor: the same bytes into a fresh instance and back out,
        // with no work done on them.
        t.push((
            "component echo",
            "split",
            split_in,
            time(budget, || {
                std::hint::black_box(tokio.block_on(calibrate.echo(&src)).unwrap());
            }),
        ));
        let join_bytes = [&parts.video_ts[..], &parts.audio_mp4[..]].concat();
        t.push((
            "component echo",
            "join",
            join_in,
            time(budget, || {
                std::hint::black_box(tokio.block_on(calibrate.echo(&join_bytes)).unwrap());
            }),
        ));
        t.push((
            "ffmpeg -c copy",
            "split",
            split_in,
            time(budget, || run(&mut ffmpeg_split(&src_path, &out))),
        ));
        t.push((
            "ffmpeg -c copy",
            "join",
            join_in,
            time(budget, || run(&mut ffmpeg_join(&ts_path, &audio_path, &out))),
        ));
        t.push((
            "gst-launch-1.0",
            "split",
            split_in,
            time(budget, || run(&mut gst_split(&src_path, &out))),
        ));
        t.push((
            "gst-launch-1.0",
            "join",
            join_in,
            time(budget, || run(&mut gst_join(&ts_path, &audio_path, &out))),
        ));
        per_file.push(t);
    }
    for (a, b) in per_file[0].iter().zip(&per_file[1]) {
        rows.push(Row {
            what: a.0,
            op: a.1,
            short: (a.2, a.3),
            long: (b.2, b.3),
        });
    }

    println!();
    println!(
        "inputs: 2 s 720p30 segment and 60 s 720p30 file (H.264 3 Mb/s + Opus), {} cores, component with {} MiB kept resident",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        KEEP_RESIDENT >> 20
    );
    println!(
        "| {:<15} | {:<5} | {:>10} | {:>10} | {:>10} | {:>10} | {:>13} |",
        "", "", "2 s: ms", "2 s: MB/s", "60 s: ms", "60 s: MB/s", "steady MB/s"
    );
    println!(
        "|{:-<17}|{:-<7}|{:->12}|{:->12}|{:->12}|{:->12}|{:->15}|",
        "", "", "", "", "", "", ""
    );
    for r in &rows {
        let steady = (r.long.0 - r.short.0) as f64 / (r.long.1.as_secs_f64() - r.short.1.as_secs_f64()).max(1e-9) / 1e6;
        println!(
            "| {:<15} | {:<5} | {:>10.2} | {:>10.0} | {:>10.2} | {:>10.0} | {:>13.0} |",
            r.what,
            r.op,
            r.short.1.as_secs_f64() * 1e3,
            mbps(r.short.0, r.short.1),
            r.long.1.as_secs_f64() * 1e3,
            mbps(r.long.0, r.long.1),
            steady
        );
    }
    println!();
    let find = |w: &str, op: &str| rows.iter().find(|r| r.what == w && r.op == op).unwrap();
    let (plain, verified) = (find("native", "join"), find("native verified", "join"));
    println!(
        "join: verification adds {:+.1}% (2 s) {:+.1}% (60 s) to native join time",
        (verified.short.1.as_secs_f64() / plain.short.1.as_secs_f64() - 1.0) * 100.0,
        (verified.long.1.as_secs_f64() / plain.long.1.as_secs_f64() - 1.0) * 100.0,
    );
    for op in ["split", "join"] {
        let (n, c, e, f, g) = (
            find("native", op),
            find("component", op),
            find("component echo", op),
            find("ffmpeg -c copy", op),
            find("gst-launch-1.0", op),
        );
        println!(
            "{op}: component/native time {:.2}x (2 s) {:.2}x (60 s); echoing the same bytes alone takes {:.2}x (2 s) {:.2}x (60 s) native time; component is {:.1}x faster than ffmpeg and {:.1}x faster than gst-launch on the 60 s file (whole process); component 60 s throughput {:.2} GB/s",
            c.short.1.as_secs_f64() / n.short.1.as_secs_f64(),
            c.long.1.as_secs_f64() / n.long.1.as_secs_f64(),
            e.short.1.as_secs_f64() / n.short.1.as_secs_f64(),
            e.long.1.as_secs_f64() / n.long.1.as_secs_f64(),
            f.long.1.as_secs_f64() / c.long.1.as_secs_f64(),
            g.long.1.as_secs_f64() / c.long.1.as_secs_f64(),
            mbps(c.long.0, c.long.1) / 1e3,
        );
    }
}
