//! Knowledge-base documents and chunks.

use std::collections::BTreeMap;

use rusqlite::{Connection, Transaction, params};

use crate::clock::now_rfc3339;
use crate::kb::vector;
use crate::store::{KbChunk, KbDocument, NewKbDocument, Result, StoreError};

pub fn documents(conn: &Connection, kb: &str) -> Result<Vec<KbDocument>> {
    let rows = conn
        .prepare_cached(
            "SELECT path, sha256, embedder, chunks, added_at, updated_at
             FROM kb_documents WHERE kb = ?1 ORDER BY path",
        )?
        .query_map(params![kb], |r| {
            Ok(KbDocument {
                path: r.get(0)?,
                sha256: r.get(1)?,
                embedder: r.get(2)?,
                chunks: r.get(3)?,
                added_at: r.get(4)?,
                updated_at: r.get(5)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub fn put(tx: &Transaction<'_>, doc: &NewKbDocument) -> Result<()> {
    let now = now_rfc3339();
    tx.prepare_cached("DELETE FROM kb_chunks WHERE kb = ?1 AND path = ?2")?
        .execute(params![doc.kb, doc.path])?;
    tx.prepare_cached(
        "INSERT INTO kb_documents (kb, path, sha256, embedder, chunks, added_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
         ON CONFLICT (kb, path) DO UPDATE SET sha256 = excluded.sha256,
             embedder = excluded.embedder, chunks = excluded.chunks,
             updated_at = excluded.updated_at",
    )?
    .execute(params![
        doc.kb,
        doc.path,
        doc.sha256,
        doc.embedder,
        doc.chunks.len() as i64,
        now
    ])?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO kb_chunks (kb, id, path, seq, title, text, vector, length, terms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    for c in &doc.chunks {
        let terms = serde_json::to_string(&c.terms)
            .map_err(|e| StoreError::Database(format!("chunk terms: {e}")))?;
        insert.execute(params![
            doc.kb,
            c.id,
            doc.path,
            c.seq,
            c.title,
            c.text,
            vector::to_bytes(&c.vector),
            c.length,
            terms
        ])?;
    }
    Ok(())
}

pub fn remove(tx: &Transaction<'_>, kb: &str, paths: &[String]) -> Result<()> {
    for path in paths {
        tx.prepare_cached("DELETE FROM kb_chunks WHERE kb = ?1 AND path = ?2")?
            .execute(params![kb, path])?;
        tx.prepare_cached("DELETE FROM kb_documents WHERE kb = ?1 AND path = ?2")?
            .execute(params![kb, path])?;
    }
    Ok(())
}

pub fn chunks(conn: &Connection, kb: &str) -> Result<Vec<KbChunk>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, path, seq, title, text, vector, length, terms
         FROM kb_chunks WHERE kb = ?1 ORDER BY path, seq",
    )?;
    let mut rows = stmt.query(params![kb])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let id: String = r.get(0)?;
        let blob: Vec<u8> = r.get(5)?;
        let terms: String = r.get(7)?;
        let vector = vector::from_bytes(&blob).ok_or_else(|| {
            StoreError::Corrupt(format!("chunk `{id}`: vector of {} bytes", blob.len()))
        })?;
        let terms: BTreeMap<String, u32> = serde_json::from_str(&terms)
            .map_err(|e| StoreError::Corrupt(format!("chunk `{id}`: terms: {e}")))?;
        out.push(KbChunk {
            path: r.get(1)?,
            seq: r.get(2)?,
            title: r.get(3)?,
            text: r.get(4)?,
            vector,
            length: r.get(6)?,
            terms,
            id,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::store::{KbChunk, KbStore, NewKbDocument};

    fn chunk(path: &str, seq: u32, text: &str) -> KbChunk {
        KbChunk {
            id: format!("{path}#{seq}"),
            path: path.to_string(),
            seq,
            title: "T".into(),
            text: text.into(),
            vector: vec![0.5, -1.0, f32::MIN_POSITIVE],
            length: 1,
            terms: [(text.to_string(), 1)].into_iter().collect(),
        }
    }

    fn doc(path: &str, sha: &str, chunks: Vec<KbChunk>) -> NewKbDocument {
        NewKbDocument {
            kb: "docs".into(),
            path: path.into(),
            sha256: sha.into(),
            embedder: "minilm".into(),
            chunks,
        }
    }

    #[tokio::test]
    async fn replace_keeps_added_at_and_drops_old_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let store = super::super::tests::store(&dir);
        store
            .kb_put_document(doc(
                "a.md",
                "s1",
                vec![chunk("a.md", 1, "x"), chunk("a.md", 2, "y")],
            ))
            .await
            .unwrap();
        store
            .kb_put_document(doc("b.md", "s2", vec![chunk("b.md", 1, "z")]))
            .await
            .unwrap();
        let before = store.kb_documents("docs").await.unwrap();
        store
            .kb_put_document(doc("a.md", "s3", vec![chunk("a.md", 1, "w")]))
            .await
            .unwrap();
        let docs = store.kb_documents("docs").await.unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!((docs[0].sha256.as_str(), docs[0].chunks), ("s3", 1));
        assert_eq!(docs[0].added_at, before[0].added_at);
        let chunks = store.kb_chunks("docs").await.unwrap();
        let ids: Vec<&str> = chunks.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["a.md#1", "b.md#1"]);
        assert_eq!(chunks[0], chunk("a.md", 1, "w"));
        assert!(store.kb_chunks("other").await.unwrap().is_empty());
    }
}
