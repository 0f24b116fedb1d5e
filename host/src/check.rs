//! `lpbridge check` and `POST /v1/check`: what the component found in
//! segments nobody trusts. The host reads files and prints; every finding
//! about the bytes is computed in the sandbox. The host adds only what its
//! own policy decides, from the component's info: the rungs its ladder
//! would ask for, and across a run, where the bridge would open a new
//! manifest (`new-manifest`, by the bridge's own rule, `manifest::change`).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use lpbridge_contract::timeline::SegmentTimeline;
use lpbridge_contract::{Finding, FindingCode, Location, Report, Severity};
use serde_json::{Value, json};

use crate::runtime::Runtime;
use crate::stopped::Stopped;
use lpbridge_contract::ladder::{self, Profile, Rung};
use lpbridge_contract::manifest;

/// One segment's report, as it is printed.
pub struct Checked {
    pub name: String,
    pub report: Report,
    pub rungs: Vec<Profile>,
    /// The stream findings that fall on this segment.
    pub stream: Vec<Finding>,
    /// Where its samples sit, when the run is drawn (`--html`) and the
    /// bytes could be read.
    pub timeline: Option<SegmentTimeline>,
    /// Its size.
    pub bytes: u64,
}

impl Checked {
    fn count(&self, s: Severity) -> usize {
        self.findings().filter(|f| f.severity == s).count()
    }

    fn findings(&self) -> impl Iterator<Item = &Finding> {
        self.report.findings.iter().chain(&self.stream)
    }
}

/// The segments named on the command line: files, directories (their MP4
/// files in name order), or `-` for stdin.
pub fn inputs(args: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for a in args {
        if a.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(a)
                .with_context(|| format!("read {}", a.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.is_file()
                        && p.extension()
                            .is_some_and(|e| ["mp4", "m4s", "m4v", "mov"].contains(&e.to_string_lossy().as_ref()))
                })
                .collect();
            files.sort();
            out.extend(files);
        } else {
            out.push(a.clone());
        }
    }
    Ok(out)
}

/// The profiles the bridge would send with this segment; none where it
/// would send nothing (no video read, or no rung below the source).
pub fn profiles(ladder: &[Rung], report: &Report) -> Vec<Profile> {
    manifest::profiles(ladder, report.info.as_ref())
}

/// One segment's report, computed in the component. A check the sandbox
/// stopped (its memory cap, its deadline, a trap) is that segment's
/// `sandbox-stopped` error; any other failure is the host's.
pub async fn one(runtime: &Runtime, segment: &[u8]) -> Result<Report> {
    runtime.check(segment).await.or_else(stopped)
}

/// `one`, and with `drawn` where the segment's samples sit.
async fn one_drawn(runtime: &Runtime, segment: &[u8], drawn: bool) -> Result<(Report, Option<SegmentTimeline>)> {
    if !drawn {
        return Ok((one(runtime, segment).await?, None));
    }
    match runtime.check_drawn(segment).await {
        Ok(both) => Ok(both),
        Err(e) => Ok((stopped(e)?, None)),
    }
}

/// Checks every input on all cores, then the run as one stream; with
/// `drawn`, each segment's timeline too (`--html`).
pub async fn run(runtime: Arc<Runtime>, ladder: &[Rung], inputs: &[PathBuf], drawn: bool) -> Result<Vec<Checked>> {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let room = Arc::new(tokio::sync::Semaphore::new(cores));
    let progress = inputs.len() > 1 && std::io::stderr().is_terminal();
    let mut tasks = Vec::new();
    for path in inputs {
        let (runtime, room, path) = (runtime.clone(), room.clone(), path.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = room.acquire_owned().await;
            match read_input(&path) {
                Ok(bytes) => one_drawn(&runtime, &bytes, drawn)
                    .await
                    .map(|(r, t)| (r, t, bytes.len() as u64)),
                Err(e) => Ok((unopened(&e), None, 0)),
            }
        }));
    }
    let mut out = Vec::new();
    for (i, (task, path)) in tasks.into_iter().zip(inputs).enumerate() {
        let (report, timeline, bytes) = task.await??;
        if progress {
            eprint!("\rchecked {}/{}", i + 1, inputs.len());
        }
        let rungs = profiles(ladder, &report);
        out.push(Checked {
            name: path.display().to_string(),
            report,
            rungs,
            stream: Vec::new(),
            timeline,
            bytes,
        });
    }
    if progress {
        eprintln!();
    }
    let infos: Vec<_> = out.iter().map(|c| c.report.info.clone()).collect();
    let mut stream = runtime.check_stream(&infos).await?;
    let infos: Vec<_> = infos.iter().map(Option::as_ref).collect();
    stream.extend(manifest::new_manifests(ladder, &infos));
    for (i, finding) in stream {
        if let Some(c) = out.get_mut(i) {
            c.stream.push(finding);
        }
    }
    Ok(out)
}

/// A file's bytes, or stdin's for `-`: every command that reads a segment
/// reads it so.
pub fn read_input(path: &Path) -> std::io::Result<Vec<u8>> {
    if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)?;
        return Ok(bytes);
    }
    std::fs::read(path)
}

