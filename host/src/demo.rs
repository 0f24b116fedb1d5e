//! `lpbridge demo`: the whole job on one machine with nothing else
//! running. It makes sample segments with the gateway's own encoder,
//! sends them through the component and the host exactly as production
//! does (one creator session, two in flight) to a gateway (the built-in
//! one unless told otherwise), writes every rendition under the output
//! directory with an `index.html` that plays them side by side, and prints
//! what came out.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use lpbridge_gateway::synth::{SampleOptions, sample_segment};

use crate::bridge::{Bridge, InOrder};
use crate::runtime::Runtime;

pub struct DemoOptions {
    pub out: PathBuf,
    pub segments: u32,
    pub creator: String,
    pub sample: SampleOptions,
}

/// What one MP4 holds, read back from its own boxes by the component (the
/// demo's files are parsed in the sandbox like any other).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stats {
    pub width: u32,
    pub height: u32,
    pub frames: u32,
    /// Of the whole file (what a player shows).
    pub duration_s: f64,
    pub video_bytes: u64,
    pub bytes: u64,
}

impl Stats {
    pub async fn of(runtime: &Runtime, file: &[u8]) -> Result<Self> {
        let info = runtime.probe(file).await??;
        let video = info.video.as_ref().context("no video track")?;
        Ok(Stats {
            width: video.width,
            height: video.height,
            frames: video.frames,
            duration_s: info.duration_ns as f64 / 1e9,
            video_bytes: video.bytes,
            bytes: file.len() as u64,
        })
    }

    fn kbps(&self) -> u64 {
        if self.duration_s > 0.0 {
            (self.video_bytes as f64 * 8.0 / self.duration_s / 1000.0).round() as u64
        } else {
            0
        }
    }
}

/// One column of the page and one row of the table.
#[derive(Clone, Debug, Default)]
pub struct Column {
    pub name: String,
    pub asked_kbps: Option<u64>,
    /// Per segment, in order; `None` where that segment had no such rendition.
    pub files: Vec<Option<(String, Stats)>>,
    pub time: Duration,
}

pub async fn run(bridge: Arc<Bridge>, options: DemoOptions) -> Result<Vec<Column>> {
    if options.segments == 0 {
        bail!("the demo needs at least one segment");
    }
    std::fs::create_dir_all(options.out.join("source")).with_context(|| format!("create {}", options.out.display()))?;

    let started = std::time::Instant::now();
    let sources = make_samples(options.segments, options.sample).await?;
    let made_in = started.elapsed();

    // Through the bridge as production does: one session, two in flight.
    let queue = InOrder::new(bridge.clone(), &options.creator);
    let mut tasks = Vec::new();
    for source in &sources {
        tasks.push(queue.submit(source.clone()).await);
    }
    let mut results = Vec::new();
    for (i, t) in tasks.into_iter().enumerate() {
        let t = t.await?.with_context(|| format!("segment {i}"))?;
        results.push(t);
    }

    let runtime = bridge.runtime();
    let mut source_stats = Vec::new();
    for s in &sources {
        source_stats.push(Stats::of(&runtime, s).await?);
    }
    // What the first segment asked for: the sources are alike.
    let asked: BTreeMap<String, u64> = results[0]
        .asked
        .iter()
        .map(|p| (p.name.clone(), p.bitrate / 1000))
        .collect();

    let mut source = Column {
        name: "source".into(),
        asked_kbps: Some(options.sample.bitrate / 1000),
        time: made_in,
        ..Column::default()
    };
    let mut columns: Vec<Column> = Vec::new();
    for (i, (bytes, result)) in sources.iter().zip(&results).enumerate() {
        let file = format!("source/{i}.mp4");
        write(&options.out.join(&file), bytes)?;
        source.files.push(Some((file, source_stats[i].clone())));
        for r in result.renditions.iter() {
            let at = match columns.iter().position(|c| c.name == r.name) {
                Some(at) => at,
                None => {
                    columns.push(Column {
                        name: r.name.clone(),
                        asked_kbps: asked.get(&r.name).copied(),
                        files: vec![None; i],
                        ..Column::default()
                    });
                    columns.len() - 1
                }
            };
            let dir = crate::file_name::safe_file_name(Some(&r.name), 0);
            std::fs::create_dir_all(options.out.join(&dir))?;
            let file = format!("{dir}/{i}.mp4");
            write(&options.out.join(&file), &r.mp4)?;
            let column = &mut columns[at];
            column.files.resize(i, None);
            column.files.push(Some((file, Stats::of(&runtime, &r.mp4).await?)));
            column.time += result.elapsed;
        }
    }
    for c in &mut columns {
        c.files.resize(sources.len(), None);
    }
    columns.insert(0, source);
    let page = page(&columns);
    write(&options.out.join("index.html"), page.as_bytes())?;
    Ok(columns)
}

/// The sample segments, encoded on every core.
async fn make_samples(segments: u32, sample: SampleOptions) -> Result<Vec<Vec<u8>>> {
    let makers: Vec<_> = (0..segments)
        .map(|i| tokio::task::spawn_blocking(move || sample_segment(i, sample)))
        .collect();
    let mut sources = Vec::new();
    for m in makers {
        sources.push(m.await?.context("make a sample segment")?);
    }
    Ok(sources)
}

