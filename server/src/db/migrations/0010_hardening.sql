-- 0010_hardening: two additions of issue 12 (hardening).
--
-- 1. The server serves a player's private key only until the device has fetched it (plus
-- CREDENTIALS_KEY_GRACE_SECONDS). key_fetched_at is when the current certificate's credentials
-- were first fetched (getPlayerCredentials) or handed over (renewDeviceCert); null while not yet.
-- Once the grace period is over, the next fetch erases key_pem and is answered 410 gone. An owner
-- renewal installs a new key and clears it.
alter table players add column key_fetched_at timestamptz;

-- 2. The request connections of the server instances (MQTT_CLIENT_ID, persistent sessions): each
-- instance writes seen_at every few seconds. The broker keeps queueing an absent instance's share
-- of the requests in its session until the session expires; an instance silent for
-- MQTT_SESSION_TAKEOVER_SECONDS is taken over by a live one, which claims its row (deleting it),
-- connects with its client id, answers what waits there and ends the session.
create table request_sessions (
  client_id              text primary key check (char_length(client_id) between 1 and 64),
  seen_at                timestamptz not null,
  session_expiry_seconds integer not null check (session_expiry_seconds >= 0)
);
