//! The repository stands alone: a user clones it with nothing beside it,
//! so no file of the project may read the directory that sits beside this
//! one in our own workplace. `.ci/run` also hides that directory for the
//! whole run; this test names the offending file and line at once.

use std::path::{Path, PathBuf};

use lpbridge_tests::workspace;

/// What is built or fetched, not written: never searched.
const SKIPPED: [&str; 6] = [".git", "target", "demo-out", "corpus", "artifacts", "node_modules"];

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy();
        if path.is_dir() {
            if !SKIPPED.contains(&name.as_ref()) {
                files(&path, out);
            }
        } else {
            out.push(path);
        }
    }
}

#[test]
fn no_file_of_the_project_reads_the_directory_beside_the_clone() {
    // Spelled in two pieces, so that this file does not name it itself.
    let beside = format!("../{}/", "shared");
    let root = workspace();
    let mut all = Vec::new();
    files(&root, &mut all);
    assert!(
        all.iter().any(|p| p.ends_with("scripts/test")),
        "the walk reached the scripts"
    );
    let mut found = Vec::new();
    for path in &all {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue; // media and findings: bytes, not text
        };
        for (i, line) in text.lines().enumerate() {
            if line.contains(&beside) {
                found.push(format!(
                    "{}:{}: {}",
                    path.strip_prefix(&root).unwrap().display(),
                    i + 1,
                    line.trim()
                ));
            }
        }
    }
    assert!(
        found.is_empty(),
        "files that read beside the clone:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_real_segments_and_their_license_are_in_the_repository() {
    let dir = workspace().join("tests/fixtures/streamplace");
    let sums = std::fs::read_to_string(dir.join("SHA256SUMS")).unwrap();
    let names: Vec<&str> = sums.lines().filter_map(|l| l.split_whitespace().nth(1)).collect();
    assert_eq!(names.len(), 5, "{sums}");
    for name in names {
        assert!(dir.join(name).is_file(), "{name}");
    }
    let license = std::fs::read_to_string(dir.join("LICENSE")).unwrap();
    assert!(license.starts_with("Copyright (c) 2025 Streamplace."), "{license}");
}