/// The table printed at the end: one row per rendition, all segments.
pub fn table(columns: &[Column]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<10} {:>10} {:>10} {:>9} {:>7} {:>9} {:>10} {:>9}",
        "rendition", "resolution", "asked kb/s", "got kb/s", "frames", "duration", "bytes", "time ms"
    );
    for c in columns {
        let stats: Vec<&Stats> = c.files.iter().flatten().map(|(_, s)| s).collect();
        let Some(first) = stats.first() else { continue };
        let frames: u32 = stats.iter().map(|s| s.frames).sum();
        let duration: f64 = stats.iter().map(|s| s.duration_s).sum();
        let video: u64 = stats.iter().map(|s| s.video_bytes).sum();
        let bytes: u64 = stats.iter().map(|s| s.bytes).sum();
        let got = Stats {
            duration_s: duration,
            video_bytes: video,
            ..Stats::default()
        };
        let _ = writeln!(
            out,
            "{:<10} {:>10} {:>10} {:>9} {:>7} {:>8.2}s {:>10} {:>9}",
            c.name,
            format!("{}x{}", first.width, first.height),
            c.asked_kbps.map_or("-".into(), |k| k.to_string()),
            got.kbps(),
            frames,
            duration,
            bytes,
            c.time.as_millis()
        );
    }
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The page: a column per rendition, a row per segment, the numbers under
/// each video, and a check that says what the browser itself sees (size,
/// duration, decodable) beside what the file should hold. With `?report`
/// in its URL the page posts that check as JSON to `/report`, which is how
/// the headless-browser test reads it.
fn page(columns: &[Column]) -> String {
    let mut html = String::from(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>lpbridge demo</title>
<style>
body { font: 14px system-ui, sans-serif; margin: 1.5em; background: #111; color: #eee; }
table { border-collapse: collapse; }
th, td { padding: 6px 10px; vertical-align: top; text-align: left; }
video { width: 320px; background: #000; display: block; }
.numbers { font: 12px ui-monospace, monospace; color: #bbb; }
.ok { color: #6d6; } .bad { color: #f66; }
</style></head><body>
<h1>lpbridge demo</h1>
<p>Sample segments sent through the remux component and the host to a Livepeer-compatible gateway; each
rendition is an MP4 joined with the source's audio. <span id="summary">Checking…</span></p>
<table><tr><th>segment</th>"#,
    );
    for c in columns {
        let asked = c.asked_kbps.map(|k| format!("asked {k} kb/s")).unwrap_or_default();
        let _ = write!(
            html,
            "<th>{}<div class=numbers>{}</div></th>",
            escape(&c.name),
            escape(&asked)
        );
    }
    html.push_str("</tr>\n");
    let rows = columns.first().map_or(0, |c| c.files.len());
    for row in 0..rows {
        let _ = write!(html, "<tr><td>{row}</td>");
        for c in columns {
            match &c.files[row] {
                Some((file, s)) => {
                    let _ = write!(
                        html,
                        "<td><video src=\"{file}\" controls muted loop playsinline preload=auto \
                         data-width=\"{w}\" data-height=\"{h}\" data-duration=\"{d:.3}\"></video>\
                         <div class=numbers>{w}x{h} · {f} frames · {d:.2} s · {kb} kb/s · {b} bytes</div>\
                         <div class=\"numbers check\">…</div></td>",
                        file = escape(file),
                        w = s.width,
                        h = s.height,
                        d = s.duration_s,
                        f = s.frames,
                        kb = s.kbps(),
                        b = s.bytes,
                    );
                }
                None => html.push_str("<td>—</td>"),
            }
        }
        html.push_str("</tr>\n");
    }
    html.push_str(
        r#"</table>
<script>
const videos = [...document.querySelectorAll("video")];
const check = v => new Promise(done => {
  const out = v.parentElement.querySelector(".check");
  const finish = (ok, note) => {
    out.textContent = (ok ? "✓ browser sees " : "✗ ") + note;
    out.className = "numbers check " + (ok ? "ok" : "bad");
    done({ src: v.getAttribute("src"), ok, note, readyState: v.readyState,
           width: v.videoWidth, height: v.videoHeight, duration: v.duration });
  };
  const judge = () => {
    const w = +v.dataset.width, h = +v.dataset.height, d = +v.dataset.duration;
    const seen = `${v.videoWidth}x${v.videoHeight} · ${v.duration.toFixed(2)} s · readyState ${v.readyState}`;
    const ok = v.readyState >= 2 && v.videoWidth === w && v.videoHeight === h && Math.abs(v.duration - d) <= 0.1;
    finish(ok, ok ? seen : `${seen}, expected ${w}x${h} · ${d.toFixed(2)} s`);
  };
  if (v.readyState >= 2) judge();
  else {
    v.addEventListener("loadeddata", judge, { once: true });
    v.addEventListener("error", () => finish(false, "error " + (v.error && v.error.code)), { once: true });
  }
  v.load();
});
Promise.all(videos.map(check)).then(results => {
  const bad = results.filter(r => !r.ok).length;
  const summary = document.getElementById("summary");
  summary.textContent = bad ? `${bad} of ${results.length} videos failed the browser check.`
                            : `All ${results.length} videos load and match their files.`;
  summary.className = bad ? "bad" : "ok";
  document.body.dataset.checked = bad ? "fail" : "ok";
  if (new URLSearchParams(location.search).has("report"))
    fetch("/report", { method: "POST", body: JSON.stringify(results) });
});
</script>
</body></html>
"#,
    );
    html
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("write {}", path.display()))
}
