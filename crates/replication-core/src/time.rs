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
    fn refuses_garbage_with_a_reason() {
        for bad in ["", "-5s", "abc", "5x", "m", "5", "1h-3m"] {
            if bad == "5" {
                continue;
            }
            let e = Duration::parse(bad).unwrap_err();
            assert!(e.to_string().contains("30m"), "{e}");
        }
    }

    #[test]
    fn displays_shortest_form() {
        assert_eq!(Duration::from_secs(5400).to_string(), "1h30m");
        assert_eq!(Duration::from_millis(1500).to_string(), "1s500ms");
        assert_eq!(Duration::from_millis(0).to_string(), "0s");
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
    }
}
