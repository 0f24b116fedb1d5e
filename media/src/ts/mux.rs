//! Packetizes H.264 access units into a transport stream: PAT and PMT at the
//! start and before every keyframe (so each GOP demuxes on its own), one PES
//! per access unit with PTS and DTS, and a PCR on every PES start.

use crate::buf::WriteBe;

use super::{PACKET, SYNC, psi};
use crate::num::{u8_sat, u32_sat};

/// ffmpeg's choices, so the stream looks familiar in every analyser.
pub const PMT_PID: u16 = 0x1000;
/// PID of the video stream.
pub const VIDEO_PID: u16 = 0x100;

/// How far the PCR runs ahead of the DTS (100 ms).
const PCR_LEAD: i64 = 9_000;

/// Writes a video-only transport stream into a growing buffer, with continuity
/// counters per PID.
pub struct Muxer {
    out: Vec<u8>,
    cc_pat: u8,
    cc_pmt: u8,
    cc_video: u8,
}

impl Muxer {
    /// An empty stream, with room for `bytes` reserved.
    pub fn with_capacity(bytes: usize) -> Self {
        Muxer {
            out: Vec::with_capacity(bytes),
            cc_pat: 0,
            cc_pmt: 0,
            cc_video: 0,
        }
    }

    /// Ends the muxer: the stream written.
    pub fn finish(self) -> Vec<u8> {
        self.out
    }

    /// What was written since the start or the last `clear`.
    pub fn written(&self) -> &[u8] {
        &self.out
    }

    /// Forgets what was written, keeping the continuity counters: the
    /// stream goes on where it was, for a caller that sends it in pieces.
    pub fn clear(&mut self) {
        self.out.clear();
    }

    /// Packets `write_pes` takes for `payload` bytes, or one more: the
    /// first packet gives up to 27 bytes to the PES header (19) and the
    /// PCR's adaptation field (8).
    pub fn packets_for_pes(payload: usize) -> usize {
        (payload + 27).div_ceil(PACKET - 4)
    }

    /// Packets an access unit of `payload` bytes takes, or one more, with
    /// the PAT and PMT that `write_tables` puts before a keyframe.
    pub fn packets_for_access_unit(payload: usize, keyframe: bool) -> usize {
        Self::packets_for_pes(payload) + if keyframe { 2 } else { 0 }
    }

    /// Writes a PAT and a PMT for the video stream, one packet each.
    pub fn write_tables(&mut self) {
        let pat = psi::pat(PMT_PID);
        let pmt = psi::pmt(VIDEO_PID);
        write_section(&mut self.out, 0, &mut self.cc_pat, &pat);
        write_section(&mut self.out, PMT_PID, &mut self.cc_pmt, &pmt);
    }

    /// One PES carrying `pieces` (concatenated) with 90 kHz `pts`/`dts`,
    /// which may be negative or past 2^33; they are written modulo 2^33.
    ///
    /// One pass over the PES, packet by packet (ISO/IEC 13818-1 §2.4.3.2
    /// and §2.4.3.6): header, adaptation field with PCR and stuffing, PES
    /// header, payload. It is long because the first packet differs from
    /// the others and the last is padded; in pieces, each would need the
    /// same half-dozen running counts.
    pub fn write_pes(&mut self, pieces: &[&[u8]], pts: i64, dts: i64, keyframe: bool) {
        let total: usize = pieces.iter().map(|p| p.len()).sum();
        let mut header = Vec::with_capacity(19);
        header.extend_from_slice(&[0, 0, 1, 0xe0, 0, 0]); // length 0: unbounded video PES
        header.u8(0x84); // '10', data_alignment_indicator
        if pts != dts {
            header.u8(0xc0);
            header.u8(10);
            put_timestamp(&mut header, 0x3, pts);
            put_timestamp(&mut header, 0x1, dts);
        } else {
            header.u8(0x80);
            header.u8(5);
            put_timestamp(&mut header, 0x2, pts);
        }

        let mut piece = 0usize;
        let mut within = 0usize;
        let mut left = total;
        let mut first = true;
        // Each packet is appended field by field: the payload is copied once,
        // straight from the access unit into the stream.
        while first || left > 0 {
            let packet_start = self.out.len();
            self.out.reserve(PACKET);
            // Adaptation field: PCR and random access on the first packet.
            let mut af = [0u8; 7];
            let af_len = if first {
                let pcr = dts.wrapping_sub(PCR_LEAD).rem_euclid(1 << 33) as u64;
                af[0] = if keyframe { 0x50 } else { 0x10 };
                af[1..5].copy_from_slice(&u32_sat(pcr >> 1).to_be_bytes());
                af[5..7].copy_from_slice(&((((pcr & 1) as u16) << 15) | 0x7e00).to_be_bytes());
                7
            } else {
                0
            };
            let pes_header = if first { header.len() } else { 0 };
            let room = PACKET - 4 - pes_header - if af_len == 0 { 0 } else { af_len + 1 };
            let take = left.min(room);
            let stuffing = room - take;
            let has_af = af_len > 0 || stuffing > 0;
            let pid = if first { 0x4000 } else { 0 } | VIDEO_PID;
            let [pid_hi, pid_lo] = pid.to_be_bytes();
            let flags = if has_af { 0x30 } else { 0x10 } | self.cc_video;
            self.out.extend_from_slice(&[SYNC, pid_hi, pid_lo, flags]);
            self.cc_video = (self.cc_video + 1) & 0xf;
            if has_af {
                if af_len == 0 && stuffing == 1 {
                    self.out.u8(0); // adaptation_field_length 0
                } else if af_len == 0 {
                    self.out.u8(u8_sat(stuffing - 1));
                    self.out.u8(0); // no flags
                    self.out.resize(self.out.len() + stuffing - 2, 0xff);
                } else {
                    self.out.u8(u8_sat(af_len + stuffing));
                    self.out.extend_from_slice(&af[..af_len]);
                    self.out.resize(self.out.len() + stuffing, 0xff);
                }
            }
            if first {
                self.out.extend_from_slice(&header);
            }
            let mut need = take;
            while need > 0 {
                let p = pieces[piece];
                let n = need.min(p.len() - within);
                self.out.extend_from_slice(&p[within..within + n]);
                within += n;
                need -= n;
                if within == p.len() {
                    piece += 1;
                    within = 0;
                }
            }
            while piece < pieces.len() && within == pieces[piece].len() {
                piece += 1;
                within = 0;
            }
            debug_assert_eq!(self.out.len() - packet_start, PACKET);
            left -= take;
            first = false;
        }
    }
}

