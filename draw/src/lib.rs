//! A check drawn: the run in one self-contained HTML page (no network, no
//! external script or font), for a person who would rather look than
//! read: per segment, its frames, packets, edits and fragments on the
//! presentation axis with every finding where it is; across a run, each
//! segment's span on the stream's timeline; and the table of the numbers a
//! user compares.
//!
//! One code for both places a check is drawn: `lpbridge check --html`
//! links it natively, and the component exports it (`check.draw`) for the
//! check page, which runs the component in a browser. Everything drawn
//! comes from the component's report and timeline; this crate only places
//! it. Pure: shapes in, a page out.
//!
//! Each marker carries its code, lane and time as data attributes, and
//! the page's script, given `?measure`, writes where each marker was drawn
//! (read back from the layout) into the page, so a browser test compares
//! the drawing itself with `check --json`.

#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::fmt::Write as _;

use lpbridge_contract::ladder::{self, Profile};
use lpbridge_contract::timeline::{MAX_DRAWN_SAMPLES, SegmentTimeline, TrackTimeline};
use lpbridge_contract::{Finding, SegmentInfo, Severity, TrackKind};

/// One segment of the run, as it is drawn.
pub struct Segment<'a> {
    /// Its file name.
    pub name: &'a str,
    /// Its size in bytes.
    pub bytes: u64,
    /// What the component found.
    pub findings: &'a [Finding],
    /// What it holds, when it could be read.
    pub info: Option<&'a SegmentInfo>,
    /// Where its samples sit, when they could be read.
    pub timeline: Option<&'a SegmentTimeline>,
    /// The renditions the ladder would ask of it.
    pub rungs: &'a [Profile],
    /// The run's findings that fall on it.
    pub stream: &'a [Finding],
}

impl Segment<'_> {
    fn count(&self, s: Severity) -> usize {
        self.findings
            .iter()
            .chain(self.stream)
            .filter(|f| f.severity == s)
            .count()
    }
}

/// The plotting area's width, px: one px is a 1,000th of the segment, 2 ms
/// of a 2 s one.
const WIDTH: f64 = 1000.0;
/// The lanes' labels, left of the plot.
const LEFT: f64 = 72.0;
const LANE: f64 = 34.0;
const GAP: f64 = 8.0;
/// Room for the axis's labels under the lanes.
const AXIS: f64 = 24.0;

/// The whole page.
pub fn page(checked: &[Segment<'_>]) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let errors: usize = checked.iter().map(|c| c.count(Severity::Error)).sum();
    let warnings: usize = checked.iter().map(|c| c.count(Severity::Warning)).sum();
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>lpbridge check: {} segments, {errors} errors, {warnings} warnings</title>\
         <style>{STYLE}</style></head><body>\n<h1>lpbridge check: {} segment{}, {errors} errors, {warnings} warnings</h1>\n",
        checked.len(),
        checked.len(),
        if checked.len() == 1 { "" } else { "s" },
    );
    out.push_str(LEGEND);
    summary(&mut out, checked);
    if checked.len() > 1 {
        stream(&mut out, checked);
    }
    out.push_str(&segments(checked));
    let _ = write!(out, "<script>{SCRIPT}</script>\n</body></html>\n");
    out
}

