-- feedwatch schema, version 8: why each feed is due when it is, and what its adaptive interval
-- is made of. Append-only: never edit this file once released.

-- Why `next_due_at` is what it is (scheduler::DueReason: 'rate', 'ttl', 'backoff', 'cron', …)
-- and the interval that reason stands for (seconds), for `feedwatch feeds`.
ALTER TABLE feeds ADD COLUMN due_reason TEXT;
ALTER TABLE feeds ADD COLUMN due_interval INTEGER;
-- The feed's recent publishing (scheduler::Rate): `rate_posts` distinct posting times, the
-- oldest at `rate_since` (unix seconds). NULL until known.
ALTER TABLE feeds ADD COLUMN rate_since INTEGER;
ALTER TABLE feeds ADD COLUMN rate_posts INTEGER;
-- The feed's own polling hints (feed::hints: ttl, sy:updatePeriod, skipHours, skipDays) as
-- last read, kept for the polls answered 304: "ttl=SECS period=SECS skip-hours=N skip-days=N".
ALTER TABLE feeds ADD COLUMN feed_hints TEXT;
