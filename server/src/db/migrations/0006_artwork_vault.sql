-- 0006_artwork_vault: uploaded artwork lives in the server's vault (server/src/vault/).
-- Posts get a description, hashtags and the native format of their vault file (null for a post
-- whose art_url points elsewhere). vault_objects records each stored file: its name is derived
-- from the storage_key and the format (aa/bb/<storage_key>.<format>), its SHA-256 is the strong
-- ETag it is served with. A file is served only while its row exists and its post is not deleted;
-- files without a row (a crash between writing the file and committing the row) are removed by
-- the orphan sweep.

-- every element 1..50 of [a-z0-9_] (a CHECK cannot hold a subquery; a function may)
create function hashtags_valid(tags text[]) returns boolean language sql immutable strict as $$
  select coalesce(bool_and(t is not null and t ~ '^[a-z0-9_]{1,50}$'), true) from unnest(tags) as t
$$;

alter table posts
  add column description   text,
  add column hashtags      text[] not null default '{}',
  add column native_format text,
  add constraint posts_description_length check (char_length(description) <= 2000),
  add constraint posts_hashtags_count check (cardinality(hashtags) <= 16),
  add constraint posts_hashtags_format check (hashtags_valid(hashtags)),
  add constraint posts_native_format_known check (native_format in ('png', 'gif', 'webp', 'bmp'));

-- the hashtag channel of query_posts (later) looks posts up by hashtag
create index posts_hashtags_idx on posts using gin (hashtags);

create table vault_objects (
  storage_key   uuid primary key references posts (storage_key) on delete cascade,
  native_format text not null,
  byte_size     integer not null,
  sha256        bytea not null,
  created_at    timestamptz not null default now(),
  constraint vault_objects_native_format_known check (native_format in ('png', 'gif', 'webp', 'bmp')),
  constraint vault_objects_byte_size_positive check (byte_size > 0),
  constraint vault_objects_sha256_length check (octet_length(sha256) = 32)
);
