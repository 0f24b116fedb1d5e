//! The gateway's manifest for a caller's segment. A gateway fixes a
//! manifest's profiles when its first segment arrives, so a caller whose
//! ladder changes (a phone turned, a frame rate changed) must not keep
//! sending to the same manifest. The edge keeps no session to notice the
//! change, and must not count on the caller to: the manifest it sends to is
//! the caller's name and a short digest of the profiles, so each set of
//! profiles has a manifest of its own, and the same set always the same one.

use crate::ladder::{Profile, config_json};

/// `<caller's manifest>-<8 hex digits>`: FNV-1a (32 bits) over the
/// profiles as the gateway's header spells them, without the manifest. A
/// name, not a secret, which is why no cryptographic digest (and no crate
/// for a dozen lines).
pub fn gateway_manifest(caller: &str, profiles: &[Profile]) -> String {
    format!("{caller}-{:08x}", fnv1a(config_json("", profiles).as_bytes()))
}

fn fnv1a(bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .fold(0x811c_9dc5, |h, &b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ladder::{default_ladder, renditions};
    use lpbridge_contract::FrameRate;

    #[test]
    fn each_set_of_profiles_has_a_manifest_of_its_own() {
        let fps = |n| Some(FrameRate { num: n, den: 1 });
        let landscape = renditions(&default_ladder(), 1920, 1080, fps(60));
        let portrait = renditions(&default_ladder(), 1080, 1920, fps(60));
        let other_rate = renditions(&default_ladder(), 1920, 1080, fps(50));
        let a = gateway_manifest("phone", &landscape);
        assert!(a.starts_with("phone-") && a.len() == "phone-".len() + 8, "{a}");
        assert_eq!(
            a,
            gateway_manifest("phone", &landscape),
            "the same profiles, the same manifest"
        );
        assert_ne!(a, gateway_manifest("phone", &portrait));
        assert_ne!(a, gateway_manifest("phone", &other_rate));
        assert_ne!(a, gateway_manifest("tablet", &landscape));
        // FNV-1a's published check value: the digest is the standard one.
        assert_eq!(fnv1a(b"a"), 0xe40c_292c);
    }
}
