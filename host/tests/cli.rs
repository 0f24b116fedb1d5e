//! The `lpbridge` binary as a user runs it.

#![allow(clippy::unwrap_used)] // an unwrap here is an assertion

use std::path::PathBuf;
use std::process::Command;

mod common;
use common::{fixture, scratch};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lpbridge"))
}

#[test]
fn probe_prints_segment_info_as_json() {
    let out = bin().arg("probe").arg(fixture("5sec.mp4")).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["video"][0]["width"], 1920);
    assert_eq!(info["video"][0]["frames"], 301);
    assert_eq!(info["video"][0]["b_frames"], true);
    assert_eq!(info["audio"][0]["codec"], "opus");
}

#[test]
fn split_then_join_writes_files() {
    let dir = scratch("cli-split-join");
    let (ts, audio, out) = (dir.join("v.ts"), dir.join("a.mp4"), dir.join("o.mp4"));
    let s = bin()
        .arg("split")
        .arg(fixture("sample-segment.mp4"))
        .arg("--video-ts")
        .arg(&ts)
        .arg("--audio-mp4")
        .arg(&audio)
        .output()
        .unwrap();
    assert!(s.status.success(), "{}", String::from_utf8_lossy(&s.stderr));
    let info: serde_json::Value = serde_json::from_slice(&s.stdout).unwrap();
    assert_eq!(info["video"][0]["frames"], 49);
    assert_eq!(std::fs::read(&ts).unwrap()[0], 0x47);
    let join = |flags: &[&str], to: &PathBuf| {
        let j = bin()
            .arg("join")
            .args(flags)
            .arg("--video-ts")
            .arg(&ts)
            .arg("--audio-mp4")
            .arg(&audio)
            .arg("-o")
            .arg(to)
            .output()
            .unwrap();
        assert!(j.status.success(), "{}", String::from_utf8_lossy(&j.stderr));
    };
    join(&[], &out);
    let progressive = std::fs::read(&out).unwrap();
    assert_eq!(&progressive[4..8], b"ftyp");

    let fragmented = dir.join("f.mp4");
    join(&["--fragmented"], &fragmented);
    let movie = std::fs::read(&fragmented).unwrap();
    let (f, p) = (
        lpbridge_media::mp4::parse(&movie).unwrap(),
        lpbridge_media::mp4::parse(&progressive).unwrap(),
    );
    assert!(f.fragmented && !p.fragmented, "--fragmented chose the layout");
    let samples = |m: &lpbridge_media::mp4::Movie<'_>| m.tracks.iter().map(|t| t.samples.len()).collect::<Vec<_>>();
    assert_eq!(samples(&f), samples(&p));
    assert_eq!(samples(&f)[0], 49);
}

#[test]
fn bad_media_exits_2_with_the_reason() {
    let dir = scratch("cli-bad");
    let junk = dir.join("junk.mp4");
    std::fs::write(&junk, b"\x00\x00\x00\x10\xff\xfe\xfd\xfcjunk").unwrap();
    let out = bin().arg("probe").arg(&junk).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an MP4"));
}

#[test]
fn multipart_lists_and_writes_parts_without_escaping_the_directory() {
    let dir = scratch("cli-multipart");
    let body = dir.join("body");
    std::fs::write(
        &body,
        b"--b0\r\nContent-Disposition: attachment; filename=\"../../escape.ts\"\r\nRendition-Name: 720p\r\n\r\nabc\r\n--b0--\r\n",
    )
    .unwrap();
    let out_dir = dir.join("parts");
    let out = bin()
        .args(["multipart", "--content-type", "multipart/mixed; boundary=b0"])
        .arg(&body)
        .arg("--out")
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(listing.contains("720p") && listing.contains('3'), "{listing}");
    assert_eq!(std::fs::read(out_dir.join("escape.ts")).unwrap(), b"abc");
    assert!(!dir.join("escape.ts").exists());
}

