//! Program-specific information: PAT and PMT sections (§2.4.4) and the
//! MPEG-2 CRC-32 that ends them.

use crate::buf::WriteBe;
use crate::error::{Error, Result};

/// CRC-32/MPEG-2: polynomial 0x04C11DB7, no reflection, init all ones.
pub fn crc32(data: &[u8]) -> u32 {
    static TABLE: [u32; 256] = {
        let mut t = [0u32; 256];
        let mut i = 0usize;
        let mut c0 = 0u32; // `i`, as the u32 the table is built from
        while i < 256 {
            let mut c = c0 << 24;
            let mut k = 0;
            while k < 8 {
                c = if c & 0x8000_0000 != 0 {
                    (c << 1) ^ 0x04c1_1db7
                } else {
                    c << 1
                };
                k += 1;
            }
            t[i] = c;
            i += 1;
            c0 += 1;
        }
        t
    };
    data.iter().fold(0xffff_ffff, |crc, &b| {
        (crc << 8) ^ TABLE[((crc >> 24) as u8 ^ b) as usize]
    })
}

/// A PAT for one program whose PMT is on `pmt_pid`.
pub fn pat(pmt_pid: u16) -> Vec<u8> {
    let mut s = Vec::with_capacity(16);
    s.u8(0x00); // table_id
    s.u16(0xb000 | 13); // syntax, '0', reserved, section_length
    s.u16(1); // transport_stream_id
    s.u8(0xc1); // version 0, current
    s.u8(0);
    s.u8(0);
    s.u16(1); // program_number
    s.u16(0xe000 | pmt_pid);
    let crc = crc32(&s);
    s.u32(crc);
    s
}

/// A PMT for one H.264 stream, which also carries the PCR.
pub fn pmt(video_pid: u16) -> Vec<u8> {
    let mut s = Vec::with_capacity(24);
    s.u8(0x02);
    s.u16(0xb000 | 18);
    s.u16(1); // program_number
    s.u8(0xc1);
    s.u8(0);
    s.u8(0);
    s.u16(0xe000 | video_pid); // PCR_PID
    s.u16(0xf000); // program_info_length 0
    s.u8(0x1b); // AVC video (ITU-T H.264 | ISO/IEC 14496-10)
    s.u16(0xe000 | video_pid);
    s.u16(0xf000);
    let crc = crc32(&s);
    s.u32(crc);
    s
}

/// Checks a complete section's CRC and returns the bytes between the
/// 8-byte long-form header and the CRC.
pub fn section_body<'a>(section: &'a [u8], what: &str) -> Result<&'a [u8]> {
    if section.len() < 12 {
        return Err(Error::malformed(what, "section shorter than its header"));
    }
    let (data, crc) = section.split_at(section.len() - 4);
    let want = u32::from_be_bytes([crc[0], crc[1], crc[2], crc[3]]);
    if crc32(data) != want {
        return Err(Error::malformed(what, "CRC-32 mismatch"));
    }
    Ok(&data[8..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_of_a_whole_section_is_zero() {
        // Appending the CRC makes the CRC of the whole section 0 (§B).
        assert_eq!(crc32(&pat(0x1000)), 0);
        assert_eq!(crc32(&pmt(0x100)), 0);
        assert!(section_body(&pmt(0x100), "PMT").is_ok());
        let mut bad = pmt(0x100);
        bad[10] ^= 1;
        assert!(section_body(&bad, "PMT").is_err());
    }
}
