-- 0001_init: the whole data model of Makapix Contract (see shared/protocol/CONTRACT_NOTES.md).
-- Applied by server/src/db/migrate.ts inside one transaction. Never edit after it has shipped:
-- add 0002_*.sql instead (migrate.ts refuses a changed checksum).
--
-- Conventions: internal integer keys (users.id, posts.post_id) join tables; UUIDs are the public
-- identities (users.user_id, players.id, players.player_key, comments.comment_id). Timestamps are
-- timestamptz. Enumerations are text + CHECK so that errors name the constraint.

-- ---------------------------------------------------------------------------------------------
-- users
-- ---------------------------------------------------------------------------------------------
create table users (
  id            bigint generated always as identity primary key,   -- encoded as the public sqid
  user_id       uuid not null default gen_random_uuid(),
  handle        text not null,
  email         text not null,
  password_hash text not null,
  roles         text[] not null default '{}',
  created_at    timestamptz not null default now(),
  constraint users_user_id_key unique (user_id),
  constraint users_handle_format check (handle ~ '^[A-Za-z0-9_-]{2,50}$'),
  constraint users_email_format check (char_length(email) between 3 and 320 and email like '%_@_%'),
  constraint users_roles_known check (roles <@ array['moderator']::text[])
);
-- Case-insensitive uniqueness; look-ups must use lower(handle) / lower(email) to hit these.
create unique index users_handle_lower_key on users (lower(handle));
create unique index users_email_lower_key on users (lower(email));

-- ---------------------------------------------------------------------------------------------
-- posts
-- ---------------------------------------------------------------------------------------------
create table posts (
  post_id            bigint generated always as identity (maxvalue 2147483647) primary key,
  storage_key        uuid not null default gen_random_uuid(),
  owner_id           bigint not null references users (id) on delete cascade,
  title              text not null,
  art_url            text not null,
  canvas             text not null,
  width              integer not null,
  height             integer not null,
  frame_count        integer not null default 1,
  has_transparency   boolean not null default false,
  visible            boolean not null default true,
  hidden_by_mod      boolean not null default false,
  non_conformant     boolean not null default false,
  promoted_category  text,
  promoted_at        timestamptz,
  created_at         timestamptz not null default now(),
  deleted            boolean not null default false,
  constraint posts_storage_key_key unique (storage_key),
  constraint posts_title_length check (char_length(title) between 1 and 200),
  constraint posts_art_url_length check (char_length(art_url) between 1 and 2048),
  constraint posts_canvas_format check (canvas ~ '^[1-9][0-9]{0,3}x[1-9][0-9]{0,3}$'),
  constraint posts_width_range check (width between 1 and 9999),
  constraint posts_height_range check (height between 1 and 9999),
  constraint posts_frame_count_range check (frame_count >= 1),
  constraint posts_promoted_category_known
    check (promoted_category in ('frontpage', 'editor-pick', 'weekly-pack', 'daily''s-best')),
  constraint posts_promoted_pair check ((promoted_category is null) = (promoted_at is null))
);
-- Keyset paginations. "Listable" = what a non-moderator may see.
create index posts_listable_id_idx on posts (post_id desc)
  where visible and not hidden_by_mod and not non_conformant and not deleted;
create index posts_created_idx on posts (created_at desc, post_id desc);
create index posts_listable_created_idx on posts (created_at desc, post_id desc)
  where visible and not hidden_by_mod and not non_conformant and not deleted;
create index posts_owner_id_idx on posts (owner_id, post_id desc);
create index posts_owner_created_idx on posts (owner_id, created_at desc, post_id desc);
create index posts_promoted_id_idx on posts (post_id desc) where promoted_category is not null;
create index posts_promoted_created_idx on posts (created_at desc, post_id desc) where promoted_category is not null;

-- ---------------------------------------------------------------------------------------------
-- follows
-- ---------------------------------------------------------------------------------------------
create table follows (
  follower_id bigint not null references users (id) on delete cascade,
  followee_id bigint not null references users (id) on delete cascade,
  created_at  timestamptz not null default now(),
  primary key (follower_id, followee_id),
  constraint follows_not_self check (follower_id <> followee_id)
);
-- fan-out: all followers of a user
create index follows_followee_idx on follows (followee_id, follower_id);

create table category_follows (
  user_id    bigint not null references users (id) on delete cascade,
  category   text not null,
  created_at timestamptz not null default now(),
  primary key (user_id, category),
  constraint category_follows_category_known
    check (category in ('frontpage', 'editor-pick', 'weekly-pack', 'daily''s-best'))
);
create index category_follows_category_idx on category_follows (category, user_id);

