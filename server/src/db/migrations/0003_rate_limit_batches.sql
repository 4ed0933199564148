-- 0003: batched rate-limit hits. One statement adds many hits per key; `last_granted` records how
-- many of the hits of the latest statement fitted under the limit (computed from the old count in
-- the same UPDATE, since RETURNING only sees the new row).
alter table rate_limit_counters add column last_granted integer not null default 0;
