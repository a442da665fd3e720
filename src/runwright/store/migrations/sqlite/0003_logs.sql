-- runwright schema v3 (SQLite dialect): step logs, streamed in chunks while a step runs.
-- One row per chunk of one stream (stdout, stderr, traceback) of one attempt, already
-- masked; `id` orders chunks across the run (what `logs --follow` pages by). A chunk of
-- BLOB_THRESHOLD bytes or more lives in `blobs` (by sha256 in `blob`, `data` NULL).

CREATE TABLE logs (
    id      INTEGER PRIMARY KEY,
    run_id  TEXT NOT NULL,
    step_id TEXT NOT NULL,
    item    INTEGER NOT NULL DEFAULT -1,
    attempt INTEGER NOT NULL,
    stream  TEXT NOT NULL,
    seq     INTEGER NOT NULL,
    ts      REAL NOT NULL,
    size    INTEGER NOT NULL,
    data    TEXT,
    blob    TEXT
);
CREATE UNIQUE INDEX logs_chunk ON logs (run_id, step_id, item, attempt, stream, seq);
CREATE INDEX logs_run ON logs (run_id, id);
