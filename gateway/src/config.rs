//! The `Livepeer-Transcode-Configuration` header, read the way go-livepeer's
//! `encoding/json` does: keys match case-insensitively, unknown keys are
//! ignored, a value of the wrong JSON type is a 400, and what is well typed
//! but meaningless (an unknown H.264 profile, a GOP of "soon") fails later,
//! at session creation, as a 500.

use serde_json::{Map, Value};

/// A wrong JSON type or syntax: go-livepeer answers 400
/// "failed to parse transcode config header: ...".
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// Well typed but not something we can make: 500 "Could not create stream ID".
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ProfileError(pub String);

#[derive(Clone, Debug, Default, PartialEq)]
pub struct TranscodeConfig {
    pub manifest_id: String,
    /// `None` when the key is absent; `Some(vec![])` asks for no renditions.
    pub profiles: Option<Vec<ProfileSpec>>,
    pub presets: Vec<String>,
    pub force_session_reinit: bool,
}

/// A profile as sent, before it is checked.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProfileSpec {
    pub name: String,
    pub width: i64,
    pub height: i64,
    pub bitrate: i64,
    pub fps: u64,
    pub fps_den: u64,
    pub profile: String,
    pub gop: String,
    pub encoder: String,
}

/// When a rendition gets keyframes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Gop {
    /// Only the first frame.
    Default,
    Seconds(f64),
    /// Every frame.
    Intra,
}

/// A checked profile; a 0 dimension follows the source's aspect ratio.
#[derive(Clone, Debug, PartialEq)]
pub struct Rendition {
    pub name: String,
    pub width: u32,
    pub height: u32,
    pub bitrate: u64,
    /// Output frame rate as num/den; `None` keeps the source's.
    pub fps: Option<(u64, u64)>,
    pub gop: Gop,
    /// The profile asked for, lower case ("" = encoder's choice).
    pub profile: String,
}

impl TranscodeConfig {
    pub fn parse(header: &str) -> Result<Self, ConfigError> {
        let value: Value = serde_json::from_str(header).map_err(|e| ConfigError(e.to_string()))?;
        let Some(object) = as_object(&value, "config")? else {
            return Ok(TranscodeConfig::default());
        };
        let mut config = TranscodeConfig {
            manifest_id: string(object, "manifestID")?,
            force_session_reinit: boolean(object, "forceSessionReinit")?,
            ..TranscodeConfig::default()
        };
        if let Some(presets) = array(object, "presets")? {
            for p in presets {
                match p {
                    Value::String(s) => config.presets.push(s.clone()),
                    other => return Err(type_error("presets", "string", other)),
                }
            }
        }
        if let Some(profiles) = array(object, "profiles")? {
            let mut specs = Vec::with_capacity(profiles.len());
            for p in profiles {
                specs.push(ProfileSpec::from_json(p)?);
            }
            config.profiles = Some(specs);
        }
        Ok(config)
    }

    /// The renditions to make: named presets, then the profiles; with
    /// neither, go-livepeer's defaults (P240p30fps4x3, P360p30fps16x9).
    pub fn renditions(&self) -> Result<Vec<Rendition>, ProfileError> {
        let mut out: Vec<Rendition> = self.presets.iter().filter_map(|p| preset(p)).collect();
        match &self.profiles {
            Some(specs) => {
                for s in specs {
                    out.push(s.check()?);
                }
            }
            None if self.presets.is_empty() => out = default_renditions(),
            None => {}
        }
        Ok(out)
    }
}

impl ProfileSpec {
    fn from_json(value: &Value) -> Result<Self, ConfigError> {
        let Some(o) = as_object(value, "profiles")? else {
            return Ok(ProfileSpec::default());
        };
        Ok(ProfileSpec {
            name: string(o, "name")?,
            width: int(o, "width")?,
            height: int(o, "height")?,
            bitrate: int(o, "bitrate")?,
            fps: uint(o, "fps")?,
            fps_den: uint(o, "fpsDen")?,
            profile: string(o, "profile")?,
            gop: string(o, "gop")?,
            encoder: string(o, "encoder")?,
        })
    }