#[test]
fn another_component_can_be_named() {
    let dir = scratch("cli-component");
    let path = dir.join("copy.wasm");
    std::fs::write(&path, lpbridge::EMBEDDED_COMPONENT).unwrap();
    let out = bin()
        .arg("--component")
        .arg(&path)
        .arg("probe")
        .arg(fixture("short-video.mp4"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let broken = dir.join("broken.wasm");
    std::fs::write(&broken, b"\0asm not really").unwrap();
    let out = bin()
        .arg("--component")
        .arg(&broken)
        .arg("probe")
        .arg(fixture("short-video.mp4"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

/// `probe` with a fresh cache directory: the first run compiles the
/// component and leaves it there, the second loads it (its debug log says
/// so) instead of compiling again.
#[test]
fn the_second_probe_loads_the_compiled_component_from_the_cache() {
    let cache = scratch("cli-cache");
    let probe = || {
        let out = bin()
            .env("RUST_LOG", "lpbridge=debug")
            .arg("--cache-dir")
            .arg(&cache)
            .arg("probe")
            .arg(fixture("sample-segment.mp4"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stderr).unwrap()
    };
    let first = probe();
    let files: Vec<_> = std::fs::read_dir(&cache).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].extension().is_some_and(|e| e == "cwasm"), "{files:?}");
    assert!(first.contains("stored in the cache"), "{first}");
    assert!(!first.contains("loaded from the cache"), "{first}");
    let second = probe();
    assert!(second.contains("compiled component loaded from the cache"), "{second}");
    assert!(!second.contains("stored in the cache"), "{second}");
}

/// Caching is on by default, under `$XDG_CACHE_HOME/lpbridge`, and
/// `--no-cache` turns it off.
#[test]
fn the_cache_is_on_by_default_and_no_cache_turns_it_off() {
    let home = scratch("cli-cache-default");
    let probe = |extra: &[&str]| {
        let out = bin()
            .env("XDG_CACHE_HOME", &home)
            .args(extra)
            .arg("probe")
            .arg(fixture("short-video.mp4"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    probe(&["--no-cache"]);
    assert!(!home.join("lpbridge").exists(), "--no-cache wrote a cache");
    probe(&[]);
    let files = std::fs::read_dir(home.join("lpbridge")).unwrap().count();
    assert_eq!(files, 1);
}

/// A cache directory that cannot be made (here, below a regular file: even
/// root cannot) costs one warning, and the command still does its work.
#[test]
fn an_unwritable_cache_directory_is_one_warning() {
    let dir = scratch("cli-cache-unwritable");
    let file = dir.join("not-a-directory");
    std::fs::write(&file, b"").unwrap();
    let out = bin()
        .arg("--cache-dir")
        .arg(file.join("cache"))
        .arg("probe")
        .arg(fixture("short-video.mp4"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["video"][0]["width"], 360);
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.contains("WARN")).collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(warnings[0].contains("component cache not writable"), "{stderr}");
}

/// Logs written to a file carry no colour codes.
#[test]
fn logs_to_a_file_have_no_escape_bytes() {
    let dir = scratch("cli-log-file");
    let log = dir.join("stderr.log");
    let status = bin()
        .env("RUST_LOG", "lpbridge=debug")
        .arg("--cache-dir")
        .arg(dir.join("cache"))
        .arg("probe")
        .arg(fixture("short-video.mp4"))
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .status()
        .unwrap();
    assert!(status.success());
    let text = std::fs::read(&log).unwrap();
    assert!(
        text.len() > 40,
        "the debug log wrote something: {:?}",
        String::from_utf8_lossy(&text)
    );
    assert!(!text.contains(&0x1b), "{:?}", String::from_utf8_lossy(&text));
}

/// A user with only the binary gets both components, byte for byte the
/// ones it carries.
#[test]
fn both_components_are_written_from_the_binary() {
    let dir = scratch("cli-component");
    for (world, carried) in [
        ("bridge", lpbridge::EMBEDDED_COMPONENT),
        ("edge", lpbridge::EDGE_COMPONENT),
    ] {
        let file = dir.join(format!("{world}.wasm"));
        let o = bin().args(["component", world, "-o"]).arg(&file).output().unwrap();
        assert!(o.status.success(), "{world}: {}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(std::fs::read(&file).unwrap(), carried, "{world}");
        let said = String::from_utf8_lossy(&o.stdout);
        assert!(said.contains(&format!("{} bytes", carried.len())), "{world}: {said}");
    }
    let o = bin()
        .args(["component", "bench", "-o"])
        .arg(dir.join("x"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "an unknown world is a usage error");
}

/// The edge component is a `wasi:http/proxy` component: it exports the
/// incoming handler, and imports the proxy world's interfaces and the
/// environment its settings come from, with what Rust's std imports
/// besides (which `wasmtime serve -S cli=y` and jco provide).
#[test]
fn the_edge_component_is_a_proxy_component() {
    let engine = wasmtime::Engine::default();
    let c = wasmtime::component::Component::from_binary(&engine, lpbridge::EDGE_COMPONENT).unwrap();
    let ty = c.component_type();
    let exports: Vec<String> = ty.exports(&engine).map(|(n, _)| n.to_string()).collect();
    assert_eq!(exports, ["wasi:http/incoming-handler@0.2.12"]);
    let proxy = [
        "wasi:io/poll",
        "wasi:clocks/monotonic-clock",
        "wasi:clocks/wall-clock",
        "wasi:random/random",
        "wasi:io/error",
        "wasi:io/streams",
        "wasi:cli/stdout",
        "wasi:cli/stderr",
        "wasi:cli/stdin",
        "wasi:http/types",
        "wasi:http/outgoing-handler",
    ];
    // std's own (its exit and terminal detection), at std's WASI version.
    let std = [
        "wasi:cli/exit",
        "wasi:cli/terminal-input",
        "wasi:cli/terminal-output",
        "wasi:cli/terminal-stdin",
        "wasi:cli/terminal-stdout",
        "wasi:cli/terminal-stderr",
    ];
    let imports: Vec<String> = ty.imports(&engine).map(|(n, _)| n.to_string()).collect();
    let outside: Vec<&String> = imports
        .iter()
        .filter(|i| {
            let name = i.split('@').next().unwrap_or_default();
            !proxy.contains(&name) && !std.contains(&name) && name != "wasi:cli/environment"
        })
        .collect();
    assert!(outside.is_empty(), "imports outside the proxy world: {outside:?}");
    for needed in ["wasi:http/outgoing-handler@0.2.12", "wasi:cli/environment@0.2.12"] {
        assert!(imports.iter().any(|i| i == needed), "{needed}: {imports:?}");
    }
}

/// `lpbridge check` as an operator runs it: a directory in name order, a
/// report per segment, and the exit status saying what it found.
#[test]
fn check_reports_each_segment_and_exits_by_what_it_found() {
    let dir = scratch("cli-check");
    for name in ["5sec.mp4", "sample-segment.mp4"] {
        std::fs::copy(fixture(name), dir.join(name)).unwrap();
    }
    let o = bin().arg("check").arg(&dir).output().unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "warnings pass without --strict: {text}");
    let five = text.find("5sec.mp4: 0 errors, 1 warnings").expect(&text);
    let sample = text.find("sample-segment.mp4: 0 errors").expect(&text);
    assert!(five < sample, "name order: {text}");
    assert!(text.contains("av-duration-mismatch"), "{text}");
    assert!(text.contains("the ladder would ask for 720p 1280x720"), "{text}");

    let o = bin().arg("check").arg("--strict").arg(&dir).output().unwrap();
    assert_eq!(o.status.code(), Some(1), "warnings fail under --strict");

    let o = bin()
        .args(["check", "--json"])
        .arg(dir.join("5sec.mp4"))
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let segment = &report["segments"][0];
    assert_eq!(segment["warnings"], 1);
    assert_eq!(segment["info"]["video"][0]["width"], 1920);
    assert_eq!(segment["findings"][0]["severity"], "warning");
    assert_eq!(segment["findings"][0]["code"], "av-duration-mismatch");
    assert!(segment["findings"][0]["at"].get("time_ns").is_some());
    assert_eq!(segment["rungs"][0]["name"], "720p");

    // Bytes that are no MP4, from stdin: an error finding and exit 2.
    let mut child = bin()
        .args(["check", "--json", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(&[0x5a; 5000]).unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["segments"][0]["findings"][0]["code"], "unreadable");
    assert_eq!(report["segments"][0]["info"], serde_json::Value::Null);
    assert_eq!(report["errors"], 1);
}

/// `--html -` draws to stdout; with `--json` as well, both would: a usage
/// error that says so, exit 2, nothing on stdout.
#[test]
fn check_html_to_stdout_is_the_page_and_refuses_json_beside_it() {
    let o = bin()
        .args(["check", "--html", "-"])
        .arg(fixture("sample-segment.mp4"))
        .output()
        .unwrap();
    let page = String::from_utf8_lossy(&o.stdout);
    assert!(page.starts_with("<!doctype html>") && page.contains("<svg"), "{page}");
    let o = bin()
        .args(["check", "--json", "--html", "-"])
        .arg(fixture("sample-segment.mp4"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--html - and --json both write to stdout"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A segment the sandbox cannot check within its memory cap is that
/// segment's `sandbox-stopped` error, naming the cap; the others are
/// still checked, and the run ends with exit 2, not a failure.
#[test]
fn check_reports_a_segment_over_the_memory_cap_and_goes_on() {
    let dir = scratch("cli-check-capped");
    // A real segment with 3 MiB of `free` after it: still a valid MP4,
    // but more bytes than a 2 MiB sandbox can take in.
    let mut big = std::fs::read(fixture("sample-segment.mp4")).unwrap();
    let free = 3u32 << 20;
    big.extend_from_slice(&free.to_be_bytes());
    big.extend_from_slice(b"free");
    big.resize(big.len() + free as usize - 8, 0);
    std::fs::write(dir.join("big.mp4"), big).unwrap();
    std::fs::copy(fixture("short-video.mp4"), dir.join("short-video.mp4")).unwrap();
    let o = bin()
        .args(["--memory-mib", "2", "check", "--json"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let capped = &report["segments"][0];
    assert!(capped["file"].as_str().unwrap().ends_with("big.mp4"));
    assert_eq!(capped["findings"][0]["code"], "sandbox-stopped");
    assert_eq!(
        capped["findings"][0]["message"],
        "the sandbox stopped the check: the component needed more than its 2 MiB of memory"
    );
    let small = &report["segments"][1];
    assert_eq!(small["errors"], 0, "{small:#}");
    assert_eq!(small["info"]["video"][0]["width"], 360);
}

/// On a terminal, a run over several files shows how far it got; piped,
/// it does not (`script` gives the command a terminal).
#[test]
fn check_shows_progress_on_a_terminal_only() {
    let dir = scratch("cli-check-progress");
    for name in ["5sec.mp4", "sample-segment.mp4", "short-video.mp4"] {
        std::fs::copy(fixture(name), dir.join(name)).unwrap();
    }
    let command = format!("{} check {}", env!("CARGO_BIN_EXE_lpbridge"), dir.display());
    let o = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .output()
        .unwrap();
    let tty = String::from_utf8_lossy(&o.stdout);
    assert!(tty.contains("\rchecked 3/3"), "{tty:?}");
    let o = bin().arg("check").arg(&dir).output().unwrap();
    let piped = String::from_utf8_lossy(&o.stderr);
    assert!(!piped.contains("checked"), "{piped:?}");
}

/// A phone that turns, and a source at another frame rate, through the
/// built-in gateway (which fixes a manifest's profiles at its first
/// segment): every segment transcodes, and the log says where and why a
/// new manifest opened.
#[cfg(feature = "gateway")]
#[test]
fn transcode_opens_a_new_manifest_where_the_ladder_changes() {
    let out = scratch("cli-turning");
    let run = bin()
        .env("RUST_LOG", "lpbridge=info")
        .env("NO_COLOR", "1")
        .args(["transcode", "--gateway", "local", "--renditions", "360p,160p"])
        .args(["--creator", "did:plc:phone", "--out"])
        .arg(&out)
        .args(
            [
                "few-video-frames.mp4",
                "sample-segment.mp4",
                "sample-segment.mp4",
                "5sec.mp4",
                "few-video-frames.mp4",
            ]
            .map(fixture),
        )
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{log}");
    for rung in ["360p", "160p"] {
        for i in 0..5 {
            assert!(
                out.join(rung).join(format!("{i}.mp4")).is_file(),
                "{rung}/{i}.mp4\n{log}"
            );
        }
    }
    let opened: Vec<&str> = log.lines().filter(|l| l.contains("a new manifest at seq 0")).collect();
    assert_eq!(opened.len(), 3, "{log}");
    // Segments run two at a time, so the lines may come in any order.
    assert!(opened.iter().all(|l| l.contains("seq=0")), "{log}");
    let count = |reason: &str| {
        opened
            .iter()
            .filter(|l| l.contains(&format!("reason=\"{reason}\"")))
            .count()
    };
    assert_eq!((count("orientation"), count("rate")), (2, 1), "{log}");
    assert!(opened.iter().any(|l| l.contains("360p 640x360 after 360x640")), "{log}");
}

/// `--perfmap` (a flag like every other setting) writes the map `perf`
/// reads, naming the component's functions; without it there is none.
/// A build without the built-in gateway (`--no-default-features`, as
/// `scripts/test` runs this file once) refuses `local` naming the cargo
/// feature, has no `gateway` or `demo` command, and serves the rest.
#[cfg(not(feature = "gateway"))]
#[test]
fn a_build_without_the_gateway_refuses_local_by_name() {
    let out = scratch("cli-no-gateway");
    let run = bin()
        .args(["transcode", "--gateway", "local", "--creator", "did:plc:prod", "--out"])
        .arg(&out)
        .arg(fixture("sample-segment.mp4"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success(), "{stderr}");
    assert!(
        stderr.contains("without its built-in gateway (cargo feature `gateway`)"),
        "{stderr}"
    );
    for command in ["gateway", "demo"] {
        let run = bin().arg(command).output().unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(stderr.contains("unrecognized subcommand"), "{command}: {stderr}");
    }
    let probe = bin().arg("probe").arg(fixture("5sec.mp4")).output().unwrap();
    assert!(probe.status.success(), "{}", String::from_utf8_lossy(&probe.stderr));
}

#[test]
fn perfmap_is_a_flag_and_names_the_components_functions() {
    for on in [true, false] {
        let mut cmd = bin();
        if on {
            cmd.arg("--perfmap");
        }
        let child = cmd
            .env_remove("LPBRIDGE_PERFMAP")
            .args(["--no-cache", "probe"])
            .arg(fixture("short-video.mp4"))
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let map = PathBuf::from(format!("/tmp/perf-{}.map", child.id()));
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        let text = std::fs::read_to_string(&map).unwrap_or_default();
        let _ = std::fs::remove_file(&map);
        assert_eq!(text.contains("lpbridge_guest"), on, "--perfmap {on}: {}", map.display());
    }
}

/// One CLI: `-` reads stdin wherever a segment is read, `-o` writes
/// wherever something is written, and `check` of nothing is a usage
/// error (exit 2, one line), with whole paths in its table.
#[test]
fn every_command_reads_stdin_and_writes_with_o() {
    use std::io::Write as _;
    let dir = scratch("cli-one");
    let segment = std::fs::read(fixture("short-video.mp4")).unwrap();
    let stdin = |args: &[&str]| {
        let mut child = bin()
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&segment).unwrap();
        child.wait_with_output().unwrap()
    };
    let probe = stdin(&["probe", "-"]);
    assert!(probe.status.success(), "{}", String::from_utf8_lossy(&probe.stderr));
    let info: serde_json::Value = serde_json::from_slice(&probe.stdout).unwrap();
    assert!(info["video"][0]["frames"].as_u64().unwrap() > 0, "{info}");
    let (ts, audio, out) = (dir.join("v.ts"), dir.join("a.mp4"), dir.join("o.mp4"));
    let split = stdin(&[
        "split",
        "-",
        "--video-ts",
        ts.to_str().unwrap(),
        "--audio-mp4",
        audio.to_str().unwrap(),
    ]);
    assert!(split.status.success(), "{}", String::from_utf8_lossy(&split.stderr));
    let join = bin()
        .args(["join", "--video-ts"])
        .arg(&ts)
        .arg("--audio-mp4")
        .arg(&audio)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(join.status.success(), "{}", String::from_utf8_lossy(&join.stderr));
    assert!(std::fs::metadata(&out).unwrap().len() > 0);
    let component = dir.join("edge.wasm");
    let written = bin()
        .args(["component", "edge", "-o"])
        .arg(&component)
        .output()
        .unwrap();
    assert!(written.status.success(), "{}", String::from_utf8_lossy(&written.stderr));

    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let none = bin().arg("check").arg(&empty).output().unwrap();
    let stderr = String::from_utf8_lossy(&none.stderr);
    assert_eq!(none.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("no segment to check in"), "{stderr}");

    // A path longer than any column: whole in the table.
    let deep = dir.join("a-directory-whose-name-is-long-enough-to-overflow-the-column");
    std::fs::create_dir_all(&deep).unwrap();
    let file = deep.join("segment-with-a-long-name.mp4");
    std::fs::write(&file, &segment).unwrap();
    let table = bin().arg("check").arg(&file).output().unwrap();
    let text = String::from_utf8_lossy(&table.stdout);
    let last = text.lines().last().unwrap();
    assert!(last.starts_with(file.to_str().unwrap()), "{text}");
}
