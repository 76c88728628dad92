//! Custom-field types and typed values.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Number, Value};
use std::fmt;

/// The type of a custom field or bot field.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum FieldType {
    /// Text.
    Text,
    /// A number (integer or decimal).
    Number,
    /// A date, `YYYY-MM-DD`.
    Date,
    /// A date and time, `YYYY-MM-DDTHH:MM:SS±HH:MM`.
    Datetime,
    /// `true` or `false`.
    Boolean,
    /// A type this client does not know yet (kept as ManyChat spelled it).
    #[serde(untagged)]
    Other(String),
}

impl FieldType {
    /// The name ManyChat uses (`"text"`, `"number"`, ...).
    pub fn as_str(&self) -> &str {
        match self {
            Self::Text => "text",
            Self::Number => "number",
            Self::Date => "date",
            Self::Datetime => "datetime",
            Self::Boolean => "boolean",
            Self::Other(other) => other,
        }
    }
}

/// Why a [`FieldValue`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FieldValueError {
    /// A number that is not finite (NaN or infinity) cannot be sent as JSON.
    #[error("number is not finite")]
    NotFinite,
    /// A date is not `YYYY-MM-DD` with a real month and day.
    #[error("date {0:?} is not YYYY-MM-DD")]
    Date(String),
    /// A date-time is not `YYYY-MM-DDTHH:MM:SS` followed by `Z` or `±HH:MM` (optional
    /// fractional seconds).
    #[error("datetime {0:?} is not YYYY-MM-DDTHH:MM:SS with Z or a ±HH:MM offset")]
    Datetime(String),
}

/// A typed custom-field value, sent in the JSON form ManyChat documents for each type.
///
/// | type | JSON | build with |
/// | --- | --- | --- |
/// | text | `"text"` | `FieldValue::from("text")` |
/// | number | `123` or `1.23` (no quotes) | `FieldValue::from(123)`, [`FieldValue::number`] |
/// | boolean | `true` / `false` | `FieldValue::from(true)` |
/// | date | `"2018-07-18"` | [`FieldValue::date`] (checked) |
/// | date and time | `"2018-05-01T06:30:24+03:00"` | [`FieldValue::datetime`] (checked) |
///
/// [`FieldValue::Clear`] sends `null`, which the API takes as "remove the value".
///
/// ```
/// use client_manychat::FieldValue;
///
/// assert_eq!(serde_json::to_string(&FieldValue::from(12))?, "12");
/// assert_eq!(serde_json::to_string(&FieldValue::date("2018-07-18")?)?, "\"2018-07-18\"");
/// assert!(FieldValue::date("2018-13-01").is_err());
/// assert!(FieldValue::number(f64::NAN).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum FieldValue {
    /// Text.
    Text(String),
    /// A number.
    Number(Number),
    /// A boolean.
    Boolean(bool),
    /// A date, `YYYY-MM-DD` (checked by [`FieldValue::date`]).
    Date(String),
    /// A date and time with an offset (checked by [`FieldValue::datetime`]).
    Datetime(String),
    /// No value: clears the field.
    Clear,
}

impl FieldValue {
    /// A text value.
    pub fn text(value: impl Into<String>) -> Self {
        Self::Text(value.into())
    }

    /// A decimal number.
    ///
    /// # Errors
    ///
    /// [`FieldValueError::NotFinite`] for NaN and infinities.
    pub fn number(value: f64) -> Result<Self, FieldValueError> {
        Number::from_f64(value)
            .map(Self::Number)
            .ok_or(FieldValueError::NotFinite)
    }

    /// A date, `YYYY-MM-DD`.
    ///
    /// # Errors
    ///
    /// [`FieldValueError::Date`] when the text is not a calendar date in that form.
    pub fn date(value: impl Into<String>) -> Result<Self, FieldValueError> {
        let value = value.into();
        if is_date(&value) {
            Ok(Self::Date(value))
        } else {
            Err(FieldValueError::Date(value))
        }
    }

    /// A date and time, `YYYY-MM-DDTHH:MM:SS` (optionally with fractional seconds) followed by
    /// `Z` or `±HH:MM`, e.g. `2018-05-01T06:30:24+03:00` or `2018-03-25T13:25:00.000Z`.
    ///
    /// # Errors
    ///
    /// [`FieldValueError::Datetime`] when the text is not in that form.
    pub fn datetime(value: impl Into<String>) -> Result<Self, FieldValueError> {
        let value = value.into();
        if is_datetime(&value) {
            Ok(Self::Datetime(value))
        } else {
            Err(FieldValueError::Datetime(value))
        }
    }

    /// The field type this value suits, or `None` for [`FieldValue::Clear`].
    pub fn field_type(&self) -> Option<FieldType> {
        match self {
            Self::Text(_) => Some(FieldType::Text),
            Self::Number(_) => Some(FieldType::Number),
            Self::Boolean(_) => Some(FieldType::Boolean),
            Self::Date(_) => Some(FieldType::Date),
            Self::Datetime(_) => Some(FieldType::Datetime),
            Self::Clear => None,
        }
    }

    /// The value as JSON.
    pub fn to_json(&self) -> Value {
        match self {
            Self::Text(s) | Self::Date(s) | Self::Datetime(s) => Value::String(s.clone()),
            Self::Number(n) => Value::Number(n.clone()),
            Self::Boolean(b) => Value::Bool(*b),
            Self::Clear => Value::Null,
        }
    }
}

