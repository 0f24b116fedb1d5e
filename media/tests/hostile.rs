//! Inputs nobody should trust: every one must come back as a typed error
//! (or a valid result), never a panic, and never allocate more than a fixed
//! multiple of its own size. A counting allocator measures the peak.

#![allow(clippy::unwrap_used)] // an unwrap here is an assertion

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use lpbridge_media::multipart::{self, MultipartError};
use lpbridge_media::{Error, JoinOptions, join, probe, split};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// A counting allocator, to measure the peak a hostile input costs.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Tests share the counters, so they take turns.
static SERIAL: Mutex<()> = Mutex::new(());

/// Bytes a call may allocate beyond what it held before: a multiple of the
/// input (a sample table entry is 32 bytes per 1-byte sample at worst) plus
/// a constant.
fn budget(input: usize) -> usize {
    40 * input + (1 << 20)
}

/// Runs `f`, returns its result and the peak extra allocation.
fn measured<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let out = f();
    (out, PEAK.load(Ordering::Relaxed).saturating_sub(base))
}

fn fixtures() -> Vec<Vec<u8>> {
    let dir = std::env::var_os("LPBRIDGE_FIXTURES").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/streamplace"),
        PathBuf::from,
    );
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "mp4"))
        .collect();
    files.sort();
    files.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// A small deterministic generator (xorshift64*), so failures replay.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// Split, probe and join one input; checks the allocation budget.
fn exercise(input: &[u8], audio: &[u8], what: &str) {
    let (_, peak) = measured(|| {
        let _ = probe(input);
        let _ = split(input);
        let _ = join(input, audio, JoinOptions::default());
    });
    assert!(
        peak <= budget(input.len() + audio.len()),
        "{what}: allocated {peak} bytes for {} input bytes",
        input.len()
    );
}

#[test]
fn empty_and_random_inputs_are_typed_errors() {
    let _guard = SERIAL.lock().unwrap();
    assert!(matches!(split(b""), Err(Error::Truncated(_))));
    assert!(matches!(
        join(b"", b"", JoinOptions::default()),
        Err(Error::Truncated(_))
    ));
    let mut rng = Rng(7);
    for size in [1, 7, 8, 188, 1000, 1 << 20] {
        let bytes = rng.bytes(size);
        let e = split(&bytes).unwrap_err();
        assert!(
            matches!(e, Error::Malformed { .. } | Error::Truncated(_)),
            "{size}: {e}"
        );
        exercise(&bytes, &bytes, &format!("random {size}"));
    }
}

#[test]
fn truncated_segments_never_panic_and_mostly_fail() {
    let _guard = SERIAL.lock().unwrap();
    for (i, file) in fixtures().iter().enumerate() {
        let audio = split(file).unwrap().audio_mp4;
        let mut rng = Rng(11 + i as u64);
        for _ in 0..40 {
            let cut = rng.below(file.len());
            // The fixtures keep moov last (short-video.mp4 has a uuid after
            // it): a cut before the end of moov loses the index or a box.
            let moov_end = {
                let at = file.windows(4).rposition(|w| w == b"moov").unwrap() - 4;
                at + u32::from_be_bytes(file[at..at + 4].try_into().unwrap()) as usize
            };
            match split(&file[..cut]) {
                Err(Error::Truncated(_) | Error::Malformed { .. }) => {}
                Err(e) => panic!("cut {cut}: {e}"),
                Ok(_) => assert!(cut >= moov_end, "cut {cut} inside the file succeeded"),
            }
            exercise(&file[..cut], &audio, &format!("fixture {i} cut at {cut}"));
        }
    }
}

