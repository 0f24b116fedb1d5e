//! Builds the guest component as part of the host's build, so a plain
//! `cargo build` (or `cargo run`) on a fresh machine needs nothing else:
//! it adds the `wasm32-wasip2` target with rustup when missing, compiles
//! `guest` for it in a target directory of its own (no lock contention with
//! the outer build), and leaves the component in `OUT_DIR` for
//! `include_bytes!`.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest
        .parent()
        .expect("the host crate is in the workspace")
        .to_path_buf();
    // Everything the components are built from: the guest, the media and
    // contract crates it depends on, the WIT, the lock and the workspace
    // manifest (whose release profile the components are built with).
    let watched = [
        "guest/src",
        "guest/Cargo.toml",
        "media/src",
        "media/Cargo.toml",
        "contract/src",
        "contract/Cargo.toml",
        "draw/src",
        "draw/Cargo.toml",
        "wit",
        "Cargo.lock",
        "Cargo.toml",
    ];
    for watched in watched {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    println!("cargo:rerun-if-env-changed=LPBRIDGE_SKIP_TARGET_ADD");

    // The contract version, from the WIT's package line: a swapped-in
    // component must speak the same one.
    let wit = std::fs::read_to_string(root.join("wit/livepeer.wit")).expect("read wit/livepeer.wit");
    let contract = wit
        .lines()
        .find_map(|l| l.trim().strip_prefix("package streamplace:livepeer@"))
        .and_then(|v| v.strip_suffix(';'))
        .expect("wit/livepeer.wit names its package version");
    println!("cargo:rustc-env=LPBRIDGE_CONTRACT={contract}");

    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    ensure_target(&rustc);

    let target_dir = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    // The host's component, and the edge runtimes' (`lpbridge component
    // edge`): one crate, two worlds, one target directory. The second build
    // reuses the first's wit-bindgen macro and its parsers (~60 s of CPU in
    // a first build), and only the guest crate is compiled again.
    let guest_dir = target_dir.join("guest-wasm");
    build_guest(&root, &guest_dir, &[], &out.join("lpbridge_guest.wasm"));
    build_guest(
        &root,
        &guest_dir,
        &["--features", "edge"],
        &out.join("lpbridge_edge.wasm"),
    );
}

/// Compiles `guest` for wasm in a target directory of its own and copies
/// the component to `out`.
fn build_guest(root: &Path, target_dir: &Path, features: &[&str], out: &Path) {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--release", "-p", "lpbridge-guest", "--target", TARGET])
        .args(features)
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir)
        // The outer build's flags are for the host; the component gets
        // wasm SIMD, which memchr uses to find start codes and boundaries.
        .env_remove("RUSTFLAGS")
        .env("CARGO_ENCODED_RUSTFLAGS", "-Ctarget-feature=+simd128")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET");
    let status = cmd.status().expect("run cargo for the guest component");
    assert!(status.success(), "building the guest component ({features:?}) failed");

    let built = target_dir.join(TARGET).join("release").join("lpbridge_guest.wasm");
    std::fs::copy(&built, out).unwrap_or_else(|e| panic!("copy {}: {e}", built.display()));
}

/// Adds the wasm target with rustup when the sysroot lacks it.
fn ensure_target(rustc: &str) {
    let libdir = Command::new(rustc)
        .args(["--print", "target-libdir", "--target", TARGET])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    if libdir.as_deref().is_some_and(Path::exists) || env::var_os("LPBRIDGE_SKIP_TARGET_ADD").is_some() {
        return;
    }
    println!("cargo:warning=adding the {TARGET} target with rustup");
    let status = Command::new("rustup")
        .args(["target", "add", TARGET])
        .status()
        .expect("rustup is needed to add the wasm32-wasip2 target");
    assert!(status.success(), "rustup target add {TARGET} failed");
}
