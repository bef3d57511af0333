-- When a feed's current run of failed polls began (NULL while it is healthy): the start of a
-- streak, so "failing for longer than feed_failing_after" is measured from it, even for a
-- feed that has never once succeeded.
ALTER TABLE feeds ADD COLUMN failing_since INTEGER;
