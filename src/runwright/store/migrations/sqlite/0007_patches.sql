-- runwright schema v7: the patch ledger (coding agents' diffs) and trust promotions.
-- A patch is one agent attempt's diff against its base commit. Its id is the sha256 of
-- (base, diff), so the same change on the same base is one entry, whoever produced it.
-- The diff itself is a blob (blobs.sha256 = diff_blob); every state change is also an
-- event of the producing run (patch.*), which is the audit trail.

CREATE TABLE patches (
    id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    step_id TEXT NOT NULL,
    item INTEGER NOT NULL DEFAULT -1,
    attempt INTEGER NOT NULL,
    attempt_id INTEGER,
    agent TEXT,
    repo TEXT NOT NULL,
    base TEXT NOT NULL,
    branch TEXT,
    files TEXT NOT NULL,
    added INTEGER NOT NULL,
    removed INTEGER NOT NULL,
    diff_blob TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT,
    applied_branch TEXT,
    applied_commit TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX patches_run ON patches (run_id, created_at);
CREATE INDEX patches_state ON patches (state, created_at);
CREATE INDEX patches_agent ON patches (agent, created_at);

-- A person's explicit promotion (or demotion) of an agent preset to a trust level.
CREATE TABLE trust_grants (
    id INTEGER PRIMARY KEY,
    agent TEXT NOT NULL,
    level TEXT NOT NULL,
    granted_by TEXT NOT NULL,
    note TEXT,
    ts REAL NOT NULL
);
CREATE INDEX trust_grants_agent ON trust_grants (agent, id);
