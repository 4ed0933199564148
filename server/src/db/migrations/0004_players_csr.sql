-- 0004_players_csr: devices that keep their private key. A device may send a CSR when it
-- provisions; the server keeps only the CSR's verified public key (SPKI PEM) and issues the
-- certificate for it at registration and at every renewal. Such a player never has a key_pem.
alter table players
  add column device_public_key text,
  add constraint players_device_public_key_format
    check (device_public_key like '-----BEGIN PUBLIC KEY-----%' and char_length(device_public_key) <= 8192),
  add constraint players_device_key_no_private_key
    check (device_public_key is null or key_pem is null);