-- ---------------------------------------------------------------------------------------------
-- comments: threaded to depth 2. The composite foreign key makes the database guarantee that a
-- reply belongs to the same post as its parent and sits exactly one level below it.
-- ---------------------------------------------------------------------------------------------
create table comments (
  comment_id    uuid primary key default gen_random_uuid(),
  post_id       bigint not null references posts (post_id) on delete cascade,
  author_id     bigint references users (id) on delete set null,      -- null: anonymous
  parent_id     uuid,
  depth         smallint not null,
  parent_depth  smallint generated always as (depth - 1) stored,
  body          text not null,
  deleted       boolean not null default false,
  hidden_by_mod boolean not null default false,
  created_at    timestamptz not null default now(),
  constraint comments_depth_range check (depth between 0 and 2),
  constraint comments_parent_iff_reply check ((parent_id is null) = (depth = 0)),
  constraint comments_body_length check (char_length(body) <= 2000),
  constraint comments_thread_key unique (comment_id, post_id, depth),
  constraint comments_parent_fk foreign key (parent_id, post_id, parent_depth)
    references comments (comment_id, post_id, depth) on delete cascade
);
create index comments_post_order_idx on comments (post_id, created_at, comment_id);
create index comments_parent_idx on comments (parent_id) where parent_id is not null;

-- ---------------------------------------------------------------------------------------------
-- reactions: at most 5 different emoji per (post, user), enforced below.
-- ---------------------------------------------------------------------------------------------
create table reactions (
  post_id    bigint not null references posts (post_id) on delete cascade,
  user_id    bigint not null references users (id) on delete cascade,
  emoji      text not null,
  created_at timestamptz not null default now(),
  primary key (post_id, user_id, emoji),
  constraint reactions_emoji_length check (char_length(emoji) between 1 and 64)
);
create index reactions_user_idx on reactions (user_id);

-- Concurrency-safe limit: an advisory lock per (post, user) serialises concurrent inserts, then the
-- other emoji are counted. Re-adding an existing emoji passes (so ON CONFLICT DO NOTHING still
-- makes it a no-op). The error carries constraint name reactions_per_user_post_limit.
create function reactions_enforce_limit() returns trigger language plpgsql as $$
begin
  perform pg_advisory_xact_lock(hashtextextended('makapix.reactions:' || new.post_id || ':' || new.user_id, 0));
  if exists (select 1 from reactions r
             where r.post_id = new.post_id and r.user_id = new.user_id and r.emoji = new.emoji) then
    return new;
  end if;
  if (select count(*) from reactions r where r.post_id = new.post_id and r.user_id = new.user_id) >= 5 then
    raise exception 'at most 5 different reactions per user per post'
      using errcode = 'check_violation', constraint = 'reactions_per_user_post_limit',
            table = 'reactions', schema = current_schema();
  end if;
  return new;
end
$$;
create trigger reactions_enforce_limit before insert on reactions
  for each row execute function reactions_enforce_limit();

-- ---------------------------------------------------------------------------------------------
-- view_events: never the raw player key or an IP; viewer_hash is a keyed hash computed by the app.
-- dedupe_key (optional) makes a redelivered request unable to count a view twice.
-- ---------------------------------------------------------------------------------------------
create table view_events (
  id             bigint generated always as identity primary key,
  post_id        bigint not null references posts (post_id) on delete cascade,
  viewer_user_id bigint references users (id) on delete set null,
  viewer_hash    text not null,
  source         text not null,
  view_type      text not null,
  dedupe_key     text,
  created_at     timestamptz not null default now(),
  constraint view_events_source_known check (source in ('player', 'web')),
  constraint view_events_view_type_known check (view_type in ('intentional', 'listing')),
  constraint view_events_viewer_hash_length check (char_length(viewer_hash) between 1 and 128),
  constraint view_events_dedupe_key_key unique (dedupe_key)
);
create index view_events_post_idx on view_events (post_id, created_at);

