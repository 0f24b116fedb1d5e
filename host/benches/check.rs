//! `check`'s speed: inside the component on the 60 s file, and a directory
//! of 1,000 2 s segments checked on all cores, each beside `ffprobe
//! -show_packets` on the same files, measured in one run; that directory
//! drawn (`check --html`) against the check alone; and one segment in the
//! check page in Chromium against the same in this process.
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
    let runtime_for_page = runtime.clone();
    let ladder = lpbridge::ladder::default_ladder();
    let listed = lpbridge::check::inputs(std::slice::from_ref(&dir)).unwrap();
    assert_eq!(listed.len(), 1000);
    // Each the median of repeated runs: one run of 0.1 s moved by a
    // fifth between identical runs here.
    let check = |drawn: bool| {
        tokio
            .block_on(lpbridge::check::run(runtime.clone(), &ladder, &listed, drawn))
            .unwrap()
    };
    assert_eq!(check(false).len(), 1000);
    let ours = time(budget, || {
        check(false);
    });
    // The same run drawn, as `check --html` does: the timelines too, and
    // the page written.
    let drawn = check(true);
    assert!(drawn.iter().all(|c| c.timeline.is_some()));
    let page = lpbridge::check::html(&drawn);
    let checked_drawn = time(budget, || {
        check(true);
    });
    let html = time(budget, || {
        let page = lpbridge::check::html(&check(true));
        std::fs::write(dir.join("report.html"), page).unwrap();
    });
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
        "the same with --html: {:.3} s, {:.2}x the check alone at {:.3} s (target: under 2x; medians): checked with timelines {:.3} s, the page drawn and written {:.3} s ({:.1} MB)",
        html.as_secs_f64(),
        html.as_secs_f64() / ours.as_secs_f64(),
        ours.as_secs_f64(),
        checked_drawn.as_secs_f64(),
        html.saturating_sub(checked_drawn).as_secs_f64(),
        page.len() as f64 / 1e6
    );

    // The check page: one 2 s segment checked and drawn in headless
    // Chromium after the page loaded (the median of three browsers),
    // against check-drawn of the same segment in this process's component.
    let bytes = std::fs::read(&seg).unwrap();
    let native = time(budget, || {
        tokio.block_on(runtime_for_page.check_drawn(&bytes)).unwrap();
    });
    let in_page = check_page(&root, &seg);
    println!(
        "the check page, one 2 s segment: {:.1} ms in Chromium after load, instantiation and drawing included (target: under 50 ms); check-drawn in this process's component {:.1} ms: {:.1}x",
        in_page,
        native.as_secs_f64() * 1e3,
        in_page / (native.as_secs_f64() * 1e3)
    );
}

/// The median time the check page says it took for `segment`, over three
/// fresh browsers: the page built by `scripts/edge-js page` from the
/// embedded component, served by Python's static server, driven by
/// `edge/js/tools/check-page.mjs`.
fn check_page(root: &std::path::Path, segment: &std::path::Path) -> f64 {
    let out = root.join("target/bench-out/check-page");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();
    let component = out.join("bridge.wasm");
    std::fs::write(&component, lpbridge::components::EMBEDDED_COMPONENT).unwrap();
    let page = out.join("page");
    let built = Command::new(root.join("scripts/edge-js"))
        .args(["page", "--component"])
        .arg(&component)
        .arg("--out")
        .arg(&page)
        .status()
        .unwrap();
    assert!(built.success(), "scripts/edge-js page");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Command::new("python3")
        .args([
            "-m",
            "http.server",
            "--bind",
            "127.0.0.1",
            &port.to_string(),
            "--directory",
        ])
        .arg(&page)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3");
    // Listening before the first browser asks.
    let listening = (0..200).any(|_| {
        std::thread::sleep(Duration::from_millis(50));
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    assert!(listening, "python3 -m http.server on {port}");
    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("chromium");
    let mut times: Vec<f64> = (0..3)
        .map(|_| {
            let shown = Command::new("node")
                .arg(root.join("edge/js/tools/check-page.mjs"))
                .arg(chromium)
                .arg(format!("http://127.0.0.1:{port}/index.html"))
                .arg(out.join("page.png"))
                // Chromium reads a picked file by its plain path (no `..`).
                .arg(segment.canonicalize().unwrap())
                .output()
                .unwrap();
            let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("the page's answer");
            shown["ms"].as_f64().expect("the page checked the segment")
        })
        .collect();
    let _ = server.kill();
    let _ = server.wait();
    times.sort_by(f64::total_cmp);
    times[1]
}
