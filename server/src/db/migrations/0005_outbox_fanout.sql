-- 0005_outbox_fanout: new-post notifications to followers are queued as ONE job per post instead
-- of one outbox row per follower written by the request that created the post (a user with 100k
-- followers made POST /post write 100k rows in its transaction). The request writes the job; the
-- outbox publisher of any instance expands it into outbox rows in chunks (server/src/db/outbox.ts):
-- each chunk is one transaction that locks the job row, inserts the outbox rows of the next
-- followers (keyset on follows.follower_id) and moves after_follower_id past them, so a chunk's rows
-- and the job's progress commit together. A claim is a lease (claimed_by, claimed_until), as for
-- outbox rows: another instance takes the job over only once the lease has run out.
create table outbox_fanout (
  id                bigint generated always as identity primary key,
  post_id           bigint not null references posts (post_id) on delete cascade,
  -- the post's owner (no foreign key of its own: deleting the user deletes the post, hence the job)
  followee_id       bigint not null,
  -- Each follower's row gets topic_prefix || follower's users.user_id || topic_suffix (the parts
  -- come from the generated topic template) and this payload (validated when the job was queued).
  topic_prefix      text not null,
  topic_suffix      text not null,
  payload           jsonb not null,
  -- Progress: followers with follows.follower_id <= after_follower_id have their rows.
  after_follower_id bigint not null default 0,
  expanded          integer not null default 0,
  created_at        timestamptz not null default now(),
  done_at           timestamptz,
  claimed_by        text,
  claimed_until     timestamptz,
  constraint outbox_fanout_topic_length check (char_length(topic_prefix) + char_length(topic_suffix) <= 65000),
  constraint outbox_fanout_claim_pair check ((claimed_by is null) = (claimed_until is null))
);
create index outbox_fanout_pending_idx on outbox_fanout (id) where done_at is null;
create index outbox_fanout_done_idx on outbox_fanout (done_at) where done_at is not null;
create index outbox_fanout_post_idx on outbox_fanout (post_id);
