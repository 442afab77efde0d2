use super::*;
use serde_json::json;

#[test]
fn durations_of_weeks_days_and_times() {
    let table = [
        ("P7D", Ok(7 * 86_400)),
        ("P1W", Ok(7 * 86_400)),
        ("PT1H", Ok(3_600)),
        ("P2DT12H30M5S", Ok(2 * 86_400 + 12 * 3_600 + 30 * 60 + 5)),
        ("PT90M", Ok(5_400)),
    ];
    for (text, want) in table {
        assert_eq!(duration_seconds(text), want, "{text}");
    }
    for bad in [
        "P1M", "P1Y", "7D", "P", "PT", "P0D", "P1H", "PT1D", "P1.5D", "PD", "P7",
    ] {
        assert!(duration_seconds(bad).is_err(), "`{bad}` should be refused");
    }
    assert_eq!(Span::parse(&json!(30)), Ok(Span::Number(30.0)));
    assert!(Span::parse(&json!(0)).is_err() && Span::parse(&json!(-1)).is_err());
    assert!(Span::parse(&json!(true)).is_err());
}

#[test]
fn values_shift_in_their_own_format() {
    let day = Span::Seconds(86_400);
    let table = [
        (
            json!("2024-01-31T10:00:00Z"),
            day,
            json!("2024-02-01T10:00:00Z"),
        ),
        (
            json!("2024-01-31T10:00:00+02:00"),
            day,
            json!("2024-02-01T10:00:00+02:00"),
        ),
        (
            json!("2024-01-31T10:00:00.250Z"),
            day,
            json!("2024-02-01T10:00:00.250Z"),
        ),
        (
            json!("2024-01-31T10:00:00"),
            Span::Seconds(3_600),
            json!("2024-01-31T11:00:00"),
        ),
        (json!("2024-02-28"), day, json!("2024-02-29")),
        (json!("20241231"), day, json!("20250101")),
        (json!(100), Span::Number(30.0), json!(130)),
        (json!(1.5), Span::Number(0.25), json!(1.75)),
    ];
    for (from, span, want) in table {
        assert_eq!(shift(&from, span, true).unwrap(), want, "{from}");
        assert_eq!(shift(&want, span, false).unwrap(), from, "{want} back");
    }
    assert!(
        shift(&json!("2024-02-28"), Span::Seconds(3_600), true).is_err(),
        "a date moves by days"
    );
    assert!(shift(&json!(5), day, true).is_err());
    assert!(shift(&json!("soon"), day, true).is_err());
    assert!(shift(&json!("2024-01-01"), Span::Number(1.0), true).is_err());
}

#[test]
fn now_is_written_like_the_cursor() {
    // 2024-03-05T06:07:08.900Z
    let at = 1_709_618_828_900;
    let table = [
        (json!("2024-01-01T00:00:00Z"), json!("2024-03-05T06:07:08Z")),
        (
            json!("2024-01-01T00:00:00+01:00"),
            json!("2024-03-05T06:07:08+00:00"),
        ),
        (
            json!("2024-01-01T00:00:00.000Z"),
            json!("2024-03-05T06:07:08.900Z"),
        ),
        (json!("2024-01-01"), json!("2024-03-05")),
        (json!("20240101"), json!("20240305")),
        (json!("2024-01-01 00:00:00"), json!("2024-03-05 06:07:08")),
        (json!(0), json!(1_709_618_828)),
    ];
    for (like, want) in table {
        assert_eq!(now_like(&like, at).unwrap(), want, "{like}");
    }
    assert!(now_like(&json!("soon"), at).is_err());
}

#[test]
fn windows_step_to_the_end_and_the_last_is_cut_there() {
    let window = Window {
        step: Span::Seconds(30 * 86_400),
        lookback: None,
    };
    let until = json!("2024-03-15T00:00:00Z");
    let mut w = window
        .first(&json!("2024-01-01T00:00:00Z"), &until)
        .unwrap()
        .unwrap();
    let mut spans = vec![(w.start.clone(), w.end.clone())];
    while let Some(next) = window.next(&w).unwrap() {
        spans.push((next.start.clone(), next.end.clone()));
        w = next;
    }
    assert_eq!(
        spans,
        vec![
            (json!("2024-01-01T00:00:00Z"), json!("2024-01-31T00:00:00Z")),
            (json!("2024-01-31T00:00:00Z"), json!("2024-03-01T00:00:00Z")),
            (json!("2024-03-01T00:00:00Z"), json!("2024-03-15T00:00:00Z")),
        ]
    );
    assert_eq!(window.first(&until, &until).unwrap(), None, "nothing left");
}
