-- runwright schema v9: a run's spec text in a table of its own.
-- The text sat in the runs row before the status, which every claim, status read and
-- status update touches. SQLite keeps a long value in a chain of overflow pages and
-- walks the whole chain to reach a column after it: with a 10,000-step spec (1.1 MB)
-- each claim read 280 pages, with 100,000 steps its time grew past a millisecond.
CREATE TABLE run_specs (
    run_id TEXT PRIMARY KEY,
    source TEXT NOT NULL
);
INSERT INTO run_specs (run_id, source) SELECT id, spec_source FROM runs;
ALTER TABLE runs DROP COLUMN spec_source;
