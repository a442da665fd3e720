-- runwright schema v2 (PostgreSQL dialect): labels, ready time, schedules.

ALTER TABLE attempts ADD COLUMN labels TEXT NOT NULL DEFAULT '';
ALTER TABLE attempts ADD COLUMN ready_at DOUBLE PRECISION;
CREATE INDEX attempts_held ON attempts (worker_id) WHERE state IN ('leased', 'running');

CREATE TABLE schedules (
    name        TEXT PRIMARY KEY,
    spec_path   TEXT NOT NULL,
    cron        TEXT NOT NULL,
    tz          TEXT NOT NULL,
    inputs      TEXT NOT NULL DEFAULT '{}',
    catchup     TEXT NOT NULL,
    paused      INTEGER NOT NULL DEFAULT 0,
    next_fire   BIGINT NOT NULL,
    created_at  DOUBLE PRECISION NOT NULL,
    last_fire   BIGINT,
    last_run_id TEXT
);

CREATE TABLE schedule_fires (
    schedule   TEXT NOT NULL,
    fire_time  BIGINT NOT NULL,
    run_id     TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (schedule, fire_time)
);
