//! The rendition ladder: host policy, as Streamplace generates it
//! (pkg/renditions). Rungs at or above the source size are skipped, each
//! rung keeps the source's aspect ratio, a portrait source is laddered as
//! landscape and turned back, and a rung at well under the source's frame
//! rate is sent at half of it. Both dimensions are sent, rounded to even
//! (upstream PR #1283). The profiles are the contract's own records.
//!
//! The edge component, which has no host, carries the same default in
//! `guest/src/ladder.rs`; `tests/tests/component.rs` holds the two to the
//! same answers.

use crate::bindings::session::{H264Profile, Profile};
use crate::bindings::types::FrameRate;

/// One rung: its name, box, bitrate, frame rate and H.264 profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rung {
    pub name: String,
    pub width: u32,
    pub height: u32,
    pub bitrate: u64,
    pub fps: u32,
    /// None leaves it to the gateway.
    pub h264_profile: Option<H264Profile>,
}

/// Upstream's ladder: 1080p, 720p, 360p, 240p, 160p (no 480p).
pub fn default_ladder() -> Vec<Rung> {
    let rung = |name: &str, width, height, bitrate, fps, h264_profile| Rung {
        name: name.into(),
        width,
        height,
        bitrate,
        fps,
        h264_profile,
    };
    vec![
        rung("1080p", 1920, 1080, 6_000_000, 60, Some(H264Profile::ConstrainedHigh)),
        rung("720p", 1280, 720, 3_000_000, 60, None),
        rung("360p", 640, 360, 1_000_000, 30, None),
        rung("240p", 426, 240, 500_000, 30, None),
        rung("160p", 284, 160, 250_000, 30, Some(H264Profile::Baseline)),
    ]
}

/// Picks rungs by name from `ladder` ("720p,360p"); an unknown name is
/// the error.
pub fn select(ladder: &[Rung], names: &str) -> Result<Vec<Rung>, String> {
    names
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| {
            ladder
                .iter()
                .find(|r| r.name == n)
                .cloned()
                .ok_or_else(|| n.to_string())
        })
        .collect()
}

fn round_div(num: u64, den: u64) -> u64 {
    (num + den / 2) / den.max(1)
}

fn even(v: u64) -> u32 {
    (round_div(v, 2) * 2).max(2) as u32
}

/// The profiles for a source of `width`×`height` at `rate`.
pub fn renditions(ladder: &[Rung], width: u32, height: u32, rate: Option<FrameRate>) -> Vec<Profile> {
    if width == 0 || height == 0 {
        return Vec::new();
    }
    let portrait = height > width;
    let (w, h) = if portrait { (height, width) } else { (width, height) };
    let (w, h) = (w as u64, h as u64);
    let source_fps = rate.filter(|f| f.num > 0 && f.den > 0);
    ladder
        .iter()
        // No upscaling, and no rung the source already is.
        .filter(|r| !(w <= r.width as u64 && h <= r.height as u64))
        .map(|r| {
            // Fit inside the rung's box, keeping the source's aspect.
            let (rw, rh) = if w * r.height as u64 > h * r.width as u64 {
                (r.width as u64, round_div(h * r.width as u64, w))
            } else {
                (round_div(w * r.height as u64, h), r.height as u64)
            };
            let (mut pw, mut ph) = (even(rw), even(rh));
            if portrait {
                (pw, ph) = (ph, pw);
            }
            let fps = source_fps
                .filter(|src| {
                    let src_fps = src.num as f64 / src.den as f64;
                    (r.fps as f64) < src_fps && (r.fps as f64 / src_fps) < 0.75
                })
                .map(|src| FrameRate {
                    num: src.num,
                    den: src.den.saturating_mul(2),
                });
            Profile {
                name: r.name.clone(),
                width: pw,
                height: ph,
                bitrate: r.bitrate,
                fps,
                h264_profile: r.h264_profile,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FPS60: Option<FrameRate> = Some(FrameRate { num: 60, den: 1 });

    #[test]
    fn a_1080p60_source_gets_the_rungs_below_it_at_half_rate_where_they_ask_less() {
        let p = renditions(&default_ladder(), 1920, 1080, FPS60);
        let names: Vec<_> = p.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["720p", "360p", "240p", "160p"]);
        assert_eq!((p[0].width, p[0].height), (1280, 720));
        assert!(p[0].fps.is_none());
        let half = p[1].fps.unwrap();
        assert_eq!((p[1].width, p[1].height, half.num, half.den), (640, 360, 60, 2));
        assert_eq!(
            (p[3].width, p[3].height, p[3].h264_profile),
            (284, 160, Some(H264Profile::Baseline))
        );
    }

    #[test]
    fn portrait_and_odd_aspects_stay_even_and_names_select() {
        let p = renditions(&default_ladder(), 1080, 1920, FPS60);
        assert_eq!((p[0].width, p[0].height), (720, 1280));
        let p = renditions(&default_ladder(), 4000, 1000, Some(FrameRate { num: 30, den: 1 }));
        assert_eq!((p[0].width, p[0].height), (1920, 480));
        assert!(p.iter().all(|p| p.width % 2 == 0 && p.height % 2 == 0));
        assert!(renditions(&default_ladder(), 284, 160, FPS60).is_empty());
        assert_eq!(select(&default_ladder(), "720p, 160p").unwrap().len(), 2);
        assert_eq!(select(&default_ladder(), "480p").unwrap_err(), "480p");
    }
}
