//! Each rendition checked against what was asked of the gateway and what
//! the source was, while it is joined: go-livepeer's broadcaster checks
//! what orchestrators send back, and a gateway is a third party.
//!
//! The checks read what the join already computed (the SPS, the frame
//! list), so they cost nothing beside it and need no second parse. How a
//! mismatch is taken (fail the segment, or keep the rendition and count
//! it) is the host's policy, passed in as [`Verify`].

use crate::info::VideoInfo;
use crate::join::Joined;
use crate::num::u32_of_f64;
use lpbridge_contract::Profile;

/// One tick of the TS's 90 kHz clock, rounded up, ns.
const TS_TICK_NS: u64 = 11_112;

/// What the host wants done with a failed check. (Checks that are off
/// are no `Verification` at all.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verify {
    /// A rendition that fails one is kept, with its mismatches.
    Warn,
    /// A rendition that fails one fails the segment.
    Strict,
}

pub use lpbridge_contract::{Check, Mismatch};

/// Every check `joined` fails, in the order of [`Check`].
pub fn check(profile: &Profile, source: &VideoInfo, joined: &Joined) -> Vec<Mismatch> {
    let mut out = Vec::new();
    let mut fail = |what, expected: String, got: String| out.push(Mismatch { what, expected, got });

    if (joined.width, joined.height) != (profile.width, profile.height) {
        fail(
            Check::Size,
            format!("{}x{}", profile.width, profile.height),
            format!("{}x{}", joined.width, joined.height),
        );
    }

    // One frame, in ns: the rendition's frame where it has a rate of its
    // own, else the source's; the larger of the two bounds every
    // "within one frame".
    let source_frame = frame_ns(source);
    // A rate at or above the source's mean is the source's: a gateway
    // does not invent frames. (The ladder asks half the most common rate,
    // which for a sparse, variable-rate source can be hundreds of fps.)
    let asked_rate = profile
        .fps
        .filter(|r| r.num > 0)
        .map(|r| r.num as f64 / r.den.max(1) as f64)
        .filter(|&r| r * source_frame < 1e9);
    let frame = asked_rate.map_or(source_frame, |r| (1e9 / r).max(source_frame));

    let (lo, hi) = match asked_rate {
        Some(rate) => {
            let expected = source.duration_ns as f64 / 1e9 * rate;
            (
                u32_of_f64((expected - 1.0).ceil().max(0.0)),
                u32_of_f64((expected + 1.0).floor()),
            )
        }
        // The source's rate: no frame invented, and at most a tenth of
        // those it shows dropped (two samples at one instant show as one).
        None => (source.presented.saturating_mul(9).div_ceil(10), source.frames),
    };
    if !(lo..=hi).contains(&joined.frames) {
        fail(
            Check::FrameCount,
            format!("{lo} to {hi} frames"),
            format!("{} frames", joined.frames),
        );
    }

    let source_ns = source.duration_ns as f64;
    if (joined.shown_ns as f64 - source_ns).abs() > frame {
        fail(
            Check::Duration,
            format!("{} ± {:.1} ms", seconds(source.duration_ns), frame / 1e6),
            seconds(joined.shown_ns),
        );
    }

    if !joined.first_keyframe {
        fail(Check::FirstFrame, "a keyframe".into(), "not a keyframe".into());
    }

    // The range is closed: a source's last frame may start at its very
    // end (a duration of 0). Both sides went through the TS's 90 kHz
    // clock, so one tick of it is the precision.
    if joined.last_start_ns > source.duration_ns + TS_TICK_NS {
        fail(
            Check::Timestamps,
            format!("frames starting by {}", seconds(source.duration_ns)),
            format!("a frame at {}", seconds(joined.last_start_ns)),
        );
    }
    out
}

/// The source's frame duration in ns: the longer of its most common and
/// its mean, so that a sparse, variable-rate source is judged by the
/// frames it has, not by its shortest gap.
fn frame_ns(source: &VideoInfo) -> f64 {
    let mean = source.duration_ns as f64 / source.frames.max(1) as f64;
    match source.frame_rate {
        Some(r) if r.num > 0 && r.den > 0 => (1e9 * r.den as f64 / r.num as f64).max(mean),
        _ => mean,
    }
}

