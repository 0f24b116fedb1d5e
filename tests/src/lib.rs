//! Helpers for the end-to-end tests: where the fixtures are, one compiled
//! component per test binary, and thin wrappers over ffprobe, ffmpeg and
//! gst-launch that fail loudly when a tool is missing (CI installs them;
//! a skipped check would be a test that cannot fail).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

pub mod browser;
pub mod fleet;
pub mod gateway;
pub mod hosts;
pub mod http;

pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The benchmarks' segments (`make.sh --bench`: seg720p, long720p and the
/// test segments), made once per machine.
pub fn bench_fixtures() -> PathBuf {
    let dir = workspace().join("target/bench-fixtures");
    run(Command::new("bash")
        .arg(workspace().join("tests/fixtures/make.sh"))
        .arg(&dir)
        .arg("--bench"));
    dir
}

/// A process's peak resident memory (`VmHWM`) in bytes; 0 once it is gone.
pub fn peak_rss(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kb| kb.parse::<u64>().ok())
        .unwrap_or(0)
        * 1024
}

/// One creator's stream as a phone sends it (issue #28): portrait; turned
/// to landscape for two segments; a source at another frame rate;
/// portrait again. Each change of the ladder opens a new manifest.
pub const TURNING_PHONE: [&str; 5] = [
    "few-video-frames.mp4",
    "sample-segment.mp4",
    "sample-segment.mp4",
    "5sec.mp4",
    "few-video-frames.mp4",
];

/// The bytes of one of `streamplace_fixtures`, by file name.
pub fn streamplace_segment(name: &str) -> Vec<u8> {
    let path = streamplace_fixtures()
        .into_iter()
        .find(|p| p.ends_with(name))
        .unwrap_or_else(|| panic!("no fixture {name}"));
    std::fs::read(path).unwrap()
}

/// The real segments the end-to-end transcodes use (among them B-frames
/// with an edit list, tracks whose durations differ, frames that share a
/// DTS), then the generated files named in `generated`.
pub fn transcode_sources(generated: &[&str]) -> Vec<PathBuf> {
    let real = [
        "sample-segment.mp4",
        "5sec.mp4",
        "duration-mismatch.mp4",
        "few-video-frames.mp4",
    ];
    let mut sources: Vec<PathBuf> = real
        .iter()
        .map(|n| streamplace_fixtures().into_iter().find(|p| p.ends_with(n)).unwrap())
        .collect();
    let made = generated_fixtures();
    for n in generated {
        sources.push(
            made.iter()
                .find(|p| p.ends_with(n))
                .unwrap_or_else(|| panic!("no {n}"))
                .clone(),
        );
    }
    sources
}

/// The embedded component relabelled as another contract version: every
/// `streamplace:livepeer/...@{ours}` name becomes `@{version}` (same
/// length, so the binary stays valid), as a build of that version names
/// its interfaces.
pub fn relabelled(version: &str) -> Vec<u8> {
    let ours = format!("@{}", lpbridge::CONTRACT);
    assert_eq!(ours.len(), version.len() + 1, "same-length versions only");
    let mut c = lpbridge::EMBEDDED_COMPONENT.to_vec();
    let (ours, theirs, package) = (ours.as_bytes(), format!("@{version}"), b"streamplace:livepeer");
    let mut replaced = 0;
    for i in 0..c.len() - ours.len() {
        let named = c[i.saturating_sub(48)..i].windows(package.len()).any(|w| w == package);
        // `@0.2.0` but not `@0.2.01`: the version ends there.
        let ends = c.get(i + ours.len()).is_none_or(|b| !b.is_ascii_digit());
        if named && ends && &c[i..i + ours.len()] == ours {
            c[i..i + ours.len()].copy_from_slice(theirs.as_bytes());
            replaced += 1;
        }
    }
    assert!(replaced >= 4, "relabelled {replaced} names");
    c
}

