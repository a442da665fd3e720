-- runwright schema v5: the cost ledger and budget reservations.
-- A reservation holds a call's worst-case cost before the call and its actual cost after
-- (NULL when the price is unknown); budgets sum held and settled reservations of a scope.
-- budget_scopes has one row per budget scope in use (run:ID, pipeline:NAME:DAY, pipeline:NAME,
-- day:DAY, total) with what it has spent or holds; a reservation locks the rows of the scopes it
-- is checked against (PostgreSQL FOR UPDATE; SQLite's single writer), so reservations take turns
-- and a check reads one row per budget, however long the ledger grows.

CREATE TABLE reservations (
    id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    pipeline TEXT NOT NULL,
    day TEXT NOT NULL,
    attempt_id INTEGER,
    step_id TEXT,
    item INTEGER NOT NULL DEFAULT -1,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    usd REAL,
    reserved_usd REAL NOT NULL,
    state TEXT NOT NULL,
    reason TEXT,
    created_at REAL NOT NULL,
    settled_at REAL
);
CREATE INDEX reservations_run ON reservations (run_id, state);
CREATE INDEX reservations_pipeline_day ON reservations (pipeline, day);
CREATE INDEX reservations_day ON reservations (day);
CREATE INDEX reservations_attempt ON reservations (attempt_id, state);

CREATE TABLE costs (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL,
    pipeline TEXT NOT NULL,
    step_id TEXT NOT NULL,
    item INTEGER NOT NULL DEFAULT -1,
    attempt INTEGER NOT NULL,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    input_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    cached_tokens INTEGER NOT NULL DEFAULT 0,
    usd REAL,
    reservation_id TEXT,
    day TEXT NOT NULL,
    ts REAL NOT NULL
);
CREATE INDEX costs_run ON costs (run_id, id);
CREATE INDEX costs_day ON costs (day);

CREATE TABLE budget_scopes (
    scope TEXT PRIMARY KEY,
    usd REAL NOT NULL DEFAULT 0
);
