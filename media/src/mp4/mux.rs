//! Progressive MP4 writing: `ftyp`, then `moov` (so a browser can start
//! playing before the download ends), then one `mdat` whose chunks
//! interleave the tracks about every half second.
//!
//! A track is either rebuilt from scratch (the video of a rendition) or
//! carried over from a parsed file (the audio), in which case every box but
//! the sample-location tables is copied byte for byte and only the
//! durations in `tkhd`/`mdhd` are brought up to date.

use crate::buf::WriteBe;
use crate::time::rescale;

use super::atom::{close, open, open_full};
use super::edts;
use super::model::{Edit, OutSample, Track};
use super::placement::{Placement, first_decode_time, place};
use super::stbl::{self, Chunked};
use crate::num::{i64_sat, u32_sat, u64_sat, usize_sat};

/// Whether `raw`, a whole box, is a sample-to-group table (`sbgp`), which
/// both writers rebuild rather than copy.
pub(super) fn is_sample_to_group(raw: &[u8]) -> bool {
    raw.get(4..8) == Some(b"sbgp")
}

/// Where a track's non-table boxes come from.
pub enum TrakSource<'a> {
    /// Copied from a parsed track.
    Verbatim(&'a Track<'a>),
    /// A video track built here; `stsd` is the whole box.
    Video {
        /// Picture width in pixels, for `tkhd`.
        width: u32,
        /// Picture height in pixels, for `tkhd`.
        height: u32,
        /// The whole `stsd` box.
        stsd: Vec<u8>,
        /// The edit list to write; none when empty.
        edits: Vec<Edit>,
    },
    /// A sound track built here (a synthesized sample); `stsd` is the
    /// whole box.
    Audio {
        /// The whole `stsd` box.
        stsd: Vec<u8>,
    },
}

/// A track to write: where its boxes come from, its samples and their bytes.
pub struct MuxTrack<'a> {
    /// `track_ID`.
    pub id: u32,
    /// Media timescale, of the samples' durations and offsets.
    pub timescale: u32,
    /// Where the boxes other than the sample tables come from.
    pub source: TrakSource<'a>,
    /// In decode order, one per entry of `data`.
    pub samples: Vec<OutSample>,
    /// The bytes of each sample, in order.
    pub data: Vec<&'a [u8]>,
}

impl<'a> MuxTrack<'a> {
    /// A parsed track carried over as it is, its samples read from `file`.
    pub fn verbatim(track: &'a Track<'a>, file: &'a [u8]) -> Self {
        MuxTrack {
            id: track.id,
            timescale: track.timescale,
            source: TrakSource::Verbatim(track),
            samples: track.samples.iter().map(OutSample::from).collect(),
            data: track.samples.iter().map(|s| track.data(file, s)).collect(),
        }
    }

    fn media_duration(&self) -> u64 {
        self.samples.iter().map(|s| s.duration as u64).sum()
    }

    fn edits(&self) -> &[Edit] {
        match &self.source {
            TrakSource::Verbatim(t) => &t.edits,
            TrakSource::Video { edits, .. } => edits,
            TrakSource::Audio { .. } => &[],
        }
    }

    /// The first sample's decode time, media timescale: a carried-over
    /// track's as its source had it, 0 for a built one.
    pub(super) fn first_decode_time(&self) -> u64 {
        match &self.source {
            TrakSource::Verbatim(t) => first_decode_time(t),
            _ => 0,
        }
    }

    /// Where a carried-over track goes on the timeline of this layout;
    /// a built track is always placed by its own edits.
    pub(super) fn placement(&self, movie_timescale: u32, fragmented: bool) -> Placement {
        match &self.source {
            TrakSource::Verbatim(t) => place(t, self.media_duration(), movie_timescale, fragmented),
            _ => Placement::AsIs,
        }
    }

    /// Track duration in movie timescale (progressive layout): the edit
    /// list's if any.
    fn movie_duration(&self, movie_timescale: u32) -> u64 {
        let placed;
        let edits = match self.placement(movie_timescale, false) {
            Placement::Edits(e) => {
                placed = e;
                &placed[..]
            }
            _ => self.edits(),
        };
        if edits.is_empty() {
            u64_sat(rescale(i64_sat(self.media_duration()), self.timescale, movie_timescale))
        } else {
            // Saturating: a hostile edit list's durations may sum past u64.
            edits
                .iter()
                .fold(0u64, |total, e| total.saturating_add(e.segment_duration))
        }
    }
}