/// The guest component built again from this repository, with `features`
/// (the canary's variants, `guest/src/variant.rs`), as `host/build.rs`
/// builds it but in a target directory of its own: in the host's, the last
/// variant built would be the file the host's next build embeds. One build
/// at a time.
pub fn guest_component(features: &[&str]) -> Vec<u8> {
    static ONE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = ONE.lock().unwrap_or_else(|e| e.into_inner());
    let target = workspace().join("target/guest-variants");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .current_dir(workspace())
        .args([
            "build",
            "--quiet",
            "--release",
            "-p",
            "lpbridge-guest",
            "--target",
            "wasm32-wasip2",
        ])
        .arg("--target-dir")
        .arg(&target)
        .env_remove("RUSTFLAGS")
        .env("CARGO_ENCODED_RUSTFLAGS", "-Ctarget-feature=+simd128")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET");
    if !features.is_empty() {
        build.args(["--features", &features.join(",")]);
    }
    run(&mut build);
    std::fs::read(target.join("wasm32-wasip2/release/lpbridge_guest.wasm")).unwrap()
}

/// The value of the Prometheus sample `line` (name and labels) in
/// `text`, 0 when absent.
pub fn metric_value(text: &str, line: &str) -> i64 {
    let prefix = format!("{line} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map_or(0, |n| n.parse().unwrap())
}

/// The real Streamplace segments, in `tests/fixtures/streamplace/` (or
/// `$LPBRIDGE_FIXTURES`).
pub fn streamplace_fixtures() -> Vec<PathBuf> {
    let dir = std::env::var_os("LPBRIDGE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("tests/fixtures/streamplace"));
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| {
            panic!(
                "fixtures at {}: {e} (see tests/fixtures/streamplace/README.md)",
                dir.display()
            )
        })
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "mp4"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 5,
        "expected the Streamplace fixtures in {}",
        dir.display()
    );
    files
}

/// Where `tests/fixtures/make.sh` leaves our own segments, made once per
/// machine.
fn generated_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = workspace().join("target/test-fixtures");
        run(Command::new("bash")
            .arg(workspace().join("tests/fixtures/make.sh"))
            .arg(&dir));
        dir
    })
}

/// Our own consecutive segments of one stream each (`stream-*/seg*.mp4`),
/// by stream name, in stream order.
pub fn generated_streams() -> Vec<(String, Vec<PathBuf>)> {
    let mut streams: Vec<(String, Vec<PathBuf>)> = std::fs::read_dir(generated_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() && !p.to_string_lossy().ends_with(".tmp"))
        .map(|dir| {
            let mut segments: Vec<PathBuf> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "mp4"))
                .collect();
            segments.sort();
            (dir.file_name().unwrap().to_string_lossy().into_owned(), segments)
        })
        .collect();
    streams.sort();
    assert!(streams.len() >= 2, "make.sh makes two streams");
    streams
}

/// Our own segments, made once per machine by `tests/fixtures/make.sh`.
pub fn generated_fixtures() -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(generated_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "mp4") && !p.to_string_lossy().contains(".tmp."))
        .collect();
    files.sort();
    files
}

/// A directory for one test's outputs, emptied first.
pub fn scratch(name: &str) -> PathBuf {
    let dir = workspace().join("target/test-out").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The embedded component, compiled once per test binary.
pub fn runtime() -> &'static lpbridge::Runtime {
    static RT: OnceLock<lpbridge::Runtime> = OnceLock::new();
    RT.get_or_init(|| lpbridge::Runtime::embedded(lpbridge::Limits::default()).expect("load component"))
}

/// Runs a future to completion on a fresh current-thread runtime.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// Runs a command; panics with its stderr unless it succeeds.
pub fn run(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().unwrap_or_else(|e| {
        panic!(
            "cannot run {:?} (is it installed? .ci/run installs it): {e}",
            cmd.get_program()
        )
    });
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// What ffprobe says of one packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    pub pts: Option<i64>,
    pub dts: Option<i64>,
    pub duration: Option<i64>,
    pub size: u64,
    pub keyframe: bool,
    pub md5: String,
}

