#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::Path;

use crate::act::sinks::{SinkConfig, SinkErrors};
use crate::config::RawSink;

const PASSWORD: &str = "s3cret-pw";

/// A folder holding the connection URL in `db_url`, and the sink table
/// `extra` adds keys to.
fn load(url: &str, extra: &str) -> (tempfile::TempDir, Result<SinkConfig, SinkErrors>) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("db_url"), url).unwrap();
    let text = format!(
        "kind = \"postgres\"\nurl = \"file:db_url\"\n{extra}\n\
         fields = {{ ticket_id = \"/input/ticket_id\", category = \"/output/category\" }}\n"
    );
    let raw: RawSink = toml::from_str(&text).unwrap();
    let loaded = SinkConfig::load(&raw, dir.path());
    (dir, loaded)
}

fn url() -> String {
    format!("postgres://seam:{PASSWORD}@db.internal:5432/crm")
}

fn errors(r: Result<SinkConfig, SinkErrors>) -> Vec<(String, String)> {
    match r {
        Ok(_) => panic!("expected errors"),
        Err(e) => e.into_iter().map(|(p, m)| (p.join("."), m)).collect(),
    }
}

#[test]
fn a_valid_sink_builds_one_quoted_statement_and_hides_the_password() {
    let (_d, r) = load(&url(), "table = \"crm.ticket_triage\"");
    let sink = r.unwrap();
    assert_eq!(sink.kind(), "postgres");
    assert_eq!(sink.target(), "postgres db.internal ticket_triage");
    let SinkConfig::Postgres(s) = &sink else {
        panic!("not postgres")
    };
    let c = s.config();
    assert_eq!(c.key_column, "idempotency_key");
    assert_eq!(
        c.insert,
        "INSERT INTO \"crm\".\"ticket_triage\" (\"idempotency_key\", \"category\", \"ticket_id\") \
         SELECT \"idempotency_key\", \"category\", \"ticket_id\" \
         FROM jsonb_populate_record(NULL::\"crm\".\"ticket_triage\", $1::text::jsonb) \
         ON CONFLICT (\"idempotency_key\") DO NOTHING"
    );
    assert_eq!(c.timeout.as_millis(), 10_000);
    assert_eq!(c.max_attempts, 8);
    assert_eq!(sink.output_pointers(), vec![("category", "/category")]);
    assert!(!format!("{sink:?}").contains(PASSWORD));
}

#[test]
fn table_is_required_and_key_column_has_a_default_that_can_change() {
    let (_d, r) = load(&url(), "");
    let e = errors(r);
    assert_eq!(
        e,
        vec![(
            "table".into(),
            "`table` is required for kind = \"postgres\"".into()
        )]
    );
    let (_d, r) = load(&url(), "table = \"t\"\nkey_column = \"dedup\"");
    let SinkConfig::Postgres(s) = r.unwrap() else {
        panic!("not postgres")
    };
    assert!(s.config().insert.contains("ON CONFLICT (\"dedup\")"));
}

#[test]
fn identifiers_are_checked() {
    for bad in ["t; drop table x", "a.b.c", "1t", "t\"", "", &"x".repeat(64)] {
        let (_d, r) = load(&url(), &format!("table = {bad:?}"));
        let e = errors(r);
        assert_eq!(e.len(), 1, "{bad}: {e:?}");
        assert_eq!(e[0].0, "table");
    }
    let (_d, r) = load(&url(), "table = \"t\"\nkey_column = \"my key\"");
    assert_eq!(errors(r)[0].0, "key_column");
    assert!(is_identifier_ok("_private_1"));
}

fn is_identifier_ok(name: &str) -> bool {
    super::is_identifier(name)
}

#[test]
fn columns_and_pointers_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("db_url"), url()).unwrap();
    let raw: RawSink = toml::from_str(
        "kind = \"postgres\"\nurl = \"file:db_url\"\ntable = \"t\"\n\
         fields = { \"bad col\" = \"/output/x\", idempotency_key = \"/run/id\", ok = \"/elsewhere\" }\n",
    )
    .unwrap();
    let e = errors(SinkConfig::load(&raw, dir.path()));
    let paths: Vec<&str> = e.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        ["fields.bad col", "fields.idempotency_key", "fields.ok"],
        "{e:?}"
    );
    assert!(e[1].1.contains("key column"));
}

#[test]
fn the_url_must_be_a_secret_reference_and_errors_never_show_it() {
    let raw: RawSink = toml::from_str(&format!(
        "kind = \"postgres\"\nurl = \"{}\"\ntable = \"t\"\nfields = {{ a = \"/run/id\" }}\n",
        url()
    ))
    .unwrap();
    let e = errors(SinkConfig::load(&raw, Path::new("/")));
    assert_eq!(e[0].0, "url");
    assert!(e[0].1.contains("env:NAME"), "{e:?}");
    assert!(!e[0].1.contains(PASSWORD));

    let (_d, r) = load("not a url ' at all", "table = \"t\"");
    let e = errors(r);
    assert_eq!(e[0].0, "url");
    let (_d, r) = load(
        &format!("postgres://seam:{PASSWORD}@db/crm?sslmode=nope"),
        "table = \"t\"",
    );
    let e = errors(r);
    assert!(
        e[0].1.contains("sslmode") && !e[0].1.contains(PASSWORD),
        "{e:?}"
    );
}

#[test]
fn sslmode_require_is_refused_rather_than_sent_in_plaintext() {
    let (_d, r) = load(
        &format!("postgres://seam:{PASSWORD}@db/crm?sslmode=require"),
        "table = \"t\"",
    );
    let e = errors(r);
    assert_eq!(e[0].0, "url");
    assert!(e[0].1.contains("TLS"), "{e:?}");
}

#[test]
fn keys_of_another_kind_are_named() {
    let (_d, r) = load(&url(), "table = \"t\"\nmethod = \"PUT\"\nheaders = {}");
    assert_eq!(
        errors(r),
        vec![
            (
                "method".into(),
                "`method` is only for kind = \"http\"".into()
            ),
            (
                "headers".into(),
                "`headers` is only for kind = \"http\"".into()
            ),
        ]
    );
    let raw: RawSink = toml::from_str(
        "kind = \"http\"\nurl = \"http://x/y\"\ntable = \"t\"\nkey_column = \"k\"\n\
         fields = { a = \"/run/id\" }\n",
    )
    .unwrap();
    let e = errors(SinkConfig::load(&raw, Path::new("/")));
    assert_eq!(e[0].1, "`table` is only for kind = \"postgres\"");
    assert_eq!(e[1].1, "`key_column` is only for kind = \"postgres\"");
    let raw: RawSink =
        toml::from_str("kind = \"kafka\"\nurl = \"x\"\nfields = { a = \"/run/id\" }\n").unwrap();
    let e = errors(SinkConfig::load(&raw, Path::new("/")));
    assert_eq!(
        e[0].1,
        "`kafka` is not a sink kind; known kinds: `http`, `postgres`"
    );
}
