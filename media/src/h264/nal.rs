//! NAL unit framing. Annex B (ISO/IEC 14496-10 Annex B) separates units with
//! `00 00 01` start codes; MP4 (ISO/IEC 14496-15 §5.3.2) prefixes each with
//! its length in 1, 2 or 4 bytes.

use memchr::memmem;

use crate::error::{Error, Result};

/// The NAL unit types this crate acts on (ISO/IEC 14496-10 Table 7-1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NalType {
    /// Type 1: a slice of a non-IDR picture.
    NonIdrSlice,
    /// Type 5: a slice of an IDR picture, where decoding can start.
    IdrSlice,
    /// Type 6: supplemental enhancement information.
    Sei,
    /// Type 7: sequence parameter set.
    Sps,
    /// Type 8: picture parameter set.
    Pps,
    /// Type 9: access unit delimiter.
    AccessUnitDelimiter,
    /// Any other type, by number.
    Other(u8),
}

impl NalType {
    /// The type in a unit's header byte; `Other(0)` for an empty unit.
    pub fn of(nal: &[u8]) -> Self {
        match nal.first().map(|b| b & 0x1f) {
            Some(1) => NalType::NonIdrSlice,
            Some(5) => NalType::IdrSlice,
            Some(6) => NalType::Sei,
            Some(7) => NalType::Sps,
            Some(8) => NalType::Pps,
            Some(9) => NalType::AccessUnitDelimiter,
            Some(t) => NalType::Other(t),
            None => NalType::Other(0),
        }
    }
}

/// Calls `f` with each NAL unit of an AVCC sample. A length that runs past
/// the sample is an error, never a short read.
pub fn for_each_length_prefixed<'a>(
    sample: &'a [u8],
    length_size: usize,
    mut f: impl FnMut(&'a [u8]) -> Result<()>,
) -> Result<()> {
    let mut rest = sample;
    while !rest.is_empty() {
        if rest.len() < length_size {
            return Err(Error::malformed(
                "AVCC sample",
                format_args!("{} trailing bytes, shorter than a length prefix", rest.len()),
            ));
        }
        let len = rest[..length_size]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | b as usize);
        rest = &rest[length_size..];
        if len > rest.len() {
            return Err(Error::malformed(
                "AVCC sample",
                format_args!("NAL length {len} exceeds the {} bytes left", rest.len()),
            ));
        }
        if len > 0 {
            f(&rest[..len])?;
        }
        rest = &rest[len..];
    }
    Ok(())
}

/// Iterator over the NAL units of an Annex B byte stream. Leading zero
/// bytes and the `trailing_zero_8bits` before a start code are not part of
/// a unit (§B.1.1).
pub struct AnnexB<'a> {
    data: &'a [u8],
    /// Start of the next unit's payload, or `data.len()` when done.
    pos: usize,
    finder: memmem::Finder<'static>,
}

impl<'a> AnnexB<'a> {
    /// The units of `data`, from its first start code on.
    pub fn new(data: &'a [u8]) -> Self {
        let finder = memmem::Finder::new(&[0u8, 0, 1]).into_owned();
        let pos = finder.find(data).map_or(data.len(), |p| p + 3);
        AnnexB { data, pos, finder }
    }

    /// Bytes before the first start code (should be none or zeros).
    pub fn leading(data: &[u8]) -> &[u8] {
        let end = memmem::find(data, &[0, 0, 1]).unwrap_or(data.len());
        let lead = &data[..end];
        let nonzero = lead.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
        &lead[..nonzero]
    }
}

impl<'a> Iterator for AnnexB<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        loop {
            if self.pos >= self.data.len() {
                return None;
            }
            let start = self.pos;
            let rest = &self.data[start..];
            let (mut end, next) = match self.finder.find(rest) {
                Some(p) => (start + p, start + p + 3),
                None => (self.data.len(), self.data.len()),
            };
            while end > start && self.data[end - 1] == 0 {
                end -= 1;
            }
            self.pos = next;
            if end > start {
                return Some(&self.data[start..end]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annexb_splits_on_3_and_4_byte_start_codes() {
        let data = [0, 0, 0, 1, 0x09, 0xf0, 0, 0, 1, 0x67, 1, 2, 0, 0, 0, 0, 1, 0x65, 7];
        let nals: Vec<_> = AnnexB::new(&data).collect();
        assert_eq!(nals, vec![&[0x09, 0xf0][..], &[0x67, 1, 2], &[0x65, 7]]);
        assert_eq!(NalType::of(nals[2]), NalType::IdrSlice);
        assert!(AnnexB::leading(&data).is_empty());
        assert_eq!(AnnexB::leading(&[5, 0, 0, 1, 9]), &[5]);
    }

    #[test]
    fn length_prefixed_rejects_overlong_lengths() {
        let ok = [0, 0, 0, 2, 0x65, 1, 0, 0, 0, 1, 0x06];
        let mut got = Vec::new();
        for_each_length_prefixed(&ok, 4, |n| {
            got.push(n.to_vec());
            Ok(())
        })
        .unwrap();
        assert_eq!(got, vec![vec![0x65, 1], vec![0x06]]);
        let bad = [0, 0, 0, 9, 0x65];
        assert!(for_each_length_prefixed(&bad, 4, |_| Ok(())).is_err());
        assert!(for_each_length_prefixed(&[0, 0], 4, |_| Ok(())).is_err());
    }
}