impl From<&str> for FieldValue {
    fn from(value: &str) -> Self {
        Self::Text(value.to_owned())
    }
}

impl From<String> for FieldValue {
    fn from(value: String) -> Self {
        Self::Text(value)
    }
}

impl From<bool> for FieldValue {
    fn from(value: bool) -> Self {
        Self::Boolean(value)
    }
}

macro_rules! from_integer {
    ($($t:ty),*) => {$(
        impl From<$t> for FieldValue {
            fn from(value: $t) -> Self {
                Self::Number(Number::from(value))
            }
        }
    )*};
}
from_integer!(i32, i64, u32, u64);

impl fmt::Display for FieldValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.to_json(), f)
    }
}

impl Serialize for FieldValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Text(s) | Self::Date(s) | Self::Datetime(s) => serializer.serialize_str(s),
            Self::Number(n) => n.serialize(serializer),
            Self::Boolean(b) => serializer.serialize_bool(*b),
            Self::Clear => serializer.serialize_unit(),
        }
    }
}

impl<'de> Deserialize<'de> for FieldValue {
    /// Reads JSON as ManyChat writes it: a string is text (dates are strings too, and cannot be
    /// told apart without the field's type), a number, a boolean, or `null` (no value).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::String(s) => Ok(Self::Text(s)),
            Value::Number(n) => Ok(Self::Number(n)),
            Value::Bool(b) => Ok(Self::Boolean(b)),
            Value::Null => Ok(Self::Clear),
            other => Err(D::Error::custom(format!(
                "a field value must be text, a number, a boolean or null, not {other}"
            ))),
        }
    }
}

fn digits(s: &str) -> Option<u32> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

/// `YYYY-MM-DD` with a month 1–12 and a day that exists in that month.
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let (Some(year), Some(month), Some(day)) =
        (digits(&s[0..4]), digits(&s[5..7]), digits(&s[8..10]))
    else {
        return false;
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

/// `YYYY-MM-DDTHH:MM:SS[.fff]` then `Z` or `±HH:MM`.
fn is_datetime(s: &str) -> bool {
    if s.len() < 20 || !s.is_char_boundary(10) || !s.is_char_boundary(19) || !is_date(&s[..10]) {
        return false;
    }
    let time = &s[10..19];
    let tb = time.as_bytes();
    if tb[0] != b'T' || tb[3] != b':' || tb[6] != b':' {
        return false;
    }
    let (Some(h), Some(m), Some(sec)) = (
        digits(&time[1..3]),
        digits(&time[4..6]),
        digits(&time[7..9]),
    ) else {
        return false;
    };
    if h > 23 || m > 59 || sec > 60 {
        return false;
    }
    let mut rest = &s[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let end = fraction
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(fraction.len());
        if end == 0 {
            return false;
        }
        rest = &fraction[end..];
    }
    if rest == "Z" {
        return true;
    }
    let rb = rest.as_bytes();
    rb.len() == 6
        && (rb[0] == b'+' || rb[0] == b'-')
        && rb[3] == b':'
        && digits(&rest[1..3]).is_some_and(|h| h <= 14)
        && digits(&rest[4..6]).is_some_and(|m| m <= 59)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_serialise_as_documented() {
        let cases = [
            (FieldValue::from("text"), "\"text\""),
            (FieldValue::from(123), "123"),
            (FieldValue::number(1.23).expect("finite"), "1.23"),
            (FieldValue::from(true), "true"),
            (
                FieldValue::date("2018-07-18").expect("date"),
                "\"2018-07-18\"",
            ),
            (
                FieldValue::datetime("2018-05-01T06:30:24+03:00").expect("datetime"),
                "\"2018-05-01T06:30:24+03:00\"",
            ),
            (FieldValue::Clear, "null"),
        ];
        for (value, json) in cases {
            assert_eq!(serde_json::to_string(&value).expect("ser"), json);
        }
    }

    #[test]
    fn dates_are_checked() {
        assert!(FieldValue::date("2024-02-29").is_ok());
        for bad in [
            "2023-02-29",
            "2018-7-18",
            "18-07-2018",
            "2018-00-10",
            "2018-07-32",
            "",
        ] {
            assert_eq!(
                FieldValue::date(bad),
                Err(FieldValueError::Date(bad.to_owned())),
                "{bad}"
            );
        }
        assert!(FieldValue::datetime("2018-03-25T13:25:00.000Z").is_ok());
        assert!(FieldValue::datetime("2018-03-25T13:25:00Z").is_ok());
        for bad in [
            "2018-03-25 13:25:00Z",
            "2018-03-25T25:00:00Z",
            "2018-03-25T13:25:00",
            "2018-03-25T13:25:00+0300",
            "2018-03-25T13:25:00.Z",
        ] {
            assert!(FieldValue::datetime(bad).is_err(), "{bad}");
        }
        assert_eq!(
            FieldValue::number(f64::INFINITY),
            Err(FieldValueError::NotFinite)
        );
    }

    #[test]
    fn field_types_read_known_and_unknown_names() {
        let t: FieldType = serde_json::from_str("\"datetime\"").expect("known");
        assert_eq!(t, FieldType::Datetime);
        let t: FieldType = serde_json::from_str("\"array\"").expect("unknown");
        assert_eq!(t, FieldType::Other("array".into()));
        assert_eq!(t.as_str(), "array");
    }
}
