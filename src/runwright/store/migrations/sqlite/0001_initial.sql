-- runwright schema v1 (SQLite dialect).
-- item = -1 means "not a for_each item" so it can sit in primary keys (SQLite NULLs are distinct).

CREATE TABLE runs (
    id          TEXT PRIMARY KEY,
    pipeline    TEXT NOT NULL,
    spec_hash   TEXT NOT NULL,
    spec_source TEXT NOT NULL,
    spec_path   TEXT,
    inputs      TEXT NOT NULL,
    options     TEXT NOT NULL DEFAULT '{}',
    status      TEXT NOT NULL,
    error       TEXT,
    created_at  REAL NOT NULL,
    started_at  REAL,
    finished_at REAL,
    updated_at  REAL NOT NULL
);
CREATE INDEX runs_created ON runs (created_at);

CREATE TABLE attempts (
    id            INTEGER PRIMARY KEY,
    run_id        TEXT NOT NULL,
    step_id       TEXT NOT NULL,
    item          INTEGER NOT NULL DEFAULT -1,
    number        INTEGER NOT NULL,
    try           INTEGER NOT NULL DEFAULT 1,
    state         TEXT NOT NULL,
    reason        TEXT,
    superseded    INTEGER NOT NULL DEFAULT 0,
    waiting_on    INTEGER NOT NULL DEFAULT 0,
    not_before    REAL NOT NULL DEFAULT 0,
    worker_id     TEXT,
    lease_expires REAL,
    created_at    REAL NOT NULL,
    started_at    REAL,
    finished_at   REAL,
    error         TEXT,
    payload       TEXT
);
CREATE INDEX attempts_ready ON attempts (state, not_before) WHERE state = 'ready';
CREATE INDEX attempts_node ON attempts (run_id, step_id, item, superseded);

CREATE TABLE blobs (
    sha256 TEXT PRIMARY KEY,
    size   INTEGER NOT NULL,
    data   BLOB NOT NULL
);

CREATE TABLE outputs (
    run_id     TEXT NOT NULL,
    step_id    TEXT NOT NULL,
    item       INTEGER NOT NULL DEFAULT -1,
    attempt_id INTEGER NOT NULL,
    value      TEXT,
    blob       TEXT,
    PRIMARY KEY (run_id, step_id, item)
);

CREATE TABLE events (
    seq     INTEGER PRIMARY KEY,
    run_id  TEXT NOT NULL,
    ts      REAL NOT NULL,
    level   TEXT NOT NULL,
    type    TEXT NOT NULL,
    step_id TEXT,
    item    INTEGER,
    attempt INTEGER,
    data    TEXT NOT NULL
);
CREATE INDEX events_run ON events (run_id, seq);

CREATE TABLE cache (
    key         TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    value       TEXT,
    blob        TEXT,
    size        INTEGER NOT NULL,
    run_id      TEXT NOT NULL,
    step_id     TEXT NOT NULL,
    created_at  REAL NOT NULL,
    hits        INTEGER NOT NULL DEFAULT 0,
    last_hit_at REAL
);

CREATE TABLE workers (
    id           TEXT PRIMARY KEY,
    host         TEXT NOT NULL,
    pid          INTEGER NOT NULL,
    state        TEXT NOT NULL,
    concurrency  INTEGER NOT NULL,
    labels       TEXT NOT NULL DEFAULT '[]',
    started_at   REAL NOT NULL,
    heartbeat_at REAL NOT NULL
);