/// A run of consecutive samples of one track, stored together.
pub(super) struct Chunk {
    track: usize,
    first: usize,
    count: usize,
}

/// Interleave about every half second, in decode order across tracks.
fn plan_chunks(tracks: &[MuxTrack<'_>]) -> Vec<Chunk> {
    let mut next = vec![0usize; tracks.len()];
    let mut dts = vec![0i64; tracks.len()];
    let mut chunks = Vec::new();
    loop {
        let mut pick: Option<usize> = None;
        for (t, track) in tracks.iter().enumerate() {
            if next[t] >= track.samples.len() {
                continue;
            }
            let earlier = pick.is_none_or(|p| {
                (dts[t] as i128 * tracks[p].timescale as i128) < (dts[p] as i128 * track.timescale as i128)
            });
            if earlier {
                pick = Some(t);
            }
        }
        let Some(t) = pick else { break };
        let track = &tracks[t];
        let limit = dts[t] + (track.timescale / 2).max(1) as i64;
        let first = next[t];
        while next[t] < track.samples.len() && (next[t] == first || dts[t] < limit) {
            dts[t] += track.samples[next[t]].duration as i64;
            next[t] += 1;
        }
        chunks.push(Chunk {
            track: t,
            first,
            count: next[t] - first,
        });
    }
    chunks
}

/// Where the sample tables go.
pub(super) enum Layout<'a> {
    /// All in `moov`, with chunk offsets into the one `mdat`.
    Progressive {
        chunks: &'a [Chunk],
        offsets: &'a [Vec<u64>],
        wide: bool,
    },
    /// In the `moof`s: `moov` has empty tables, zero durations, and an
    /// `mvex` naming the tracks (`trex`). No `mehd`, and a built track's
    /// edits run to the end of the media (duration 0): with either
    /// duration given, GStreamer's qtdemux, which ignores an edit's
    /// media_time in a fragmented file, ends the track that much early and
    /// loses the last frame of a stream with B-frames. ffmpeg reads both
    /// forms alike.
    Fragmented,
}

/// One track's sample tables as `moov` gets them.
struct Tables<'a> {
    samples: &'a [OutSample],
    counts: &'a [u32],
    offsets: &'a [u64],
    wide: bool,
    movie_duration: u64,
    media_duration: u64,
    movie_timescale: u32,
    fragmented: bool,
}

impl Tables<'_> {
    fn chunked(&self) -> Chunked<'_> {
        Chunked {
            samples: self.samples,
            counts: self.counts,
            offsets: self.offsets,
            wide: self.wide,
        }
    }
}

