//! The check page at `/check/` on the public listener: the bridge
//! component transpiled for browsers (`scripts/edge-js page`), which checks
//! and draws segments in the user's browser, nothing uploaded.
//!
//! Served from the directory `--check-page` names, not from the binary:
//! the page is built by jco and esbuild from npm, which a `cargo build`
//! must not need, and its 1.4 MB would ride in every binary for a page
//! most hosts never serve. The same directory works from any static file
//! server.

use std::path::Path;

use bytes::Bytes;
use lpbridge_contract::{ErrorKind, ErrorReply};

/// `/check/` and its files.
pub const PREFIX: &str = "/check/";

/// A file of the page, with its content type.
pub struct File {
    pub content_type: &'static str,
    pub bytes: Bytes,
}

/// The file `path` (under `PREFIX`) names in `dir`: only a plain name of
/// the page's kinds, never a path out of the directory.
pub async fn file(dir: Option<&Path>, path: &str) -> Result<File, ErrorReply> {
    let Some(dir) = dir else {
        return Err(ErrorReply::new(
            ErrorKind::NotFound,
            "this host serves no check page: build it with scripts/edge-js page, then start serve with --check-page DIR",
        ));
    };
    let name = match path.strip_prefix(PREFIX).unwrap_or("") {
        "" => "index.html",
        name => name,
    };
    let plain = !name.starts_with('.') && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    let content_type = match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript",
        // compileStreaming takes nothing else.
        Some("wasm") => "application/wasm",
        _ => "",
    };
    let missing = || ErrorReply::new(ErrorKind::NotFound, format!("the check page has no file {name}"));
    if !plain || content_type.is_empty() {
        return Err(missing());
    }
    match tokio::fs::read(dir.join(name)).await {
        Ok(bytes) => Ok(File {
            content_type,
            bytes: bytes.into(),
        }),
        Err(_) => Err(missing()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_plain_names_of_the_page_kinds_are_served() {
        let dir = std::env::temp_dir().join(format!("lpbridge-check-page-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("index.html"), "<!doctype html>").unwrap();
        std::fs::write(dir.join("check.js"), "export {}").unwrap();
        let got = async |path: &str| file(Some(&dir), path).await.map(|f| f.content_type);
        assert_eq!(got("/check/").await.ok(), Some("text/html; charset=utf-8"));
        assert_eq!(got("/check/check.js").await.ok(), Some("text/javascript"));
        for bad in [
            "/check/../Cargo.toml",
            "/check/.hidden.js",
            "/check/a/b.js",
            "/check/nothing.wasm",
            "/check/x.txt",
        ] {
            assert_eq!(got(bad).await.err().map(|e| e.kind), Some(ErrorKind::NotFound), "{bad}");
        }
        let none = file(None, "/check/").await.err().unwrap();
        assert!(none.message.contains("--check-page"), "{}", none.message);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
