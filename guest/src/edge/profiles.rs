//! The profiles a caller asks for in its own `Livepeer-Transcode-Configuration`
//! header, in go-livepeer's JSON (`{"profiles": [{"name", "width", "height",
//! "bitrate", "fps", "fpsDen", "profile"}, ...]}`). Fields go-livepeer has
//! and the bridge does not use (`gop`, `encoder`, ...) are ignored; a
//! profile the bridge cannot check a rendition against is refused.

use serde::Deserialize;

use lpbridge_contract::ladder::{FrameRate, H264Profile, Profile};

#[derive(Deserialize)]
struct Configuration {
    #[serde(default)]
    profiles: Vec<JsonProfile>,
}

#[derive(Deserialize)]
struct JsonProfile {
    #[serde(default)]
    name: String,
    #[serde(default)]
    width: u32,
    #[serde(default)]
    height: u32,
    #[serde(default)]
    bitrate: u64,
    #[serde(default)]
    fps: u32,
    #[serde(default, rename = "fpsDen")]
    fps_den: u32,
    #[serde(default)]
    profile: String,
}

/// The header's profiles, or why they cannot be used.
pub fn from_header(value: &str) -> Result<Vec<Profile>, String> {
    let config: Configuration = serde_json::from_str(value).map_err(|e| format!("not go-livepeer's JSON: {e}"))?;
    if config.profiles.is_empty() {
        return Err("no profiles".into());
    }
    config
        .profiles
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let which = if p.name.is_empty() {
                format!("profile {i}")
            } else {
                format!("profile {:?}", p.name)
            };
            if p.name.is_empty() || p.name.contains(['\r', '\n', '"']) {
                return Err(format!("{which}: a name without quotes or line breaks is needed"));
            }
            if p.width == 0 || p.height == 0 {
                return Err(format!("{which}: width and height are needed"));
            }
            let h264_profile = match p.profile.to_ascii_lowercase().as_str() {
                "" | "none" => None,
                _ => match H264Profile::from_name(&p.profile) {
                    Some(h) => Some(h),
                    None => return Err(format!("{which}: unknown H.264 profile {:?}", p.profile)),
                },
            };
            Ok(Profile {
                name: p.name,
                width: p.width,
                height: p.height,
                bitrate: p.bitrate,
                // go-livepeer: fps 0 keeps the source's rate, fpsDen 0 is 1.
                fps: (p.fps > 0).then(|| FrameRate {
                    num: p.fps,
                    den: p.fps_den.max(1),
                }),
                h264_profile,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ladder::config_json;

    #[test]
    fn the_header_the_bridge_sends_reads_back_as_its_profiles() {
        let sent = crate::ladder::renditions(
            &crate::ladder::default_ladder(),
            3840,
            2160,
            Some(FrameRate { num: 60, den: 1 }),
        );
        assert_eq!(from_header(&config_json("m", &sent)).unwrap(), sent);
    }

    #[test]
    fn go_livepeer_spelling_is_taken_and_bad_profiles_are_named() {
        let p = from_header(
            r#"{"manifestID":"x","profiles":[{"name":"P240p30fps16x9","width":426,"height":240,"bitrate":600000,"fps":30,"profile":"H264Baseline","gop":"2.0"}]}"#,
        )
        .unwrap();
        assert_eq!(
            (p[0].fps, p[0].h264_profile),
            (Some(FrameRate { num: 30, den: 1 }), Some(H264Profile::Baseline))
        );
        for (header, said) in [
            ("{", "not go-livepeer's JSON"),
            (r#"{"profiles":[]}"#, "no profiles"),
            (
                r#"{"profiles":[{"name":"a","width":10}]}"#,
                "profile \"a\": width and height",
            ),
            (r#"{"profiles":[{"width":10,"height":10}]}"#, "profile 0: a name"),
            (
                r#"{"profiles":[{"name":"a","width":2,"height":2,"profile":"vp9"}]}"#,
                "unknown H.264 profile",
            ),
        ] {
            let e = from_header(header).unwrap_err();
            assert!(e.contains(said), "{header}: {e}");
        }
    }
}
