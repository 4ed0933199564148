-- 0010_credentials_key_fetch: the server serves a player's private key only until the device has
-- fetched it (plus CREDENTIALS_KEY_GRACE_SECONDS). key_fetched_at is when the current
-- certificate's credentials were first fetched (getPlayerCredentials) or handed over
-- (renewDeviceCert); null while not yet. Once the grace period is over, the next fetch erases
-- key_pem and is answered 410 gone. An owner renewal installs a new key and clears it.
alter table players add column key_fetched_at timestamptz;
