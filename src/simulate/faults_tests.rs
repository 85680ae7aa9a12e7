use super::*;

#[test]
fn parses_the_documented_examples() {
    let spec = parse_faults("429=10%:2,503=5%,reset=2%,latency=1.0:20ms..80ms").unwrap();
    assert_eq!(
        spec.latency,
        Some(Latency {
            rate: Rate::Probability(1.0),
            min: Duration::from_millis(20),
            max: Duration::from_millis(80)
        })
    );
    assert_eq!(
        spec.faults,
        vec![
            (Fault::Reset, Rate::Probability(0.02)),
            (Fault::RateLimited(2), Rate::Probability(0.1)),
            (Fault::Unavailable(None), Rate::Probability(0.05)),
        ]
    );
    let spec = parse_faults("503=#2").unwrap();
    assert_eq!(
        spec.faults,
        vec![(Fault::Unavailable(None), Rate::FirstN(2))]
    );
    assert!(spec.uses_conversations());
    let spec =
        parse_faults(" timeout=0.5 , 429=#1 , malformed=0.1, fenced=1%, violate=3% ").unwrap();
    assert_eq!(
        spec.faults[0],
        (
            Fault::Timeout(Duration::from_secs(60)),
            Rate::Probability(0.5)
        )
    );
    assert_eq!(spec.faults[1], (Fault::RateLimited(1), Rate::FirstN(1)));
    assert!(parse_faults("").unwrap().is_empty());
    assert!(parse_faults("latency=1:50ms").is_ok());
    assert!(parse_faults("503=0.1:3,fabricate=#1,500=0").is_ok());
}

#[test]
fn rejects_bad_specs_naming_the_item() {
    let cases = [
        ("429=10%,bogus=1", "item 2 `bogus=1`"),
        ("429", "KIND=RATE"),
        ("503=150%", "outside"),
        ("503=1.5", "outside"),
        ("503=abc", "expected a probability"),
        ("503=#x", "#N"),
        ("latency=0.5", "needs a duration"),
        ("latency=1:50", "unit"),
        ("latency=1:80ms..20ms", "ends before"),
        ("429=1%:soon", "whole seconds"),
        ("500=1%:3", "takes no parameter"),
        ("reset=1%,reset=2%", "given twice"),
        ("429=60%,503=50%", "more than 100%"),
        ("429=1%,,500=1%", "item 2 is empty"),
        ("timeout=1%:forever", "not a duration"),
    ];
    for (spec, want) in cases {
        let err = parse_faults(spec).unwrap_err();
        assert!(err.contains(want), "{spec}: {err}");
    }
}

#[test]
fn first_n_is_per_conversation_and_ordered() {
    let spec = parse_faults("fenced=#3,503=#1").unwrap();
    let mut rng = fastrand::Rng::with_seed(1);
    assert_eq!(
        spec.decide(&mut rng, 0).fault,
        Some(Fault::Unavailable(None))
    );
    assert_eq!(spec.decide(&mut rng, 1).fault, Some(Fault::Fenced));
    assert_eq!(spec.decide(&mut rng, 2).fault, Some(Fault::Fenced));
    assert_eq!(spec.decide(&mut rng, 3).fault, None);
}

#[test]
fn probabilities_take_disjoint_slices() {
    let spec = parse_faults("429=20%,500=30%,latency=0.5:10ms..20ms").unwrap();
    let mut rng = fastrand::Rng::with_seed(7);
    let (mut r, mut s, mut lat) = (0, 0, 0);
    for _ in 0..20_000 {
        let d = spec.decide(&mut rng, 0);
        match d.fault {
            Some(Fault::RateLimited(_)) => r += 1,
            Some(Fault::ServerError) => s += 1,
            _ => {}
        }
        if d.latency > Duration::ZERO {
            assert!(
                d.latency >= Duration::from_millis(10) && d.latency <= Duration::from_millis(20)
            );
            lat += 1;
        }
    }
    assert!((3600..4400).contains(&r), "{r}");
    assert!((5500..6500).contains(&s), "{s}");
    assert!((9000..11000).contains(&lat), "{lat}");
}

#[test]
fn help_mentions_every_kind() {
    for kind in [
        "latency",
        "429",
        "500",
        "503",
        "reset",
        "timeout",
        "malformed",
        "violate",
        "fenced",
        "refuse",
        "#N",
    ] {
        assert!(FAULTS_HELP.contains(kind), "{kind}");
    }
}

#[test]
fn stall_and_pace_parse_and_decide() {
    let spec = parse_faults("stall=#1,pace=1.0:10ms..20ms,429=#2").unwrap();
    assert_eq!(
        spec.faults[0],
        (Fault::Stall(Duration::from_secs(60)), Rate::FirstN(1))
    );
    assert_eq!(spec.faults[1], (Fault::RateLimited(1), Rate::FirstN(2)));
    let mut rng = fastrand::Rng::with_seed(7);
    let first = spec.decide(&mut rng, 0);
    assert_eq!(first.fault, Some(Fault::Stall(Duration::from_secs(60))));
    assert!((Duration::from_millis(10)..=Duration::from_millis(20)).contains(&first.pace));
    assert_eq!(spec.decide(&mut rng, 1).fault, Some(Fault::RateLimited(1)));
    assert_eq!(spec.decide(&mut rng, 2).fault, None);
    assert_eq!(
        parse_faults("stall=0.5:250ms").unwrap().faults[0].0,
        Fault::Stall(Duration::from_millis(250))
    );
    assert!(
        parse_faults("pace=1.0")
            .unwrap_err()
            .contains("pace needs a duration")
    );
    assert!(!parse_faults("pace=#1:5ms").unwrap().is_empty());
}

#[test]
fn refuse_is_checked_after_fenced() {
    let spec = parse_faults("refuse=#2,fenced=#1").unwrap();
    assert_eq!(
        spec.faults,
        vec![
            (Fault::Fenced, Rate::FirstN(1)),
            (Fault::Refuse, Rate::FirstN(2))
        ]
    );
    let mut rng = fastrand::Rng::with_seed(3);
    assert_eq!(spec.decide(&mut rng, 0).fault, Some(Fault::Fenced));
    assert_eq!(spec.decide(&mut rng, 1).fault, Some(Fault::Refuse));
    assert_eq!(spec.decide(&mut rng, 2).fault, None);
    assert!(
        parse_faults("refuse=1%:x")
            .unwrap_err()
            .contains("takes no parameter")
    );
    assert!(parse_faults("bogus=1").unwrap_err().contains("or refuse"));
}
