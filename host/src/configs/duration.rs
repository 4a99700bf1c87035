//! Durations in configs: a number of seconds, or text like `15s`, `10m`, `1h 30m`,
//! `250ms`, or `inf` for ever.

/// Seconds in `text`, or a message saying what was expected.
pub fn parse_seconds(text: &str) -> Result<f64, String> {
    let trimmed = text.trim();
    if matches!(trimmed, "inf" | "infinity" | "forever" | "never") {
        return Ok(f64::INFINITY);
    }
    if let Ok(seconds) = trimmed.parse::<f64>() {
        return Ok(seconds);
    }
    humantime::parse_duration(trimmed).map(|duration| duration.as_secs_f64()).map_err(|err| {
        format!("'{text}' is not a duration ({err}); expected seconds or text like 15s, 10m, 1h 30m, inf")
    })
}

/// A serde field holding seconds, written as a number or as duration text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Seconds(pub f64);

impl<'de> serde::Deserialize<'de> for Seconds {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(f64),
            Text(String),
        }
        let expected = "a number of seconds or a duration like \"15s\", \"10m\", \"inf\"";
        match Raw::deserialize(deserializer)
            .map_err(|_| serde::de::Error::custom(format!("expected {expected}")))?
        {
            Raw::Number(seconds) => Ok(Seconds(seconds)),
            Raw::Text(text) => parse_seconds(&text)
                .map(Seconds)
                .map_err(serde::de::Error::custom),
        }
    }
}
