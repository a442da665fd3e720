-- runwright schema v4: the process group an attempt started (JSON: pgid, host, leader start
-- time, boot id), so resume and lease recovery can make sure it is gone before a new attempt.

ALTER TABLE attempts ADD COLUMN process TEXT;
