//! Seeds for the fuzz targets that do not take a segment as it is:
//! `join` gets each real segment split by this crate, laid out as
//! `fuzz::join_input` reads it (both layouts); `multipart` gets
//! go-livepeer's answer, cut in pieces of 1 and 64 bytes.
//!
//!     cargo run -p lpbridge-media --features fuzz --example fuzz_seeds -- SEGMENT_DIR OUT_DIR

#![allow(clippy::unwrap_used)] // an unwrap here is an assertion

use std::path::PathBuf;

use lpbridge_media::{JoinOptions, fuzz, split};

fn main() {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [segments, out] = &args[..] else {
        eprintln!("usage: fuzz_seeds SEGMENT_DIR OUT_DIR");
        std::process::exit(2);
    };
    let (join_dir, multipart_dir) = (out.join("join"), out.join("multipart"));
    for dir in [&join_dir, &multipart_dir] {
        std::fs::create_dir_all(dir).unwrap();
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(segments)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "mp4"))
        .collect();
    files.sort();
    for file in files {
        let name = file.file_stem().unwrap().to_string_lossy().into_owned();
        let Ok(parts) = split(&std::fs::read(&file).unwrap()) else {
            continue;
        };
        for fragmented in [false, true] {
            let seed = fuzz::join_layout(&parts.video_ts, &parts.audio_mp4, JoinOptions { fragmented });
            std::fs::write(join_dir.join(format!("{name}-{fragmented}")), seed).unwrap();
        }
    }
    let boundary = fuzz::MULTIPART_CONTENT_TYPE.rsplit('=').next().unwrap();
    let part = |name: &str, body: &[u8]| {
        let mut p = format!(
            "--{boundary}\r\nContent-Disposition: attachment; filename=\"{name}_7.ts\"\r\nContent-Length: {}\r\n\
             Content-Type: video/mp2t\r\nRendition-Name: {name}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        p.extend_from_slice(body);
        p.extend_from_slice(b"\r\n");
        p
    };
    let table: Vec<u8> = (0..=255u8).cycle().take(1024).collect();
    let mut body = part("360p", &table);
    body.extend(part("240p", &[0x47; 188]));
    body.extend(format!("--{boundary}--\r\n").into_bytes());
    for piece in [0u8, 63] {
        let seed = [&[piece][..], &body].concat();
        std::fs::write(multipart_dir.join(format!("livepeer-{piece}")), seed).unwrap();
    }
}
