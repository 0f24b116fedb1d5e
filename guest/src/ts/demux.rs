//! Finds the H.264 stream through PAT and PMT (never by assumed PID:
//! ffmpeg uses 0x100, GStreamer 0x41) and reassembles its PES packets.
//!
//! All PES bytes of the stream are appended to one caller-owned buffer, so
//! the payload is copied out of the 188-byte packets exactly once.

use std::ops::Range;

use crate::error::{Error, Result};

use super::{PACKET, SYNC, psi};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamType {
    H264,
}

/// One reassembled PES packet; `data` indexes the caller's buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pes {
    /// Raw 33-bit values.
    pub pts: Option<u64>,
    pub dts: Option<u64>,
    pub data: Range<usize>,
    pub random_access: bool,
    /// The packet that started it had `discontinuity_indicator` set.
    pub discontinuity: bool,
    /// Index of the packet that started it, for error messages.
    pub packet: usize,
}

pub struct Demuxer<'a> {
    ts: &'a [u8],
    pub pid: u16,
    pub stream_type: StreamType,
}

/// One packet's header fields and payload.
struct Packet<'a> {
    pid: u16,
    start: bool,
    cc: u8,
    discontinuity: bool,
    random_access: bool,
    payload: Option<&'a [u8]>,
}

fn packet(ts: &[u8], index: usize) -> Result<Packet<'_>> {
    let p = &ts[index * PACKET..(index + 1) * PACKET];
    if p[0] != SYNC {
        return Err(Error::malformed(
            format_args!("TS packet {index} (byte {})", index * PACKET),
            format_args!("sync byte is 0x{:02x}, not 0x47", p[0]),
        ));
    }
    if p[1] & 0x80 != 0 {
        return Err(Error::malformed(
            format_args!("TS packet {index}"),
            "transport_error_indicator is set",
        ));
    }
    let pid = u16::from_be_bytes([p[1] & 0x1f, p[2]]);
    let control = (p[3] >> 4) & 3;
    let mut body = 4usize;
    let (mut discontinuity, mut random_access) = (false, false);
    if control & 2 != 0 {
        let len = p[4] as usize;
        if len > 183 {
            return Err(Error::malformed(
                format_args!("TS packet {index}"),
                format_args!("adaptation_field_length {len}"),
            ));
        }
        if len > 0 {
            discontinuity = p[5] & 0x80 != 0;
            random_access = p[5] & 0x40 != 0;
        }
        body = 5 + len;
    }
    let payload = (control & 1 != 0 && body < PACKET).then(|| &p[body..]);
    Ok(Packet {
        pid,
        start: p[1] & 0x40 != 0,
        cc: p[3] & 0xf,
        discontinuity,
        random_access,
        payload,
    })
}

impl<'a> Demuxer<'a> {
    /// Reads PAT and PMT and picks the first H.264 stream.
    pub fn new(ts: &'a [u8]) -> Result<Self> {
        if ts.is_empty() {
            return Err(Error::truncated("empty transport stream"));
        }
        if ts[0] != SYNC {
            return Err(Error::malformed(
                "TS byte 0",
                format_args!("0x{:02x} is not a sync byte: not an MPEG-TS", ts[0]),
            ));
        }
        if !ts.len().is_multiple_of(PACKET) {
            return Err(Error::truncated(format_args!(
                "transport stream of {} bytes ends inside packet {}",
                ts.len(),
                ts.len() / PACKET
            )));
        }
        let packets = ts.len() / PACKET;
        let mut pmt_pid = None;
        let mut section = Section::default();
        for i in 0..packets {
            let p = packet(ts, i)?;
            let want = pmt_pid.unwrap_or(0);
            if p.pid != want {
                continue;
            }
            let Some(payload) = p.payload else { continue };
            let Some(sec) = section.push(payload, p.start) else {
                continue;
            };
            match pmt_pid {
                None => {
                    pmt_pid = Some(parse_pat(&sec, i)?);
                    section = Section::default();
                }
                Some(_) => {
                    let (pid, stream_type) = parse_pmt(&sec, i)?;
                    return Ok(Demuxer {
                        ts,
                        pid,
                        stream_type,
                    });
                }
            }
        }
        Err(match pmt_pid {
            None => Error::malformed("transport stream", "no PAT"),
            Some(pid) => {
                Error::malformed("transport stream", format_args!("no PMT on PID 0x{pid:x}"))
            }
        })
    }

    /// Appends every PES of the video stream to `buf`, returning where each
    /// one's payload lies. A PES of declared length that the stream cuts
    /// short is `Truncated`; lost packets (a continuity counter jump) are
    /// `Malformed`, since the access unit would be corrupt.
    pub fn read_all(&self, buf: &mut Vec<u8>) -> Result<Vec<Pes>> {
        let packets = self.ts.len() / PACKET;
        let mut out = Vec::new();
        let mut open: Option<(usize, Pes)> = None; // (start in buf, pes)
        let mut last_cc: Option<u8> = None;
        for i in 0..packets {
            let p = packet(self.ts, i)?;
            if p.pid != self.pid {
                continue;
            }
            let Some(payload) = p.payload else { continue };
            if let Some(cc) = last_cc {
                if p.cc == cc && !p.start {
                    continue; // a duplicate packet (§2.4.3.3) is sent once more
                }
                if p.cc != (cc + 1) & 0xf && !p.discontinuity {
                    return Err(Error::malformed(
                        format_args!("TS packet {i} (PID 0x{:x})", self.pid),
                        format_args!("continuity counter {} after {cc}: packets lost", p.cc),
                    ));
                }
            }
            last_cc = Some(p.cc);
            if p.start {
                if let Some((start, pes)) = open.take() {
                    out.push(finish_pes(buf, start, pes)?);
                }
                open = Some((
                    buf.len(),
                    Pes {
                        pts: None,
                        dts: None,
                        data: 0..0,
                        random_access: p.random_access,
                        discontinuity: p.discontinuity,
                        packet: i,
                    },
                ));
            }
            if open.is_some() {
                buf.extend_from_slice(payload);
            }
        }
        if let Some((start, pes)) = open {
            out.push(finish_pes(buf, start, pes)?);
        }
        Ok(out)
    }
}

