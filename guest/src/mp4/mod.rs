//! ISO BMFF (MP4) reading and writing, just as much as a segment needs:
//! progressive (`mux.rs`) or fragmented (`fmp4.rs`) output.
//!
//! Reading borrows from the input (`&[u8]`); writing appends to a `Vec<u8>`.
//! Boxes we do not rebuild (`stsd`, `edts`, `mdhd`, `sgpd`, ...) are carried
//! as raw byte slices, which is how the audio track stays byte-for-byte.

mod atom;
mod demux;
mod fmp4;
mod fragment;
mod model;
mod mux;
mod placement;
mod stbl;

pub use atom::{Atom, Atoms, FourCC};
pub use demux::parse;
pub use fmp4::mux_fragmented;
pub use model::{Edit, LPVT, Movie, Sample, SampleEntry, Track, TrackKind, VideoTimeline};
pub use mux::{MuxTrack, OutSample, TrakSource, avc_stsd, mux_progressive, opus_stsd};