#[test]
fn mutated_segments_and_streams_never_panic() {
    let _guard = SERIAL.lock().unwrap();
    for (i, file) in fixtures().iter().enumerate() {
        let parts = split(file).unwrap();
        let mut rng = Rng(99 + i as u64);
        for round in 0..150 {
            let mut mp4 = file.clone();
            let mut ts = parts.video_ts.clone();
            let mut audio = parts.audio_mp4.clone();
            for _ in 0..1 + rng.below(8) {
                let (a, b, c) = (rng.below(mp4.len()), rng.below(ts.len()), rng.below(audio.len()));
                // Size and count fields are where lies hurt: hit them hard.
                mp4[a] = if round % 2 == 0 { 0xff } else { rng.next() as u8 };
                ts[b] = rng.next() as u8;
                audio[c] = if round % 3 == 0 { 0xff } else { rng.next() as u8 };
            }
            exercise(&mp4, &parts.audio_mp4, &format!("fixture {i} mp4 round {round}"));
            // Both layouts: the fragmented one also reads the audio's sbgp.
            let options = JoinOptions {
                fragmented: round % 2 == 1,
            };
            let (_, peak) = measured(|| {
                let _ = join(&ts, &audio, options);
            });
            assert!(peak <= budget(ts.len() + audio.len()), "join mutation {round}: {peak}");
        }
    }
}

/// Builds a box: size, type, body.
fn boxed(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut b = ((8 + body.len()) as u32).to_be_bytes().to_vec();
    b.extend_from_slice(kind);
    b.extend_from_slice(body);
    b
}

#[test]
fn lying_counts_cost_an_error_not_memory() {
    let _guard = SERIAL.lock().unwrap();
    let file = &fixtures()[0];
    let find = |f: &[u8], kind: &[u8]| f.windows(4).position(|w| w == kind).unwrap() - 4;

    // stsz: a constant size of 1 byte and four billion samples.
    let mut f = file.clone();
    let at = find(&f, b"stsz");
    f[at + 12..at + 16].copy_from_slice(&1u32.to_be_bytes());
    f[at + 16..at + 20].copy_from_slice(&u32::MAX.to_be_bytes());
    let (r, peak) = measured(|| split(&f));
    assert!(matches!(r, Err(Error::TooLarge { .. })), "{r:?}");
    assert!(peak < budget(f.len()));

    // stts and stco entry counts far past their box.
    for kind in [b"stts", b"stco", b"stsc", b"ctts", b"elst"] {
        let mut f = file.clone();
        let at = find(&f, kind);
        f[at + 12..at + 16].copy_from_slice(&0x7fff_ffffu32.to_be_bytes());
        let (r, peak) = measured(|| split(&f));
        assert!(
            matches!(r, Err(Error::Truncated(_))),
            "{}: {r:?}",
            String::from_utf8_lossy(kind)
        );
        assert!(peak < budget(f.len()));
    }

    // A box that claims more bytes than the file has.
    let mut f = boxed(b"ftyp", b"isom\0\0\0\0");
    f.extend_from_slice(&boxed(b"moov", &[0; 16]));
    f[8 + 8 + 3] = 0xff;
    assert!(matches!(split(&f), Err(Error::Truncated(_))));
    // A box smaller than its header.
    let f = [0, 0, 0, 3, b'm', b'o', b'o', b'v'];
    assert!(matches!(split(&f), Err(Error::Malformed { .. })));
    // ftyp and nothing else: the index is missing.
    assert!(matches!(
        split(&boxed(b"ftyp", b"isom\0\0\0\0")),
        Err(Error::Truncated(_))
    ));
}

/// A transport stream of PAT + PMT listing `stream_type` on PID 0x100.
fn ts_with_stream(stream_type: u8) -> Vec<u8> {
    let crc = |d: &[u8]| {
        d.iter().fold(0xffff_ffffu32, |mut c, &b| {
            c ^= (b as u32) << 24;
            for _ in 0..8 {
                c = if c & 0x8000_0000 != 0 {
                    (c << 1) ^ 0x04c1_1db7
                } else {
                    c << 1
                };
            }
            c
        })
    };
    let packet = |pid: u16, section: &[u8]| {
        let mut p = vec![0x47, 0x40 | (pid >> 8) as u8, pid as u8, 0x10, 0];
        p.extend_from_slice(section);
        p.extend_from_slice(&crc(section).to_be_bytes());
        p.resize(188, 0xff);
        p
    };
    let pat = [0x00, 0xb0, 13, 0, 1, 0xc1, 0, 0, 0, 1, 0xf0, 0x00];
    let pmt = [
        0x02,
        0xb0,
        18,
        0,
        1,
        0xc1,
        0,
        0,
        0xe1,
        0x00,
        0xf0,
        0,
        stream_type,
        0xe1,
        0x00,
        0xf0,
        0,
    ];
    [packet(0, &pat), packet(0x1000, &pmt)].concat()
}

