//! `AVCDecoderConfigurationRecord` (ISO/IEC 14496-15 §5.3.3.1).

use crate::buf::{Reader, WriteBe};
use crate::error::{Error, Result};

use super::nal::NalType;
use super::sps::{Sps, is_high_profile};
use crate::num::{u8_sat, u16_sat};

/// The parts of an `avcC` a remuxer uses.
#[derive(Clone, Debug, Default)]
pub struct AvcConfig<'a> {
    /// 1, 2 or 4.
    pub length_size: usize,
    /// The SPS NAL units, header byte included, in record order.
    pub sps: Vec<&'a [u8]>,
    /// The PPS NAL units, header byte included, in record order.
    pub pps: Vec<&'a [u8]>,
}

impl<'a> AvcConfig<'a> {
    /// Reads the body of an `avcC` box (its header left off).
    pub fn parse(body: &'a [u8]) -> Result<Self> {
        let mut r = Reader::new(body, "avcC");
        if r.u8()? != 1 {
            return Err(Error::malformed("avcC", "configurationVersion is not 1"));
        }
        r.skip(3)?;
        let length_size = (r.u8()? & 3) as usize + 1;
        if length_size == 3 {
            return Err(Error::malformed("avcC", "lengthSizeMinusOne is 2"));
        }
        let n_sps = r.u8()? & 0x1f;
        let mut sps = Vec::new();
        for k in 0..n_sps {
            let len = r.u16()? as usize;
            sps.push(parameter_set(r.bytes(len)?, NalType::Sps, k)?);
        }
        let n_pps = r.u8()?;
        let mut pps = Vec::new();
        for k in 0..n_pps {
            let len = r.u16()? as usize;
            pps.push(parameter_set(r.bytes(len)?, NalType::Pps, k)?);
        }
        Ok(AvcConfig { length_size, sps, pps })
    }
}

/// An entry of the record's SPS or PPS list must be that kind of NAL unit
/// (§5.3.3.1): `split` puts them in-band before every IDR as they are, so
/// anything else would reach the gateway and `join` as a stray unit, and
/// the stream would have no parameter set to decode with. `join` holds the
/// sets it puts in the record it writes to the same rule, so that our own
/// reader takes what it wrote; `index` counts from 0.
pub fn parameter_set(nal: &[u8], kind: NalType, index: u8) -> Result<&[u8]> {
    let name = if kind == NalType::Sps { "SPS" } else { "PPS" };
    match nal.first() {
        None => Err(Error::malformed("avcC", format_args!("{name} {} is empty", index + 1))),
        Some(&b) if b & 0x80 != 0 => Err(Error::malformed(
            "avcC",
            format_args!("{name} {} has its forbidden_zero_bit set", index + 1),
        )),
        Some(&b) if NalType::of(nal) != kind => Err(Error::malformed(
            "avcC",
            format_args!("{name} {} is a NAL unit of type {}", index + 1, b & 0x1f),
        )),
        // Emulation prevention (§7.4.1) keeps 00 00 0x (x < 3) out of every
        // NAL unit; one that holds it would be cut in two in Annex B.
        Some(_) => match nal.windows(3).position(|w| w[0] == 0 && w[1] == 0 && w[2] < 3) {
            Some(at) => Err(Error::malformed(
                "avcC",
                format_args!(
                    "{name} {} holds 00 00 {:02x} at byte {at}, which H.264 forbids in a NAL unit",
                    index + 1,
                    nal[at + 2]
                ),
            )),
            None => Ok(nal),
        },
    }
}

/// An `avcC` box body with 4-byte NAL lengths.
pub fn build_avcc(sps_info: &Sps, sps: &[&[u8]], pps: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    out.u8(1);
    out.u8(sps_info.profile_idc);
    out.u8(sps_info.constraint_flags);
    out.u8(sps_info.level_idc);
    out.u8(0xfc | 3);
    out.u8(0xe0 | u8_sat(sps.len().min(31)));
    for s in sps.iter().take(31) {
        out.u16(u16_sat(s.len()));
        out.extend_from_slice(s);
    }
    out.u8(u8_sat(pps.len().min(255)));
    for p in pps.iter().take(255) {
        out.u16(u16_sat(p.len()));
        out.extend_from_slice(p);
    }
    if is_high_profile(sps_info.profile_idc) {
        out.u8(0xfc | u8_sat(sps_info.chroma_format_idc));
        out.u8(0xf8 | u8_sat(sps_info.bit_depth_luma_minus8));
        out.u8(0xf8 | u8_sat(sps_info.bit_depth_chroma_minus8));
        out.u8(0);
    }
    out
}
