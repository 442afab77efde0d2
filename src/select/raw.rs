//! Records left as text: a page body parsed into a `Value` except for its record list, whose items stay
//! borrowed [`RawValue`]s, so that they are written out as they came instead of being built up and serialised
//! again.

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// A page body whose records were left as text.
#[derive(Debug)]
pub struct RawPage<'a> {
    /// The body, with `null` where the record list was.
    pub body: Value,
    /// The records, in order, as they appear in the body.
    pub records: Vec<&'a RawValue>,
    /// How many objects lead to the record list (the length of the key path).
    pub depth: u32,
    /// Whether the key path was there at all (an absent key gives no records, and is worth a warning).
    pub found: bool,
}

/// Parse `body`, leaving the items of the array at `keys` as text: objects along the path, and at its end an
/// array, `null` or nothing (no records). Any other shape, or an empty path, gives `None`: the caller then
/// parses the body the usual way, which also reports what is wrong with it.
pub fn parse<'a>(body: &'a [u8], keys: &[String]) -> Option<RawPage<'a>> {
    if keys.is_empty() {
        return None;
    }
    let mut records = None;
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = Along {
        keys,
        found: &mut records,
    }
    .deserialize(&mut de)
    .ok()?;
    de.end().ok()?;
    Some(RawPage {
        body: value,
        found: records.is_some(),
        records: records.unwrap_or_default(),
        depth: u32::try_from(keys.len()).unwrap_or(u32::MAX),
    })
}

/// Deserialises a value whose path `keys` leads to the record list (stored into `found`).
struct Along<'k, 'a> {
    keys: &'k [String],
    found: &'k mut Option<Vec<&'a RawValue>>,
}

impl<'de> DeserializeSeed<'de> for Along<'_, 'de> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        if self.keys.is_empty() {
            let items: Option<Vec<&'de RawValue>> = serde::Deserialize::deserialize(deserializer)?;
            *self.found = Some(items.unwrap_or_default());
            return Ok(Value::Null);
        }
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Along<'_, 'de> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object on the way to the records")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Value, M::Error> {
        let Along { keys, found } = self;
        let (first, rest) = keys
            .split_first()
            .ok_or_else(|| de::Error::custom("no path"))?;
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = match key == *first {
                true => map.next_value_seed(Along {
                    keys: rest,
                    found: &mut *found,
                })?,
                false => map.next_value()?,
            };
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keys(path: &str) -> Vec<String> {
        path.split('.').map(String::from).collect()
    }

    fn texts(page: &RawPage) -> Vec<String> {
        page.records.iter().map(|r| r.get().to_string()).collect()
    }

    #[test]
    fn records_stay_text_and_the_rest_is_parsed() {
        let body = br#"{"total": 3, "data": [{"id": 1, "x": 1.50}, {"id": 2,
            "s": "a\"b"}, 7], "next": {"cursor": "c2"}}"#;
        let page = parse(body, &keys("data")).unwrap();
        assert_eq!(
            texts(&page),
            [
                r#"{"id": 1, "x": 1.50}"#,
                "{\"id\": 2,\n            \"s\": \"a\\\"b\"}",
                "7"
            ]
        );
        assert_eq!(
            page.body,
            json!({"total": 3, "data": null, "next": {"cursor": "c2"}})
        );
        let nested = br#"{"result": {"items": [{"a": 1}], "more": true}}"#;
        let page = parse(nested, &keys("result.items")).unwrap();
        assert_eq!(texts(&page), [r#"{"a": 1}"#]);
        assert_eq!(page.body, json!({"result": {"items": null, "more": true}}));
    }

    #[test]
    fn no_list_means_no_records_and_other_shapes_are_left_to_the_usual_parse() {
        for body in [
            &br#"{"data": null}"#[..],
            br#"{"other": [1]}"#,
            br#"{"data": []}"#,
        ] {
            assert_eq!(parse(body, &keys("data")).unwrap().records.len(), 0);
        }
        for body in [
            &br#"{"data": {"id": 1}}"#[..],
            br#"{"data": 5}"#,
            br#"[{"id": 1}]"#,
            br#"{"data": [1, 2]"#,
            br#"{"data": [1]} trailing"#,
            b"not json",
        ] {
            assert!(
                parse(body, &keys("data")).is_none(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        assert!(parse(br#"{"data": [1]}"#, &[]).is_none());
    }
}
