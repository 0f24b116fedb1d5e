//! Segments given in order, checked as one stream: each should start where
//! the one before it ended, within a frame. (Where a new manifest opens is
//! the host's to say: it depends on the host's ladder, and the host says it
//! with the rule its sessions use.)

use crate::info::{SegmentInfo, VideoInfo};

use super::{Finding, FindingCode, Location, Severity, TrackKind};

/// A finding about the `segment`th of the list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamFinding {
    /// Index in the list given to `check`, from 0: the later segment of the
    /// pair.
    pub segment: usize,
    /// What was found, at the later segment's start.
    pub finding: Finding,
}

/// `segments` in stream order, `None` where one could not be read (it
/// breaks the chain: the next is compared with nothing).
pub fn check(segments: &[Option<SegmentInfo>]) -> Vec<StreamFinding> {
    let mut out = Vec::new();
    for (i, pair) in segments.windows(2).enumerate() {
        let (Some(prev), Some(next)) = (video(&pair[0]), video(&pair[1])) else {
            continue;
        };
        let segment = i + 1;
        let mut push = |severity, code, message: String| {
            out.push(StreamFinding {
                segment,
                finding: Finding {
                    severity,
                    code,
                    at: Location {
                        track: Some(TrackKind::Video),
                        time_ns: Some(next.start_ns),
                        ..Location::default()
                    },
                    message,
                },
            })
        };
        // Saturating: hostile start times and durations reach i64's ends,
        // and a gap that large is reported as the largest one.
        let ended = prev
            .start_ns
            .saturating_add(i64::try_from(prev.duration_ns).unwrap_or(i64::MAX));
        let delta = next.start_ns.saturating_sub(ended);
        let frame = frame_ns(prev);
        let at = |ns: i64| format!("{:.3} s", ns as f64 / 1e9);
        if delta > frame {
            push(
                Severity::Warning,
                FindingCode::GapBetweenSegments,
                format!(
                    "starts at {}, {:.1} ms after segment {i} ended ({})",
                    at(next.start_ns),
                    delta as f64 / 1e6,
                    at(ended)
                ),
            );
        } else if delta < -frame {
            push(
                Severity::Warning,
                FindingCode::OverlapBetweenSegments,
                format!(
                    "starts at {}, {:.1} ms before segment {i} ended ({})",
                    at(next.start_ns),
                    -delta as f64 / 1e6,
                    at(ended)
                ),
            );
        }
    }
    out
}

/// One frame of `v`, ns: from its rate, else its mean frame.
fn frame_ns(v: &VideoInfo) -> i64 {
    match v.frame_rate {
        Some(r) if r.num > 0 => 1_000_000_000i64 * r.den as i64 / r.num as i64,
        _ => i64::try_from(v.duration_ns / u64::from(v.frames.max(1))).unwrap_or(i64::MAX),
    }
}

/// A segment's video, borrowed: the pairs read it, they do not keep it.
fn video(s: &Option<SegmentInfo>) -> Option<&VideoInfo> {
    s.as_ref().and_then(|i| i.video.as_ref())
}