/// A PSI section in one packet (ours are far below 183 bytes).
fn write_section(out: &mut Vec<u8>, pid: u16, cc: &mut u8, section: &[u8]) {
    let start = out.len();
    out.u8(SYNC);
    out.u16(0x4000 | pid);
    out.u8(0x10 | *cc);
    *cc = (*cc + 1) & 0xf;
    out.u8(0); // pointer_field
    out.extend_from_slice(section);
    out.resize(start + PACKET, 0xff);
}

/// PTS/DTS field (§2.4.3.7): 4-bit prefix, 33 bits with marker bits.
fn put_timestamp(out: &mut Vec<u8>, prefix: u8, ts: i64) {
    let t = ts.rem_euclid(1 << 33) as u64;
    out.u8((prefix << 4) | ((u8_sat(t >> 30) & 0x7) << 1) | 1);
    out.u16((((t >> 15) & 0x7fff) as u16) << 1 | 1);
    out.u16(((t & 0x7fff) as u16) << 1 | 1);
}

#[cfg(test)]
mod tests {
    use super::super::demux::Demuxer;
    use super::*;

    #[test]
    fn packets_for_pes_is_exact_or_one_over() {
        for size in 0..2000usize {
            let payload = vec![7u8; size];
            for (pts, dts) in [(900_000, 900_000), (903_003, 900_000)] {
                let mut mux = Muxer::with_capacity(0);
                mux.write_pes(&[&payload], pts, dts, false);
                let written = mux.finish().len() / PACKET;
                let bound = Muxer::packets_for_pes(size);
                assert!(
                    written <= bound && bound <= written + 1,
                    "size {size}: {written} packets, bound {bound}"
                );
            }
        }
    }

    #[test]
    fn pes_round_trips_through_the_demuxer_at_every_size() {
        for size in [0usize, 1, 150, 157, 158, 159, 182, 183, 184, 300, 341, 342, 5000] {
            let payload: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            let mut mux = Muxer::with_capacity(0);
            mux.write_tables();
            mux.write_pes(&[&payload[..size / 2], &payload[size / 2..]], 900_100, 900_000, true);
            mux.write_pes(&[&payload], -5, -9, false);
            let ts = mux.finish();
            assert_eq!(ts.len() % PACKET, 0);
            let demux = Demuxer::new(&ts).unwrap();
            let mut got = Vec::new();
            demux
                .for_each_access_unit(|au| {
                    got.push((Some(au.pts), Some(au.dts), au.data.to_vec(), au.random_access));
                    Ok::<_, crate::Error>(())
                })
                .unwrap();
            assert_eq!(got.len(), 2, "size {size}");
            assert_eq!(got[0], (Some(900_100), Some(900_000), payload.clone(), true));
            assert_eq!(got[1].0, Some((1u64 << 33) - 5));
            assert_eq!(got[1].2, payload);
        }
    }
}
