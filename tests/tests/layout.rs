//! The crates depend on each other as the README's layout says, and no
//! other way: the contract on none of ours, the drawing and the media
//! library on the contract, the gateway on the media library alone, and
//! the host on the contract and the drawing alone once its built-in
//! gateway is left out, so that a production build links no native media
//! parser. Read from `cargo tree`,
//! which resolves features as a build does.

use std::collections::BTreeSet;
use std::process::Command;

use lpbridge_tests::workspace;

/// Every crate of ours that `package` links (not itself; no dev or build
/// dependencies), with `flags` as a build would pass them.
fn ours(package: &str, flags: &[&str]) -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(workspace())
        .args([
            "tree",
            "--offline",
            "--locked",
            "-e",
            "normal",
            "--prefix",
            "none",
            "-f",
            "{p}",
            "-p",
            package,
        ])
        .args(flags)
        .output()
        .expect("run cargo tree");
    assert!(
        out.status.success(),
        "cargo tree -p {package}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| name.starts_with("lpbridge") && *name != package)
        .map(String::from)
        .collect()
}

#[test]
fn each_crate_links_only_the_crates_above_it() {
    let cases: [(&str, &[&str], &[&str]); 7] = [
        ("lpbridge-contract", &[], &[]),
        ("lpbridge-draw", &[], &["lpbridge-contract"]),
        ("lpbridge-media", &[], &["lpbridge-contract"]),
        ("lpbridge-gateway", &[], &["lpbridge-contract", "lpbridge-media"]),
        (
            "lpbridge-guest",
            &[],
            &["lpbridge-contract", "lpbridge-draw", "lpbridge-media"],
        ),
        (
            "lpbridge",
            &[],
            &[
                "lpbridge-contract",
                "lpbridge-draw",
                "lpbridge-gateway",
                "lpbridge-media",
            ],
        ),
        (
            "lpbridge",
            &["--no-default-features"],
            &["lpbridge-contract", "lpbridge-draw"],
        ),
    ];
    for (package, flags, want) in cases {
        let want: BTreeSet<String> = want.iter().map(|s| s.to_string()).collect();
        assert_eq!(ours(package, flags), want, "{package} {flags:?}");
    }
}