/// A file that could not be opened: no bytes, so nothing for the
/// component; the same finding as bytes it cannot read.
fn unopened(e: &std::io::Error) -> Report {
    error_report(FindingCode::Unreadable, format!("cannot be opened: {e}"))
}

fn stopped(e: anyhow::Error) -> Result<Report> {
    match e.downcast::<Stopped>() {
        Ok(why) => Ok(error_report(
            FindingCode::SandboxStopped,
            format!("the sandbox stopped the check: {why}"),
        )),
        Err(e) => Err(e),
    }
}

fn error_report(code: FindingCode, message: String) -> Report {
    Report::one_error(code, Location::default(), message)
}

/// Nothing to check: the paths named no segment (an empty directory, one
/// with no MP4 in it). A usage error: exit 2.
#[derive(Debug, thiserror::Error)]
#[error("no segment to check in {}", .0.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
pub struct NoSegments(pub Vec<PathBuf>);

/// `--html -` with `--json`: both would write to stdout. A usage error:
/// exit 2.
#[derive(Debug, thiserror::Error)]
#[error("--html - and --json both write to stdout: give --html a file")]
pub struct BothToStdout;

/// A check that found what fails it: the exit status says which.
#[derive(Debug, thiserror::Error)]
#[error("check found {errors} errors and {warnings} warnings")]
pub struct Failed {
    pub errors: usize,
    pub warnings: usize,
    /// 2 on any error, 1 on warnings under `--strict`.
    pub exit: u8,
}

/// `Err` on any error, or on warnings under `strict`.
pub fn verdict(checked: &[Checked], strict: bool) -> Result<(), Failed> {
    let errors = checked.iter().map(|c| c.count(Severity::Error)).sum();
    let warnings = checked.iter().map(|c| c.count(Severity::Warning)).sum();
    let exit = match (errors, warnings) {
        (e, _) if e > 0 => 2,
        (_, w) if strict && w > 0 => 1,
        _ => return Ok(()),
    };
    Err(Failed { errors, warnings, exit })
}

/// The whole run, for `--json`.
pub fn run_json(checked: &[Checked]) -> Value {
    let segments: Vec<Value> = checked
        .iter()
        .map(|c| {
            let mut v = c.report.to_json(&c.rungs);
            v["file"] = json!(c.name);
            v
        })
        .collect();
    let stream: Vec<Value> = checked
        .iter()
        .enumerate()
        .flat_map(|(i, c)| {
            c.stream.iter().map(move |f| {
                let mut v = f.to_json();
                v["segment"] = json!(i);
                v
            })
        })
        .collect();
    json!({
        "segments": segments,
        "stream": stream,
        "errors": checked.iter().map(|c| c.count(Severity::Error)).sum::<usize>(),
        "warnings": checked.iter().map(|c| c.count(Severity::Warning)).sum::<usize>(),
    })
}

/// The run drawn, for `--html`.
pub fn html(checked: &[Checked]) -> String {
    let segments: Vec<lpbridge_draw::Segment<'_>> = checked
        .iter()
        .map(|c| lpbridge_draw::Segment {
            name: &c.name,
            bytes: c.bytes,
            findings: &c.report.findings,
            info: c.report.info.as_ref(),
            timeline: c.timeline.as_ref(),
            rungs: &c.rungs,
            stream: &c.stream,
        })
        .collect();
    lpbridge_draw::page(&segments)
}

/// A block per segment, then a table.
pub fn text(checked: &[Checked]) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for c in checked {
        let (e, w) = (c.count(Severity::Error), c.count(Severity::Warning));
        let _ = writeln!(out, "{}: {e} errors, {w} warnings", c.name);
        let mut findings: Vec<&Finding> = c.findings().collect();
        findings.sort_by_key(|f| (f.severity as u8, f.at.time_ns.unwrap_or(i64::MIN)));
        for f in findings {
            let _ = writeln!(
                out,
                "  {:<7} {:<26} {}",
                f.severity.as_str(),
                f.code.as_str(),
                f.message
            );
            let at = f.at.place();
            if !at.is_empty() {
                let _ = writeln!(out, "  {:<7} {:<26} at {at}", "", "");
            }
        }
        if !c.rungs.is_empty() {
            let _ = writeln!(
                out,
                "  {:<7} {:<26} the ladder would ask for {}",
                "info",
                "rungs",
                ladder::rung_list(&c.rungs)
            );
        }
        out.push('\n');
    }
    // Paths whole, however long: the column is as wide as the longest.
    let width = checked.iter().map(|c| c.name.chars().count()).max().unwrap_or(0).max(7);
    let _ = writeln!(out, "{:<width$} {:>6} {:>8}", "segment", "errors", "warnings");
    for c in checked {
        let _ = writeln!(
            out,
            "{:<width$} {:>6} {:>8}",
            c.name,
            c.count(Severity::Error),
            c.count(Severity::Warning)
        );
    }
    out
}
