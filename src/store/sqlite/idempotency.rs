//! `idempotency_keys`: written by the store writer only, so a claim's check
//! and insert are one step.

use rusqlite::{Connection, OptionalExtension, params};

use crate::store::{IdemBegin, IdemClaim, Result};

/// pipeline, body hash, stored status and body, locked until (ms).
type KeyRow = (String, String, Option<u16>, Option<String>, i64);

/// Claim a key at `now_ms` (see [`IdemBegin`]).
pub fn begin(conn: &Connection, c: &IdemClaim, now_ms: i64, now: &str) -> Result<IdemBegin> {
    let ttl_ms = i64::try_from(c.ttl.as_millis()).unwrap_or(i64::MAX);
    let lock_ms = i64::try_from(c.lock.as_millis()).unwrap_or(i64::MAX);
    // Forget expired keys a few at a time, this one first.
    let cutoff = now_ms.saturating_sub(ttl_ms);
    conn.prepare_cached(
        "DELETE FROM idempotency_keys WHERE tenant = ?1 AND idem_key = ?2 AND created_ms < ?3",
    )?
    .execute(params![c.tenant, c.key, cutoff])?;
    conn.prepare_cached(
        "DELETE FROM idempotency_keys WHERE rowid IN
           (SELECT rowid FROM idempotency_keys WHERE created_ms < ?1 ORDER BY created_ms LIMIT 16)",
    )?
    .execute(params![cutoff])?;
    let row: Option<KeyRow> = conn
        .prepare_cached(
            "SELECT pipeline, body_sha256, status_code, response_body, locked_until_ms
             FROM idempotency_keys WHERE tenant = ?1 AND idem_key = ?2",
        )?
        .query_row(params![c.tenant, c.key], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .optional()?;
    let locked_until = now_ms.saturating_add(lock_ms);
    match row {
        None => {
            conn.prepare_cached(
                "INSERT INTO idempotency_keys
                   (tenant, idem_key, pipeline, body_sha256, locked_until_ms, created_ms, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                c.tenant,
                c.key,
                c.pipeline,
                c.body_sha256,
                locked_until,
                now_ms,
                now
            ])?;
            Ok(IdemBegin::Fresh)
        }
        Some((pipeline, sha, _, _, _)) if pipeline != c.pipeline || sha != c.body_sha256 => {
            Ok(IdemBegin::Mismatch)
        }
        Some((_, _, Some(status), Some(body), _)) => Ok(IdemBegin::Replay { status, body }),
        Some((.., until)) if until > now_ms => Ok(IdemBegin::InFlight),
        // The holder's process died before answering: take the key over.
        Some(_) => {
            conn.prepare_cached(
                "UPDATE idempotency_keys SET locked_until_ms = ?3 WHERE tenant = ?1 AND idem_key = ?2",
            )?
            .execute(params![c.tenant, c.key, locked_until])?;
            Ok(IdemBegin::Fresh)
        }
    }
}

/// Store the first answer of a key.
pub fn finish(conn: &Connection, tenant: &str, key: &str, status: u16, body: &str) -> Result<()> {
    conn.prepare_cached(
        "UPDATE idempotency_keys SET status_code = ?3, response_body = ?4
         WHERE tenant = ?1 AND idem_key = ?2 AND status_code IS NULL",
    )?
    .execute(params![tenant, key, status, body])?;
    Ok(())
}

#[async_trait::async_trait]
impl crate::store::IdempotencyStore for super::SqliteStore {
    async fn idem_begin(&self, claim: IdemClaim) -> Result<IdemBegin> {
        self.send(|reply| super::writer::Op::IdemBegin { claim, reply })
            .await
    }

    async fn idem_finish(
        &self,
        tenant: String,
        key: String,
        status: u16,
        body: String,
    ) -> Result<()> {
        self.send(|reply| super::writer::Op::IdemFinish {
            tenant,
            key,
            status,
            body,
            reply,
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn claim(key: &str, body: &str) -> IdemClaim {
        IdemClaim {
            tenant: "t".into(),
            key: key.into(),
            pipeline: "p".into(),
            body_sha256: body.into(),
            lock: Duration::from_secs(60),
            ttl: Duration::from_secs(86_400),
        }
    }

    #[test]
    fn first_claim_runs_repeats_replay_mismatches_refuse() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::store::sqlite::migrate::apply(&mut conn).unwrap();
        let t0 = 1_000_000_000;
        assert_eq!(
            begin(&conn, &claim("k", "a"), t0, "x").unwrap(),
            IdemBegin::Fresh
        );
        assert_eq!(
            begin(&conn, &claim("k", "a"), t0 + 1, "x").unwrap(),
            IdemBegin::InFlight
        );
        assert_eq!(
            begin(&conn, &claim("k", "b"), t0 + 1, "x").unwrap(),
            IdemBegin::Mismatch
        );
        finish(&conn, "t", "k", 422, "{\"error\":1}").unwrap();
        // A second finish never replaces the first answer.
        finish(&conn, "t", "k", 200, "{}").unwrap();
        assert_eq!(
            begin(&conn, &claim("k", "a"), t0 + 2, "x").unwrap(),
            IdemBegin::Replay {
                status: 422,
                body: "{\"error\":1}".into()
            }
        );
        // Another tenant's key of the same name is its own.
        let mut other = claim("k", "b");
        other.tenant = "u".into();
        assert_eq!(begin(&conn, &other, t0, "x").unwrap(), IdemBegin::Fresh);
        // A holder that died gives the key up after its lock.
        assert_eq!(
            begin(&conn, &claim("d", "a"), t0, "x").unwrap(),
            IdemBegin::Fresh
        );
        assert_eq!(
            begin(&conn, &claim("d", "a"), t0 + 60_001, "x").unwrap(),
            IdemBegin::Fresh
        );
        // Kept 24 h, then forgotten.
        assert!(matches!(
            begin(&conn, &claim("k", "a"), t0 + 86_399_000, "x").unwrap(),
            IdemBegin::Replay { .. }
        ));
        assert_eq!(
            begin(&conn, &claim("k", "b"), t0 + 86_400_001, "x").unwrap(),
            IdemBegin::Fresh
        );
    }
}