-- ---------------------------------------------------------------------------------------------
-- players
-- ---------------------------------------------------------------------------------------------
create table players (
  id                           uuid primary key default gen_random_uuid(),
  player_key                   uuid not null default gen_random_uuid(),
  owner_id                     bigint references users (id) on delete cascade,
  name                         text,
  device_model                 text,
  firmware_version             text,
  registration_status          text not null default 'pending',
  registration_code            text,
  registration_code_expires_at timestamptz,
  connection_status            text not null default 'offline',
  last_seen_at                 timestamptz,
  current_post_id              bigint,          -- as reported by the device; deliberately no FK
  cert_serial                  text,            -- lower-case hex (pki serialHex)
  cert_pem                     text,
  key_pem                      text,            -- device key when the server generated it
  cert_expires_at              timestamptz,
  registered_at                timestamptz,
  created_at                   timestamptz not null default now(),
  constraint players_player_key_key unique (player_key),
  constraint players_cert_serial_key unique (cert_serial),
  constraint players_name_length check (char_length(name) between 1 and 100),
  constraint players_device_model_length check (char_length(device_model) between 1 and 100),
  constraint players_firmware_version_length check (char_length(firmware_version) between 1 and 64),
  constraint players_registration_status_known check (registration_status in ('pending', 'registered')),
  constraint players_connection_status_known check (connection_status in ('online', 'offline')),
  constraint players_registration_code_format check (registration_code ~ '^[A-Z0-9]{6}$'),
  constraint players_registration_code_pair
    check ((registration_code is null) = (registration_code_expires_at is null)),
  constraint players_registered_complete
    check (registration_status = 'pending'
           or (owner_id is not null and name is not null and registered_at is not null))
);
-- A code identifies one pending player. Expired codes keep their slot until they are cleared
-- (set to null) by the provisioning transaction or by the cleanup of stale pending players.
create unique index players_registration_code_key on players (registration_code)
  where registration_code is not null;
create index players_owner_idx on players (owner_id, created_at);
create index players_stale_online_idx on players (last_seen_at) where connection_status = 'online';
create index players_pending_expiry_idx on players (registration_code_expires_at)
  where registration_status = 'pending';

-- Revoked device certificates (source of the broker's CRL).
create table revoked_certificates (
  serial          text primary key,               -- lower-case hex
  player_key      uuid not null,
  revoked_at      timestamptz not null default now(),
  cert_expires_at timestamptz,                    -- after this the entry can leave the CRL
  constraint revoked_certificates_serial_format check (serial ~ '^[0-9a-f]{1,64}$')
);
create index revoked_certificates_player_key_idx on revoked_certificates (player_key);

-- Every command sent to a player (who, what, when).
create table player_commands (
  command_id   uuid primary key default gen_random_uuid(),
  player_id    uuid references players (id) on delete set null,
  player_key   uuid not null,
  issued_by    bigint references users (id) on delete set null,
  command_type text not null,
  payload      jsonb not null default '{}'::jsonb,
  created_at   timestamptz not null default now(),
  constraint player_commands_type_known check (command_type in ('show_artwork', 'swap_next', 'swap_back'))
);
create index player_commands_player_idx on player_commands (player_id, created_at desc);

-- ---------------------------------------------------------------------------------------------
-- Shared state of stateless server instances
-- ---------------------------------------------------------------------------------------------

-- Idempotency of MQTT requests: one stored answer per (player_key, request_id).
create table mqtt_requests (
  player_key uuid not null,
  request_id text not null,
  response   jsonb not null,
  created_at timestamptz not null default now(),
  primary key (player_key, request_id),
  constraint mqtt_requests_request_id_length check (char_length(request_id) between 1 and 128)
);
create index mqtt_requests_created_idx on mqtt_requests (created_at);

-- Fixed-window rate-limit counters. UNLOGGED: fast, and losing them in a crash only resets limits.
create unlogged table rate_limit_counters (
  key          text not null,
  window_start timestamptz not null,
  count        integer not null,
  expires_at   timestamptz not null,
  primary key (key, window_start)
);
create index rate_limit_counters_expires_idx on rate_limit_counters (expires_at);

-- Transactional outbox of MQTT notifications: written in the transaction that causes them,
-- published by whichever instance claims them (FOR UPDATE SKIP LOCKED + a lease).
create table outbox (
  id            bigint generated always as identity primary key,
  topic         text not null,
  payload       jsonb not null,
  created_at    timestamptz not null default now(),
  published_at  timestamptz,
  attempts      integer not null default 0,
  claimed_until timestamptz,
  last_error    text,
  constraint outbox_topic_length check (char_length(topic) between 1 and 65535)
);
create index outbox_unpublished_idx on outbox (id) where published_at is null;
create index outbox_published_idx on outbox (published_at) where published_at is not null;

-- WebSocket MQTT credentials of web users (one live credential per user, as the broker's
-- dynamic-security client has one password). Only a hash of the token is stored.
create table web_mqtt_credentials (
  user_id    bigint primary key references users (id) on delete cascade,
  username   text not null,
  token_hash text not null,
  expires_at timestamptz not null,
  created_at timestamptz not null default now(),
  constraint web_mqtt_credentials_username_key unique (username)
);
create index web_mqtt_credentials_expires_idx on web_mqtt_credentials (expires_at);
