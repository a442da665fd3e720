-- runwright schema v8: ready attempts indexed in claim order.
-- A claim takes the oldest ready attempts (ORDER BY id). The index of v1 was on
-- (state, not_before), so every claim sorted all ready attempts: a for_each of
-- 10,000 items made each of its 10,000 claims sort up to 10,000 rows. Walking an
-- index in id order stops after LIMIT rows; not_before is checked on the way.
DROP INDEX attempts_ready;
CREATE INDEX attempts_ready ON attempts (id) WHERE state = 'ready';
CREATE INDEX attempts_ready_run ON attempts (run_id, id) WHERE state = 'ready';