/// Packets of the first stream of `kind` (`v` or `a`) and its time base.
pub fn ffprobe_packets(file: &Path, kind: &str) -> (Vec<Packet>, (i64, i64)) {
    let out = run(Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", &format!("{kind}:0")])
        .args([
            "-show_entries",
            "packet=pts,dts,duration,size,flags,data_hash:stream=time_base",
            "-show_data_hash",
            "md5",
            "-of",
            "json",
        ])
        .arg(file));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let tb = v["streams"][0]["time_base"].as_str().unwrap_or("0/1");
    let (n, d) = tb.split_once('/').unwrap();
    let num = |x: &Value| x.as_i64().or_else(|| x.as_str().and_then(|s| s.parse().ok()));
    let packets = v["packets"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| Packet {
                    pts: num(&p["pts"]),
                    dts: num(&p["dts"]),
                    duration: num(&p["duration"]),
                    size: num(&p["size"]).unwrap_or(0) as u64,
                    keyframe: p["flags"].as_str().unwrap_or("").starts_with('K'),
                    md5: p["data_hash"].as_str().unwrap_or("").to_string(),
                })
                .collect()
        })
        .unwrap_or_default();
    (packets, (n.parse().unwrap(), d.parse().unwrap()))
}

/// `(width, height)` of the first video stream.
pub fn ffprobe_size(file: &Path) -> (u32, u32) {
    let out = run(Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=width,height",
            "-of",
            "json",
        ])
        .arg(file));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = &v["streams"][0];
    (
        s["width"].as_u64().unwrap() as u32,
        s["height"].as_u64().unwrap() as u32,
    )
}

/// MD5 of each video packet's NAL units, framed as Annex B, without
/// delimiters and parameter sets: equal when only the framing differs.
pub fn video_payload_md5(file: &Path) -> Vec<String> {
    let out = run(Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(file)
        .args([
            "-map",
            "0:v:0",
            "-c",
            "copy",
            "-bsf:v",
            "h264_mp4toannexb,filter_units=remove_types=7|8|9",
        ])
        .args(["-f", "framemd5", "-"]));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.rsplit(',').next().unwrap().trim().to_string())
        .collect()
}

/// What `ffmpeg -v error -i FILE -f null -` prints (decoding everything).
pub fn ffmpeg_decode_errors(file: &Path) -> String {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(file)
        .args(["-f", "null", "-"])
        .output()
        .expect("ffmpeg installed");
    let mut text = String::from_utf8_lossy(&out.stderr).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stdout));
    if !out.status.success() {
        text.push_str(&format!("\nexit status {}", out.status));
    }
    text
}

/// Demuxes a TS in GStreamer: `filesrc ! tsdemux ! h264parse ! fakesink`.
/// Returns the buffers that reached the sink, failing on any error.
pub fn gst_demux_ts(file: &Path) -> usize {
    gst_h264_buffers(file, "tsdemux")
}

/// The video of an MP4 in GStreamer: `filesrc ! qtdemux ! h264parse !
/// fakesink`. Returns the buffers that reached the sink, failing on any
/// error.
pub fn gst_demux_mp4_video(file: &Path) -> usize {
    gst_h264_buffers(file, "qtdemux")
}

/// Runs under `timeout`: a pipeline that never prerolls would wait forever.
fn gst_h264_buffers(file: &Path, demux: &str) -> usize {
    let out = run(Command::new("timeout")
        .args(["120", "gst-launch-1.0", "-v", "-m", "filesrc"])
        .arg(format!("location={}", file.display()))
        .args([
            "!",
            demux,
            "!",
            "h264parse",
            "!",
            "fakesink",
            "silent=false",
            "sync=false",
        ]));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("ERROR"), "gst-launch reported an error: {text}");
    text.lines()
        .filter(|l| l.starts_with("/GstPipeline") && l.contains("last-message = chain"))
        .count()
}

