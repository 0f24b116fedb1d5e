//! The rendition ladder, as Streamplace generates it (pkg/renditions):
//! rungs at or above the source size are skipped, each rung keeps the
//! source's aspect ratio, a portrait source is laddered as landscape and
//! turned back, and a rung at well under the source's frame rate is sent at
//! half of it. Both dimensions are sent, rounded to even (upstream PR
//! #1283).
//!
//! The host applies it as policy (`--renditions` picks rungs); the edge
//! component, which has no host to ask, applies the same default. One code
//! for both.

use serde::Serialize;

/// A frame rate as a fraction: the contract's `frame-rate`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameRate {
    /// Frames...
    pub num: u32,
    /// ...per this many seconds.
    pub den: u32,
}

/// The H.264 profiles go-livepeer encodes: the contract's `h264-profile`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum H264Profile {
    /// `H264Baseline`.
    Baseline,
    /// `H264Main`.
    Main,
    /// `H264High`.
    High,
    /// `H264ConstrainedHigh`.
    ConstrainedHigh,
}

impl H264Profile {
    /// Every one, for parsing and tests.
    pub const ALL: [H264Profile; 4] = [
        H264Profile::Baseline,
        H264Profile::Main,
        H264Profile::High,
        H264Profile::ConstrainedHigh,
    ];

    /// Its name in the configuration header, as Streamplace writes it
    /// (go-livepeer reads it without regard to case).
    pub fn as_str(self) -> &'static str {
        match self {
            H264Profile::Baseline => "h264baseline",
            H264Profile::Main => "h264main",
            H264Profile::High => "h264high",
            H264Profile::ConstrainedHigh => "h264constrainedhigh",
        }
    }

    /// The profile a header names, in any case; `None` for a name that is
    /// none of them.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str().eq_ignore_ascii_case(name))
    }
}

/// What the gateway is asked for: the contract's `profile`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    /// The rendition's name: its part's `Rendition-Name`.
    pub name: String,
    /// Encoded width.
    pub width: u32,
    /// Encoded height.
    pub height: u32,
    /// Bits per second.
    pub bitrate: u64,
    /// None keeps the source's rate.
    pub fps: Option<FrameRate>,
    /// None leaves it to the gateway.
    pub h264_profile: Option<H264Profile>,
}

/// One rung: its name, box, bitrate, frame rate and H.264 profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rung {
    /// Its name (`720p`).
    pub name: String,
    /// The box's width, for a landscape source.
    pub width: u32,
    /// The box's height, likewise.
    pub height: u32,
    /// Bits per second.
    pub bitrate: u64,
    /// Its frame rate, frames per second: a source faster than this by
    /// more than a third is sent at this rate, else at its own.
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

/// Rounded to even, at least 2: a rung's dimension always fits in `u32`,
/// being at most the rung's own.
fn even(v: u64) -> u32 {
    u32::try_from((round_div(v, 2) * 2).max(2)).unwrap_or(u32::MAX - 1)
}

/// `720p 1280x720, 360p 640x360`: the rungs as `check` names them, in
/// its text and on its page.
pub fn rung_list(profiles: &[Profile]) -> String {
    let named: Vec<String> = profiles
        .iter()
        .map(|p| format!("{} {}x{}", p.name, p.width, p.height))
        .collect();
    named.join(", ")
}

