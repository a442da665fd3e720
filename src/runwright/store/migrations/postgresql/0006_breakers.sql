-- runwright schema v6: provider circuit breakers and rate-limit windows, shared by every
-- worker process on the database (runwright.providers.breaker, runwright.providers.limits).

CREATE TABLE breakers (
    endpoint    TEXT PRIMARY KEY,
    state       TEXT NOT NULL,
    failures    INTEGER NOT NULL DEFAULT 0,
    open_until  DOUBLE PRECISION,
    probe_until DOUBLE PRECISION,
    last_error  TEXT,
    updated_at  DOUBLE PRECISION NOT NULL
);

CREATE TABLE rate_windows (
    endpoint TEXT NOT NULL,
    minute   BIGINT NOT NULL,
    requests INTEGER NOT NULL DEFAULT 0,
    tokens   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (endpoint, minute)
);