/// Where a track plays in GStreamer, in seconds of running time: the
/// first buffer's start and the last one's end.
#[derive(Clone, Copy, Debug)]
pub struct Played {
    pub start: f64,
    pub end: f64,
}

/// Plays an MP4's `video_0` and `audio_0` through `qtdemux` into two
/// fakesinks and returns where each track played, edit lists and `tfdt`
/// applied as GStreamer applies them. Read from basesink's debug log (the
/// running time it syncs each buffer to), which every buffer reaches;
/// `-v`'s last-message notifications can skip buffers.
pub fn gst_played(file: &Path) -> (Played, Played) {
    let out = run(Command::new("timeout")
        .args(["120", "gst-launch-1.0", "-q", "filesrc"])
        .arg(format!("location={}", file.display()))
        .args(["!", "qtdemux", "name=d"])
        .args(["d.video_0", "!", "queue", "!", "fakesink", "name=v"])
        .args(["d.audio_0", "!", "queue", "!", "fakesink", "name=a"])
        .env("GST_DEBUG", "basesink:6")
        .env("GST_DEBUG_NO_COLOR", "1"));
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(!log.contains("ERROR"), "gst-launch reported an error: {log}");
    let played = |sink: &str| {
        let name = format!(":<{sink}> ");
        let mut buffer: Option<f64> = None;
        let mut span: Option<Played> = None;
        for line in log.lines().filter(|l| l.contains(&name)) {
            if let Some(times) = line
                .split("chain_unlocked:")
                .nth(1)
                .and_then(|t| t.split("got times start: ").nth(1))
            {
                let (start, end) = times.split_once(", end: ").unwrap();
                buffer = Some(gst_seconds(end) - gst_seconds(start));
            } else if line.contains("Got Gap time") {
                buffer = None;
            } else if let Some(at) = line.split("possibly waiting for clock to reach ").nth(1) {
                let Some(duration) = buffer.take() else { continue };
                let at = gst_seconds(at.split(',').next().unwrap());
                span = Some(match span {
                    None => Played {
                        start: at,
                        end: at + duration,
                    },
                    Some(s) => Played {
                        start: s.start.min(at),
                        end: s.end.max(at + duration),
                    },
                });
            }
        }
        span.unwrap_or_else(|| panic!("{}: no {sink} buffer reached GStreamer's sink", file.display()))
    };
    (played("v"), played("a"))
}

/// `H:MM:SS.NNNNNNNNN` as GStreamer prints a clock time.
fn gst_seconds(text: &str) -> f64 {
    let field = |f: Option<&str>| {
        f.and_then(|f| f.trim().parse::<f64>().ok())
            .unwrap_or_else(|| panic!("clock time {text:?}"))
    };
    let mut fields = text.split(':');
    let (h, m, s) = (field(fields.next()), field(fields.next()), field(fields.next()));
    h * 3600.0 + m * 60.0 + s
}

/// Rescales `v` from time base `a` to time base `b` (num/den pairs).
pub fn rescale(v: i64, a: (i64, i64), b: (i64, i64)) -> i64 {
    let num = v as i128 * a.0 as i128 * b.1 as i128;
    let den = a.1 as i128 * b.0 as i128;
    let half = den / 2;
    (if num >= 0 {
        (num + half) / den
    } else {
        (num - half) / den
    }) as i64
}

fn mp4_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut b = ((8 + body.len()) as u32).to_be_bytes().to_vec();
    b.extend_from_slice(kind);
    b.extend_from_slice(body);
    b
}

