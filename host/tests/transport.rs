//! What an operator reads when the gateway's transport fails: `lpbridge
//! transcode` against gateways on loopback that never accept, stall, or
//! reset, with the limit that ran out named with its flag and value, on one
//! line, whatever `RUST_BACKTRACE` says.

#![allow(clippy::unwrap_used)] // an unwrap here is an assertion

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

mod common;

fn segment() -> PathBuf {
    common::fixture("sample-segment.mp4")
}

/// One attempt (`--retries 0`), so the limit that ran out is the only one.
async fn transcode(gateway: &str, flags: &[&str]) -> (std::process::Output, Duration) {
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("transport-out");
    let started = Instant::now();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_lpbridge"))
        .args([
            "transcode",
            "--creator",
            "did:plc:transport",
            "--renditions",
            "360p",
            "--retries",
            "0",
            "--gateway",
            gateway,
        ])
        .args(flags)
        .arg("--out")
        .arg(&out)
        .arg(segment())
        .env("RUST_BACKTRACE", "1")
        .env("NO_COLOR", "1")
        .output()
        .await
        .unwrap();
    (output, started.elapsed())
}

/// The CLI's line for the failed segment: `path: kind: message`.
fn failure(output: &std::process::Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "the segment should fail: {stderr}");
    assert!(
        !stderr.to_lowercase().contains("backtrace"),
        "a backtrace reached the operator:\n{stderr}"
    );
    let lines: Vec<&str> = stderr.lines().filter(|l| l.contains("sample-segment.mp4: ")).collect();
    assert_eq!(lines.len(), 1, "one line for the segment:\n{stderr}");
    lines[0].to_string()
}

/// A listener whose accept queue is full: the kernel drops further SYNs,
/// so a connect neither succeeds nor fails until the client gives up.
async fn never_accepting() -> (TcpListener, Vec<std::net::TcpStream>) {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut queued = Vec::new();
    while let Ok(s) = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
        queued.push(s);
        assert!(queued.len() < 64, "the accept queue never filled");
    }
    (listener, queued)
}

/// A gateway that reads the request, sends a 200 multipart head and the
/// start of a part, then `end`s the connection its way.
async fn answer_partly(end: fn(TcpStream) -> tokio::task::JoinHandle<()>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            read_request(&mut stream).await;
            let head = "HTTP/1.1 200 OK\r\nContent-Type: multipart/mixed; boundary=b\r\n\
                        Transfer-Encoding: chunked\r\n\r\n";
            let part = "--b\r\nContent-Type: video/mp2t\r\nRendition-Name: 360p\r\n\r\n\x47\x40\x00\x10";
            let chunk = format!("{:x}\r\n{part}\r\n", part.len());
            stream.write_all(head.as_bytes()).await.unwrap();
            stream.write_all(chunk.as_bytes()).await.unwrap();
            stream.flush().await.unwrap();
            end(stream);
        }
    });
    url
}

/// Reads the head and a `Content-Length` body.
async fn read_request(stream: &mut TcpStream) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 64 << 10];
    let body_start = loop {
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "the request ended early");
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..body_start]).to_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map(|v| v.trim().parse().unwrap())
        .expect("a Content-Length");
    let mut have = buf.len() - body_start;
    while have < length {
        have += stream.read(&mut chunk).await.unwrap();
    }
}

#[tokio::test]
async fn a_gateway_that_never_accepts_fails_on_the_connect_limit() {
    let (listener, _queued) = never_accepting().await;
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (output, took) = transcode(&url, &["--connect-timeout-ms", "1000"]).await;
    let line = failure(&output);
    assert!(line.contains(": timeout: "), "{line}");
    assert!(line.contains("connect limit, 1000 ms (--connect-timeout-ms)"), "{line}");
    // The connect limit, not the first-byte one (60 s).
    assert!(took < Duration::from_secs(10), "gave up after {took:?}");
}

#[tokio::test]
async fn an_answer_that_stalls_fails_on_the_between_bytes_limit() {
    let url = answer_partly(|stream| {
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(120)).await;
            drop(stream);
        })
    })
    .await;
    let (output, _) = transcode(&url, &["--between-bytes-timeout-ms", "1000"]).await;
    let line = failure(&output);
    assert!(line.contains(": timeout: "), "{line}");
    assert!(
        line.contains("between-bytes limit, 1000 ms (--between-bytes-timeout-ms)"),
        "{line}"
    );
}

#[tokio::test]
async fn a_reset_in_the_middle_of_the_answer_is_one_line_naming_it() {
    let url = answer_partly(|stream| {
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            stream.set_zero_linger().unwrap();
            drop(stream); // RST
        })
    })
    .await;
    let (output, _) = transcode(&url, &[]).await;
    let line = failure(&output);
    assert!(line.contains(": gateway-transport: "), "{line}");
    // In words, with the gateway named (#29).
    assert!(
        line.contains(&format!("{url} closed the connection before its answer ended")),
        "{line}"
    );
}
