//! H.264 just deep enough to move access units between containers:
//! NAL framing (Annex B start codes and AVCC length prefixes), the SPS
//! fields that give the picture size, and the `avcC` record.

mod avcc;
mod nal;
mod sps;

pub use avcc::{AvcConfig, build_avcc, parameter_set};
pub use nal::{AnnexB, NalType, for_each_length_prefixed};
pub use sps::{Sps, parse_sps};
