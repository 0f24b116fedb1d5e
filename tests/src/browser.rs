//! Headless Chromium (Debian's `chromium`, which `scripts/test` and
//! `.ci/run` install) on a local file: its DOM after the page's scripts
//! ran, and a screenshot, as a user's browser draws it; and the check page
//! driven through its file input.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

fn binary() -> &'static str {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("Debian's chromium package (scripts/test and .ci/run install it)")
}

fn chromium() -> Command {
    let mut c = Command::new(binary());
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]);
    c
}

fn url(file: &Path, query: &str) -> String {
    format!("file://{}{query}", file.canonicalize().unwrap().display())
}

/// Chromium on `file` with `args`, in a profile of its own (tests run in
/// parallel, and a profile is one browser's at a time); its stdout.
fn run(file: &Path, query: &str, args: &[String]) -> Vec<u8> {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let n = RUNS.fetch_add(1, Ordering::Relaxed);
    let profile = crate::scratch(&format!("chromium-{}-{n}", std::process::id()));
    let out = chromium()
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url(file, query))
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "chromium: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The page's DOM once it loaded, with `query` (`?measure`) in its URL.
pub fn dom(file: &Path, query: &str) -> String {
    let args = ["--window-size=1400,1000".to_string(), "--dump-dom".to_string()];
    String::from_utf8(run(file, query, &args)).unwrap()
}

/// A PNG of the page, `height` px tall, written beside it.
pub fn screenshot(file: &Path, height: u32) -> PathBuf {
    let png = file.with_extension("png");
    let args = [
        format!("--window-size=1400,{height}"),
        format!("--screenshot={}", png.display()),
    ];
    run(file, "", &args);
    assert!(png.exists(), "no screenshot of {}", file.display());
    png
}

/// The check page at `url` driven as a user does it
/// (`edge/js/tools/check-page.mjs`, puppeteer-core from
/// `edge/js/package-lock.json`): `files` given to its file input, then
/// what the page shows as JSON, and a screenshot at `png`.
pub fn check_page(url: &str, files: &[PathBuf], png: &Path) -> serde_json::Value {
    let tool = crate::workspace().join("edge/js/tools/check-page.mjs");
    let out = Command::new("node")
        .arg(tool)
        .arg(binary())
        .arg(url)
        .arg(png)
        // Chromium reads a picked file by its plain path (no `..`).
        .args(files.iter().map(|f| f.canonicalize().unwrap()))
        .output()
        .expect("node (scripts/test installs it)");
    assert!(
        out.status.success(),
        "check-page.mjs: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}
