//! `check`: findings about a segment, for an operator who needs to know what
//! is wrong with it, where, and what the bridge and the gateway will make of
//! it. Everything is read from the bytes: the sample tables, the sample
//! entries, the NAL unit headers and the Opus TOC bytes, never the
//! payloads, so a check costs a fraction of a split.
//!
//! A finding has a severity, a stable kebab-case code (for scripts: it is
//! never reworded; [`FindingCode`], in the contract crate), where it is,
//! and one plain sentence. The codes, and the severity this checker gives
//! each:
//!
//! | code | severity | what |
//! |---|---|---|
//! | `unreadable` | error | the bytes are not an MP4 this reader can follow |
//! | `no-video`, `no-audio`, `no-frames` | error | the bridge refuses a segment without them |
//! | `unsupported-video-codec` | error | not H.264 |
//! | `no-parameter-sets` | error | no SPS/PPS in `avcC` or before the first frame |
//! | `bad-parameter-set` | error | an SPS the bridge cannot read |
//! | `first-frame-not-keyframe` | error | decoding cannot start at the first frame |
//! | `dts-decreasing` | error | a decode time earlier than the one before |
//! | `pts-before-dts` | error | a frame presented before it is decoded |
//! | `opus-bad-channel-mapping` | error | `dOps` channels and mapping disagree |
//! | `parameter-sets-change` | warning | an in-band SPS unlike the first |
//! | `duplicate-dts` | warning | samples that share a decode time |
//! | `duplicate-pts` | warning | frames that share a presentation time |
//! | `irregular-frame-durations` | warning | frame durations off the usual one |
//! | `irregular-audio-durations` | warning | audio packets whose timestamps disagree with their length (Opus: from the TOC byte; the last may be short) |
//! | `gap` | warning | a step of more than three expected durations: frames or packets missing |
//! | `av-start-offset` | warning | audio and video start apart by more than a frame and a packet |
//! | `av-duration-mismatch` | warning | audio and video last differently, by more than that |
//! | `opus-pre-skip` | warning | a pre-skip of 0 or over 80 ms |
//! | `layout`, `b-frames`, `edit-list`, `keyframes`, `bitrate`, `bridge-request` | info | facts |
//!
//! Across segments given in order ([`stream`]): `gap-between-segments` and
//! `overlap-between-segments` (warnings). The host adds `new-manifest`
//! (info), by its ladder and the rule its sessions use.

mod segment;
pub mod stream;
mod timeline;

pub use lpbridge_contract::finding::{Finding, FindingCode, Location, Report, Severity, TrackKind, order};
pub use segment::check;
pub use timeline::timeline;
