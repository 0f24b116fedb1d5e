//! Sequence parameter set fields (ISO/IEC 14496-10 §7.3.2.1.1): enough to
//! know the cropped picture size and what `avcC` must say of chroma and
//! bit depth.

use crate::error::{Error, Result};
use crate::num::{i32_sat, u8_sat, u32_sat};

/// What this crate reads of an SPS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sps {
    /// `profile_idc` (66 Baseline, 77 Main, 100 High, ...).
    pub profile_idc: u8,
    /// The `constraint_set` flags byte, which `avcC` copies as
    /// `profile_compatibility`.
    pub constraint_flags: u8,
    /// `level_idc`: ten times the level (31 is 3.1).
    pub level_idc: u8,
    /// `seq_parameter_set_id`, 0 to 31.
    pub id: u32,
    /// 0 monochrome, 1 4:2:0, 2 4:2:2, 3 4:4:4; 1 unless a high profile says
    /// otherwise.
    pub chroma_format_idc: u32,
    /// Luma bit depth less 8; 0 unless a high profile says otherwise.
    pub bit_depth_luma_minus8: u32,
    /// Chroma bit depth less 8; 0 unless a high profile says otherwise.
    pub bit_depth_chroma_minus8: u32,
    /// Displayed size, after the frame cropping rectangle.
    pub width: u32,
    /// Displayed height, after the frame cropping rectangle.
    pub height: u32,
}

/// Profiles that carry chroma format and bit depth in the SPS and need the
/// `avcC` extension fields (§7.3.2.1.1, ISO/IEC 14496-15 §5.3.3.1.2).
pub fn is_high_profile(profile_idc: u8) -> bool {
    matches!(
        profile_idc,
        100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135
    )
}

/// Parses an SPS NAL unit (header byte included).
///
/// One function on purpose: it reads the syntax table of H.264
/// §7.3.2.1.1 top to bottom, field by field, so that each line can be
/// checked against the standard; cut into pieces, the order that matters
/// would be spread over several.
pub fn parse_sps(nal: &[u8]) -> Result<Sps> {
    if nal.len() < 4 || nal[0] & 0x1f != 7 {
        return Err(Error::malformed("SPS", "not a sequence parameter set"));
    }
    let rbsp = unescape(&nal[1..]);
    let mut r = Bits::new(&rbsp);
    let profile_idc = u8_sat(r.bits(8)?);
    let constraint_flags = u8_sat(r.bits(8)?);
    let level_idc = u8_sat(r.bits(8)?);
    let id = r.ue()?;
    if id > 31 {
        return Err(Error::malformed("SPS", format_args!("seq_parameter_set_id {id}")));
    }
    let (mut chroma_format_idc, mut separate_planes) = (1, false);
    let (mut luma8, mut chroma8) = (0, 0);
    if is_high_profile(profile_idc) {
        chroma_format_idc = r.ue()?;
        if chroma_format_idc > 3 {
            return Err(Error::malformed(
                "SPS",
                format_args!("chroma_format_idc {chroma_format_idc}"),
            ));
        }
        if chroma_format_idc == 3 {
            separate_planes = r.flag()?;
        }
        luma8 = r.ue()?;
        chroma8 = r.ue()?;
        r.flag()?; // qpprime_y_zero_transform_bypass_flag
        if r.flag()? {
            let lists = if chroma_format_idc == 3 { 12 } else { 8 };
            for i in 0..lists {
                if r.flag()? {
                    skip_scaling_list(&mut r, if i < 6 { 16 } else { 64 })?;
                }
            }
        }
    }
    r.ue()?; // log2_max_frame_num_minus4
    match r.ue()? {
        0 => {
            r.ue()?; // log2_max_pic_order_cnt_lsb_minus4
        }
        1 => {
            r.flag()?;
            r.se()?;
            r.se()?;
            let cycle = r.ue()?;
            if cycle > 255 {
                return Err(Error::malformed("SPS", "num_ref_frames_in_pic_order_cnt_cycle > 255"));
            }
            for _ in 0..cycle {
                r.se()?;
            }
        }
        2 => {}
        t => {
            return Err(Error::malformed("SPS", format_args!("pic_order_cnt_type {t}")));
        }
    }
    r.ue()?; // max_num_ref_frames
    r.flag()?; // gaps_in_frame_num_value_allowed_flag
    let width_mbs = r.ue()? as u64 + 1;
    let height_map_units = r.ue()? as u64 + 1;
    let frame_mbs_only = r.flag()?;
    if !frame_mbs_only {
        r.flag()?; // mb_adaptive_frame_field_flag
    }
    r.flag()?; // direct_8x8_inference_flag
    let (mut left, mut right, mut top, mut bottom) = (0u64, 0u64, 0u64, 0u64);
    if r.flag()? {
        left = r.ue()? as u64;
        right = r.ue()? as u64;
        top = r.ue()? as u64;
        bottom = r.ue()? as u64;
    }
    // Crop units, §7.4.2.1.1 (Table 6-1 for SubWidthC/SubHeightC).
    let chroma_array_type = if separate_planes { 0 } else { chroma_format_idc };
    let (sub_w, sub_h) = match chroma_array_type {
        1 => (2, 2),
        2 => (2, 1),
        _ => (1, 1),
    };
    let field_factor = if frame_mbs_only { 1 } else { 2 };
    let (crop_x, crop_y) = if chroma_array_type == 0 {
        (1, field_factor)
    } else {
        (sub_w, sub_h * field_factor)
    };
    let full_w = width_mbs * 16;
    let full_h = height_map_units * 16 * field_factor;
    let cut_w = crop_x * (left + right);
    let cut_h = crop_y * (top + bottom);
    if cut_w >= full_w || cut_h >= full_h || full_w > 1 << 16 || full_h > 1 << 16 {
        return Err(Error::malformed(
            "SPS",
            format_args!("picture {full_w}x{full_h} with crop {cut_w}x{cut_h}"),
        ));
    }
    Ok(Sps {
        profile_idc,
        constraint_flags,
        level_idc,
        id,
        chroma_format_idc,
        bit_depth_luma_minus8: luma8,
        bit_depth_chroma_minus8: chroma8,
        width: u32_sat(full_w - cut_w),
        height: u32_sat(full_h - cut_h),
    })
}

