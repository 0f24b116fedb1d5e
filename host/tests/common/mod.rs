//! What the binary's tests share: where the fixtures are, and a directory
//! per test. (`lpbridge-tests` has its own, richer helpers; it depends on
//! this crate, so these tests cannot use them.)

#![allow(dead_code)] // each test binary uses its own share of these

use std::path::PathBuf;

/// A real Streamplace segment, from `tests/fixtures/streamplace/` (or
/// `$LPBRIDGE_FIXTURES`); a missing one is named, with where it belongs.
pub fn fixture(name: &str) -> PathBuf {
    let path = std::env::var_os("LPBRIDGE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/streamplace"))
        .join(name);
    assert!(
        path.is_file(),
        "missing fixture {} (see tests/fixtures/streamplace/README.md)",
        path.display()
    );
    path
}

/// A directory for one test's outputs, emptied first.
pub fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
