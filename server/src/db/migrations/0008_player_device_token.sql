-- 0008_player_device_token: a player's device token (protocol 1.1, for the p3a firmware).
-- getPlayerCredentials and rotatePlayerToken hand the device a new random token (the previous
-- one dies); the device sends it as a bearer token to renewDeviceCert. Only its SHA-256 is kept.
-- api_token_rotated_at is what the owner sees of rotations (a credentials fetch is not one);
-- with DEVICE_TOKEN_ROTATION=owner_confirmation a rotation first waits for the owner's approval
-- (requested_at, then approved_at; both cleared when the device collects its token).
alter table players
  add column api_token_hash                  bytea,
  add column api_token_created_at            timestamptz,
  add column api_token_rotated_at            timestamptz,
  add column api_token_rotation_requested_at timestamptz,
  add column api_token_rotation_approved_at  timestamptz,
  add constraint players_api_token_hash_length check (octet_length(api_token_hash) = 32),
  add constraint players_api_token_pair check ((api_token_hash is null) = (api_token_created_at is null)),
  add constraint players_api_token_approval check (api_token_rotation_approved_at is null or api_token_rotation_requested_at is not null);

create unique index players_api_token_hash_key on players (api_token_hash) where api_token_hash is not null;
