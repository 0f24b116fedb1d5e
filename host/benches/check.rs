//! `check`'s speed: inside the component on the 60 s file, and a directory
//! of 1,000 2 s segments checked on all cores, each beside `ffprobe
//! -show_packets` on the same files, measured in one run; and that
//! directory drawn (`check --html`) against the check alone.
//!
//! `cargo bench -p lpbridge --bench check` (inputs from
//! `tests/fixtures/make.sh --bench`, as the remux bench's).

#![allow(clippy::unwrap_used)] // an unwrap here is an assertion

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lpbridge::{Limits, Runtime};

mod common;
use common::time;

fn ffprobe_packets(files: &[PathBuf], jobs: usize) {
    let mut list = String::new();
    for f in files {
        list.push_str(&f.to_string_lossy());
        list.push('\0');
    }
    let mut child = Command::new("xargs")
        .args(["-0", "-n", "1", "-P", &jobs.to_string()])
        .args(["ffprobe", "-v", "error", "-show_packets", "-of", "compact"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("xargs and ffprobe");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(list.as_bytes()).unwrap();
    assert!(child.wait().unwrap().success(), "ffprobe");
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let inputs = root.join("target/bench-fixtures");
    let made = Command::new("bash")
        .arg(root.join("tests/fixtures/make.sh"))
        .arg(&inputs)
        .arg("--bench")
        .status()
        .unwrap();
    assert!(made.success(), "make.sh --bench");
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let runtime = Runtime::embedded(Limits::default()).expect("component");
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let budget = Duration::from_secs(3);

    // The 60 s file, one call.
    let long_path = inputs.join("long720p.mp4");
    let long = std::fs::read(&long_path).unwrap();
    let report = tokio.block_on(runtime.check(&long)).unwrap();
    assert!(report.info.is_some(), "the 60 s file reads");
    let component = time(budget, || {
        tokio.block_on(runtime.check(&long)).unwrap();
    });
    let native = time(budget, || {
        std::hint::black_box(lpbridge_media::check::check(&long));
    });
    let ffprobe = time(budget, || ffprobe_packets(std::slice::from_ref(&long_path), 1));
    let gbps = |t: Duration| long.len() as f64 / t.as_secs_f64() / 1e9;
    println!(
        "60 s file ({:.1} MB): component {:.2} ms ({:.2} GB/s), native {:.2} ms ({:.2} GB/s), ffprobe -show_packets {:.0} ms: component {:.0}x faster",
        long.len() as f64 / 1e6,
        component.as_secs_f64() * 1e3,
        gbps(component),
        native.as_secs_f64() * 1e3,
        gbps(native),
        ffprobe.as_secs_f64() * 1e3,
        ffprobe.as_secs_f64() / component.as_secs_f64()
    );

    // 1,000 2 s segments in a directory (hard links of one), on all cores.
    let dir = root.join("target/bench-out/check-1000");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let seg = inputs.join("seg720p.mp4");
    let files: Vec<PathBuf> = (0..1000)
        .map(|i| {
            let f = dir.join(format!("{i:04}.mp4"));
            std::fs::hard_link(&seg, &f)
                .or_else(|_| std::fs::copy(&seg, &f).map(|_| ()))
                .unwrap();
            f
        })
        .collect();
    let runtime = Arc::new(runtime);
    let ladder = lpbridge::ladder::default_ladder();
    let listed = lpbridge::check::inputs(std::slice::from_ref(&dir)).unwrap();
    assert_eq!(listed.len(), 1000);
    let t = Instant::now();
    let checked = tokio
        .block_on(lpbridge::check::run(runtime.clone(), &ladder, &listed, false))
        .unwrap();
    let ours = t.elapsed();
    assert_eq!(checked.len(), 1000);
    // The same run drawn, as `check --html` does: the timelines too, and
    // the page written.
    let t = Instant::now();
    let drawn = tokio
        .block_on(lpbridge::check::run(runtime, &ladder, &listed, true))
        .unwrap();
    let checked_drawn = t.elapsed();
    let page = lpbridge::check::html(&drawn);
    std::fs::write(dir.join("report.html"), &page).unwrap();
    let html = t.elapsed();
    assert!(drawn.iter().all(|c| c.timeline.is_some()));
    let t = Instant::now();
    ffprobe_packets(&files, cores);
    let theirs = t.elapsed();
    println!(
        "1,000 2 s segments on {cores} cores: lpbridge check {:.2} s ({:.0} segments/s), ffprobe -show_packets {:.2} s: {:.1}x faster",
        ours.as_secs_f64(),
        1000.0 / ours.as_secs_f64(),
        theirs.as_secs_f64(),
        theirs.as_secs_f64() / ours.as_secs_f64()
    );
    println!(
        "the same with --html: {:.2} s, {:.2}x the check alone (target: under 2x): checked with timelines {:.2} s, the page drawn and written {:.2} s ({:.1} MB)",
        html.as_secs_f64(),
        html.as_secs_f64() / ours.as_secs_f64(),
        checked_drawn.as_secs_f64(),
        (html - checked_drawn).as_secs_f64(),
        page.len() as f64 / 1e6
    );
}
