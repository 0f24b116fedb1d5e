//! The gateway's transcoder on the issue's job: a 2 s 720p30 segment to
//! 360p + 240p, wall time on this machine, beside ffmpeg (libx264,
//! `-preset veryfast`) doing the same job on the same input in the same run.
//! Two inputs: our own sample (openh264, Baseline) and one from libx264
//! (High, B-frames), which is closer to what OBS or a browser sends.
//!
//! `cargo bench -p lpbridge-gateway --bench transcode` (or
//! `scripts/bench-gateway.sh`). Prints medians of 7 runs.

#![allow(clippy::unwrap_used)] // an unwrap here is an assertion

use std::path::Path;
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use lpbridge_gateway::config::TranscodeConfig;
use lpbridge_gateway::synth::{SampleOptions, sample_segment};
use lpbridge_gateway::{Container, transcode};

const RUNS: usize = 7;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ffmpeg(args: &[&str]) -> bool {
    Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y"])
        .args(args)
        .status()
        .is_ok_and(|s| s.success())
}

fn ffmpeg_job(input: &Path, dir: &Path) -> Option<Duration> {
    let (o1, o2) = (dir.join("o360.ts"), dir.join("o240.ts"));
    let mut times = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        let ok = ffmpeg(&[
            "-i",
            input.to_str()?,
            "-filter_complex",
            "[0:v]split=2[a][b];[a]scale=640:360[o1];[b]scale=426:240[o2]",
            "-map",
            "[o1]",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-b:v",
            "1M",
            "-f",
            "mpegts",
            o1.to_str()?,
            "-map",
            "[o2]",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-b:v",
            "500k",
            "-f",
            "mpegts",
            o2.to_str()?,
        ]);
        if !ok {
            return None;
        }
        times.push(t.elapsed());
    }
    Some(median(times))
}

fn main() {
    let dir = std::env::temp_dir().join("lpbridge-bench-gateway");
    std::fs::create_dir_all(&dir).unwrap();
    let renditions = TranscodeConfig::parse(
        r#"{"profiles":[
            {"name":"360p","width":640,"height":360,"bitrate":1000000,"fps":30},
            {"name":"240p","width":426,"height":240,"bitrate":500000,"fps":30}]}"#,
    )
    .unwrap()
    .renditions()
    .unwrap();

    let mut inputs: Vec<(&str, Vec<u8>)> = Vec::new();
    let sample = sample_segment(0, SampleOptions::default()).unwrap();
    inputs.push(("openh264 sample", lpbridge_media::split(&sample).unwrap().video_ts));
    let x264 = dir.join("x264.ts");
    if ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=1280x720:rate=30",
        "-t",
        "2",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-b:v",
        "3M",
        "-g",
        "60",
        "-pix_fmt",
        "yuv420p",
        "-f",
        "mpegts",
        x264.to_str().unwrap(),
    ]) {
        inputs.push(("libx264 testsrc2", std::fs::read(&x264).unwrap()));
    } else {
        println!("ffmpeg not found: only our own numbers follow");
    }

    println!("2 s 720p30 -> 360p (1 Mb/s) + 240p (500 kb/s), wall time, median of {RUNS}");
    println!(
        "{:<18} {:>10} {:>10} {:>12} {:>14}",
        "input", "lpbridge", "x realtime", "ffmpeg x264", "ffmpeg/ours"
    );
    let cancel = AtomicBool::new(false);
    for (name, ts) in &inputs {
        let mut times = Vec::new();
        for _ in 0..RUNS {
            let t = Instant::now();
            let out = transcode(ts, Container::Ts, &renditions, &cancel).unwrap();
            times.push(t.elapsed());
            assert_eq!(out.len(), 2);
        }
        let ours = median(times);
        let path = dir.join("input.ts");
        std::fs::write(&path, ts).unwrap();
        let theirs = ffmpeg_job(&path, &dir);
        println!(
            "{:<18} {:>8} ms {:>9.1}x {:>12} {:>14}",
            name,
            ours.as_millis(),
            2.0 / ours.as_secs_f64(),
            theirs.map_or("-".into(), |t| format!("{} ms", t.as_millis())),
            theirs.map_or("-".into(), |t| format!("{:.2}", t.as_secs_f64() / ours.as_secs_f64())),
        );
        println!(
            "  target <= 1000 ms on 2 cores: {}",
            if ours <= Duration::from_secs(1) {
                "met"
            } else {
                "NOT met"
            }
        );
    }
}