#[test]
fn transport_streams_without_usable_video() {
    let _guard = SERIAL.lock().unwrap();
    let audio = split(&fixtures()[0]).unwrap().audio_mp4;
    let j = |ts: &[u8]| join(ts, &audio, JoinOptions::default());
    assert!(matches!(j(&ts_with_stream(0x0f)), Err(Error::NoVideo)), "AAC only");
    assert!(matches!(j(&ts_with_stream(0x24)), Err(Error::UnsupportedCodec(c)) if c == "hevc"));
    assert!(
        matches!(j(&ts_with_stream(0x1b)), Err(Error::NoVideo)),
        "H.264 listed, no PES"
    );

    // A PES that declares 60000 bytes and never delivers them.
    let mut ts = ts_with_stream(0x1b);
    let mut p = vec![
        0x47, 0x41, 0x00, 0x10, 0, 0, 1, 0xe0, 0xea, 0x60, 0x84, 0x80, 5, 0x21, 0, 1, 0, 1,
    ];
    p.resize(188, 0);
    ts.extend_from_slice(&p);
    assert!(matches!(j(&ts), Err(Error::Truncated(_))));

    // Not packet-aligned, not a TS at all, and a lost packet.
    assert!(matches!(j(&ts[..300]), Err(Error::Truncated(_))));
    assert!(matches!(j(b"garbage!"), Err(Error::Malformed { .. })));
    let good = split(&fixtures()[0]).unwrap().video_ts;
    let mut lost = good[..188 * 10].to_vec();
    lost.extend_from_slice(&good[188 * 11..]);
    assert!(
        matches!(j(&lost), Err(Error::Malformed { .. })),
        "continuity counter jump"
    );
    // The audio side must be an MP4 with audio.
    assert!(matches!(
        join(&good, &good, JoinOptions::default()),
        Err(Error::Malformed { .. })
    ));
}

#[test]
fn hostile_multipart_bodies() {
    let _guard = SERIAL.lock().unwrap();
    let ct = "multipart/mixed; boundary=abc";
    let mut rng = Rng(3);
    for size in [0, 1, 100, 100_000] {
        let body = rng.bytes(size);
        let (r, peak) = measured(|| multipart::parse(ct, &body));
        assert!(matches!(r, Err(MultipartError::Truncated(_))), "{size}: {r:?}");
        assert!(peak <= budget(size));
    }
    // Parts that never end, and a header block that never ends.
    assert!(matches!(
        multipart::parse(ct, b"--abc\r\n\r\nforever"),
        Err(MultipartError::Truncated(_))
    ));
    let endless = [b"--abc\r\n".as_slice(), &vec![b'x'; 1 << 20]].concat();
    assert!(matches!(
        multipart::parse(ct, &endless),
        Err(MultipartError::TooLarge { .. })
    ));
    // A Content-Length of a terabyte does not reserve a terabyte.
    let (r, peak) = measured(|| multipart::parse(ct, b"--abc\r\nContent-Length: 1099511627776\r\n\r\nxx"));
    assert!(matches!(r, Err(MultipartError::Truncated(_))));
    assert!(peak < 1 << 20);
    assert!(matches!(
        multipart::parse(ct, b"--abc\r\nno colon here\r\n\r\n"),
        Err(MultipartError::Malformed { .. })
    ));
}