/// Every segment's section, in order, drawn on all cores where there are
/// threads (a run of 1,000 is 14 MB of SVG); in one piece in the
/// component, which has none.
fn segments(checked: &[Segment<'_>]) -> String {
    let part = |first: usize, chunk: &[Segment<'_>]| {
        let mut out = String::with_capacity(chunk.len() * 16 * 1024);
        for (k, c) in chunk.iter().enumerate() {
            segment(&mut out, first + k, c);
        }
        out
    };
    // In the component (wasm32) there are no threads to ask for.
    let cores = if cfg!(target_family = "wasm") {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    };
    if cores < 2 || checked.len() < 2 {
        return part(0, checked);
    }
    let per = checked.len().div_ceil(cores);
    std::thread::scope(|scope| {
        let parts: Vec<_> = checked
            .chunks(per)
            .enumerate()
            .map(|(n, chunk)| scope.spawn(move || part(n * per, chunk)))
            .collect();
        parts
            .into_iter()
            .map(|p| p.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    })
}

/// A time axis from `t0` to `t1` ns over the plot's width.
#[derive(Clone, Copy)]
struct Axis {
    t0: i64,
    t1: i64,
}

impl Axis {
    fn over(times: impl Iterator<Item = i64>) -> Axis {
        let (mut t0, mut t1) = (i64::MAX, i64::MIN);
        for t in times {
            t0 = t0.min(t);
            t1 = t1.max(t);
        }
        if t0 > t1 {
            (t0, t1) = (0, 0);
        }
        Axis {
            t0,
            t1: t1.max(t0.saturating_add(1)),
        }
    }

    /// ns from `t0` to `t1`: in i128, since a hostile segment's times may
    /// span more than an i64 holds.
    fn span(&self) -> f64 {
        (i128::from(self.t1) - i128::from(self.t0)) as f64
    }

    fn x(&self, t: i64) -> f64 {
        LEFT + (i128::from(t) - i128::from(self.t0)) as f64 / self.span() * WIDTH
    }

    fn width(&self, from: i64, length: i64) -> f64 {
        (self.x(from.saturating_add(length)) - self.x(from)).max(0.5)
    }

    /// The plot's frame (the measure script's reference), and ticks at a
    /// round step under it, at `y`.
    fn draw(&self, out: &mut String, height: f64) {
        let _ = write!(
            out,
            "<rect class=\"plot\" x=\"{LEFT}\" y=\"0\" width=\"{WIDTH}\" height=\"{height}\" \
             data-t0-ns=\"{}\" data-t1-ns=\"{}\"/>",
            self.t0, self.t1
        );
        // The smallest round step that makes at most 12 ticks; the ticks
        // counted by index, at most 13, so that no span (a hostile
        // segment's reaches 2^63 ns, where adding a small step to a float
        // changes nothing) draws more.
        let span = self.span();
        let step = [1.0, 2.0, 5.0]
            .iter()
            .flat_map(|m| (0..20).map(move |e| m * 10f64.powi(e)))
            .filter(|s| span / s <= 12.0)
            .fold(f64::MAX, f64::min);
        let first = (self.t0 as f64 / step).ceil();
        for k in 0..13 {
            let t = (first + f64::from(k)) * step;
            if t > self.t1 as f64 {
                break;
            }
            let x = self.x(t as i64);
            let _ = write!(
                out,
                "<line class=\"tick\" x1=\"{x:.2}\" x2=\"{x:.2}\" y1=\"0\" y2=\"{height}\"/>\
                 <text class=\"tick\" x=\"{x:.2}\" y=\"{:.0}\">{}</text>",
                height + 14.0,
                seconds(t as i64)
            );
        }
    }
}

fn seconds(ns: i64) -> String {
    format!("{:.3} s", ns as f64 / 1e9)
}

fn ms(ns: i64) -> String {
    format!("{:.1} ms", ns as f64 / 1e6)
}

/// Text for HTML, in an element or an attribute.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The numbers a user compares, one row a segment.
fn summary(out: &mut String, checked: &[Segment<'_>]) {
    out.push_str(
        "<table class=\"summary\"><thead><tr><th>segment</th><th>errors</th><th>warnings</th><th>size</th>\
         <th>video</th><th>frame rate</th><th>video bitrate</th><th>keyframe interval</th>\
         <th>video duration</th><th>audio duration</th><th>A/V start offset</th></tr></thead><tbody>\n",
    );
    for (i, c) in checked.iter().enumerate() {
        let info = c.info;
        let video = info.and_then(|i| i.video.as_ref());
        let audio = info.and_then(|i| i.audio.as_ref());
        let dash = || "–".to_string();
        let _ = writeln!(
            out,
            "<tr><td><a href=\"#segment-{i}\">{}</a></td><td>{}</td><td>{}</td><td>{} KB</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(c.name),
            c.count(Severity::Error),
            c.count(Severity::Warning),
            c.bytes.div_ceil(1000),
            video.map_or_else(dash, |v| format!("{}×{}", v.width, v.height)),
            video
                .and_then(|v| v.frame_rate)
                .map_or_else(dash, |r| format!("{:.3} fps", r.num as f64 / r.den.max(1) as f64)),
            video.filter(|v| v.duration_ns > 0).map_or_else(dash, |v| format!(
                "{:.0} kbit/s",
                v.bytes as f64 * 8.0 / (v.duration_ns as f64 / 1e9) / 1000.0
            )),
            keyframe_interval(c.timeline).map_or_else(dash, ms),
            video.map_or_else(dash, |v| ms(i64::try_from(v.duration_ns).unwrap_or(i64::MAX))),
            audio.map_or_else(dash, |a| ms(i64::try_from(a.duration_ns).unwrap_or(i64::MAX))),
            av_offset(info).map_or_else(dash, ms),
        );
    }
    out.push_str("</tbody></table>\n");
}

/// The mean distance between keyframes in presentation time; none with
/// fewer than two.
fn keyframe_interval(timeline: Option<&SegmentTimeline>) -> Option<i64> {
    let video = timeline?.track(TrackKind::Video)?;
    let mut keys: Vec<i64> = video.samples.iter().filter(|s| s.keyframe).map(|s| s.pts_ns).collect();
    keys.sort_unstable();
    let n = i64::try_from(keys.len()).ok()?;
    (n >= 2).then(|| keys[keys.len() - 1].saturating_sub(keys[0]) / (n - 1))
}

/// Audio's start minus video's.
fn av_offset(info: Option<&SegmentInfo>) -> Option<i64> {
    let info = info?;
    Some(
        info.audio
            .as_ref()?
            .start_ns
            .saturating_sub(info.video.as_ref()?.start_ns),
    )
}

/// Each segment's span on the stream's timeline, and the run's own
/// findings (gaps and overlaps between segments, new manifests) where
/// they are.
fn stream(out: &mut String, checked: &[Segment<'_>]) {
    let spans: Vec<Option<(i64, i64)>> = checked
        .iter()
        .map(|c| {
            let v = c.info?.video.as_ref()?;
            let length = i64::try_from(v.duration_ns).unwrap_or(i64::MAX);
            Some((v.start_ns, v.start_ns.saturating_add(length)))
        })
        .collect();
    let stream_findings: Vec<(usize, &Finding)> = checked
        .iter()
        .enumerate()
        .flat_map(|(i, c)| c.stream.iter().map(move |f| (i, f)))
        .collect();
    let axis = Axis::over(
        spans
            .iter()
            .flatten()
            .flat_map(|&(a, b)| [a, b])
            .chain(stream_findings.iter().filter_map(|(_, f)| f.at.time_ns)),
    );
    let height = LANE * 2.0 + GAP;
    let _ = write!(
        out,
        "<section class=\"stream\"><h2>The run as a stream</h2>\
         <svg class=\"timeline\" width=\"{}\" height=\"{}\" data-lanes=\"stream\">",
        LEFT + WIDTH + 8.0,
        height + AXIS
    );
    axis.draw(out, height);
    lane(out, "stream", "segments", 0.0);
    for (i, span) in spans.iter().enumerate() {
        let Some((a, b)) = *span else { continue };
        let _ = write!(
            out,
            "<a href=\"#segment-{i}\"><rect class=\"span s{}\" x=\"{:.2}\" y=\"4\" width=\"{:.2}\" height=\"{}\">\
             <title>{}: {} to {}</title></rect></a>",
            i % 2,
            axis.x(a),
            axis.width(a, b - a),
            LANE - 8.0,
            esc(checked[i].name),
            seconds(a),
            seconds(b)
        );
    }
    lane(out, "stream-findings", "findings", LANE + GAP);
    for (n, (i, f)) in stream_findings.iter().enumerate() {
        if let Some(t) = f.at.time_ns {
            marker(
                out,
                &axis,
                f,
                t,
                "stream-findings",
                LANE + GAP,
                &format!("stream-{n}"),
                *i,
            );
        }
    }
    out.push_str("</svg>");
    findings_list(out, stream_findings.iter().map(|(_, f)| *f), |n| format!("stream-{n}"));
    out.push_str("</section>\n");
}

/// A lane's label and band, `y` px from the top.
fn lane(out: &mut String, name: &str, label: &str, y: f64) {
    let _ = write!(
        out,
        "<rect class=\"lane\" data-lane=\"{name}\" x=\"{LEFT}\" y=\"{y}\" width=\"{WIDTH}\" height=\"{LANE}\"/>\
         <text class=\"label\" x=\"4\" y=\"{:.0}\">{label}</text>",
        y + LANE / 2.0 + 4.0
    );
}

/// Where a finding sits in time: its own time, or its sample's.
fn time_of(f: &Finding, timeline: Option<&SegmentTimeline>) -> Option<i64> {
    f.at.time_ns.or_else(|| {
        let track = timeline?.track(f.at.track?)?;
        Some(track.samples.get(usize::try_from(f.at.sample?).ok()?)?.pts_ns)
    })
}

fn lane_of(f: &Finding) -> &'static str {
    match f.at.track {
        Some(TrackKind::Video) => "video",
        Some(TrackKind::Audio) => "audio",
        None => "segment",
    }
}

/// A finding's marker: a line down its lane and a triangle at the top,
/// centred on its time; its message on hover.
#[allow(clippy::too_many_arguments)]
fn marker(out: &mut String, axis: &Axis, f: &Finding, t: i64, lane: &str, y: f64, id: &str, segment: usize) {
    let x = axis.x(t);
    let _ = write!(
        out,
        "<g class=\"finding {}\" data-finding=\"{id}\" data-code=\"{}\" data-lane=\"{lane}\" data-time-ns=\"{t}\" \
         data-segment=\"{segment}\"><line x1=\"{x:.2}\" x2=\"{x:.2}\" y1=\"{y:.2}\" y2=\"{:.2}\"/>\
         <path d=\"M{:.2},{:.2}h10l-5,9z\"/><title>{}: {}</title></g>",
        f.severity.as_str(),
        f.code.as_str(),
        y + LANE,
        x - 5.0,
        y,
        f.code.as_str(),
        esc(&f.message)
    );
}

/// One segment: its timeline and its findings.
fn segment(out: &mut String, i: usize, c: &Segment<'_>) {
    let timeline = c.timeline;
    let tracks = timeline.map_or(&[][..], |t| &t.tracks[..]);
    let has_edits = tracks.iter().any(|t| !t.edits.is_empty());
    let placed: Vec<(usize, &Finding, Option<i64>)> = c
        .findings
        .iter()
        .enumerate()
        .map(|(j, f)| (j, f, time_of(f, timeline)))
        .collect();
    let axis = Axis::over(
        tracks
            .iter()
            .flat_map(|t| {
                t.samples
                    .iter()
                    .flat_map(|s| [s.pts_ns, s.pts_ns.saturating_add(s.duration_ns)])
                    .chain(
                        t.edits
                            .iter()
                            .flat_map(|e| [e.start_ns, e.start_ns.saturating_add(e.duration_ns)]),
                    )
                    .chain(t.fragment_starts_ns.iter().copied())
            })
            .chain(placed.iter().filter_map(|p| p.2)),
    );
    let mut lanes: Vec<(&str, &str)> = Vec::new();
    if has_edits {
        lanes.push(("edits", "edit lists"));
    }
    lanes.extend([("video", "video"), ("audio", "audio"), ("segment", "segment")]);
    let y_of = |name: &str| {
        lanes
            .iter()
            .position(|l| l.0 == name)
            .map_or(0.0, |p| p as f64 * (LANE + GAP))
    };
    let height = lanes.len() as f64 * (LANE + GAP) - GAP;
    let (e, w) = (c.count(Severity::Error), c.count(Severity::Warning));
    let _ = write!(
        out,
        "<section class=\"segment\" id=\"segment-{i}\"><h2>{}: {e} errors, {w} warnings</h2>",
        esc(c.name)
    );
    for t in tracks.iter().filter(|t| (t.total_samples as usize) > t.samples.len()) {
        let _ = write!(
            out,
            "<p class=\"cut\">{} track: the first {} of its {} samples are drawn (at most {MAX_DRAWN_SAMPLES}).</p>",
            t.kind.as_str(),
            t.samples.len(),
            t.total_samples
        );
    }
    if timeline.is_none() {
        out.push_str("<p class=\"cut\">Nothing to draw: the segment's boxes cannot be read.</p>");
    }
    let _ = write!(
        out,
        "<div class=\"pair\"><svg class=\"timeline\" width=\"{}\" height=\"{}\">",
        LEFT + WIDTH + 8.0,
        height + AXIS
    );
    axis.draw(out, height);
    for (name, label) in &lanes {
        lane(out, name, label, y_of(name));
    }
    for t in tracks {
        if has_edits {
            edits(out, &axis, t, y_of("edits"));
        }
        samples(out, &axis, t, y_of(t.kind.as_str()));
    }
    fragments(out, &axis, tracks, height);
    if let Some(offset) = av_offset(c.info).filter(|o| *o != 0)
        && let Some(v) = c.info.and_then(|i| i.video.as_ref())
    {
        let audio = v.start_ns.saturating_add(offset);
        let (a, b) = (v.start_ns.min(audio), v.start_ns.max(audio));
        let y = y_of("segment") + LANE - 6.0;
        let _ = write!(
            out,
            "<line class=\"offset\" x1=\"{:.2}\" x2=\"{:.2}\" y1=\"{y:.2}\" y2=\"{y:.2}\">\
             <title>audio starts {} after the video</title></line>",
            axis.x(a),
            axis.x(b),
            ms(offset)
        );
    }
    for (j, f, t) in &placed {
        if let Some(t) = t {
            let lane = lane_of(f);
            marker(out, &axis, f, *t, lane, y_of(lane), &format!("s{i}f{j}"), i);
        }
    }
    out.push_str("</svg>");
    findings_list(out, c.findings.iter(), |j| format!("s{i}f{j}"));
    if !c.rungs.is_empty() {
        let _ = write!(
            out,
            "<p class=\"rungs\">The ladder would ask for {}.</p>",
            esc(&ladder::rung_list(c.rungs))
        );
    }
    out.push_str("</div></section>\n");
}

/// Frames or packets as bars on the presentation axis, one path per look
/// (a page of 1,000 segments stays a few elements a lane, not 160,000
/// rectangles), to a tenth of a pixel. A keyframe is dark; a frame presented before one decoded
/// earlier is `reordered`; samples that share a presentation time are
/// stacked down the lane; an audio packet whose TOC length differs from
/// its table duration by more than a tenth is `off`, its TOC length drawn
/// under it. Each sample's numbers ride along in `data-samples` (µs), for
/// the page's hover line.
fn samples(out: &mut String, axis: &Axis, t: &TrackTimeline, y: f64) {
    let mut stacked: HashMap<i64, u32> = HashMap::new();
    let mut latest = i64::MIN;
    let what = match t.kind {
        TrackKind::Video => "frame",
        TrackKind::Audio => "packet",
    };
    let mut paths: Vec<(String, String)> = Vec::new();
    let mut data = String::with_capacity(t.samples.len() * 32);
    for s in &t.samples {
        let depth = stacked.entry(s.pts_ns).or_insert(0);
        let dy = f64::from((*depth).min(3)) * 5.0;
        *depth += 1;
        let reordered = s.pts_ns < latest;
        latest = latest.max(s.pts_ns);
        // Off by more than a tenth, the check's own tolerance.
        let off = s
            .coded_duration_ns
            .is_some_and(|c| c.saturating_sub(s.duration_ns).saturating_abs().saturating_mul(10) > c);
        let key = s.keyframe && t.kind == TrackKind::Video;
        let mut class = String::from(what);
        for (on, name) in [
            (key, " key"),
            (reordered, " reordered"),
            (dy > 0.0, " stacked"),
            (off, " off"),
        ] {
            if on {
                class.push_str(name);
            }
        }
        let (x, w) = (axis.x(s.pts_ns), axis.width(s.pts_ns, s.duration_ns));
        let _ = write!(
            path(&mut paths, class),
            "M{},{:.0}h{}v{:.0}h-{}z",
            Tenths(x),
            y + 3.0 + dy,
            Tenths(w),
            LANE - 14.0,
            Tenths(w)
        );
        if let Some(c) = s.coded_duration_ns.filter(|_| off) {
            let w = axis.width(s.pts_ns, c);
            let _ = write!(
                path(&mut paths, "coded".into()),
                "M{},{:.0}h{}v3h-{}z",
                Tenths(x),
                y + LANE - 8.0,
                Tenths(w),
                Tenths(w)
            );
        }
        let _ = write!(
            data,
            "{},{},{},{},{},{} ",
            s.pts_ns / 1000,
            s.dts_ns / 1000,
            s.duration_ns / 1000,
            s.coded_duration_ns.map_or(-1, |c| c / 1000),
            s.size,
            u8::from(key)
        );
    }
    let _ = write!(
        out,
        "<g class=\"samples\" data-kind=\"{what}\" data-y=\"{y}\" data-samples=\"{}\">",
        data.trim_end()
    );
    for (class, d) in paths {
        let _ = write!(out, "<path class=\"{class}\" d=\"{d}\"/>");
    }
    out.push_str("</g>");
}

/// A coordinate to a tenth of a pixel, written with integer arithmetic:
/// the bars are most of a page, four numbers each, and integer formatting
/// skips the float formatter's exact decimal conversion. (The check
/// bench's page time, 0.07-0.09 s before, 0.05-0.07 s after: within its
/// spread, so kept for the reason, not for a measured gain.)
struct Tenths(f64);

impl std::fmt::Display for Tenths {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tenths = (self.0 * 10.0).round() as i64;
        let sign = if tenths < 0 { "-" } else { "" };
        let whole = tenths.unsigned_abs();
        write!(f, "{sign}{}.{}", whole / 10, whole % 10)
    }
}

/// The path of the look `class`, begun when it is first used.
fn path(paths: &mut Vec<(String, String)>, class: String) -> &mut String {
    let at = match paths.iter().position(|p| p.0 == class) {
        Some(at) => at,
        None => {
            paths.push((class, String::new()));
            paths.len() - 1
        }
    };
    &mut paths[at].1
}

/// A track's edit list: each entry's span, empty edits hatched.
fn edits(out: &mut String, axis: &Axis, t: &TrackTimeline, y: f64) {
    let row = if t.kind == TrackKind::Video {
        3.0
    } else {
        LANE / 2.0 + 1.0
    };
    for e in &t.edits {
        let (class, what) = match e.media_time_ns {
            None => ("edit empty", "empty edit".to_string()),
            Some(m) => ("edit", format!("edit from media time {}", ms(m))),
        };
        let _ = write!(
            out,
            "<rect class=\"{class} {}\" x=\"{:.2}\" y=\"{:.2}\" width=\"{:.2}\" height=\"{:.2}\">\
             <title>{} track: {what}, {} at {}</title></rect>",
            t.kind.as_str(),
            axis.x(e.start_ns),
            y + row,
            axis.width(e.start_ns, e.duration_ns),
            LANE / 2.0 - 4.0,
            t.kind.as_str(),
            ms(e.duration_ns),
            seconds(e.start_ns)
        );
    }
}

/// Each fragment's start (`tfdt`), a dashed line down the lanes.
fn fragments(out: &mut String, axis: &Axis, tracks: &[TrackTimeline], height: f64) {
    for t in tracks {
        for &start in &t.fragment_starts_ns {
            let x = axis.x(start);
            let _ = write!(
                out,
                "<line class=\"tfdt {}\" x1=\"{x:.2}\" x2=\"{x:.2}\" y1=\"0\" y2=\"{height}\">\
                 <title>{} fragment starts (tfdt) at {}</title></line>",
                t.kind.as_str(),
                t.kind.as_str(),
                seconds(start)
            );
        }
    }
}

/// The list beside a drawing: each finding with the id its marker has
/// (`id(j)` for the j-th), so that hovering one lights the other.
fn findings_list<'a>(out: &mut String, findings: impl Iterator<Item = &'a Finding>, id: impl Fn(usize) -> String) {
    out.push_str("<ol class=\"findings\">");
    for (j, f) in findings.enumerate() {
        let at = f.at.place();
        let _ = write!(
            out,
            "<li class=\"{}\" data-for=\"{}\"><b>{}</b> {}{}</li>",
            f.severity.as_str(),
            id(j),
            f.code.as_str(),
            esc(&f.message),
            if at.is_empty() {
                String::new()
            } else {
                format!(" <i>at {}</i>", esc(&at))
            }
        );
    }
    out.push_str("</ol>");
}

const LEGEND: &str = "<p class=\"legend\">Frames and packets are drawn at their presentation time, as wide as they last: \
<span class=\"k key\">keyframe</span> <span class=\"k frame\">frame</span> \
<span class=\"k reordered\">presented before one decoded earlier</span> \
<span class=\"k stacked\">sharing a timestamp (stacked)</span> \
<span class=\"k packet\">audio packet</span> <span class=\"k off\">its TOC length differs</span> \
<span class=\"k empty\">empty edit</span> <span class=\"k tfdt\">fragment start</span>. \
Triangles are findings: <span class=\"k error\">error</span> <span class=\"k warning\">warning</span> \
<span class=\"k info\">info</span>; hover for the message.</p>\n";

const STYLE: &str = "body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}\
h1{font-size:1.3em}h2{font-size:1.05em;margin:1.5em 0 .4em}\
table.summary{border-collapse:collapse;font-variant-numeric:tabular-nums}\
table.summary td,table.summary th{border:1px solid #ccc;padding:2px 8px;text-align:right}\
table.summary td:first-child{text-align:left}\
.pair{display:flex;flex-wrap:wrap;gap:1em;align-items:flex-start}\
ol.findings{margin:0;padding-left:1.6em;max-width:42em}ol.findings li{margin:.2em 0}\
li.error b{color:#b00}li.warning b{color:#a60}li.info b{color:#357}li.lit{background:#ffe58a}\
svg.timeline{display:block;overflow:visible}\
.plot{fill:none;stroke:none}.lane{fill:#f6f6f6}.label{font-size:12px;fill:#555}\
line.tick{stroke:#ddd}text.tick{font-size:10px;fill:#777;text-anchor:middle}\
.frame{fill:#9bb7d4;stroke:#fff;stroke-width:.3}.frame.key{fill:#1f5f9f}.frame.reordered{fill:#d9a441}\
.stacked{stroke:#b00;stroke-width:1}\
.packet{fill:#8cc084;stroke:#fff;stroke-width:.3}.packet.off{fill:#e07b6a}.coded{fill:#7a2b20}\
.edit{fill:#b9a7d6}.edit.empty{fill:#fff;stroke:#7a5ea8;stroke-dasharray:3 2}\
.tfdt{stroke:#555;stroke-dasharray:4 3}.offset{stroke:#b00;stroke-width:3}\
.span.s0{fill:#9bb7d4}.span.s1{fill:#6d93bb}\
g.finding line{stroke-width:1.5}g.finding path{stroke:#fff}\
g.error line{stroke:#b00}g.error path{fill:#b00}g.warning line{stroke:#d80}g.warning path{fill:#d80}\
g.info line{stroke:#357;stroke-dasharray:2 2}g.info path{fill:#357}g.finding.lit path{stroke:#000;stroke-width:2}\
.legend .k{display:inline-block;padding:0 .4em;border-radius:3px;margin-right:.3em}\
.k.key{background:#1f5f9f;color:#fff}.k.frame{background:#9bb7d4}.k.reordered{background:#d9a441}\
.k.stacked{outline:1px solid #b00}.k.packet{background:#8cc084}.k.off{background:#e07b6a}\
.k.empty{outline:1px dashed #7a5ea8}.k.tfdt{border-left:2px dashed #555}\
.k.error{color:#b00}.k.warning{color:#d80}.k.info{color:#357}\
p.cut{color:#a60}\
.tip{position:absolute;display:none;background:#222;color:#fff;padding:2px 6px;border-radius:3px;font-size:12px;pointer-events:none}";

/// Hovering a marker lights its line in the list, and back. With
/// `?measure`, where each marker was drawn, read from the layout and put
/// back on the time axis, goes into `<pre id="measured">` as JSON.
const SCRIPT: &str = r#"
const pairs = id => document.querySelectorAll(`[data-finding="${id}"],[data-for="${id}"]`);
for (const el of document.querySelectorAll('[data-finding],[data-for]')) {
  const id = el.dataset.finding || el.dataset.for;
  el.addEventListener('mouseenter', () => pairs(id).forEach(e => e.classList.add('lit')));
  el.addEventListener('mouseleave', () => pairs(id).forEach(e => e.classList.remove('lit')));
}
// Hovering a lane of frames or packets names the one under the pointer.
const tip = document.createElement('div');
tip.className = 'tip';
document.body.append(tip);
for (const g of document.querySelectorAll('g.samples')) {
  const rows = g.dataset.samples.split(' ').map(r => r.split(',').map(Number));
  const svg = g.ownerSVGElement, plot = svg.querySelector('.plot');
  const t0 = Number(plot.dataset.t0Ns) / 1000, t1 = Number(plot.dataset.t1Ns) / 1000;
  g.addEventListener('mousemove', ev => {
    const box = plot.getBoundingClientRect();
    const t = t0 + (ev.clientX - box.left) / box.width * (t1 - t0);
    const n = rows.findIndex(([pts, , dur]) => t >= pts && t < pts + Math.max(dur, 1));
    if (n < 0) { tip.style.display = 'none'; return; }
    const [pts, dts, dur, coded, size, key] = rows[n];
    const ms = us => (us / 1000).toFixed(1) + ' ms';
    tip.textContent = `${g.dataset.kind} ${n}: pts ${ms(pts)}, dts ${ms(dts)}, ${ms(dur)}` +
      (coded >= 0 ? `, ${ms(coded)} by its TOC` : '') + `, ${size} B` + (key ? ', keyframe' : '');
    tip.style.display = 'block';
    tip.style.left = (ev.pageX + 12) + 'px';
    tip.style.top = (ev.pageY + 12) + 'px';
  });
  g.addEventListener('mouseleave', () => { tip.style.display = 'none'; });
}
if (new URLSearchParams(location.search).has('measure')) {
  const measured = [];
  for (const svg of document.querySelectorAll('svg.timeline')) {
    const plot = svg.querySelector('.plot');
    const box = plot.getBoundingClientRect();
    const t0 = Number(plot.dataset.t0Ns), t1 = Number(plot.dataset.t1Ns);
    const lanes = [...svg.querySelectorAll('.lane')].map(l => [l.dataset.lane, l.getBoundingClientRect()]);
    for (const g of svg.querySelectorAll('g.finding')) {
      const r = g.querySelector('path').getBoundingClientRect();
      const x = r.left + r.width / 2, y = r.top + 1;
      const lane = lanes.find(([, b]) => y >= b.top - 0.5 && y <= b.bottom + 0.5);
      measured.push({
        id: g.dataset.finding, segment: Number(g.dataset.segment), code: g.dataset.code,
        lane: lane ? lane[0] : null,
        time_ns: t0 + (x - box.left) / box.width * (t1 - t0),
        pixel_ns: (t1 - t0) / box.width,
      });
    }
  }
  const pre = document.createElement('pre');
  pre.id = 'measured';
  pre.textContent = JSON.stringify(measured);
  document.body.append(pre);
}
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use lpbridge_contract::timeline::{SampleTime, TrackTimeline};

    /// Times at the ends of i64, as a hostile segment's can be (a tfdt
    /// near 2^62 at timescale 1 saturates to i64::MAX): drawn without an
    /// overflow (this crate has overflow checks in release too) or an
    /// endless axis (which hung here before the ticks were counted).
    #[test]
    fn extreme_times_draw_in_bounded_time() {
        let sample = |t: i64, d: i64| SampleTime {
            dts_ns: t,
            pts_ns: t,
            duration_ns: d,
            coded_duration_ns: Some(d),
            size: 1,
            keyframe: true,
        };
        for (a, b) in [
            (i64::MAX, i64::MAX),
            (i64::MIN, i64::MAX),
            (1 << 60, (1 << 60) + 1),
            (0, 0),
        ] {
            let timeline = SegmentTimeline {
                tracks: vec![TrackTimeline {
                    kind: TrackKind::Video,
                    samples: vec![sample(a, 0), sample(b, i64::MAX)],
                    total_samples: 2,
                    edits: Vec::new(),
                    fragment_starts_ns: vec![a, b],
                }],
            };
            let segment = Segment {
                name: "hostile <\"name\">",
                bytes: 1,
                findings: &[],
                info: None,
                timeline: Some(&timeline),
                rungs: &[],
                stream: &[],
            };
            let page = page(&[segment]);
            assert!(page.len() < 1 << 20, "{a}..{b}: {} bytes", page.len());
            assert!(page.contains("hostile &lt;&quot;name&quot;&gt;"));
        }
    }

    #[test]
    fn tenths_round_as_a_float_format_would() {
        for v in [0.0, 0.04, 0.05, 1.26, 12.349, 999.95, -0.3, -12.34] {
            assert_eq!(
                Tenths(v).to_string(),
                format!("{:.1}", (v * 10.0_f64).round() / 10.0),
                "{v}"
            );
        }
    }
}
