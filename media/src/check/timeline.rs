//! Where each sample of a segment sits in time, for drawing it beside its
//! findings: read from the sample tables alone, like the check, on the
//! same axis as a finding's `time_ns` (each track's media timeline, ns).

use lpbridge_contract::timeline::{EditSpan, MAX_DRAWN_SAMPLES, SampleTime, SegmentTimeline, TrackTimeline};

use super::TrackKind;
use crate::mp4::{self, Movie, Track, TrackKind as Kind};
use crate::num::{i64_sat, u32_sat};
use crate::opus::packet_samples;
use crate::time::to_ns;

/// The segment's video and audio tracks on their timelines, or `None`
/// when its boxes cannot be read (its check says why).
pub fn timeline(segment: &[u8]) -> Option<SegmentTimeline> {
    let movie = mp4::parse(segment).ok()?;
    let first = |kind: Kind| movie.tracks.iter().find(|t| t.kind == kind);
    let tracks = [(Kind::Video, TrackKind::Video), (Kind::Audio, TrackKind::Audio)]
        .into_iter()
        .filter_map(|(kind, ours)| first(kind).map(|t| track(segment, &movie, t, ours)))
        .collect();
    Some(SegmentTimeline { tracks })
}

fn track(segment: &[u8], movie: &Movie<'_>, t: &Track<'_>, kind: TrackKind) -> TrackTimeline {
    let ns = |v: i64| to_ns(v, t.timescale);
    let opus = t.kind == Kind::Audio && t.entry.format.is_some_and(|f| &f.0 == b"Opus");
    let samples = t
        .samples
        .iter()
        .take(MAX_DRAWN_SAMPLES)
        .map(|s| SampleTime {
            dts_ns: ns(s.dts),
            pts_ns: ns(s.pts()),
            duration_ns: ns(i64::from(s.duration)),
            coded_duration_ns: opus
                .then(|| packet_samples(t.data(segment, s)))
                .flatten()
                .map(|n| to_ns(i64::from(n), 48_000)),
            size: s.size,
            keyframe: s.sync,
        })
        .collect();
    let mut start = 0i64;
    let edits = t
        .edits
        .iter()
        .take(MAX_DRAWN_SAMPLES)
        .map(|e| {
            let duration_ns = to_ns(i64_sat(e.segment_duration), movie.timescale);
            let span = EditSpan {
                start_ns: start,
                duration_ns,
                media_time_ns: (e.media_time != -1).then(|| ns(e.media_time)),
            };
            start = start.saturating_add(duration_ns);
            span
        })
        .collect();
    TrackTimeline {
        kind,
        samples,
        total_samples: u32_sat(t.samples.len()),
        edits,
        fragment_starts_ns: t
            .fragment_starts
            .iter()
            .take(MAX_DRAWN_SAMPLES)
            .map(|&d| ns(d))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> Vec<u8> {
        let dir = std::env::var_os("LPBRIDGE_FIXTURES").map_or_else(
            || std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/streamplace"),
            std::path::PathBuf::from,
        );
        std::fs::read(dir.join("sample-segment.mp4")).unwrap()
    }

    #[test]
    fn a_real_segment_lists_every_sample_on_the_findings_axis() {
        let segment = fixture();
        let t = timeline(&segment).unwrap();
        let movie = mp4::parse(&segment).unwrap();
        let video = movie.tracks.iter().find(|t| t.kind == Kind::Video).unwrap();
        let drawn = t.track(TrackKind::Video).unwrap();
        assert_eq!(drawn.samples.len(), video.samples.len());
        assert_eq!(drawn.total_samples as usize, video.samples.len());
        assert!(drawn.samples[0].keyframe);
        for (s, d) in video.samples.iter().zip(&drawn.samples) {
            assert_eq!(d.pts_ns, to_ns(s.pts(), video.timescale));
            assert_eq!(d.size, s.size);
        }
        let audio = t.track(TrackKind::Audio).unwrap();
        assert!(!audio.samples.is_empty());
        // 20 ms Opus packets, each read from its TOC byte.
        assert!(audio.samples.iter().all(|s| s.coded_duration_ns == Some(20_000_000)));
        assert!(drawn.samples.iter().all(|s| s.coded_duration_ns.is_none()));
        assert_eq!(t.tracks[0].kind, TrackKind::Video);
    }

    #[test]
    fn junk_has_no_timeline() {
        assert_eq!(timeline(b"not an mp4 at all"), None);
    }
}
