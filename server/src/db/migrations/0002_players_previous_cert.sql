-- 0002_players_previous_cert: the certificate a renewal replaced.
-- renewPlayerCert issues a new certificate but leaves the previous one valid until it expires
-- (at most 30 days later), so that a device that has not yet downloaded the new one can still
-- connect. Deleting the player must revoke both, hence the previous serial is kept here.
alter table players
  add column previous_cert_serial     text,          -- lower-case hex (pki serialHex)
  add column previous_cert_expires_at timestamptz,
  add constraint players_previous_cert_pair
    check ((previous_cert_serial is null) = (previous_cert_expires_at is null));
