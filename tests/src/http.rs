//! A plain HTTP/1.1 client over a TCP stream, for the services under test:
//! it shares no code with what it tests, reads chunked answers, and can
//! declare a body longer than it sends, to see a limit enforced before the
//! body is read.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// No exchange in the tests takes this long; past it, the test fails by
/// naming the request instead of hanging.
const LIMIT: Duration = Duration::from_secs(120);

pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map_or("", |(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{}: not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// A request with `Connection: close` and the whole body.
pub async fn http(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> Answer {
    request(addr, method, path, &[], body, body.len()).await
}

/// A request whose `Content-Length` is `declared`, of which only `body`
/// is sent before the answer is read.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    declared: usize,
) -> Answer {
    attempt(addr, method, path, headers, body, declared)
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

/// An exchange that may fail, and says how: no connection, no answer
/// within the limit, or bytes that are not an HTTP answer (a connection
/// cut before its answer).
pub async fn attempt(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    declared: usize,
) -> Result<Answer, String> {
    let exchange = async {
        let mut s = connect(addr, method, path, headers, body, declared)
            .await
            .map_err(|e| format!("no connection: {e}"))?;
        let mut raw = Vec::new();
        read_until(&mut s, &mut raw, whole_by_length).await;
        Ok::<_, String>(raw)
    };
    let raw = tokio::time::timeout(LIMIT, exchange)
        .await
        .map_err(|_| format!("no answer within {LIMIT:?}"))??;
    parse(&raw).ok_or_else(|| format!("not an HTTP answer: {:?}", String::from_utf8_lossy(&raw)))
}

/// Connects and sends the head, with `Content-Length: declared` and
/// `Connection: close`, and `body`. A server may answer (413) before it has
/// read the whole body; the answer is what counts, so a failed write is not
/// the end.
async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    declared: usize,
) -> tokio::net::TcpStream {
    connect(addr, method, path, headers, body, declared)
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: no connection to {addr}: {e}"))
}

/// `send`, with a refused connection as an error.
async fn connect(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    declared: usize,
) -> std::io::Result<tokio::net::TcpStream> {
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {declared}\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("Connection: close\r\n\r\n");
    let _ = async {
        s.write_all(head.as_bytes()).await?;
        s.write_all(body).await
    }
    .await;
    Ok(s)
}

/// Reads into `raw` until `done` says it has enough or the connection
/// ends; whether `done` said so.
async fn read_until(s: &mut tokio::net::TcpStream, raw: &mut Vec<u8>, mut done: impl FnMut(&[u8]) -> bool) -> bool {
    let mut buf = vec![0u8; 64 << 10];
    loop {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
        if done(raw) {
            return true;
        }
    }
}

/// Whether `raw` holds the whole body its `Content-Length` announces. A
/// server may keep the connection open after such an answer, to drain a
/// request body it refused (Deno does, for about a minute), and a client
/// that has the whole answer need not wait for that; without the header,
/// the answer ends with the connection.
fn whole_by_length(raw: &[u8]) -> bool {
    let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    head.split("\r\n")
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .is_some_and(|n| raw.len() >= split + 4 + n)
}

fn parse(raw: &[u8]) -> Option<Answer> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| {
            l.split_once(':')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        })
        .collect();
    let rest = &raw[split + 4..];
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked"));
    let body = if chunked { dechunk(rest) } else { rest.to_vec() };
    Some(Answer { status, headers, body })
}

/// The chunks' bytes, as far as they go: an answer cut short keeps what
/// came, for the test to see what is missing.
fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&rest[..eol])
            .ok()
            .and_then(|l| usize::from_str_radix(l.split(';').next().unwrap_or("").trim(), 16).ok());
        let Some(size) = size.filter(|s| *s > 0) else { break };
        let data = &rest[eol + 2..];
        let take = size.min(data.len());
        body.extend_from_slice(&data[..take]);
        if take < size || data.len() < size + 2 {
            break;
        }
        rest = &data[size + 2..];
    }
    body
}

/// The first part of a multipart answer, read as it arrives: the exchange
/// stops as soon as the part's `Content-Length` bytes are in, whatever
/// follows. An answer held until its body is complete never gives it while
/// its upstream holds the rest, and the test fails naming that.
pub async fn first_part(addr: SocketAddr, path: &str, body: &[u8]) -> (Answer, Vec<u8>) {
    let exchange = async {
        let mut s = send(addr, "POST", path, &[], body, body.len()).await;
        let mut raw = Vec::new();
        let whole = read_until(&mut s, &mut raw, |raw| {
            parse(raw).is_some_and(|answer| whole_first_part(&answer.body).is_some())
        })
        .await;
        assert!(whole, "POST {path}: the answer ended before its first part");
        let answer = parse(&raw).expect("parsed above");
        let part = whole_first_part(&answer.body).expect("whole above");
        (answer, part)
    };
    tokio::time::timeout(LIMIT, exchange).await.unwrap_or_else(|_| {
        panic!(
            "POST {path}: no first part within {LIMIT:?} while the gateway held the rest: the answer is not streamed"
        )
    })
}

/// The bytes of the first part, once its head and all its `Content-Length`
/// bytes are in `body`.
fn whole_first_part(body: &[u8]) -> Option<Vec<u8>> {
    let end = body.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&body[..end]);
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .and_then(|v| v.trim().parse().ok())?;
    body.get(end..end + length).map(<[u8]>::to_vec)
}
