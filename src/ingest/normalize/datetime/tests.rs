use super::*;
use serde_json::json;

fn rule(order: Option<Order>, offset: &str, unix: Option<Unix>) -> DateRule {
    DateRule {
        order,
        offset_secs: parse_offset(offset).unwrap(),
        unix,
    }
}

#[test]
fn every_accepted_format() {
    let utc = rule(None, "Z", None);
    let dmy = rule(Some(Order::Dmy), "Z", None);
    let mdy = rule(Some(Order::Mdy), "Z", None);
    let berlin = rule(Some(Order::Dmy), "+01:00", None);
    let secs = rule(None, "Z", Some(Unix::Seconds));
    let ms = rule(None, "Z", Some(Unix::Millis));
    let auto = rule(None, "Z", Some(Unix::Auto));
    let cases: &[(&DateRule, Value, &str)] = &[
        // ISO 8601 / RFC 3339
        (&utc, json!("2026-11-03T14:05:00Z"), "2026-11-03T14:05:00Z"),
        (
            &utc,
            json!("2026-11-03T14:05:00+01:00"),
            "2026-11-03T13:05:00Z",
        ),
        (
            &utc,
            json!("2026-11-03t14:05:00.250-0230"),
            "2026-11-03T16:35:00.25Z",
        ),
        (&utc, json!("2026-11-03 14:05"), "2026-11-03T14:05:00Z"),
        (
            &utc,
            json!("2026-11-03T14:05:00,5+05"),
            "2026-11-03T09:05:00.5Z",
        ),
        (&utc, json!("2026-11-03"), "2026-11-03T00:00:00Z"),
        (&berlin, json!("2026-11-03"), "2026-11-02T23:00:00Z"),
        (
            &berlin,
            json!("2026-11-03T14:05:00"),
            "2026-11-03T13:05:00Z",
        ),
        (&utc, json!("20261103T140500Z"), "2026-11-03T14:05:00Z"),
        (&utc, json!("20261103"), "2026-11-03T00:00:00Z"),
        (
            &utc,
            json!("  2026-01-01T00:00:00-01:00 "),
            "2026-01-01T01:00:00Z",
        ),
        // RFC 2822
        (
            &utc,
            json!("Tue, 3 Nov 2026 14:05:00 +0100"),
            "2026-11-03T13:05:00Z",
        ),
        (&utc, json!("3 Nov 2026 14:05 GMT"), "2026-11-03T14:05:00Z"),
        (
            &utc,
            json!("Tue, 03 Nov 26 09:05:00 EST"),
            "2026-11-03T14:05:00Z",
        ),
        (&berlin, json!("3 Nov 2026"), "2026-11-02T23:00:00Z"),
        (
            &utc,
            json!("Tue, 3 Nov 2026 14:05:00 +0000 (UTC)"),
            "2026-11-03T14:05:00Z",
        ),
        (
            &utc,
            json!("Tuesday, 3 November 2026 14:05 +01:00"),
            "2026-11-03T13:05:00Z",
        ),
        (&utc, json!("2026-12-31T23:59:60Z"), "2027-01-01T00:00:00Z"),
        (&utc, json!(-1), "1969-12-31T23:59:59Z"),
        // Numeric with a declared order
        (&dmy, json!("03/11/2026"), "2026-11-03T00:00:00Z"),
        (&dmy, json!("3.11.2026 14:05"), "2026-11-03T14:05:00Z"),
        (&dmy, json!("03-11-26"), "2026-11-03T00:00:00Z"),
        (&dmy, json!("31/12/99"), "1999-12-31T00:00:00Z"),
        (&mdy, json!("11/03/2026"), "2026-11-03T00:00:00Z"),
        (&mdy, json!("11/3/2026 2:05 PM"), "2026-11-03T14:05:00Z"),
        (&mdy, json!("11/3/2026 12:30:15 am"), "2026-11-03T00:30:15Z"),
        (
            &berlin,
            json!("03.11.2026 14:05:00"),
            "2026-11-03T13:05:00Z",
        ),
        (&utc, json!("2026/11/3"), "2026-11-03T00:00:00Z"),
        // Unix time
        (&utc, json!(1_793_714_700), "2026-11-03T14:05:00Z"),
        (
            &utc,
            json!(1_793_714_700_123_i64),
            "2026-11-03T14:05:00.123Z",
        ),
        (&utc, json!(1_793_714_700.5), "2026-11-03T14:05:00.5Z"),
        (&secs, json!("1793714700"), "2026-11-03T14:05:00Z"),
        (&ms, json!("1793714700000"), "2026-11-03T14:05:00Z"),
        (&ms, json!(1_793_714_700_000_i64), "2026-11-03T14:05:00Z"),
        (&auto, json!("1793714700000"), "2026-11-03T14:05:00Z"),
        (&utc, json!(0), "1970-01-01T00:00:00Z"),
    ];
    for (rule, input, want) in cases {
        assert_eq!(
            normalize(input, rule).as_deref(),
            Ok(*want),
            "{input} with {rule:?}"
        );
    }
}

#[test]
fn every_error_in_plain_words() {
    let utc = rule(None, "Z", None);
    let dmy = rule(Some(Order::Dmy), "Z", None);
    let mdy = rule(Some(Order::Mdy), "Z", None);
    let cases: &[(&DateRule, Value, &str)] = &[
        (
            &dmy,
            json!("31/13/2026"),
            "`31/13/2026` is not a date in day/month/year order: month 13 does not exist",
        ),
        (
            &mdy,
            json!("13/31/2026"),
            "`13/31/2026` is not a date in month/day/year order: month 13 does not exist",
        ),
        (
            &dmy,
            json!("29/02/2026"),
            "day 29 does not exist in 2026-02",
        ),
        (&utc, json!("03/11/2026"), "order is ambiguous"),
        (
            &utc,
            json!("2026-02-30"),
            "`2026-02-30` is not a date: day 30 does not exist",
        ),
        (
            &utc,
            json!("2026-11-03T25:00:00Z"),
            "hour 25 does not exist",
        ),
        (
            &utc,
            json!("2026-11-03T14:05:00+25:00"),
            "is not an ISO 8601 date or time",
        ),
        (
            &utc,
            json!("2026-11-03T14:05:00 nonsense"),
            "is not an ISO 8601 date or time",
        ),
        (
            &utc,
            json!("Mon, 3 Nov 2026 14:05:00 +0100"),
            "is a Tue, not a Mon",
        ),
        (
            &utc,
            json!("next tuesday"),
            "not a date or time in a recognised format",
        ),
        (
            &utc,
            json!("1793714700"),
            "not a date or time in a recognised format",
        ),
        (&utc, json!(""), "an empty string is not a date"),
        (
            &utc,
            json!(true),
            "must be a string or a number, not a boolean",
        ),
        (&utc, json!(1e300), "out of range"),
        (
            &mdy,
            json!("11/3/2026 13:05 PM"),
            "hour 13 does not exist on a 12-hour clock",
        ),
        (&dmy, json!("03/11/202"), "the year must have 2 or 4 digits"),
    ];
    for (rule, input, want) in cases {
        let got = normalize(input, rule).unwrap_err();
        assert!(got.contains(want), "{input}: {got:?} lacks {want:?}");
    }
}

#[test]
fn offsets() {
    assert_eq!(parse_offset("Z"), Some(0));
    assert_eq!(parse_offset("+01:00"), Some(3600));
    assert_eq!(parse_offset("-0530"), Some(-19_800));
    assert_eq!(parse_offset("+1"), None);
    assert_eq!(parse_offset("Europe/Berlin"), None);
}