    pub fn check(&self) -> Result<Rendition, ProfileError> {
        let bad = |what: String| Err(ProfileError(what));
        if self.width < 0 || self.height < 0 || self.width > 8192 || self.height > 8192 {
            return bad(format!("resolution {}x{} is out of range", self.width, self.height));
        }
        if self.width == 0 && self.height == 0 {
            return bad("a profile needs a width or a height".into());
        }
        if self.bitrate <= 0 {
            return bad(format!("bitrate {} is not positive", self.bitrate));
        }
        if !matches!(self.encoder.to_ascii_lowercase().as_str(), "" | "h.264" | "h264") {
            return bad(format!("encoder {:?} is not supported here (H.264 only)", self.encoder));
        }
        let profile = self.profile.to_ascii_lowercase();
        if !matches!(
            profile.as_str(),
            "" | "none" | "h264baseline" | "h264main" | "h264high" | "h264constrainedhigh"
        ) {
            return bad(format!("unknown profile {:?}", self.profile));
        }
        let gop = match self.gop.trim() {
            "" => Gop::Default,
            "intra" => Gop::Intra,
            s => match s.parse::<f64>() {
                Ok(secs) if secs.is_finite() && secs > 0.0 => Gop::Seconds(secs),
                Ok(0.0) => Gop::Default,
                _ => return bad(format!("gop {s:?} is not seconds or \"intra\"")),
            },
        };
        let name = if self.name.is_empty() {
            format!("custom_{}x{}_{}", self.width, self.height, self.bitrate)
        } else {
            self.name.clone()
        };
        Ok(Rendition {
            name,
            width: self.width as u32,
            height: self.height as u32,
            bitrate: self.bitrate as u64,
            fps: (self.fps > 0).then(|| (self.fps, self.fps_den.max(1))),
            gop,
            profile,
        })
    }
}

impl Rendition {
    /// The output size for a `src_w`×`src_h` source: a missing dimension
    /// follows the source's aspect; both are rounded to even.
    pub fn size_for(&self, src_w: u32, src_h: u32) -> (u32, u32) {
        // num/den rounded to the nearest even number.
        let even = |num: u64, den: u64| (((num + den) / (2 * den)) * 2).clamp(2, 8192) as u32;
        let (sw, sh) = (src_w.max(1) as u64, src_h.max(1) as u64);
        match (self.width as u64, self.height as u64) {
            (0, h) => (even(h * sw, sh), even(h, 1)),
            (w, 0) => (even(w, 1), even(w * sh, sw)),
            (w, h) => (even(w, 1), even(h, 1)),
        }
    }
}

fn rendition(name: &str, width: u32, height: u32, bitrate: u64, fps: u64) -> Rendition {
    Rendition {
        name: name.into(),
        width,
        height,
        bitrate,
        fps: Some((fps, 1)),
        gop: Gop::Default,
        profile: String::new(),
    }
}

/// go-livepeer's defaults when a request names no profile.
pub fn default_renditions() -> Vec<Rendition> {
    vec![
        rendition("P240p30fps4x3", 320, 240, 600_000, 30),
        rendition("P360p30fps16x9", 640, 360, 1_200_000, 30),
    ]
}

/// lpms' named presets (`ffmpeg.VideoProfileLookup`); unknown names are
/// ignored, as upstream does.
fn preset(name: &str) -> Option<Rendition> {
    let (w, h, kbps, fps) = match name {
        "P720p60fps16x9" => (1280, 720, 6000, 60),
        "P720p30fps16x9" => (1280, 720, 4000, 30),
        "P720p25fps16x9" => (1280, 720, 3500, 25),
        "P720p30fps4x3" => (960, 720, 3500, 30),
        "P576p30fps16x9" => (1024, 576, 1500, 30),
        "P576p25fps16x9" => (1024, 576, 1500, 25),
        "P360p30fps16x9" => (640, 360, 1200, 30),
        "P360p25fps16x9" => (640, 360, 1000, 25),
        "P360p30fps4x3" => (480, 360, 1000, 30),
        "P360p25fps4x3" => (480, 360, 800, 25),
        "P240p30fps16x9" => (426, 240, 600, 30),
        "P240p25fps16x9" => (426, 240, 600, 25),
        "P240p30fps4x3" => (320, 240, 600, 30),
        "P240p25fps4x3" => (320, 240, 600, 25),
        "P144p30fps16x9" => (256, 144, 400, 30),
        "P144p25fps16x9" => (256, 144, 400, 25),
        _ => return None,
    };
    Some(rendition(name, w, h, kbps * 1000, fps))
}

// Case-insensitive field access with Go's type rules.

fn field<'a>(o: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    o.get(key)
        .or_else(|| o.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
        .filter(|v| !v.is_null())
}

fn type_error(key: &str, want: &str, got: &Value) -> ConfigError {
    let kind = match got {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    ConfigError(format!("json: cannot unmarshal {kind} into field {key} of type {want}"))
}

fn as_object<'a>(v: &'a Value, key: &str) -> Result<Option<&'a Map<String, Value>>, ConfigError> {
    match v {
        Value::Null => Ok(None),
        Value::Object(o) => Ok(Some(o)),
        other => Err(type_error(key, "object", other)),
    }
}