/// The profiles for a source of `width`×`height` at `rate`.
pub fn renditions(ladder: &[Rung], width: u32, height: u32, rate: Option<FrameRate>) -> Vec<Profile> {
    if width == 0 || height == 0 {
        return Vec::new();
    }
    let portrait = height > width;
    let (w, h) = if portrait { (height, width) } else { (width, height) };
    let (w, h) = (u64::from(w), u64::from(h));
    let source = rate.filter(|f| f.num > 0 && f.den > 0);
    ladder
        .iter()
        // No upscaling, and no rung the source already is.
        .filter(|r| !(w <= u64::from(r.width) && h <= u64::from(r.height)))
        .map(|r| {
            let (rw, rh) = (u64::from(r.width), u64::from(r.height));
            // Fit inside the rung's box, keeping the source's aspect.
            let (fw, fh) = if w * rh > h * rw {
                (rw, round_div(h * rw, w))
            } else {
                (round_div(w * rh, h), rh)
            };
            let (mut pw, mut ph) = (even(fw), even(fh));
            if portrait {
                (pw, ph) = (ph, pw);
            }
            let fps = source
                .filter(|src| {
                    let src_fps = f64::from(src.num) / f64::from(src.den);
                    f64::from(r.fps) < src_fps && f64::from(r.fps) / src_fps < 0.75
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

/// The header's JSON, field for field as Streamplace sends it: `fps` and
/// `fpsDen` only for a rate of its own, `profile` only when one is set.
#[derive(Serialize)]
struct Configuration<'a> {
    #[serde(rename = "manifestID")]
    manifest_id: &'a str,
    profiles: Vec<JsonProfile<'a>>,
}

#[derive(Serialize)]
struct JsonProfile<'a> {
    name: &'a str,
    width: u32,
    height: u32,
    bitrate: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    fps: Option<u32>,
    #[serde(rename = "fpsDen", skip_serializing_if = "Option::is_none")]
    fps_den: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    profile: Option<&'static str>,
}

/// The `Livepeer-Transcode-Configuration` header value.
pub fn config_json(manifest: &str, profiles: &[Profile]) -> String {
    let config = Configuration {
        manifest_id: manifest,
        profiles: profiles
            .iter()
            .map(|p| JsonProfile {
                name: &p.name,
                width: p.width,
                height: p.height,
                bitrate: p.bitrate,
                fps: p.fps.map(|r| r.num),
                fps_den: p.fps.map(|r| r.den.max(1)),
                profile: p.h264_profile.map(H264Profile::as_str),
            })
            .collect(),
    };
    // A struct of strings and numbers always serializes.
    serde_json::to_string(&config).unwrap_or_default()
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
        assert_eq!((p[0].width, p[0].height, p[0].fps), (1280, 720, None));
        assert_eq!(
            (p[1].width, p[1].height, p[1].fps),
            (640, 360, Some(FrameRate { num: 60, den: 2 }))
        );
        assert_eq!((p[2].width, p[2].height), (426, 240));
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
        assert_eq!((p[0].width, p[0].height, p[0].fps), (1920, 480, None));
        assert!(p.iter().all(|p| p.width % 2 == 0 && p.height % 2 == 0));
        assert!(renditions(&default_ladder(), 284, 160, FPS60).is_empty());
        assert!(renditions(&default_ladder(), 0, 160, FPS60).is_empty());
        assert_eq!(select(&default_ladder(), "720p, 160p").unwrap().len(), 2);
        assert_eq!(select(&default_ladder(), "480p").unwrap_err(), "480p");
    }

    #[test]
    fn the_config_header_is_upstreams_json_byte_for_byte() {
        let p = renditions(&default_ladder(), 3840, 2160, FPS60);
        assert_eq!(
            config_json("did-x-abcd1234-5ren", &p[..1]),
            r#"{"manifestID":"did-x-abcd1234-5ren","profiles":[{"name":"1080p","width":1920,"height":1080,"bitrate":6000000,"profile":"h264constrainedhigh"}]}"#
        );
        assert_eq!(
            config_json("m", &p[2..3]),
            r#"{"manifestID":"m","profiles":[{"name":"360p","width":640,"height":360,"bitrate":1000000,"fps":60,"fpsDen":2}]}"#
        );
        let odd = Profile {
            name: "a\"b\\c\u{1}".into(),
            ..p[0].clone()
        };
        let back: serde_json::Value = serde_json::from_str(&config_json("m", &[odd])).unwrap();
        assert_eq!(back["profiles"][0]["name"], "a\"b\\c\u{1}");
    }

    #[test]
    fn h264_profiles_by_name_in_any_case() {
        for p in H264Profile::ALL {
            assert_eq!(H264Profile::from_name(&p.as_str().to_ascii_uppercase()), Some(p));
        }
        assert_eq!(
            H264Profile::from_name("H264ConstrainedHigh"),
            Some(H264Profile::ConstrainedHigh)
        );
        assert_eq!(H264Profile::from_name("h265"), None);
    }
}