/// Writes the whole file. `moov_extra` is appended inside `moov` (our
/// `udta`). Offsets are laid out first, so the samples are copied once.
pub fn mux_progressive(movie_timescale: u32, tracks: &[MuxTrack<'_>], moov_extra: &[u8]) -> Vec<u8> {
    let chunks = plan_chunks(tracks);
    let payload: u64 = tracks
        .iter()
        .flat_map(|t| t.samples.iter())
        .map(|s| s.size as u64)
        .sum();
    let has_video = tracks.iter().any(|t| matches!(t.source, TrakSource::Video { .. }));

    let mut head = Vec::new();
    write_ftyp(&mut head, has_video, false);
    let ftyp_len = head.len() as u64;
    let mdat_header = mdat_header_len(payload);

    // Lay out once with zero offsets to learn the moov size, then for real.
    let wide = ftyp_len + payload + mdat_header + (1 << 24) > u32::MAX as u64;
    let zero = vec![Vec::new(); tracks.len()];
    let mut probe = Vec::new();
    let layout = Layout::Progressive {
        chunks: &chunks,
        offsets: &zero,
        wide,
    };
    write_moov(&mut probe, movie_timescale, tracks, &layout, moov_extra);
    let data_start = ftyp_len + probe.len() as u64 + mdat_header;
    let mut offsets = vec![Vec::new(); tracks.len()];
    let mut pos = data_start;
    for c in &chunks {
        offsets[c.track].push(pos);
        pos += tracks[c.track].samples[c.first..c.first + c.count]
            .iter()
            .map(|s| s.size as u64)
            .sum::<u64>();
    }

    let mut out = head;
    out.reserve_exact(usize_sat(probe.len() as u64 + mdat_header + payload));
    let layout = Layout::Progressive {
        chunks: &chunks,
        offsets: &offsets,
        wide,
    };
    write_moov(&mut out, movie_timescale, tracks, &layout, moov_extra);
    debug_assert_eq!(out.len() as u64 + mdat_header, data_start);
    write_mdat_header(&mut out, payload);
    for c in &chunks {
        for d in &tracks[c.track].data[c.first..c.first + c.count] {
            out.extend_from_slice(d);
        }
    }
    out
}

/// The size of the `mdat` header for `payload` bytes: 64-bit past 4 GiB.
pub(super) fn mdat_header_len(payload: u64) -> u64 {
    if payload + 8 > u32::MAX as u64 { 16 } else { 8 }
}

pub(super) fn write_mdat_header(out: &mut Vec<u8>, payload: u64) {
    if mdat_header_len(payload) == 16 {
        out.u32(1);
        out.extend_from_slice(b"mdat");
        out.u64(payload + 16);
    } else {
        out.u32(u32_sat(payload + 8));
        out.extend_from_slice(b"mdat");
    }
}

pub(super) fn write_ftyp(out: &mut Vec<u8>, video: bool, fragmented: bool) {
    let at = open(out, b"ftyp");
    out.extend_from_slice(b"isom");
    out.u32(0x200);
    out.extend_from_slice(b"isomiso2");
    if fragmented {
        out.extend_from_slice(b"iso6");
    }
    if video {
        out.extend_from_slice(b"avc1");
    }
    out.extend_from_slice(b"mp41");
    close(out, at);
}

const MATRIX: [u32; 9] = [0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x4000_0000];

pub(super) fn write_moov(
    out: &mut Vec<u8>,
    movie_timescale: u32,
    tracks: &[MuxTrack<'_>],
    layout: &Layout<'_>,
    extra: &[u8],
) {
    let moov = open(out, b"moov");
    let fragmented = matches!(layout, Layout::Fragmented);
    let duration = if fragmented {
        0
    } else {
        tracks
            .iter()
            .map(|t| t.movie_duration(movie_timescale))
            .max()
            .unwrap_or(0)
    };
    let v1 = duration > u32::MAX as u64;
    let mvhd = open_full(out, b"mvhd", v1 as u8, 0);
    if v1 {
        out.zeros(16);
        out.u32(movie_timescale);
        out.u64(duration);
    } else {
        out.zeros(8);
        out.u32(movie_timescale);
        out.u32(u32_sat(duration));
    }
    out.u32(0x10000); // rate 1.0
    out.u16(0x100); // volume 1.0
    out.zeros(10);
    for m in MATRIX {
        out.u32(m);
    }
    out.zeros(24);
    // next_track_ID; all ones (a track already at the largest ID) is the
    // standard's "search for an unused one" (ISO/IEC 14496-12 §8.2.2.3).
    out.u32(tracks.iter().map(|t| t.id).max().unwrap_or(0).saturating_add(1));
    close(out, mvhd);
    for (i, track) in tracks.iter().enumerate() {
        match *layout {
            Layout::Progressive { chunks, offsets, wide } => {
                let counts: Vec<u32> = chunks
                    .iter()
                    .filter(|c| c.track == i)
                    .map(|c| u32_sat(c.count))
                    .collect();
                let offs = if offsets[i].is_empty() {
                    vec![0; counts.len()]
                } else {
                    offsets[i].clone()
                };
                let tables = Tables {
                    samples: &track.samples,
                    counts: &counts,
                    offsets: &offs,
                    wide,
                    movie_duration: track.movie_duration(movie_timescale),
                    media_duration: track.media_duration(),
                    movie_timescale,
                    fragmented: false,
                };
                write_trak(out, track, &tables);
            }
            Layout::Fragmented => {
                let tables = Tables {
                    samples: &[],
                    counts: &[],
                    offsets: &[],
                    wide: false,
                    movie_duration: 0,
                    media_duration: 0,
                    movie_timescale,
                    fragmented: true,
                };
                write_trak(out, track, &tables);
            }
        }
    }
    if fragmented {
        write_mvex(out, tracks);
    }
    out.extend_from_slice(extra);
    close(out, moov);
}

/// `mvex`: each track's defaults (none: every `trun` says all it needs).
fn write_mvex(out: &mut Vec<u8>, tracks: &[MuxTrack<'_>]) {
    let mvex = open(out, b"mvex");
    for t in tracks {
        let trex = open_full(out, b"trex", 0, 0);
        out.u32(t.id);
        out.u32(1); // sample description index
        out.zeros(12); // duration, size, flags
        close(out, trex);
    }
    close(out, mvex);
}

fn write_trak(out: &mut Vec<u8>, t: &MuxTrack<'_>, tables: &Tables<'_>) {
    let trak = open(out, b"trak");
    match &t.source {
        TrakSource::Verbatim(src) => {
            out.extend_from_slice(&patch_duration(src.tkhd, 20, 28, tables.movie_duration));
            match t.placement(tables.movie_timescale, tables.fragmented) {
                Placement::AsIs => {
                    if let Some(edts) = src.edts {
                        out.extend_from_slice(edts);
                    }
                }
                Placement::Edits(edits) => edts::write(out, &edits),
            }
            let mdia = open(out, b"mdia");
            out.extend_from_slice(&patch_duration(src.mdhd, 16, 24, tables.media_duration));
            out.extend_from_slice(src.hdlr);
            let minf = open(out, b"minf");
            if let Some(h) = src.media_header {
                out.extend_from_slice(h);
            }
            match src.dinf {
                Some(d) => out.extend_from_slice(d),
                None => write_dinf(out),
            }
            // Sample groups move into each fragment's `traf`.
            let extra: Vec<&[u8]> = src
                .stbl_extra
                .iter()
                .copied()
                .filter(|b| !(tables.fragmented && is_sample_to_group(b)))
                .collect();
            stbl::write(out, src.stsd, &tables.chunked(), &extra);
            close(out, minf);
            close(out, mdia);
            for extra in &src.trak_extra {
                out.extend_from_slice(extra);
            }
        }
        TrakSource::Video {
            width,
            height,
            stsd,
            edits,
        } => write_built(out, t, (*width, *height), stsd, edits, tables),
        TrakSource::Audio { stsd } => write_built(out, t, (0, 0), stsd, &[], tables),
    }
    close(out, trak);
}

/// A track whose boxes are made here: video (`vmhd`) or sound (`smhd`).
fn write_built(
    out: &mut Vec<u8>,
    t: &MuxTrack<'_>,
    (width, height): (u32, u32),
    stsd: &[u8],
    edits: &[Edit],
    tables: &Tables<'_>,
) {
    let sound = matches!(t.source, TrakSource::Audio { .. });
    let media_duration = tables.media_duration;
    write_tkhd(out, t.id, tables.movie_duration, width, height, sound);
    if tables.fragmented && !edits.is_empty() {
        let to_the_end: Vec<Edit> = edits
            .iter()
            .map(|e| Edit {
                segment_duration: if e.media_time == -1 { e.segment_duration } else { 0 },
                media_time: e.media_time,
            })
            .collect();
        edts::write(out, &to_the_end);
    } else if !edits.is_empty() {
        edts::write(out, edits);
    }
    let mdia = open(out, b"mdia");
    let v1 = media_duration > u32::MAX as u64;
    let mdhd = open_full(out, b"mdhd", v1 as u8, 0);
    if v1 {
        out.zeros(16);
        out.u32(t.timescale);
        out.u64(media_duration);
    } else {
        out.zeros(8);
        out.u32(t.timescale);
        out.u32(u32_sat(media_duration));
    }
    out.u16(0x55c4); // "und"
    out.u16(0);
    close(out, mdhd);
    let hdlr = open_full(out, b"hdlr", 0, 0);
    out.u32(0);
    out.extend_from_slice(if sound { b"soun" } else { b"vide" });
    out.zeros(12);
    out.extend_from_slice(if sound { b"SoundHandler\0" } else { b"VideoHandler\0" });
    close(out, hdlr);
    let minf = open(out, b"minf");
    if sound {
        let smhd = open_full(out, b"smhd", 0, 0);
        out.zeros(4); // balance, reserved
        close(out, smhd);
    } else {
        let vmhd = open_full(out, b"vmhd", 0, 1);
        out.zeros(8);
        close(out, vmhd);
    }
    write_dinf(out);
    stbl::write(out, stsd, &tables.chunked(), &[]);
    close(out, minf);
    close(out, mdia);
}

/// A copy of a full box with its duration field replaced (the field sits
/// at `v0`/`v1` bytes into the body, by version).
fn patch_duration(raw: &[u8], v0: usize, v1: usize, duration: u64) -> Vec<u8> {
    let mut b = raw.to_vec();
    let header = if raw.len() >= 4 && raw[..4] == [0, 0, 0, 1] {
        16
    } else {
        8
    };
    let Some(&version) = b.get(header) else {
        return b;
    };
    if version == 1 {
        if let Some(f) = b.get_mut(header + v1..header + v1 + 8) {
            f.copy_from_slice(&duration.to_be_bytes());
        }
    } else if let Some(f) = b.get_mut(header + v0..header + v0 + 4) {
        f.copy_from_slice(&u32_sat(duration).to_be_bytes());
    }
    b
}

fn write_tkhd(out: &mut Vec<u8>, id: u32, duration: u64, width: u32, height: u32, sound: bool) {
    let v1 = duration > u32::MAX as u64;
    let at = open_full(out, b"tkhd", v1 as u8, 3); // enabled, in movie
    if v1 {
        out.zeros(16);
        out.u32(id);
        out.u32(0);
        out.u64(duration);
    } else {
        out.zeros(8);
        out.u32(id);
        out.u32(0);
        out.u32(u32_sat(duration));
    }
    out.zeros(8);
    out.u16(0); // layer
    out.u16(0); // alternate group
    out.u16(if sound { 0x100 } else { 0 }); // volume
    out.u16(0);
    for m in MATRIX {
        out.u32(m);
    }
    out.u32(width << 16);
    out.u32(height << 16);
    close(out, at);
}

fn write_dinf(out: &mut Vec<u8>) {
    let dinf = open(out, b"dinf");
    let dref = open_full(out, b"dref", 0, 0);
    out.u32(1);
    let url = open_full(out, b"url ", 0, 1); // media in this file
    close(out, url);
    close(out, dref);
    close(out, dinf);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mp4::{TrackKind, opus_stsd, parse};

    fn sound(sizes: &[u32], data: &'static [u8]) -> MuxTrack<'static> {
        let mut at = 0;
        MuxTrack {
            id: 1,
            timescale: 48_000,
            source: TrakSource::Audio {
                stsd: opus_stsd(2, 312, 48_000),
            },
            samples: sizes
                .iter()
                .map(|&size| OutSample {
                    size,
                    duration: 960,
                    cts_offset: 0,
                    sync: true,
                })
                .collect(),
            data: sizes
                .iter()
                .map(|&n| {
                    let d = &data[at..at + n as usize];
                    at += n as usize;
                    d
                })
                .collect(),
        }
    }

    /// What `stbl::write` writes as the sample sizes, our reader reads
    /// back: a constant size, a table, and samples that are all empty
    /// (a sample_size of 0 means a table follows, §8.7.3.2).
    #[test]
    fn sample_sizes_read_back_as_written() {
        for sizes in [&[3u32, 3, 3][..], &[1, 2, 3], &[0], &[0, 0, 0], &[0, 4]] {
            let out = mux_progressive(1_000, &[sound(sizes, &[7; 16])], &[]);
            let movie = parse(&out).unwrap_or_else(|e| panic!("{sizes:?}: {e}"));
            let track = movie.tracks.iter().find(|t| t.kind == TrackKind::Audio).unwrap();
            let read: Vec<u32> = track.samples.iter().map(|s| s.size).collect();
            assert_eq!(read, sizes, "{sizes:?}");
        }
    }
}
