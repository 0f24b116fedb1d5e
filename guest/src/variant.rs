//! Components that differ from this one on purpose, for the canary's tests
//! (`tests/tests/canary.rs` builds each with its feature): what a changed
//! remux could really do wrong. None of it is in a component built without
//! these features.
//!
//! - `variant-audio-edit`: the renditions' audio edit list starts at media
//!   time 0, dropping Opus's pre-skip (as a join that rebuilt the audio
//!   track's edit list would).
//! - `variant-trap`: traps on a segment of an odd length.
//! - `variant-slow`: reads each segment's bytes a hundred times over
//!   before probing it.

/// A joined rendition, as the variant changes it.
#[cfg(feature = "variant-audio-edit")]
pub fn joined(mut mp4: Vec<u8>) -> Vec<u8> {
    if let Some(at) = audio_media_time(&mp4) {
        mp4[at..at + 4].copy_from_slice(&0u32.to_be_bytes());
    }
    mp4
}

#[cfg(not(feature = "variant-audio-edit"))]
pub fn joined(mp4: Vec<u8>) -> Vec<u8> {
    mp4
}

/// Before a segment is probed.
pub fn reading(segment: &[u8]) {
    if cfg!(feature = "variant-trap") && segment.len() % 2 == 1 {
        panic!("variant-trap: a segment of odd length");
    }
    if cfg!(feature = "variant-slow") {
        for round in 0..100u32 {
            let sum = segment
                .iter()
                .fold(round, |a, b| a.wrapping_mul(31).wrapping_add(u32::from(*b)));
            std::hint::black_box(sum);
        }
    }
}

/// The boxes directly inside `body`: (type, content).
#[cfg(feature = "variant-audio-edit")]
fn boxes(body: &[u8], base: usize) -> Vec<([u8; 4], usize, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 8 <= body.len() {
        let size = u32::from_be_bytes(body[at..at + 4].try_into().unwrap_or_default()) as usize;
        if size < 8 || at + size > body.len() {
            break;
        }
        let kind = body[at + 4..at + 8].try_into().unwrap_or_default();
        out.push((kind, base + at + 8, base + at + size));
        at += size;
    }
    out
}

/// Where the first edit's media time of the sound track's version-0 `elst`
/// is, if there is one.
#[cfg(feature = "variant-audio-edit")]
fn audio_media_time(mp4: &[u8]) -> Option<usize> {
    let inside = |kind: &[u8; 4], (start, end): (usize, usize)| {
        boxes(&mp4[start..end], start)
            .into_iter()
            .find(|(k, _, _)| k == kind)
            .map(|(_, s, e)| (s, e))
    };
    let moov = inside(b"moov", (0, mp4.len()))?;
    for (kind, start, end) in boxes(&mp4[moov.0..moov.1], moov.0) {
        if &kind != b"trak" {
            continue;
        }
        let mdia = inside(b"mdia", (start, end))?;
        let hdlr = inside(b"hdlr", mdia)?;
        if mp4.get(hdlr.0 + 8..hdlr.0 + 12) != Some(b"soun") {
            continue;
        }
        let elst = inside(b"elst", inside(b"edts", (start, end))?)?;
        // version and flags, entry count, segment duration, media time
        return (mp4[elst.0] == 0 && elst.0 + 16 <= elst.1).then_some(elst.0 + 12);
    }
    None
}