fn skip_scaling_list(r: &mut Bits<'_>, size: usize) -> Result<()> {
    let (mut last, mut next) = (8i64, 8i64);
    for _ in 0..size {
        if next != 0 {
            let delta = r.se()? as i64;
            next = (last + delta + 256).rem_euclid(256);
        }
        if next != 0 {
            last = next;
        }
    }
    Ok(())
}

/// Removes emulation prevention bytes (`00 00 03` → `00 00`, §7.4.1).
fn unescape(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut zeros = 0;
    for &b in data {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
    out
}

/// MSB-first bit reader with Exp-Golomb codes (§9.1).
struct Bits<'a> {
    data: &'a [u8],
    bit: usize,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8]) -> Self {
        Bits { data, bit: 0 }
    }

    fn flag(&mut self) -> Result<bool> {
        let byte = self
            .data
            .get(self.bit / 8)
            .ok_or_else(|| Error::truncated("SPS ends mid-field"))?;
        let v = (byte >> (7 - self.bit % 8)) & 1;
        self.bit += 1;
        Ok(v == 1)
    }

    fn bits(&mut self, n: u32) -> Result<u32> {
        let mut v = 0u32;
        for _ in 0..n {
            v = (v << 1) | self.flag()? as u32;
        }
        Ok(v)
    }

    fn ue(&mut self) -> Result<u32> {
        let mut zeros = 0;
        while !self.flag()? {
            zeros += 1;
            if zeros > 31 {
                return Err(Error::malformed("SPS", "Exp-Golomb code longer than 32 bits"));
            }
        }
        Ok(u32_sat((1u64 << zeros) - 1 + self.bits(zeros)? as u64))
    }

    fn se(&mut self) -> Result<i32> {
        let k = self.ue()? as i64;
        Ok(i32_sat(if k % 2 == 1 { (k + 1) / 2 } else { -(k / 2) }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// From Streamplace's 5sec.mp4: High, 1920x1080 coded as 1088 + crop 8.
    const SPS_1080P: [u8; 30] = [
        0x67, 0x64, 0x00, 0x2a, 0xac, 0xd9, 0x40, 0x78, 0x02, 0x27, 0xe5, 0xc0, 0x5a, 0x80, 0x80, 0x80, 0xa0, 0x00,
        0x00, 0x03, 0x00, 0x20, 0x00, 0x00, 0x0f, 0x01, 0xe3, 0x06, 0x32, 0xc0,
    ];

    /// From short-video.mp4: 360x202, an odd-ish size that needs cropping.
    const SPS_202P: [u8; 33] = [
        0x67, 0x64, 0x00, 0x0d, 0xac, 0x2b, 0x20, 0x2e, 0x37, 0xcb, 0x26, 0x02, 0x20, 0x00, 0x00, 0x7d, 0x00, 0x00,
        0x1d, 0x4c, 0x1c, 0x00, 0x00, 0x1e, 0x84, 0x80, 0x00, 0xf4, 0x24, 0x5d, 0xe5, 0xc1, 0x40,
    ];

    #[test]
    fn parses_cropped_sizes() {
        let sps = parse_sps(&SPS_1080P).unwrap();
        assert_eq!((sps.width, sps.height), (1920, 1080));
        assert_eq!((sps.profile_idc, sps.level_idc, sps.chroma_format_idc), (100, 42, 1));
        let sps = parse_sps(&SPS_202P).unwrap();
        assert_eq!((sps.width, sps.height), (360, 202));
    }

    #[test]
    fn cut_before_the_size_fields_is_an_error() {
        // The picture size ends in byte 10 of this SPS; any shorter cut fails.
        for n in 0..10 {
            assert!(parse_sps(&SPS_1080P[..n]).is_err(), "len {n}");
        }
    }

    #[test]
    fn unescape_drops_emulation_prevention() {
        assert_eq!(unescape(&[0, 0, 3, 1, 0, 0, 3]), vec![0, 0, 1, 0, 0]);
    }
}
