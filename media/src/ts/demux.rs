//! Finds the H.264 stream through PAT and PMT (never by assumed PID:
//! ffmpeg uses 0x100, GStreamer 0x41) and reassembles its PES packets.
//!
//! Access units are handed out one at a time from a reused buffer that
//! stays in cache, so the demuxer holds one access unit, not the stream.

use crate::error::{Error, Result};

use super::{PACKET, SYNC, psi};

/// The video codecs the demuxer takes, by PMT `stream_type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamType {
    /// H.264, `stream_type` 0x1b.
    H264,
}

/// One access unit: the payload of a PES with a PTS, plus any PES without
/// PTS that follow it (they continue it, §2.4.3.7).
#[derive(Debug, PartialEq, Eq)]
pub struct AccessUnit<'b> {
    /// Raw 33-bit values; `dts` is the PTS when the PES had none.
    pub pts: u64,
    /// Decode timestamp, 90 kHz.
    pub dts: u64,
    /// The PES payloads, concatenated: Annex B bytes as sent.
    pub data: &'b [u8],
    /// The `random_access_indicator` of the packet that started it.
    pub random_access: bool,
    /// Index of the packet that started it, for error messages.
    pub packet: usize,
}

/// Where the current PES is.
enum PesState {
    /// No PES started yet, or one whose data cannot be placed (before the
    /// first timestamp).
    Skip,
    /// Gathering the PES header (almost always inside one packet).
    Header {
        head: Vec<u8>,
        packet: usize,
        random_access: bool,
    },
    /// In the payload; `left` counts down a declared length.
    Body { left: Option<usize>, packet: usize },
}

/// A transport stream and the video stream its PAT and PMT point to.
pub struct Demuxer<'a> {
    ts: &'a [u8],
    /// The video stream's PID, from the PMT.
    pub pid: u16,
    /// The video stream's codec, from the PMT.
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
                    return Ok(Demuxer { ts, pid, stream_type });
                }
            }
        }
        Err(match pmt_pid {
            None => Error::malformed("transport stream", "no PAT"),
            Some(pid) => Error::malformed("transport stream", format_args!("no PMT on PID 0x{pid:x}")),
        })
    }

    /// Calls `f` with each access unit of the video stream, in order. A PES
    /// of declared length that the stream cuts short is `Truncated`; lost
    /// packets (a continuity counter jump) are `Malformed`, since the access
    /// unit would be corrupt. `f`'s errors are its own: the first stops
    /// the walk and comes back as it is, beside the stream's (`E: From<Error>`).
    pub fn for_each_access_unit<E: From<Error>>(
        &self,
        mut f: impl FnMut(AccessUnit<'_>) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let packets = self.ts.len() / PACKET;
        let mut au: Vec<u8> = Vec::new();
        let mut current: Option<(u64, u64, bool, usize)> = None; // pts, dts, rai, packet
        let mut state = PesState::Skip;
        let mut last_cc: Option<u8> = None;
        let mut flush = |au: &mut Vec<u8>, current: &Option<(u64, u64, bool, usize)>| -> std::result::Result<(), E> {
            if let Some((pts, dts, random_access, packet)) = *current {
                f(AccessUnit {
                    pts,
                    dts,
                    data: au,
                    random_access,
                    packet,
                })?;
            }
            au.clear();
            Ok(())
        };
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
                    )
                    .into());
                }
            }
            last_cc = Some(p.cc);
            if p.start {
                end_pes(&state)?;
                state = PesState::Header {
                    head: Vec::new(),
                    packet: i,
                    random_access: p.random_access,
                };
            }
            if let PesState::Header {
                head,
                packet,
                random_access,
            } = &mut state
            {
                head.extend_from_slice(payload);
                let Some(h) = PesHeader::parse(head, *packet)? else {
                    continue; // the header goes on in the next packet
                };
                let (packet, random_access) = (*packet, *random_access);
                let rest = head.split_off(h.len);
                match h.pts {
                    Some(pts) => {
                        flush(&mut au, &current)?;
                        current = Some((pts, h.dts.unwrap_or(pts), random_access, packet));
                    }
                    None if current.is_none() => {
                        state = PesState::Skip; // before the first timestamp
                        continue;
                    }
                    None => {}
                }
                state = PesState::Body {
                    left: h.payload_len,
                    packet,
                };
                take(&mut au, &mut state, &rest);
                continue;
            }
            take(&mut au, &mut state, payload);
        }
        end_pes(&state)?;
        flush(&mut au, &current)
    }
}

/// Appends PES payload bytes, up to a declared length.
fn take(au: &mut Vec<u8>, state: &mut PesState, bytes: &[u8]) {
    if let PesState::Body { left, .. } = state {
        let n = left.map_or(bytes.len(), |l| l.min(bytes.len()));
        au.extend_from_slice(&bytes[..n]);
        if let Some(l) = left {
            *l -= n;
        }
    }
}

/// A PES ends (next start or end of stream): was it whole?
fn end_pes(state: &PesState) -> Result<()> {
    match state {
        PesState::Body { left: Some(l), packet } if *l > 0 => Err(Error::truncated(format_args!(
            "PES starting in TS packet {packet}: {l} declared bytes never came"
        ))),
        PesState::Header { packet, .. } => Err(Error::truncated(format_args!(
            "PES starting in TS packet {packet}: header cut short"
        ))),
        _ => Ok(()),
    }
}

/// The fields of a PES header this demuxer uses (§2.4.3.6).
struct PesHeader {
    len: usize,
    pts: Option<u64>,
    dts: Option<u64>,
    /// Payload bytes the PES declares, when PES_packet_length is not 0.
    payload_len: Option<usize>,
}

impl PesHeader {
    /// `Ok(None)` when `b` does not hold the whole header yet.
    fn parse(b: &[u8], packet: usize) -> Result<Option<Self>> {
        let at = || format!("PES starting in TS packet {packet}");
        if b.len() < 9 {
            return Ok(None);
        }
        if b[..3] != [0, 0, 1] {
            return Err(Error::malformed(at(), "no packet_start_code_prefix"));
        }
        let declared = u16::from_be_bytes([b[4], b[5]]) as usize;
        let len = 9 + b[8] as usize;
        if b.len() < len {
            return Ok(None);
        }
        let flags = b[7] >> 6;
        let ts_at = |o: usize| -> Result<u64> {
            let t = b
                .get(o..o + 5)
                .filter(|_| o + 5 <= len)
                .ok_or_else(|| Error::malformed(at(), "PTS/DTS outside the header"))?;
            Ok(((t[0] as u64 >> 1) & 7) << 30
                | (u16::from_be_bytes([t[1], t[2]]) as u64 >> 1) << 15
                | u16::from_be_bytes([t[3], t[4]]) as u64 >> 1)
        };
        let pts = if flags & 2 != 0 { Some(ts_at(9)?) } else { None };
        let dts = if flags == 3 { Some(ts_at(14)?) } else { None };
        let payload_len = match declared {
            0 => None,
            d if d + 6 < len => {
                return Err(Error::malformed(at(), "PES_packet_length shorter than its header"));
            }
            d => Some(d + 6 - len),
        };
        Ok(Some(PesHeader {
            len,
            pts,
            dts,
            payload_len,
        }))
    }
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
        return Err(Error::malformed(&at, format_args!("table_id {}", section[0])));
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
        return Err(Error::malformed(&at, format_args!("table_id {}", section[0])));
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
