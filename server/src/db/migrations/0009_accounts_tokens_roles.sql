-- 0009_accounts_tokens_roles: revocable sessions, refresh tokens, and roles granted by the operator.
--
-- users.token_generation: every access token carries the generation it was signed at (claim
-- `gen`; tokens from before this migration have none and count as 0). Changing the password and
-- logout-all add one, which ends every earlier access token at once: the bearer check already
-- loads the user's row on every request, so the comparison costs no extra query.
alter table users add column token_generation integer not null default 0;

-- Refresh tokens of authToken: only the SHA-256 of the token is kept. A token is used once
-- (used_at); its successor belongs to the same family (one per sign-in). Presenting a used token
-- again revokes the whole family. `generation` is the user's token_generation when the family
-- began: a later password change or logout-all makes every older token unusable.
create table refresh_tokens (
  id          bigint generated always as identity primary key,
  user_id     bigint not null references users (id) on delete cascade,
  family_id   uuid not null,
  token_hash  bytea not null,
  generation  integer not null,
  created_at  timestamptz not null default now(),
  expires_at  timestamptz not null,
  used_at     timestamptz,
  revoked_at  timestamptz,
  constraint refresh_tokens_token_hash_key unique (token_hash),
  constraint refresh_tokens_token_hash_length check (octet_length(token_hash) = 32)
);
create index refresh_tokens_family_idx on refresh_tokens (family_id);
create index refresh_tokens_user_idx on refresh_tokens (user_id);
create index refresh_tokens_expires_idx on refresh_tokens (expires_at);

-- Every role change made by the operator's command (server/src/admin/cli.ts): who, when, what.
-- users.roles stays the one place the roles are read from; this is their history.
create table role_changes (
  id          bigint generated always as identity primary key,
  user_id     bigint not null references users (id) on delete cascade,
  role        text not null,
  action      text not null,
  changed_by  text not null,
  changed_at  timestamptz not null default now(),
  constraint role_changes_action check (action in ('grant', 'revoke')),
  constraint role_changes_role_known check (role = any (array['moderator']::text[])),
  constraint role_changes_changed_by_length check (char_length(changed_by) between 1 and 200)
);
create index role_changes_user_idx on role_changes (user_id, changed_at);
