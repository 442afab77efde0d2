//! Rows shaped like real API rows (about 400 bytes of JSON each): nested objects with nested lists, tag lists,
//! full-precision doubles, integers up to 2^53, ISO timestamps, nullable strings with non-ASCII text, escapes and
//! emoji. Deterministic: row `i` of a resource is always the same, so a run's output can be checked.

use serde_json::{Value, json};

/// Names with accents, other scripts and an emoji, as user-entered text has them.
const NAMES: [&str; 8] = [
    "Zoë Ångström",
    "José Müller-Łukasiewicz",
    "李小龍",
    "Ольга Петрова",
    "Nguyễn Thị Minh Khai",
    "O'Brien \"Bob\"",
    "Amélie 🚀 Poulain",
    "محمد علي",
];
const CITIES: [&str; 6] = [
    "São Paulo",
    "Zürich",
    "Kraków",
    "東京",
    "Reykjavík",
    "New York",
];
const TAGS: [&str; 7] = [
    "vip",
    "trial",
    "églantine",
    "b2b",
    "churn-risk",
    "🔥hot",
    "legacy",
];

/// splitmix64: a well-mixed 64-bit value from a counter.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A double in `[0, 1)` with all 53 bits of precision used.
fn unit(x: u64) -> f64 {
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// Row `i` of `resource`, realistic shape.
pub fn row(resource: &str, i: usize) -> Value {
    let seed = resource.bytes().fold(0u64, |h, b| mix(h ^ u64::from(b)));
    let r = |k: u64| mix(seed ^ mix(i as u64 ^ (k << 40)));
    let pick = |k: u64, n: usize| (r(k) % n as u64) as usize;
    let day = 1 + pick(1, 28);
    let (hour, minute, second, milli) = (pick(2, 24), pick(3, 60), pick(4, 60), pick(5, 1000));
    let tags: Vec<&str> = (0..pick(6, 4))
        .map(|k| TAGS[pick(7 + k as u64, 7)])
        .collect();
    let lines: Vec<Value> = (0..1 + pick(11, 2))
        .map(|k| {
            let k = k as u64;
            json!({
                "sku": format!("SKU-{:05}", r(20 + k) % 100_000),
                "quantity": 1 + r(30 + k) % 9,
                "unit_price": (unit(r(40 + k)) * 50_000.0).round() / 100.0,
            })
        })
        .collect();
    json!({
        "id": i + 1,
        "external_id": (1u64 << 53) - 1 - (r(12) % (1u64 << 40)),
        "name": NAMES[pick(13, NAMES.len())],
        "score": unit(r(14)),
        "balance": (unit(r(15)) - 0.5) * 1e7,
        "active": r(16) % 4 != 0,
        "created_at": format!("2024-03-{day:02}T{hour:02}:{minute:02}:{second:02}.{milli:03}Z"),
        "updated_at": if r(17) % 5 == 0 { Value::Null } else {
            json!(format!("2025-01-{day:02}T{hour:02}:{minute:02}:{second:02}+02:00"))
        },
        "note": match r(18) % 4 {
            0 => Value::Null,
            1 => json!("line 1\nline \"2\"\t\\"),
            2 => json!(format!("ticket #{} – résolu ✅", r(19) % 10_000)),
            _ => json!(""),
        },
        "tags": tags,
        "address": {
            "city": CITIES[pick(21, CITIES.len())],
            "geo": {"lat": (unit(r(22)) - 0.5) * 180.0, "lng": (unit(r(23)) - 0.5) * 360.0},
        },
        "order": {"discount": if r(50) % 3 == 0 { json!(unit(r(60)) / 3.0) } else { Value::Null }, "lines": lines},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_deterministic_and_about_400_bytes() {
        assert_eq!(row("r", 7), row("r", 7));
        assert_ne!(row("r", 7), row("r", 8));
        let sizes: Vec<usize> = (0..1000).map(|i| row("r", i).to_string().len()).collect();
        let mean = sizes.iter().sum::<usize>() / sizes.len();
        assert!((300..=550).contains(&mean), "mean row size {mean}");
        let text = (0..100)
            .map(|i| row("r", i).to_string())
            .collect::<String>();
        for needle in ["\\n", "\\\"", "🚀", "null", "\"unit_price\""] {
            assert!(text.contains(needle), "some row has {needle}");
        }
        let ids = (0..1000).map(|i| row("r", i)["external_id"].as_u64().unwrap());
        assert!(ids.clone().all(|id| id < 1 << 53) && ids.max() > Some(1 << 52));
    }
}
