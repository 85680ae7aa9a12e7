-- 0011_kb: local knowledge bases (`seam kb add`). One row per indexed
-- file (its content hash and the embedder that made its vectors, so an
-- unchanged file is skipped) and its chunks: text, heading-path title,
-- vector (little-endian f32) and term counts for BM25.

CREATE TABLE kb_documents (
    kb         TEXT NOT NULL,
    path       TEXT NOT NULL,     -- relative to the folder added
    sha256     TEXT NOT NULL,     -- of the file's bytes
    embedder   TEXT NOT NULL,     -- the [embeddings.NAME] that made the vectors
    chunks     INTEGER NOT NULL,
    added_at   TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (kb, path)
);

CREATE TABLE kb_chunks (
    kb     TEXT NOT NULL,
    id     TEXT NOT NULL,         -- `path#n`, n from 1 in document order
    path   TEXT NOT NULL,
    seq    INTEGER NOT NULL,
    title  TEXT NOT NULL,
    text   TEXT NOT NULL,
    vector BLOB NOT NULL,         -- f32 little-endian
    length INTEGER NOT NULL,      -- terms in title + text
    terms  TEXT NOT NULL,         -- JSON object: term -> count
    PRIMARY KEY (kb, id),
    FOREIGN KEY (kb, path) REFERENCES kb_documents (kb, path) ON DELETE CASCADE
);
CREATE INDEX kb_chunks_doc ON kb_chunks (kb, path, seq);
