//! The edge component's settings, read from `wasi:cli/environment`, the way
//! edge hosts pass them (`wasmtime serve --env`, Spin variables, Node's
//! environment). A bad value is refused by name, never guessed around.

use crate::ladder::{self, Rung};
use lpbridge_media::verify::Verify;

/// The body limit when `LPBRIDGE_MAX_BODY_MIB` is unset, as `lpbridge serve`.
pub const DEFAULT_MAX_BODY_MIB: u32 = 64;

/// Linear memory is 4 GiB at most, and the segment is held twice.
const MAX_BODY_MIB: u32 = 1024;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The gateway's base URL (`LPBRIDGE_GATEWAY`), already checked to
    /// address one.
    pub gateway: String,
    /// The rungs the default ladder offers (`LPBRIDGE_RENDITIONS`, names
    /// from the default ladder; all of it when unset).
    pub ladder: Vec<Rung>,
    /// Renditions as fragmented MP4s (`LPBRIDGE_FRAGMENTED`).
    pub fragmented: bool,
    /// Request bodies above this are refused (`LPBRIDGE_MAX_BODY_MIB`).
    pub max_body: usize,
    /// Each rendition checked against its profile and the source
    /// (`LPBRIDGE_VERIFY`: off, warn or strict, as `lpbridge serve --verify`).
    pub verify: Option<Verify>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("not configured: set LPBRIDGE_GATEWAY to the gateway's base URL (for example http://127.0.0.1:8935)")]
    NoGateway,
    #[error("not configured: {name}={value:?}: {why}")]
    Invalid {
        name: &'static str,
        value: String,
        why: String,
    },
}

impl Config {
    /// Reads the settings from the environment's variables; unknown ones are
    /// the host's business.
    pub fn from_vars<I: IntoIterator<Item = (String, String)>>(vars: I) -> Result<Config, ConfigError> {
        let vars: Vec<(String, String)> = vars.into_iter().collect();
        let get = |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let invalid = |name: &'static str, value: &str, why: &str| ConfigError::Invalid {
            name,
            value: value.to_string(),
            why: why.to_string(),
        };

        let gateway = get("LPBRIDGE_GATEWAY")
            .map(str::trim)
            .filter(|g| !g.is_empty())
            .ok_or(ConfigError::NoGateway)?;
        crate::session::target(gateway, "probe", 0)
            .map_err(|e| invalid("LPBRIDGE_GATEWAY", gateway, &e.to_string()))?;

        let ladder = match get("LPBRIDGE_RENDITIONS").map(str::trim).filter(|v| !v.is_empty()) {
            None => ladder::default_ladder(),
            Some(names) => ladder::select(&ladder::default_ladder(), names).map_err(|unknown| {
                invalid(
                    "LPBRIDGE_RENDITIONS",
                    names,
                    &format!("{unknown} is not a rung of the ladder (1080p, 720p, 360p, 240p, 160p)"),
                )
            })?,
        };

        let fragmented = match get("LPBRIDGE_FRAGMENTED").map(|v| v.trim().to_ascii_lowercase()) {
            None => false,
            Some(v) => match v.as_str() {
                "" | "0" | "false" | "no" => false,
                "1" | "true" | "yes" => true,
                _ => return Err(invalid("LPBRIDGE_FRAGMENTED", &v, "use true or false")),
            },
        };

        let max_body_mib = match get("LPBRIDGE_MAX_BODY_MIB").map(str::trim) {
            None | Some("") => DEFAULT_MAX_BODY_MIB,
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|m| (1..=MAX_BODY_MIB).contains(m))
                .ok_or_else(|| {
                    invalid(
                        "LPBRIDGE_MAX_BODY_MIB",
                        v,
                        &format!("a whole number of MiB, 1 to {MAX_BODY_MIB}"),
                    )
                })?,
        };

        let verify = match get("LPBRIDGE_VERIFY").map(|v| v.trim().to_ascii_lowercase()) {
            None => Some(Verify::Strict),
            Some(v) => match v.as_str() {
                "" | "strict" => Some(Verify::Strict),
                "warn" => Some(Verify::Warn),
                "off" => None,
                _ => return Err(invalid("LPBRIDGE_VERIFY", &v, "use off, warn or strict")),
            },
        };

        Ok(Config {
            gateway: gateway.to_string(),
            ladder,
            fragmented,
            max_body: (max_body_mib as usize) << 20,
            verify,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_gateway_alone_gives_serves_defaults() {
        let c = Config::from_vars(vars(&[("LPBRIDGE_GATEWAY", "http://127.0.0.1:8935"), ("PATH", "/bin")])).unwrap();
        assert_eq!(c.gateway, "http://127.0.0.1:8935");
        assert_eq!(c.ladder, ladder::default_ladder());
        assert!(!c.fragmented);
        assert_eq!(c.max_body, 64 << 20);
        assert_eq!(c.verify, Some(Verify::Strict));
    }

    #[test]
    fn without_a_gateway_the_message_says_what_to_set() {
        let e = Config::from_vars(vars(&[("LPBRIDGE_GATEWAY", " ")])).unwrap_err();
        assert_eq!(e, ConfigError::NoGateway);
        assert!(e.to_string().contains("set LPBRIDGE_GATEWAY"), "{e}");
    }

    #[test]
    fn each_bad_value_is_refused_by_its_name() {
        let with = |k: &str, v: &str| Config::from_vars(vars(&[("LPBRIDGE_GATEWAY", "http://gw:1"), (k, v)]));
        for (k, v, said) in [
            ("LPBRIDGE_RENDITIONS", "720p,480p", "480p is not a rung"),
            ("LPBRIDGE_FRAGMENTED", "maybe", "use true or false"),
            ("LPBRIDGE_MAX_BODY_MIB", "0", "1 to 1024"),
            ("LPBRIDGE_MAX_BODY_MIB", "64k", "1 to 1024"),
            ("LPBRIDGE_VERIFY", "loud", "off, warn or strict"),
        ] {
            let e = with(k, v).unwrap_err().to_string();
            assert!(e.contains(k) && e.contains(said), "{k}={v}: {e}");
        }
        let e = Config::from_vars(vars(&[("LPBRIDGE_GATEWAY", "ftp://gw")])).unwrap_err();
        assert!(e.to_string().contains("LPBRIDGE_GATEWAY=\"ftp://gw\""), "{e}");
        let c = with("LPBRIDGE_RENDITIONS", "360p, 160p").unwrap();
        assert_eq!(
            c.ladder.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
            ["360p", "160p"]
        );
        assert!(with("LPBRIDGE_FRAGMENTED", "TRUE").unwrap().fragmented);
        assert_eq!(with("LPBRIDGE_VERIFY", "off").unwrap().verify, None);
        assert_eq!(with("LPBRIDGE_MAX_BODY_MIB", "2").unwrap().max_body, 2 << 20);
    }
}
