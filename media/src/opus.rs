//! What an Opus packet says about itself: its length in time, from its
//! table-of-contents byte (RFC 6716 §3.1). An Opus packet's duration is in
//! its first byte or two, so a check can compare the container's timestamps
//! with what the packets hold without decoding them.

/// Samples per frame at 48 kHz, for each of the 32 TOC configurations
/// (RFC 6716 Table 2): SILK 10/20/40/60 ms, Hybrid 10/20 ms, CELT
/// 2.5/5/10/20 ms.
const FRAME_SAMPLES: [u32; 32] = [
    480, 960, 1920, 2880, // SILK NB
    480, 960, 1920, 2880, // SILK MB
    480, 960, 1920, 2880, // SILK WB
    480, 960, // Hybrid SWB
    480, 960, // Hybrid FB
    120, 240, 480, 960, // CELT NB
    120, 240, 480, 960, // CELT WB
    120, 240, 480, 960, // CELT SWB
    120, 240, 480, 960, // CELT FB
];

/// The packet's duration in 48 kHz samples, or `None` when its first bytes
/// are not a valid TOC (empty, or code 3 without its frame count, or a count
/// past the 120 ms a packet may hold).
pub fn packet_samples(packet: &[u8]) -> Option<u32> {
    let toc = *packet.first()?;
    let per_frame = FRAME_SAMPLES[(toc >> 3) as usize];
    let frames = match toc & 0b11 {
        0 => 1,
        1 | 2 => 2,
        _ => (*packet.get(1)? & 0x3f) as u32,
    };
    let samples = per_frame * frames;
    (frames > 0 && samples <= 5760).then_some(samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_from_the_toc() {
        // CELT FB 20 ms, one frame: what libopus writes by default.
        assert_eq!(packet_samples(&[0xfc]), Some(960));
        // SILK NB 60 ms, two frames of equal size.
        assert_eq!(packet_samples(&[(3 << 3) | 1]), Some(5760));
        // CELT NB 2.5 ms, code 3 with 6 frames.
        assert_eq!(packet_samples(&[(16 << 3) | 3, 6]), Some(720));
        // Hybrid FB 10 ms, code 2.
        assert_eq!(packet_samples(&[(14 << 3) | 2]), Some(960));
    }

    #[test]
    fn invalid_tocs_have_no_length() {
        assert_eq!(packet_samples(&[]), None);
        assert_eq!(packet_samples(&[0xff]), None, "code 3 without its count");
        assert_eq!(packet_samples(&[0xff, 0]), None, "zero frames");
        assert_eq!(packet_samples(&[(3 << 3) | 3, 3]), None, "180 ms");
    }
}
