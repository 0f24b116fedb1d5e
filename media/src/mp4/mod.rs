//! ISO BMFF (MP4) reading and writing, just as much as a segment needs:
//! progressive (`mux.rs`) or fragmented (`fmp4.rs`) output.
//!
//! Reading borrows from the input (`&[u8]`); writing appends to a `Vec<u8>`.
//! Boxes we do not rebuild (`stsd`, `edts`, `mdhd`, `sgpd`, ...) are carried
//! as raw byte slices, which is how the audio track stays byte-for-byte.

mod atom;
mod demux;
mod edts;
mod fmp4;
mod fragment;
mod lpvt;
mod model;
mod mux;
mod placement;
mod stbl;
mod stsd;
mod traf;

pub use atom::{Atom, Atoms, FourCC};
pub use demux::parse;
pub use fmp4::mux_fragmented;
pub use lpvt::{LPVT, udta as lpvt_udta};
pub use model::OutSample;
pub use model::{Edit, Movie, Sample, SampleEntry, Track, TrackKind, VideoTimeline};
pub use mux::{MuxTrack, TrakSource, mux_progressive};
pub use stsd::{avc_stsd, opus_stsd};