fn seconds(ns: u64) -> String {
    format!("{:.3} s", ns as f64 / 1e9)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::info::FrameRate;

    fn source() -> VideoInfo {
        VideoInfo {
            codec: crate::info::VideoCodec::H264,
            width: 1920,
            height: 1080,
            frame_rate: Some(FrameRate { num: 30, den: 1 }),
            frames: 60,
            presented: 60,
            keyframes: 1,
            bytes: 1_000_000,
            b_frames: false,
            start_ns: 0,
            duration_ns: 2_000_000_000,
            timescale: 90_000,
        }
    }

    /// A profile at a rate of its own, or (`fps` 0) at the source's.
    fn profile(width: u32, height: u32, fps: u32, fps_den: u32) -> Profile {
        Profile {
            name: "p".into(),
            width,
            height,
            bitrate: 1_000_000,
            fps: (fps > 0).then_some(crate::FrameRate { num: fps, den: fps_den }),
            h264_profile: None,
        }
    }

    fn joined(width: u32, height: u32, frames: u32, frame_ns: u64) -> Joined {
        Joined {
            mp4: Vec::new(),
            width,
            height,
            frames,
            shown_ns: frames as u64 * frame_ns,
            last_start_ns: (frames as u64 - 1) * frame_ns,
            first_keyframe: true,
        }
    }

    #[test]
    fn a_rendition_as_asked_passes() {
        let at_source_rate = joined(640, 360, 60, 33_333_333);
        assert_eq!(check(&profile(640, 360, 0, 0), &source(), &at_source_rate), []);
        let at_half = joined(640, 360, 30, 66_666_667);
        assert_eq!(check(&profile(640, 360, 15, 1), &source(), &at_half), []);
        // A tenth of the frames dropped, spread out: still the source's.
        let mut dropped = joined(640, 360, 54, 33_333_333);
        dropped.shown_ns = 2_000_000_000;
        dropped.last_start_ns = 1_966_666_667;
        assert_eq!(check(&profile(640, 360, 0, 0), &source(), &dropped), []);
    }

    #[test]
    fn the_source_sent_back_names_both_sizes() {
        let got = check(&profile(284, 160, 0, 0), &source(), &joined(1920, 1080, 60, 33_333_333));
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].to_string(), "1920x1080, asked 284x160");
    }

    #[test]
    fn half_the_frames_fails_on_the_count() {
        let mut half = joined(640, 360, 30, 33_333_333);
        half.shown_ns = 2_000_000_000;
        half.last_start_ns = 1_933_333_333;
        let got = check(&profile(640, 360, 0, 0), &source(), &half);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].to_string(), "frame-count 30 frames, asked 54 to 60 frames");
        // At a rate of its own: 2 s at 15 fps is 30, within one.
        let got = check(&profile(640, 360, 15, 1), &source(), &joined(640, 360, 15, 133_333_333));
        assert_eq!(got[0].to_string(), "frame-count 15 frames, asked 29 to 31 frames");
    }

    #[test]
    fn a_rate_above_the_sources_mean_keeps_the_sources_frames() {
        // 27 frames at 17 instants over 3.5 s, most often 0.1 ms apart:
        // the ladder asks 5000 fps, and a gateway sends back one frame per
        // instant.
        let mut sparse = source();
        sparse.frame_rate = Some(FrameRate { num: 10_000, den: 1 });
        sparse.frames = 27;
        sparse.presented = 17;
        sparse.duration_ns = 3_514_400_000;
        let mut r = joined(640, 360, 17, 200_000_000);
        r.shown_ns = 3_500_000_000;
        assert_eq!(check(&profile(640, 360, 10_000, 2), &sparse, &r), []);
    }

    #[test]
    fn short_late_and_headless_renditions_each_name_their_check() {
        let mut r = joined(640, 360, 60, 33_333_333);
        r.shown_ns = 1_000_000_000;
        r.last_start_ns = 2_500_000_000;
        r.first_keyframe = false;
        let what: Vec<Check> = check(&profile(640, 360, 0, 0), &source(), &r)
            .iter()
            .map(|m| m.what)
            .collect();
        assert_eq!(what, [Check::Duration, Check::FirstFrame, Check::Timestamps]);
        let m = &check(&profile(640, 360, 0, 0), &source(), &r)[0];
        assert_eq!(m.to_string(), "duration 1.000 s, asked 2.000 s ± 33.3 ms");
    }
}
