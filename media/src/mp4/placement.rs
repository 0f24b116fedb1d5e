//! Where a carried-over track sits on the movie timeline, said the way the
//! output layout can say it.
//!
//! A fragmented source says it with `tfdt`: the second 2 s segment of a
//! stream has its audio's first decode time at 2 s, and no edit list. A
//! fragmented output says it the same way, with the source's edits as
//! they are. A progressive file cannot start its sample tables anywhere
//! but 0, so there the same place takes an edit list the source did not
//! need. The samples are never touched: only the edit list moves.

use crate::time::rescale;

use super::model::{Edit, Track};
use crate::num::{i64_sat, u64_sat};

/// How a carried-over track's timeline is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Placement {
    /// The source's `edts` (or its lack of one) already says it, with the
    /// first decode time the source had: copied as it is.
    AsIs,
    /// The media now starts at decode time 0 (progressive output of a
    /// track whose source started later): these edits, movie timescale,
    /// replace the source's.
    Edits(Vec<Edit>),
}

/// The first decode time of a parsed track, media timescale: the first
/// `tfdt` of a fragmented source, 0 for a progressive one.
pub(super) fn first_decode_time(track: &Track<'_>) -> u64 {
    track.samples.first().map_or(0, |s| u64_sat(s.dts))
}

/// Where `track`, whose samples last `media_duration` ticks, goes in a
/// progressive (`fragmented == false`) or fragmented output.
pub(super) fn place(track: &Track<'_>, media_duration: u64, movie_timescale: u32, fragmented: bool) -> Placement {
    let start = first_decode_time(track);
    if fragmented || start == 0 {
        return Placement::AsIs;
    }
    let to_movie = |t: u64| u64_sat(rescale(i64_sat(t), track.timescale, movie_timescale));
    Placement::Edits(shifted(&track.edits, start, to_movie, to_movie(media_duration)))
}

/// The edits of `edits`, whose media times count from decode time 0,
/// rewritten for media that starts `start` ticks earlier. Without an edit
/// list a track is shown from its first decode time (ffmpeg's reading, and
/// so Chrome's): that lead becomes an empty edit.
fn shifted(edits: &[Edit], start: u64, to_movie: impl Fn(u64) -> u64, movie_duration: u64) -> Vec<Edit> {
    let mut out = Vec::new();
    let push_empty = |out: &mut Vec<Edit>, d: u64| {
        if d == 0 {
            return;
        }
        match out.last_mut() {
            Some(Edit {
                media_time: -1,
                segment_duration,
            }) => *segment_duration += d,
            _ => out.push(Edit {
                segment_duration: d,
                media_time: -1,
            }),
        }
    };
    if edits.is_empty() {
        push_empty(&mut out, to_movie(start));
        out.push(Edit {
            segment_duration: movie_duration,
            media_time: 0,
        });
        return out;
    }
    for e in edits {
        if e.media_time == -1 {
            push_empty(&mut out, e.segment_duration);
            continue;
        }
        let media_time = e.media_time - i64_sat(start.min(i64::MAX as u64));
        if media_time >= 0 {
            out.push(Edit { media_time, ..*e });
            continue;
        }
        // The edit begins before the first sample: that part shows nothing.
        let gap = to_movie(media_time.unsigned_abs()).min(e.segment_duration);
        push_empty(&mut out, gap);
        if e.segment_duration > gap {
            out.push(Edit {
                segment_duration: e.segment_duration - gap,
                media_time: 0,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(segment_duration: u64, media_time: i64) -> Edit {
        Edit {
            segment_duration,
            media_time,
        }
    }

    /// 48 kHz media, 1 kHz movie.
    fn to_movie(t: u64) -> u64 {
        rescale(t as i64, 48_000, 1_000) as u64
    }

    #[test]
    fn a_track_without_edits_keeps_its_lead_as_an_empty_edit() {
        // The second 2 s segment of a stream: audio decodes from 2.02 s.
        let edits = shifted(&[], 96_960, to_movie, 2_000);
        assert_eq!(edits, vec![edit(2_020, -1), edit(2_000, 0)]);
    }

    #[test]
    fn media_edits_move_with_the_media() {
        // Opus pre-skip (312) in a source whose media starts at 96 000.
        let edits = shifted(&[edit(500, -1), edit(1_980, 96_312)], 96_000, to_movie, 2_000);
        assert_eq!(edits, vec![edit(500, -1), edit(1_980, 312)]);
    }

    #[test]
    fn an_edit_that_starts_before_the_media_shows_nothing_until_it() {
        let edits = shifted(&[edit(2_000, 0)], 4_800, to_movie, 1_900);
        assert_eq!(edits, vec![edit(100, -1), edit(1_900, 0)]);
    }
}
