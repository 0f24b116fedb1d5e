//! MPEG-2 transport stream (ISO/IEC 13818-1), video only: a muxer for the
//! segment we send and a demuxer for the renditions that come back.

mod demux;
mod mux;
mod psi;

pub use demux::{AccessUnit, Demuxer, StreamType};
pub use mux::{Muxer, PMT_PID, VIDEO_PID};

/// Bytes in a transport stream packet.
pub const PACKET: usize = 188;
/// The byte every packet starts with.
pub const SYNC: u8 = 0x47;
