-- feedwatch schema, version 7: leased work, so several processes can share one database.
-- Append-only: never edit this file once released.

-- A feed being polled is leased to one process (`lease_owner`, "host:pid:tag") until
-- `lease_until` (unix seconds); an expired lease is free again, so a process that died holds
-- its feeds only that long. `claimed_at_ms` is when the last lease was taken (unix ms): a
-- `feedwatch once` pass skips a feed another process claimed after the pass began.
ALTER TABLE feeds ADD COLUMN lease_owner TEXT;
ALTER TABLE feeds ADD COLUMN lease_until INTEGER;
ALTER TABLE feeds ADD COLUMN claimed_at_ms INTEGER;

-- An alert in state 'sending' is leased the same way: only the lease holder sends it, and an
-- alert whose holder died is sent again (with the same id) once the lease has expired.
-- Rows left 'sending' by an older release have no lease and are due again at once.
ALTER TABLE outbox ADD COLUMN lease_owner TEXT;
ALTER TABLE outbox ADD COLUMN lease_until INTEGER;
