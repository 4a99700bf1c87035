//! Instants on the command line (`--from`, `--to`, `--start-time`): RFC 3339
//! (`2026-11-29T08:00:00Z`), Unix seconds (`1795939200`, as promtool takes
//! them), `now`, or a time before now (`-2h`, `-1d 6h`).

use chrono::DateTime;

/// The start of year 10000 in Unix seconds: later instants are refused.
const YEAR_9999: f64 = 253_402_300_800.0;

/// An instant as given: resolved against one reading of the clock, so `--from
/// -1h --to now` spans exactly an hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Instant {
    /// Unix milliseconds.
    At(u64),
    /// This many milliseconds before now.
    BeforeNow(u64),
}

impl Instant {
    /// Unix milliseconds, for `now` in Unix milliseconds.
    pub fn resolve(self, now: u64) -> Result<u64, String> {
        match self {
            Instant::At(millis) => Ok(millis),
            Instant::BeforeNow(before) => now
                .checked_sub(before)
                .ok_or_else(|| "the instant is before 1970".to_string()),
        }
    }
}

/// Parses an instant; the error says what was expected.
pub fn parse_instant(text: &str) -> Result<Instant, String> {
    let trimmed = text.trim();
    let expected = "expected RFC 3339 (2026-11-29T08:00:00Z), Unix seconds, 'now', or a time before now like -2h";
    if trimmed == "now" {
        return Ok(Instant::BeforeNow(0));
    }
    if let Some(ago) = trimmed.strip_prefix('-') {
        let seconds =
            crate::configs::parse_seconds(ago).map_err(|err| format!("{err}; {expected}"))?;
        if !(seconds.is_finite() && (0.0..=crate::model::LONGEST_SECONDS).contains(&seconds)) {
            return Err(format!("'{text}' is too far back; {expected}"));
        }
        return Ok(Instant::BeforeNow((seconds * 1000.0).round() as u64));
    }
    if let Ok(seconds) = trimmed.parse::<f64>() {
        return if seconds.is_finite() && (0.0..=YEAR_9999).contains(&seconds) {
            Ok(Instant::At((seconds * 1000.0).round() as u64))
        } else {
            Err(format!("'{text}' is out of range; {expected}"))
        };
    }
    let parsed = DateTime::parse_from_rfc3339(trimmed)
        .map_err(|err| format!("'{text}' is not an instant ({err}); {expected}"))?;
    u64::try_from(parsed.timestamp_millis())
        .map(Instant::At)
        .map_err(|_| format!("'{text}' is before 1970; {expected}"))
}

/// Unix milliseconds as RFC 3339, for messages.
pub fn format_instant(millis: u64) -> String {
    i64::try_from(millis)
        .ok()
        .and_then(DateTime::from_timestamp_millis)
        .map_or_else(
            || format!("{millis} ms"),
            |at| at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_absolute_or_before_now() {
        assert_eq!(
            parse_instant("2026-11-29T08:00:00Z"),
            Ok(Instant::At(1_795_939_200_000))
        );
        assert_eq!(
            parse_instant("2026-11-29T09:00:00.5+01:00"),
            Ok(Instant::At(1_795_939_200_500))
        );
        assert_eq!(parse_instant("now"), Ok(Instant::BeforeNow(0)));
        assert_eq!(
            parse_instant("1795939200"),
            Ok(Instant::At(1_795_939_200_000))
        );
        assert_eq!(
            parse_instant("1795939200.25"),
            Ok(Instant::At(1_795_939_200_250))
        );
        assert_eq!(parse_instant("-2h"), Ok(Instant::BeforeNow(7_200_000)));
        assert_eq!(parse_instant("-1d 6h"), Ok(Instant::BeforeNow(108_000_000)));
        assert_eq!(Instant::BeforeNow(1_000).resolve(5_000), Ok(4_000));
        for bad in [
            "yesterday",
            "2026-11-29",
            "-forever",
            "1969-12-31T23:59:59Z",
            "-1e300",
            "1e300",
            "NaN",
        ] {
            assert!(parse_instant(bad).is_err(), "{bad}");
        }
        assert_eq!(format_instant(1_795_939_200_000), "2026-11-29T08:00:00Z");
    }
}