/// A valid 1080p `avc1` MP4 whose one track claims `samples` samples of one
/// byte each, laid in a `free` box big enough for them: small to send,
/// expensive to index. For resource-limit tests.
pub fn crafted_mp4(samples: u32) -> Vec<u8> {
    // The SPS of Streamplace's 5sec.mp4 (1920x1080 High).
    const SPS: [u8; 30] = [
        0x67, 0x64, 0x00, 0x2a, 0xac, 0xd9, 0x40, 0x78, 0x02, 0x27, 0xe5, 0xc0, 0x5a, 0x80, 0x80, 0x80, 0xa0, 0x00,
        0x00, 0x03, 0x00, 0x20, 0x00, 0x00, 0x0f, 0x01, 0xe3, 0x06, 0x32, 0xc0,
    ];
    let full = |kind: &[u8; 4], body: &[u8]| mp4_box(kind, &[&[0u8; 4][..], body].concat());
    let mut avcc = vec![1, 0x64, 0, 0x2a, 0xff, 0xe1, 0, SPS.len() as u8];
    avcc.extend_from_slice(&SPS);
    avcc.extend_from_slice(&[1, 0, 4, 0x68, 0xeb, 0xe3, 0xcb]);
    let mut entry = vec![0u8; 6];
    entry.extend_from_slice(&[0, 1]);
    entry.extend_from_slice(&[0; 16]);
    entry.extend_from_slice(&1920u16.to_be_bytes());
    entry.extend_from_slice(&1080u16.to_be_bytes());
    entry.extend_from_slice(&[0; 50]);
    entry.extend_from_slice(&mp4_box(b"avcC", &avcc));
    let stsd = full(b"stsd", &[&1u32.to_be_bytes()[..], &mp4_box(b"avc1", &entry)].concat());
    let u32s = |v: &[u32]| v.iter().flat_map(|x| x.to_be_bytes()).collect::<Vec<u8>>();
    let ftyp = mp4_box(b"ftyp", b"isom\0\0\x02\0isomavc1");
    let moov_without_stco_offset = |offset: u32| {
        let stbl = [
            stsd.clone(),
            full(b"stts", &u32s(&[1, samples, 1])),
            full(b"stsc", &u32s(&[1, 1, samples, 1])),
            full(b"stsz", &u32s(&[1, samples])),
            full(b"stco", &u32s(&[1, offset])),
        ]
        .concat();
        let minf = [full(b"vmhd", &[0; 8]), mp4_box(b"stbl", &stbl)].concat();
        let mdia = [
            full(
                b"mdhd",
                &[&[0u8; 8][..], &u32s(&[60, samples]), &[0x55, 0xc4, 0, 0]].concat(),
            ),
            full(b"hdlr", &[&[0u8; 4][..], b"vide", &[0; 12], b"v\0"].concat()),
            mp4_box(b"minf", &minf),
        ]
        .concat();
        let trak = [
            full(b"tkhd", &[&[0u8; 8][..], &u32s(&[1]), &[0; 68]].concat()),
            mp4_box(b"mdia", &mdia),
        ]
        .concat();
        let mvhd = full(b"mvhd", &[&[0u8; 8][..], &u32s(&[1000, 0]), &[0; 80]].concat());
        mp4_box(b"moov", &[mvhd, mp4_box(b"trak", &trak)].concat())
    };
    let moov_len = moov_without_stco_offset(0).len();
    let data_at = (ftyp.len() + moov_len + 8) as u32;
    let mut file = [ftyp, moov_without_stco_offset(data_at)].concat();
    file.extend_from_slice(&(8 + samples + 16).to_be_bytes());
    file.extend_from_slice(b"free");
    file.resize(file.len() + samples as usize + 16, 0);
    file
}

/// The audio is the source's, packet for packet and byte for byte.
pub fn check_audio(src: &Path, out: &Path) {
    let (a, atb) = ffprobe_packets(src, "a");
    let (b, btb) = ffprobe_packets(out, "a");
    assert_eq!(atb, btb, "{}: audio time base", src.display());
    assert_eq!(a.len(), b.len(), "{}: audio packets", src.display());
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        // ffprobe gives no duration for packets of a fragmented source.
        let duration = x.duration.is_none() || x.duration == y.duration;
        assert!(
            x.pts == y.pts && x.dts == y.dts && x.size == y.size && x.md5 == y.md5 && duration,
            "{}: audio packet {i}: {x:?} became {y:?}",
            src.display()
        );
    }
}