/// Parses the PES header at `buf[start..]` and fills in the payload range.
fn finish_pes(buf: &[u8], start: usize, mut pes: Pes) -> Result<Pes> {
    let b = &buf[start..];
    let at = || format!("PES starting in TS packet {}", pes.packet);
    if b.len() < 9 {
        return Err(Error::truncated(format_args!("{}: header cut short", at())));
    }
    if b[..3] != [0, 0, 1] {
        return Err(Error::malformed(at(), "no packet_start_code_prefix"));
    }
    let declared = u16::from_be_bytes([b[4], b[5]]) as usize;
    let header_len = 9 + b[8] as usize;
    let flags = b[7] >> 6;
    if b.len() < header_len {
        return Err(Error::truncated(format_args!("{}: header cut short", at())));
    }
    let ts_at = |o: usize| -> Result<u64> {
        let t = b
            .get(o..o + 5)
            .ok_or_else(|| Error::malformed(at(), "PTS/DTS outside the header"))?;
        Ok(((t[0] as u64 >> 1) & 7) << 30
            | (u16::from_be_bytes([t[1], t[2]]) as u64 >> 1) << 15
            | u16::from_be_bytes([t[3], t[4]]) as u64 >> 1)
    };
    if flags & 2 != 0 {
        if header_len < 14 {
            return Err(Error::malformed(at(), "PTS flag set but header too short"));
        }
        pes.pts = Some(ts_at(9)?);
    }
    if flags == 3 {
        if header_len < 19 {
            return Err(Error::malformed(at(), "DTS flag set but header too short"));
        }
        pes.dts = Some(ts_at(14)?);
    }
    let mut end = b.len();
    if declared != 0 {
        let total = 6 + declared;
        if total > b.len() {
            return Err(Error::truncated(format_args!(
                "{}: declares {declared} bytes, stream holds {}",
                at(),
                b.len() - 6
            )));
        }
        if total < header_len {
            return Err(Error::malformed(
                at(),
                "PES_packet_length shorter than its header",
            ));
        }
        end = total;
    }
    pes.data = start + header_len..start + end;
    Ok(pes)
}

/// Collects one PSI section that may span packets.
#[derive(Default)]
struct Section {
    buf: Vec<u8>,
    started: bool,
}

impl Section {
    fn push(&mut self, payload: &[u8], start: bool) -> Option<Vec<u8>> {
        if start {
            let pointer = *payload.first()? as usize;
            self.buf.clear();
            self.buf.extend_from_slice(payload.get(1 + pointer..)?);
            self.started = true;
        } else if self.started {
            self.buf.extend_from_slice(payload);
        } else {
            return None;
        }
        if self.buf.len() < 3 {
            return None;
        }
        let len = 3 + (u16::from_be_bytes([self.buf[1], self.buf[2]]) & 0xfff) as usize;
        (self.buf.len() >= len).then(|| self.buf[..len].to_vec())
    }
}

fn parse_pat(section: &[u8], packet: usize) -> Result<u16> {
    let at = format!("PAT in TS packet {packet}");
    if section[0] != 0 {
        return Err(Error::malformed(
            &at,
            format_args!("table_id {}", section[0]),
        ));
    }
    let body = psi::section_body(section, &at)?;
    for entry in body.chunks_exact(4) {
        let program = u16::from_be_bytes([entry[0], entry[1]]);
        if program != 0 {
            return Ok(u16::from_be_bytes([entry[2], entry[3]]) & 0x1fff);
        }
    }
    Err(Error::NoVideo)
}

fn parse_pmt(section: &[u8], packet: usize) -> Result<(u16, StreamType)> {
    let at = format!("PMT in TS packet {packet}");
    if section[0] != 2 {
        return Err(Error::malformed(
            &at,
            format_args!("table_id {}", section[0]),
        ));
    }
    let body = psi::section_body(section, &at)?;
    if body.len() < 4 {
        return Err(Error::malformed(&at, "too short"));
    }
    let info_len = (u16::from_be_bytes([body[2], body[3]]) & 0xfff) as usize;
    let mut rest = body
        .get(4 + info_len..)
        .ok_or_else(|| Error::malformed(&at, "program_info_length past the section"))?;
    let mut other_video = None;
    while rest.len() >= 5 {
        let stream_type = rest[0];
        let pid = u16::from_be_bytes([rest[1], rest[2]]) & 0x1fff;
        let es_len = (u16::from_be_bytes([rest[3], rest[4]]) & 0xfff) as usize;
        match stream_type {
            0x1b => return Ok((pid, StreamType::H264)),
            0x01 | 0x02 => other_video = other_video.or(Some("mpeg2video")),
            0x10 => other_video = other_video.or(Some("mpeg4")),
            0x24 => other_video = other_video.or(Some("hevc")),
            0x33 => other_video = other_video.or(Some("vvc")),
            _ => {}
        }
        rest = rest
            .get(5 + es_len..)
            .ok_or_else(|| Error::malformed(&at, "ES_info_length past the section"))?;
    }
    Err(match other_video {
        Some(codec) => Error::UnsupportedCodec(codec.to_string()),
        None => Error::NoVideo,
    })
}
