//! The rendition ladder, as Streamplace generates it (pkg/renditions):
//! rungs at or above the source size are skipped, each rung keeps the
//! source's aspect ratio, a portrait source is laddered as landscape and
//! turned back, and a rung at well under the source's frame rate is sent at
//! half of it. Both dimensions are sent, rounded to even (upstream PR #1283).

use crate::info::FrameRate;

/// One rung: its name, box, bitrate, frame rate and H.264 profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rung {
    pub name: String,
    pub width: u32,
    pub height: u32,
    pub bitrate: u64,
    pub fps: u32,
    pub profile: String,
}

/// What the gateway is asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    pub name: String,
    pub width: u32,
    pub height: u32,
    pub bitrate: u64,
    /// 0: the source's rate.
    pub fps: u32,
    pub fps_den: u32,
    pub profile: String,
}

/// Upstream's ladder: 1080p, 720p, 360p, 240p, 160p (no 480p).
pub fn default_ladder() -> Vec<Rung> {
    let rung = |name: &str, width, height, bitrate, fps, profile: &str| Rung {
        name: name.into(),
        width,
        height,
        bitrate,
        fps,
        profile: profile.into(),
    };
    vec![
        rung("1080p", 1920, 1080, 6_000_000, 60, "h264constrainedhigh"),
        rung("720p", 1280, 720, 3_000_000, 60, ""),
        rung("360p", 640, 360, 1_000_000, 30, ""),
        rung("240p", 426, 240, 500_000, 30, ""),
        rung("160p", 284, 160, 250_000, 30, "h264baseline"),
    ]
}

/// Picks rungs by name from `ladder` ("720p,360p"); unknown names are
/// returned as the error.
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
    let mut out = Vec::new();
    for r in ladder {
        if w <= r.width as u64 && h <= r.height as u64 {
            continue; // no upscaling, and no rung the source already is
        }
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
        let (mut fps, mut fps_den) = (0, 0);
        if let Some(src) = rate.filter(|f| f.num > 0 && f.den > 0) {
            let src_fps = src.num as f64 / src.den as f64;
            if (r.fps as f64) < src_fps && (r.fps as f64 / src_fps) < 0.75 {
                fps = src.num;
                fps_den = src.den.saturating_mul(2);
            }
        }
        out.push(Profile {
            name: r.name.clone(),
            width: pw,
            height: ph,
            bitrate: r.bitrate,
            fps,
            fps_den,
            profile: r.profile.clone(),
        });
    }
    out
}

/// The `Livepeer-Transcode-Configuration` header value.
pub fn config_json(manifest: &str, profiles: &[Profile]) -> String {
    let mut s = format!("{{\"manifestID\":{},\"profiles\":[", json_str(manifest));
    for (i, p) in profiles.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&format!(
            "{{\"name\":{},\"width\":{},\"height\":{},\"bitrate\":{}",
            json_str(&p.name),
            p.width,
            p.height,
            p.bitrate
        ));
        if p.fps > 0 {
            s.push_str(&format!(",\"fps\":{},\"fpsDen\":{}", p.fps, p.fps_den.max(1)));
        }
        if !p.profile.is_empty() {
            s.push_str(&format!(",\"profile\":{}", json_str(&p.profile)));
        }
        s.push('}');
    }
    s.push_str("]}");
    s
}

fn json_str(v: &str) -> String {
    let mut s = String::with_capacity(v.len() + 2);
    s.push('"');
    for c in v.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            c if (c as u32) < 0x20 => s.push_str(&format!("\\u{:04x}", c as u32)),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const FPS60: Option<FrameRate> = Some(FrameRate { num: 60, den: 1 });

    #[test]
    fn a_1080p60_source_gets_the_rungs_below_it() {
        let p = renditions(&default_ladder(), 1920, 1080, FPS60);
        let names: Vec<_> = p.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["720p", "360p", "240p", "160p"]);
        assert_eq!((p[0].width, p[0].height, p[0].fps), (1280, 720, 0));
        // 30 fps rungs of a 60 fps source: half the source's rate.
        assert_eq!((p[1].width, p[1].height, p[1].fps, p[1].fps_den), (640, 360, 60, 2));
        assert_eq!((p[2].width, p[2].height), (426, 240));
        assert_eq!(
            (p[3].width, p[3].height, p[3].profile.as_str()),
            (284, 160, "h264baseline")
        );
    }

    #[test]
    fn portrait_and_odd_aspects_stay_even() {
        let p = renditions(&default_ladder(), 1080, 1920, FPS60);
        assert_eq!((p[0].width, p[0].height), (720, 1280));
        let p = renditions(&default_ladder(), 4000, 1000, Some(FrameRate { num: 30, den: 1 }));
        assert_eq!((p[0].width, p[0].height, p[0].fps), (1920, 480, 0));
        assert!(p.iter().all(|p| p.width % 2 == 0 && p.height % 2 == 0));
        assert!(renditions(&default_ladder(), 284, 160, FPS60).is_empty());
    }

    #[test]
    fn config_header_is_upstream_json() {
        let p = renditions(&default_ladder(), 3840, 2160, FPS60);
        let j = config_json("did-x-abcd1234-5ren", &p[..1]);
        assert_eq!(
            j,
            r#"{"manifestID":"did-x-abcd1234-5ren","profiles":[{"name":"1080p","width":1920,"height":1080,"bitrate":6000000,"profile":"h264constrainedhigh"}]}"#
        );
        assert_eq!(select(&default_ladder(), "720p, 160p").unwrap().len(), 2);
        assert_eq!(select(&default_ladder(), "480p").unwrap_err(), "480p");
    }
}
