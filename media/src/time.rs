//! Timescale arithmetic. All rescaling goes through here, in `i128`, with
//! round-half-away-from-zero, so no conversion can overflow or truncate.

use crate::num::i64_sat;

/// The MPEG-TS system clock for PTS/DTS (ISO/IEC 13818-1 §2.4.3.7).
pub const TS_CLOCK: u32 = 90_000;

/// PTS/DTS fields are 33 bits wide.
pub const PTS_MODULUS: i64 = 1 << 33;

/// Rescale `value` ticks of `from` Hz to `to` Hz, rounding to nearest.
pub fn rescale(value: i64, from: u32, to: u32) -> i64 {
    if from == to || from == 0 {
        return value;
    }
    let num = value as i128 * to as i128;
    let den = from as i128;
    let half = den / 2;
    let q = if num >= 0 {
        (num + half) / den
    } else {
        (num - half) / den
    };
    i64::try_from(q).unwrap_or(if q < 0 { i64::MIN } else { i64::MAX })
}

/// Nanoseconds for `value` ticks of `timescale` Hz.
pub fn to_ns(value: i64, timescale: u32) -> i64 {
    rescale(value, timescale, 1_000_000_000)
}

/// Brings a 33-bit timestamp to the unwrapped value nearest `reference`, so
/// a stream that crosses 2^33 (26.5 h) keeps counting up.
pub fn unwrap_pts(raw: u64, reference: i64) -> i64 {
    let raw = i64_sat(raw % PTS_MODULUS.unsigned_abs());
    let base = reference - reference.rem_euclid(PTS_MODULUS);
    let mut best = base + raw;
    for cand in [best - PTS_MODULUS, best + PTS_MODULUS] {
        if (cand - reference).abs() < (best - reference).abs() {
            best = cand;
        }
    }
    best
}

/// Greatest common divisor, for reducing frame rates.
pub fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rescale_rounds_to_nearest() {
        assert_eq!(rescale(1, 15360, 90000), 6); // 5.859
        assert_eq!(rescale(-1, 15360, 90000), -6);
        assert_eq!(rescale(256, 15360, 90000), 1500);
        assert_eq!(rescale(i64::MAX, 1, 90000), i64::MAX);
    }

    #[test]
    fn round_trip_through_90k_is_exact_below_90k() {
        for ts in [1000u32, 6000, 15360, 30000, 48000, 60000, 89999] {
            for v in [-1_000_000i64, -7, 0, 1, 2, 3, 12345, 9_999_999] {
                let k = rescale(v, ts, TS_CLOCK);
                assert_eq!(rescale(k, TS_CLOCK, ts), v, "ts {ts} v {v}");
            }
        }
    }

    #[test]
    fn unwrap_crosses_the_33_bit_boundary() {
        let near_top = PTS_MODULUS - 1000;
        assert_eq!(unwrap_pts(500, near_top), PTS_MODULUS + 500);
        assert_eq!(unwrap_pts((PTS_MODULUS - 10) as u64, PTS_MODULUS + 5), PTS_MODULUS - 10);
        assert_eq!(unwrap_pts(42, 0), 42);
        assert_eq!(unwrap_pts((PTS_MODULUS - 3) as u64, 0), -3);
    }
}
