//! Host time as the core sees it: instants and Vault-style durations.
//!
//! The core never reads a clock. Every input carries a [`Timestamp`] supplied by the host
//! (a real server passes wall-clock time, the simulator passes its virtual clock).

use serde::{Deserialize, Serialize};
use std::fmt;

/// A point in host time: milliseconds since the Unix epoch (UTC).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// The instant `ms` milliseconds after the Unix epoch.
    pub const fn from_millis(ms: u64) -> Self {
        Timestamp(ms)
    }

    /// Milliseconds since the Unix epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// This instant plus `d` (saturating).
    pub fn plus(self, d: Duration) -> Self {
        Timestamp(self.0.saturating_add(d.0))
    }

    /// How long after `earlier` this instant is (zero if it is not later).
    pub fn since(self, earlier: Timestamp) -> Duration {
        Duration(self.0.saturating_sub(earlier.0))
    }

    /// RFC 3339 in UTC with second precision, e.g. `2026-01-01T00:00:05Z`, as Vault's status shows it.
    pub fn to_rfc3339(self) -> String {
        let secs = self.0 / 1000;
        let days = (secs / 86_400) as i64;
        let rem = secs % 86_400;
        let (y, m, d) = civil_from_days(days);
        format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
            rem / 3600,
            (rem % 3600) / 60,
            rem % 60
        )
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day) (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

/// A span of host time in milliseconds.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Duration(pub u64);

/// Why a duration string was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {input:?}: {reason} (use whole seconds like 1800 or Vault durations like 90s, 30m, 1h30m)")]
pub struct DurationError {
    /// The text that was given.
    pub input: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl Duration {
    /// `ms` milliseconds.
    pub const fn from_millis(ms: u64) -> Self {
        Duration(ms)
    }

    /// `s` seconds.
    pub const fn from_secs(s: u64) -> Self {
        Duration(s * 1000)
    }

    /// Whole milliseconds.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// Whole seconds (rounded down).
    pub const fn as_secs(self) -> u64 {
        self.0 / 1000
    }

    /// Parses a Vault duration: whole seconds (`"1800"`) or a sequence of number+unit pairs with units
    /// `ms`, `s`, `m`, `h`, `d` (`"90s"`, `"30m"`, `"1h30m"`, `"1.5h"`). Negative values and garbage are
    /// refused; zero is accepted here (callers that need a positive value check [`Duration::is_zero`]).
    pub fn parse(text: &str) -> Result<Duration, DurationError> {
        let err = |reason| DurationError {
            input: text.to_string(),
            reason,
        };
        let s = text.trim();
        if s.is_empty() {
            return Err(err("it is empty"));
        }
        if s.starts_with('-') {
            return Err(err("it is negative"));
        }
        if s.bytes().all(|b| b.is_ascii_digit()) {
            let secs: u64 = s.parse().map_err(|_| err("it is too large"))?;
            return secs
                .checked_mul(1000)
                .map(Duration)
                .ok_or_else(|| err("it is too large"));
        }
        let mut total: u64 = 0;
        let mut rest = s;
        while !rest.is_empty() {
            let num_len = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(rest.len());
            if num_len == 0 {
                return Err(err("a unit must follow a number"));
            }
            let (num, tail) = rest.split_at(num_len);
            let unit_len = tail
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(tail.len());
            let (unit, tail) = tail.split_at(unit_len);
            let unit_ms: u64 = match unit {
                "ms" => 1,
                "s" => 1000,
                "m" => 60_000,
                "h" => 3_600_000,
                "d" => 86_400_000,
                "" => return Err(err("a number needs a unit (ms, s, m, h, d)")),
                _ => return Err(err("unknown unit (use ms, s, m, h or d)")),
            };
            let value: f64 = num.parse().map_err(|_| err("not a number"))?;
            let ms = value * unit_ms as f64;
            if !ms.is_finite() || ms > u64::MAX as f64 / 2.0 {
                return Err(err("it is too large"));
            }
            total = total
                .checked_add(ms.round() as u64)
                .ok_or_else(|| err("it is too large"))?;
            rest = tail;
        }
        Ok(Duration(total))
    }

    /// True for a zero-length span.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for Duration {
    /// Formats like Vault: `30m0s`-style is avoided; the shortest exact form such as `1h30m`, `90s`, `250ms`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ms = self.0;
        if ms == 0 {
            return f.write_str("0s");
        }
        for (unit, size) in [("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)] {
            if ms >= size {
                write!(f, "{}{}", ms / size, unit)?;
                ms %= size;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_vault_durations() {
        assert_eq!(Duration::parse("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(Duration::parse("30m").unwrap(), Duration::from_secs(1800));
        assert_eq!(Duration::parse("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(Duration::parse("1800").unwrap(), Duration::from_secs(1800));
        assert_eq!(
            Duration::parse("250ms").unwrap(),
            Duration::from_millis(250)
        );
        assert_eq!(Duration::parse("1.5h").unwrap(), Duration::from_secs(5400));
        assert_eq!(Duration::parse("0").unwrap(), Duration::from_millis(0));
    }

    #[test]
    fn refuses_garbage_saying_what_is_wrong() {
        for (bad, reason) in [
            ("", "it is empty"),
            ("   ", "it is empty"),
            ("-5s", "it is negative"),
            ("abc", "a unit must follow a number"),
            ("m", "a unit must follow a number"),
            ("5x", "unknown unit (use ms, s, m, h or d)"),
            ("1h-3m", "unknown unit (use ms, s, m, h or d)"),
            ("1h30", "a number needs a unit (ms, s, m, h, d)"),
            ("1.2.3s", "not a number"),
            ("18446744073709551616", "it is too large"),
            ("18446744073709552", "it is too large"),
            ("9999999999999999999d", "it is too large"),
            ("3000000000000h", "it is too large"),
            (
                "2562047788015h2562047788015h2562047788015h",
                "it is too large",
            ),
        ] {
            let e = Duration::parse(bad).unwrap_err();
            assert_eq!(e.reason, reason, "{bad:?}");
            assert_eq!(e.input, bad);
            assert!(e.to_string().contains("30m"), "{e}");
        }
    }

    #[test]
    fn parses_at_the_edges_of_the_range() {
        // Whole seconds up to the largest that fits in milliseconds.
        let max_secs = u64::MAX / 1000;
        assert_eq!(
            Duration::parse(&max_secs.to_string()).unwrap(),
            Duration::from_secs(max_secs)
        );
        // Each unit's size, and sums of pairs.
        for (text, ms) in [
            ("1ms", 1),
            ("1s", 1000),
            ("1m", 60_000),
            ("1h", 3_600_000),
            ("1d", 86_400_000),
            ("1d1h1m1s1ms", 90_061_001),
            ("0.5s", 500),
            (" 2m ", 120_000),
            // The largest single term: half of u64::MAX milliseconds (so two still add up).
            ("9223372036854775807ms", 9_223_372_036_854_775_808),
        ] {
            assert_eq!(
                Duration::parse(text).unwrap(),
                Duration::from_millis(ms),
                "{text}"
            );
        }
    }

    #[test]
    fn arithmetic_saturates_and_converts() {
        let t = Timestamp::from_millis(5_000);
        assert_eq!(t.as_millis(), 5_000);
        assert_eq!(t.plus(Duration::from_secs(2)), Timestamp(7_000));
        assert_eq!(Timestamp(u64::MAX).plus(Duration(1)), Timestamp(u64::MAX));
        assert_eq!(t.since(Timestamp(1_500)), Duration(3_500));
        assert_eq!(Timestamp(1_500).since(t), Duration(0));
        assert_eq!(Duration::from_millis(2_999).as_secs(), 2);
        assert_eq!(Duration::from_secs(3).as_millis(), 3_000);
        assert!(Duration(0).is_zero() && !Duration(1).is_zero());
    }

    #[test]
    fn displays_shortest_form_which_reads_back() {
        for (ms, text) in [
            (0, "0s"),
            (1, "1ms"),
            (999, "999ms"),
            (1000, "1s"),
            (1500, "1s500ms"),
            (60_000, "1m"),
            (3_600_000, "1h"),
            (5_400_000, "1h30m"),
            (3_661_001, "1h1m1s1ms"),
            (90_000_000, "25h"),
        ] {
            assert_eq!(Duration::from_millis(ms).to_string(), text);
            assert_eq!(Duration::parse(text).unwrap(), Duration(ms), "{text}");
        }
    }

    /// Every day from 1970 to 2400 (leap centuries included) against a plain calendar walk.
    #[test]
    fn rfc3339_dates_follow_the_gregorian_calendar() {
        let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let (mut y, mut m, mut d) = (1970i64, 1u32, 1u32);
        for days in 0..(430 * 366) {
            assert_eq!(civil_from_days(days), (y, m, d), "day {days}");
            let len = match m {
                2 if leap(y) => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            d += 1;
            if d > len {
                d = 1;
                m += 1;
                if m > 12 {
                    m = 1;
                    y += 1;
                }
            }
        }
    }

    #[test]
    fn rfc3339_of_known_instants() {
        assert_eq!(Timestamp(0).to_rfc3339(), "1970-01-01T00:00:00Z");
        assert_eq!(
            Timestamp(1_709_564_740_000).to_rfc3339(),
            "2024-03-04T15:05:40Z"
        );
        assert_eq!(
            Timestamp(951_782_400_000).to_rfc3339(),
            "2000-02-29T00:00:00Z"
        );
        assert_eq!(
            Timestamp(4_102_444_799_999).to_rfc3339(),
            "2099-12-31T23:59:59Z"
        );
        assert_eq!(Timestamp(86_399_999).to_string(), "1970-01-01T23:59:59Z");
    }
}