/// ffmpeg decodes the rendition without a message, but for the null
/// muxer's note on frames closer than its time base (1.8 ms apart in some
/// real segments), which it then gives for the source too.
pub fn assert_clean_decode(src: &Path, out: &Path, what: &str) {
    let dts_note = |l: &str| l.contains("non monotonically increasing dts") || l.contains("Last message repeated");
    let errors = ffmpeg_decode_errors(out);
    let other: Vec<&str> = errors.lines().filter(|l| !dts_note(l)).collect();
    assert!(other.is_empty(), "{what}: ffmpeg decode: {errors}");
    if errors.lines().any(dts_note) {
        assert!(
            ffmpeg_decode_errors(src).lines().any(dts_note),
            "{what}: dts notes the source does not give: {errors}"
        );
    }
}

pub fn sorted_pts(file: &Path) -> (Vec<i64>, (i64, i64)) {
    let (packets, tb) = ffprobe_packets(file, "v");
    let mut pts: Vec<i64> = packets.iter().map(|p| p.pts.unwrap()).collect();
    pts.sort();
    (pts, tb)
}

/// What a rendition was asked for, as the checks need it.
pub struct Asked {
    pub width: u32,
    pub height: u32,
    /// At the source's rate (else at half of it).
    pub source_rate: bool,
}

/// The host's ladder and the edge's are one (`lpbridge_contract`): one
/// conversion serves both.
impl From<&lpbridge_contract::Profile> for Asked {
    fn from(p: &lpbridge_contract::Profile) -> Self {
        Asked {
            width: p.width,
            height: p.height,
            source_rate: p.fps.is_none(),
        }
    }
}

/// A rendition of `src` made as `p` asked, as a player sees it: at the
/// profile's size, the source's audio byte for byte, a keyframe first, a
/// clean decode, and every frame at one of the source's presentation
/// times, the first where the source's first is.
pub fn check_rendition(src: &Path, file: &Path, p: impl Into<Asked>, what: &str) {
    let p: Asked = p.into();
    assert_eq!(ffprobe_size(file), (p.width, p.height), "{what}: size as asked");
    check_audio(src, file);
    let (packets, _) = ffprobe_packets(file, "v");
    assert!(packets[0].keyframe, "{what}: a keyframe first");
    assert_clean_decode(src, file, what);
    let (src_pts, src_tb) = sorted_pts(src);
    let (pts, tb) = sorted_pts(file);
    assert_eq!(tb, src_tb, "{what}: time base");
    // An empty edit (a rendition without B-frames starts later in its own
    // media than one with them) is in the movie's timescale, milliseconds
    // here: one tick of it is the tolerance.
    let shift = pts[0] - src_pts[0];
    let tick = tb.1 / (1000 * tb.0) + 1;
    assert!(shift.abs() <= tick, "{what}: first frame {} vs {}", pts[0], src_pts[0]);
    let all: std::collections::BTreeSet<i64> = src_pts.iter().copied().collect();
    assert!(
        pts.iter().all(|t| all.contains(&(t - shift))),
        "{what}: {pts:?} vs {src_pts:?}"
    );
    // At the source's rate every frame stays; a rung at half of it keeps
    // one frame per output slot.
    if p.source_rate {
        assert_eq!(pts.len(), all.len(), "{what}: a frame per presentation time");
    } else {
        assert!(
            pts.len() <= src_pts.len() && pts.len() * 5 >= src_pts.len() * 2,
            "{what}: {} frames of {}",
            pts.len(),
            src_pts.len()
        );
    }
}
