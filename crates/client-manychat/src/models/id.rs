//! Numeric ids that ManyChat sends as numbers in some places and strings in others.

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Deserialises a `u64` from a JSON number or a string of digits (ManyChat types the same id
/// both ways: `subscriber_id` is an integer in requests, `Subscriber.id` a string in responses).
fn deserialize_flexible_u64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    struct FlexibleU64;

    impl Visitor<'_> for FlexibleU64 {
        type Value = u64;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a non-negative integer id, as a number or a string of digits")
        }

        fn visit_u64<E: de::Error>(self, value: u64) -> Result<u64, E> {
            Ok(value)
        }

        fn visit_i64<E: de::Error>(self, value: i64) -> Result<u64, E> {
            u64::try_from(value).map_err(|_| E::invalid_value(de::Unexpected::Signed(value), &self))
        }

        fn visit_f64<E: de::Error>(self, value: f64) -> Result<u64, E> {
            // Some JSON encoders write integral ids as `123.0`.
            // `u64::MAX as f64` rounds up to 2^64, which does not fit: `<`, not `<=`.
            if value.fract() == 0.0 && value >= 0.0 && value < u64::MAX as f64 {
                Ok(value as u64)
            } else {
                Err(E::invalid_value(de::Unexpected::Float(value), &self))
            }
        }

        fn visit_str<E: de::Error>(self, value: &str) -> Result<u64, E> {
            value
                .trim()
                .parse()
                .map_err(|_| E::invalid_value(de::Unexpected::Str(value), &self))
        }
    }

    deserializer.deserialize_any(FlexibleU64)
}

macro_rules! numeric_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        ///
        /// Deserialises from a JSON number or a string of digits; serialises as a number (what
        /// ManyChat's requests take). Converts from `u64`, and parses from a string.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub u64);

        impl $name {
            /// The id as a number.
            pub const fn get(self) -> u64 {
                self.0
            }
        }

        impl From<u64> for $name {
            fn from(id: u64) -> Self {
                Self(id)
            }
        }

        impl From<$name> for u64 {
            fn from(id: $name) -> u64 {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.trim().parse().map(Self)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_u64(self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserialize_flexible_u64(deserializer).map(Self)
            }
        }
    };
}

numeric_id!(
    /// A subscriber (contact) id.
    SubscriberId
);
numeric_id!(
    /// A tag id.
    TagId
);
numeric_id!(
    /// A custom field or bot field id.
    FieldId
);
numeric_id!(
    /// A page id (the Facebook page id for Messenger pages).
    PageId
);
numeric_id!(
    /// A growth tool (widget) id.
    GrowthToolId
);
numeric_id!(
    /// A flow folder id.
    FolderId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_read_from_numbers_and_strings() {
        let from_number: SubscriberId = serde_json::from_str("123456789").expect("number");
        let from_string: SubscriberId = serde_json::from_str("\"123456789\"").expect("string");
        let from_float: SubscriberId = serde_json::from_str("123456789.0").expect("float");
        assert_eq!(from_number, SubscriberId(123_456_789));
        assert_eq!(from_string, from_number);
        assert_eq!(from_float, from_number);
        assert_eq!(
            serde_json::to_string(&from_string).expect("ser"),
            "123456789"
        );
    }

    #[test]
    fn bad_ids_are_errors_not_zero() {
        for bad in [
            "\"abc\"",
            "-1",
            "1.5",
            "true",
            "null",
            "\"\"",
            // 2^64 as a float: one past u64::MAX, never saturated into a wrong id.
            "18446744073709551616.0",
        ] {
            assert!(serde_json::from_str::<TagId>(bad).is_err(), "{bad}");
        }
        assert_eq!("42".parse::<PageId>().expect("parse"), PageId(42));
        assert_eq!(PageId(42).to_string(), "42");
    }
}
