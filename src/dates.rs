//! The date and date-time layouts the connector recognises, as chrono format items: the same layouts as the
//! strftime strings in the comments, without parsing format strings at run time (which keeps the component small).

use chrono::NaiveDate;
use chrono::format::{Fixed, Item, Numeric, Pad, Parsed};

const fn num(n: Numeric) -> Item<'static> {
    Item::Numeric(n, Pad::Zero)
}

const DASH: Item<'static> = Item::Literal("-");
const COLON: Item<'static> = Item::Literal(":");
const T: Item<'static> = Item::Literal("T");
const SPACE: Item<'static> = Item::Space(" ");
const FRACTION: Item<'static> = Item::Fixed(Fixed::Nanosecond);

/// `%Y-%m-%d`.
pub const DATE: &[Item<'static>] = &[
    num(Numeric::Year),
    DASH,
    num(Numeric::Month),
    DASH,
    num(Numeric::Day),
];

/// `%Y%m%d`.
pub const COMPACT_DATE: &[Item<'static>] =
    &[num(Numeric::Year), num(Numeric::Month), num(Numeric::Day)];

/// Date-times without an offset (or with one after a space): `%Y-%m-%dT%H:%M:%S%.f`, `%Y-%m-%d %H:%M:%S%.f`,
/// `%Y-%m-%dT%H:%M` and `%Y-%m-%d %H:%M:%S%.f%:z`.
const DATE_TIMES: [&[Item<'static>]; 4] = [
    &[
        num(Numeric::Year),
        DASH,
        num(Numeric::Month),
        DASH,
        num(Numeric::Day),
        T,
        num(Numeric::Hour),
        COLON,
        num(Numeric::Minute),
        COLON,
        num(Numeric::Second),
        FRACTION,
    ],
    &[
        num(Numeric::Year),
        DASH,
        num(Numeric::Month),
        DASH,
        num(Numeric::Day),
        SPACE,
        num(Numeric::Hour),
        COLON,
        num(Numeric::Minute),
        COLON,
        num(Numeric::Second),
        FRACTION,
    ],
    &[
        num(Numeric::Year),
        DASH,
        num(Numeric::Month),
        DASH,
        num(Numeric::Day),
        T,
        num(Numeric::Hour),
        COLON,
        num(Numeric::Minute),
    ],
    &[
        num(Numeric::Year),
        DASH,
        num(Numeric::Month),
        DASH,
        num(Numeric::Day),
        SPACE,
        num(Numeric::Hour),
        COLON,
        num(Numeric::Minute),
        COLON,
        num(Numeric::Second),
        FRACTION,
        Item::Fixed(Fixed::TimezoneOffsetColon),
    ],
];

fn parsed(s: &str, items: &[Item<'static>]) -> Option<Parsed> {
    let mut parsed = Parsed::new();
    chrono::format::parse(&mut parsed, s, items.iter()).ok()?;
    Some(parsed)
}

/// `s` as a date in the layout `items`.
pub fn date(s: &str, items: &[Item<'static>]) -> Option<NaiveDate> {
    parsed(s, items)?.to_naive_date().ok()
}

/// Whether `s` is a date-time in one of the offset-less layouts (an offset the layout names is checked).
pub fn is_naive_date_time(s: &str) -> bool {
    DATE_TIMES
        .iter()
        .any(|items| parsed(s, items).is_some_and(|p| p.to_naive_datetime_with_offset(0).is_ok()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDateTime;

    /// The items parse exactly what the strftime strings they stand for parse.
    #[test]
    fn items_match_their_strftime_strings() {
        let samples = [
            "2024-01-02",
            "20240102",
            "2024-1-2",
            "2024-01-02T03:04:05",
            "2024-01-02T03:04:05.123",
            "2024-01-02 03:04:05",
            "2024-01-02T03:04",
            "2024-01-02 03:04:05+02:00",
            "2024-01-02 03:04:05.5-01:30",
            "2024-01-02T03:04:05Z",
            "2024-02-30",
            "2024-01-02 03:04:05 +02:00",
            "2024-01-02T25:00",
            "x",
        ];
        let formats = [
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y-%m-%d %H:%M:%S%.f",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M:%S%.f%:z",
        ];
        for s in samples {
            let by_string = formats
                .iter()
                .any(|f| NaiveDateTime::parse_from_str(s, f).is_ok());
            assert_eq!(is_naive_date_time(s), by_string, "{s}");
            assert_eq!(
                date(s, DATE),
                NaiveDate::parse_from_str(s, "%Y-%m-%d").ok(),
                "{s}"
            );
            assert_eq!(
                date(s, COMPACT_DATE),
                NaiveDate::parse_from_str(s, "%Y%m%d").ok(),
                "{s}"
            );
        }
        let day = NaiveDate::from_ymd_opt(2024, 1, 2).unwrap();
        assert_eq!(day.format_with_items(DATE.iter()).to_string(), "2024-01-02");
        assert_eq!(
            day.format_with_items(COMPACT_DATE.iter()).to_string(),
            "20240102"
        );
    }
}
