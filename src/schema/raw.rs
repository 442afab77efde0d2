//! Learning from a record still in its JSON text: its top-level fields are read as they are parsed, keys
//! borrowed where they hold no escapes, and of the values only strings are decoded (to tell dates and
//! timestamps), and only when the column's type so far could still change.

use super::{Change, DataType, TableSchema, is_iso_date, is_iso_timestamp};
use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;

impl TableSchema {
    /// [`TableSchema::observe`] for a record still in its JSON text: only its top-level keys are read. Also
    /// tells whether the record holds every primary-key column with a value that is not `null`, and whether a
    /// value nests arrays and objects deeper than `depth` levels (the parser does not count levels in text it
    /// skips, so the depth cap is checked here, on nested values only).
    pub fn observe_raw(&mut self, record: &RawValue, depth: u32) -> RawRecord {
        let mut changes = Vec::new();
        self.records_seen += 1;
        let before = self.columns.len();
        let mut de = serde_json::Deserializer::from_str(record.get());
        let (mut keys, mut too_deep) = (0u64, false);
        let fields = Fields {
            schema: self,
            changes: &mut changes,
            keys: &mut keys,
            depth,
            too_deep: &mut too_deep,
        };
        // Only an object is read; any other record, like a `Value` that is not an object, adds no columns.
        if fields.deserialize(&mut de).is_ok() {
            self.end_record(before, &mut changes);
        }
        let keyed = (0..self.primary_key.len()).all(|i| i >= 64 || keys & (1 << i) != 0);
        RawRecord {
            changes,
            keyed,
            too_deep,
        }
    }
}

/// What reading a record still in its text found.
#[derive(Debug, Clone, PartialEq)]
pub struct RawRecord {
    /// The schema changes it made.
    pub changes: Vec<Change>,
    /// Every primary-key column has a value other than `null`.
    pub keyed: bool,
    /// A value nests deeper than allowed.
    pub too_deep: bool,
}

impl DataType {
    /// [`DataType::of`] for a value still in its JSON text.
    pub fn of_raw(value: &RawValue) -> Option<Self> {
        let text = value.get();
        match text.as_bytes().first() {
            None | Some(b'n') => None,
            Some(b't' | b'f') => Some(Self::Bool),
            Some(b'{' | b'[') => Some(Self::Json),
            Some(b'"') => {
                let inner = &text[1..text.len() - 1];
                let decoded: Cow<str> = match inner.contains('\\') {
                    false => Cow::Borrowed(inner),
                    true => Cow::Owned(serde_json::from_str(text).unwrap_or_default()),
                };
                Some(match decoded.as_ref() {
                    s if is_iso_timestamp(s) => Self::Timestamp,
                    s if is_iso_date(s) => Self::Date,
                    _ => Self::Text,
                })
            }
            Some(_) => Some(Self::of_number(text)),
        }
    }
}

/// Feeds each top-level field of an object to [`TableSchema::observe_field`] as it is parsed.
struct Fields<'s> {
    schema: &'s mut TableSchema,
    changes: &'s mut Vec<Change>,
    /// Primary-key columns seen with a value other than `null`, a bit each by position.
    keys: &'s mut u64,
    /// The deepest a value may nest.
    depth: u32,
    /// Set when a value nests deeper.
    too_deep: &'s mut bool,
}

impl<'de> DeserializeSeed<'de> for Fields<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Fields<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<(), M::Error> {
        let mut place = 0;
        while let Some(Key(key)) = map.next_key()? {
            let value: &RawValue = map.next_value()?;
            if value.get() != "null"
                && let Some(i) = self.schema.primary_key.iter().position(|k| *k == *key)
            {
                *self.keys |= 1u64.checked_shl(i as u32).unwrap_or(0);
            }
            // A value shorter than the allowed depth, or with fewer brackets, cannot nest past it: most values need
            // no scan at all.
            let text = value.get().as_bytes();
            if text.len() > self.depth as usize
                && (text.starts_with(b"[") || text.starts_with(b"{"))
            {
                let brackets = text.iter().filter(|b| matches!(b, b'[' | b'{')).count();
                *self.too_deep |= brackets > self.depth as usize
                    && crate::limits::depth_exceeds(text, self.depth);
            }
            let is_string = value.get().starts_with('"');
            let type_of = || DataType::of_raw(value);
            self.schema
                .observe_field(place, &key, is_string, type_of, self.changes);
            place += 1;
        }
        Ok(())
    }
}

/// An object key, borrowed from the input when it can be.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Text;
        impl<'de> Visitor<'de> for Text {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
        }
        deserializer.deserialize_str(Text)
    }
}