fn string(o: &Map<String, Value>, key: &str) -> Result<String, ConfigError> {
    match field(o, key) {
        None => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(type_error(key, "string", other)),
    }
}

fn boolean(o: &Map<String, Value>, key: &str) -> Result<bool, ConfigError> {
    match field(o, key) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(type_error(key, "bool", other)),
    }
}

fn int(o: &Map<String, Value>, key: &str) -> Result<i64, ConfigError> {
    match field(o, key) {
        None => Ok(0),
        Some(Value::Number(n)) => n
            .as_i64()
            .ok_or_else(|| type_error(key, "int", &Value::Number(n.clone()))),
        Some(other) => Err(type_error(key, "int", other)),
    }
}

fn uint(o: &Map<String, Value>, key: &str) -> Result<u64, ConfigError> {
    match field(o, key) {
        None => Ok(0),
        Some(Value::Number(n)) => n
            .as_u64()
            .ok_or_else(|| type_error(key, "uint", &Value::Number(n.clone()))),
        Some(other) => Err(type_error(key, "uint", other)),
    }
}

fn array<'a>(o: &'a Map<String, Value>, key: &str) -> Result<Option<&'a Vec<Value>>, ConfigError> {
    match field(o, key) {
        None => Ok(None),
        Some(Value::Array(a)) => Ok(Some(a)),
        Some(other) => Err(type_error(key, "array", other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_match_case_insensitively_and_unknown_keys_are_ignored() {
        let c = TranscodeConfig::parse(
            r#"{"MANIFESTID":"m","whatever":1,"Profiles":[{"NAME":"360p","width":640,"HEIGHT":360,"bitrate":1000000,"fps":30,"gop":"2"}]}"#,
        )
        .unwrap();
        assert_eq!(c.manifest_id, "m");
        let r = c.renditions().unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!((r[0].name.as_str(), r[0].width, r[0].height), ("360p", 640, 360));
        assert_eq!(r[0].gop, Gop::Seconds(2.0));
        assert_eq!(r[0].fps, Some((30, 1)));
    }

    #[test]
    fn wrong_types_are_config_errors() {
        for bad in [
            "{",
            r#"{"profiles":{}}"#,
            r#"{"profiles":[{"width":"640"}]}"#,
            r#"{"profiles":[{"gop":2}]}"#,
            r#"{"profiles":[{"fps":-1}]}"#,
            r#"[1]"#,
        ] {
            assert!(TranscodeConfig::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn absent_profiles_mean_defaults_and_empty_means_none() {
        assert_eq!(
            TranscodeConfig::parse("{}").unwrap().renditions().unwrap(),
            default_renditions()
        );
        let empty = TranscodeConfig::parse(r#"{"profiles":[]}"#).unwrap();
        assert!(empty.renditions().unwrap().is_empty());
        let preset = TranscodeConfig::parse(r#"{"presets":["P144p30fps16x9","nope"]}"#).unwrap();
        assert_eq!(preset.renditions().unwrap().len(), 1);
    }

    #[test]
    fn meaningless_profiles_are_profile_errors() {
        for bad in [
            r#"{"profiles":[{"width":640,"height":360,"bitrate":1000,"profile":"H265Main"}]}"#,
            r#"{"profiles":[{"width":640,"height":360,"bitrate":1000,"gop":"soon"}]}"#,
            r#"{"profiles":[{"width":640,"height":360,"bitrate":1000,"encoder":"VP9"}]}"#,
            r#"{"profiles":[{"bitrate":1000}]}"#,
            r#"{"profiles":[{"width":640,"height":360}]}"#,
        ] {
            assert!(TranscodeConfig::parse(bad).unwrap().renditions().is_err(), "{bad}");
        }
    }

    #[test]
    fn one_dimension_follows_the_source_aspect() {
        let spec = ProfileSpec {
            height: 360,
            bitrate: 1,
            ..ProfileSpec::default()
        };
        let r = spec.check().unwrap();
        assert_eq!(r.name, "custom_0x360_1");
        assert_eq!(r.size_for(1920, 1080), (640, 360));
        assert_eq!(r.size_for(720, 1280), (202, 360));
        let w = ProfileSpec {
            width: 427,
            bitrate: 1,
            ..ProfileSpec::default()
        };
        assert_eq!(w.check().unwrap().size_for(1280, 720), (428, 240));
    }
}
