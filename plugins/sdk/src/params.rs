//! Declared parameters and their parsing from JSON text.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// One parameter a scenario or builder accepts. `default` is JSON text; `null` means
/// "derived from the metric" and is explained in the description.
#[derive(Debug, Clone, Copy)]
pub struct ParamSpec {
    pub name: &'static str,
    pub description: &'static str,
    pub default: &'static str,
}

/// Converts declared parameters into any record type with the same three fields
/// (the contract's `param-info` in either world).
pub fn param_infos<T>(specs: &[ParamSpec], make: impl Fn(String, String, String) -> T) -> Vec<T> {
    specs
        .iter()
        .map(|spec| {
            make(
                spec.name.into(),
                spec.description.into(),
                spec.default.into(),
            )
        })
        .collect()
}

/// Parameters given to one scenario or builder, checked against its declaration.
#[derive(Debug, Clone)]
pub struct Params {
    owner: String,
    specs: &'static [ParamSpec],
    given: Map<String, Value>,
    /// Each declared parameter's value (given, else its default), in the
    /// order of `specs`: parsed once, since a group builds a scenario per series.
    values: Vec<Value>,
}

impl Params {
    /// Parses `text` (a JSON object, or empty for all defaults) for `owner`, refusing
    /// names that `specs` does not declare.
    pub fn parse(owner: &str, specs: &'static [ParamSpec], text: &str) -> Result<Self, String> {
        let given = if text.trim().is_empty() {
            Map::new()
        } else {
            match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(map)) => map,
                Ok(other) => {
                    return Err(format!(
                        "{owner}: parameters must be an object of name = value, got {other}"
                    ));
                }
                Err(err) => return Err(format!("{owner}: parameters are not valid JSON: {err}")),
            }
        };
        Self::from_map(owner, specs, given)
    }

    /// Like [`Params::parse`] but from an already parsed JSON object.
    pub fn from_map(
        owner: &str,
        specs: &'static [ParamSpec],
        given: Map<String, Value>,
    ) -> Result<Self, String> {
        for name in given.keys() {
            if !specs.iter().any(|spec| spec.name == name) {
                let expected: Vec<&str> = specs.iter().map(|spec| spec.name).collect();
                let expected = if expected.is_empty() {
                    "no parameters".to_string()
                } else {
                    format!("one of: {}", expected.join(", "))
                };
                return Err(format!(
                    "{owner}: unknown parameter '{name}'; expected {expected}"
                ));
            }
        }
        let values = specs
            .iter()
            .map(|spec| match given.get(spec.name) {
                Some(value) => value.clone(),
                None => serde_json::from_str(spec.default).unwrap_or(Value::Null),
            })
            .collect();
        Ok(Self {
            owner: owner.into(),
            specs,
            given,
            values,
        })
    }

    /// The raw value of `name`: given, else its declared default (`null` if none).
    pub fn raw(&self, name: &str) -> Value {
        self.value(name).clone()
    }

    fn value(&self, name: &str) -> &Value {
        let index = self
            .specs
            .iter()
            .position(|spec| spec.name == name)
            .unwrap_or_else(|| panic!("parameter '{name}' is not declared by {}", self.owner));
        &self.values[index]
    }

    /// Whether the caller gave `name` explicitly.
    pub fn is_given(&self, name: &str) -> bool {
        self.given.contains_key(name)
    }

    /// The value of `name` as `T`, with a readable error naming what was expected.
    pub fn get<T: DeserializeOwned>(&self, name: &str, expected: &str) -> Result<T, String> {
        let raw = self.value(name);
        T::deserialize(raw).map_err(|_| {
            format!(
                "{}: parameter '{name}' must be {expected}, got {raw}",
                self.owner
            )
        })
    }

    /// A number parameter.
    pub fn f64(&self, name: &str) -> Result<f64, String> {
        let value: f64 = self.get(name, "a number")?;
        if value.is_finite() {
            Ok(value)
        } else {
            Err(format!(
                "{}: parameter '{name}' must be a finite number",
                self.owner
            ))
        }
    }

    /// A number parameter that must be greater than zero.
    pub fn positive(&self, name: &str) -> Result<f64, String> {
        let value = self.f64(name)?;
        if value > 0.0 {
            Ok(value)
        } else {
            Err(format!(
                "{}: parameter '{name}' must be greater than 0, got {value}",
                self.owner
            ))
        }
    }

    /// A time in seconds, 0 or more: a number, or text like "90", "15s", "10m", "2h".
    pub fn time(&self, name: &str) -> Result<f64, String> {
        let raw = self.value(name);
        let seconds = match raw {
            Value::Number(number) => number.as_f64(),
            Value::String(text) => parse_duration(text),
            _ => None,
        };
        match seconds {
            Some(seconds) if seconds.is_finite() && seconds >= 0.0 => Ok(seconds),
            _ => Err(format!(
                "{}: parameter '{name}' must be a time of 0 or more seconds (a number, or like 15s, 10m, 2h), got {raw}",
                self.owner
            )),
        }
    }

    /// A duration in seconds greater than 0, written as for [`Params::time`].
    pub fn seconds(&self, name: &str) -> Result<f64, String> {
        let seconds = self.time(name)?;
        if seconds > 0.0 {
            Ok(seconds)
        } else {
            Err(format!(
                "{}: parameter '{name}' must be greater than 0 seconds, got {seconds}",
                self.owner
            ))
        }
    }

    /// Parameters given as key/value text (a builder's `--config-args`): numbers,
    /// `true`/`false` and JSON become typed values, anything else stays text.
    pub fn from_args(
        owner: &str,
        specs: &'static [ParamSpec],
        args: &[(String, String)],
    ) -> Result<Self, String> {
        let map = args
            .iter()
            .map(|(key, text)| {
                let value = serde_json::from_str::<Value>(text)
                    .unwrap_or_else(|_| Value::String(text.clone()));
                (key.clone(), value)
            })
            .collect();
        Self::from_map(owner, specs, map)
    }

    /// A whole number parameter of at least `min`.
    pub fn count(&self, name: &str, min: u64) -> Result<u64, String> {
        let value: u64 = self.get(name, "a whole number")?;
        if value < min {
            return Err(format!(
                "{}: parameter '{name}' must be at least {min}, got {value}",
                self.owner
            ));
        }
        Ok(value)
    }

    /// A string parameter.
    pub fn string(&self, name: &str) -> Result<String, String> {
        self.get(name, "a string")
    }

    /// A `[low, high]` pair with low <= high, or `None` when it is `null`.
    pub fn range(&self, name: &str) -> Result<Option<(f64, f64)>, String> {
        let pair: Option<(f64, f64)> = self.get(name, "a pair [low, high] of numbers")?;
        match pair {
            Some((low, high)) if low > high => Err(format!(
                "{}: parameter '{name}' must be [low, high] with low <= high, got [{low}, {high}]",
                self.owner
            )),
            other => Ok(other),
        }
    }

    /// The name of the scenario or builder these parameters belong to.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// An error message prefixed with the owner's name.
    pub fn error(&self, message: impl std::fmt::Display) -> String {
        format!("{}: {message}", self.owner)
    }
}

/// Seconds in text like "90", "1.5", "250ms", "15s", "10m", "2h".
fn parse_duration(text: &str) -> Option<f64> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| c.is_ascii_alphabetic()) {
        Some(at) => (&text[..at], &text[at..]),
        None => (text, "s"),
    };
    let scale = match unit {
        "ms" => 0.001,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return None,
    };
    number
        .trim()
        .parse::<f64>()
        .ok()
        .map(|number| number * scale)
}
