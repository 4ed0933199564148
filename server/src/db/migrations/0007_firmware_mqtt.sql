-- 0007_firmware_mqtt: the MQTT half of protocol 1.1 (the p3a firmware's dialect).
-- * player_commands: the new command types (play_channel, set_paused, set_brightness,
--   set_rotation) and the player's acknowledgement (command/ack): status, error, when.
-- * players: the latest capabilities and state each player published (retained topics), as
--   received (known fields only at the top level) and when.
-- * view_events: the player a view came from, as a keyed hash (never the raw key), so that a
--   player's repeats of one post within the repeat window count once; looked up by the index.

alter table player_commands
  drop constraint player_commands_type_known,
  add constraint player_commands_type_known check (command_type in (
    'show_artwork', 'swap_next', 'swap_back', 'play_channel', 'set_paused', 'set_brightness', 'set_rotation')),
  add column ack_status text,
  add column ack_error  text,
  add column acked_at   timestamptz,
  add constraint player_commands_ack_status_known check (ack_status in ('ok', 'error', 'unsupported')),
  add constraint player_commands_ack_error_length check (char_length(ack_error) <= 1000),
  add constraint player_commands_ack_pair check ((ack_status is null) = (acked_at is null));

alter table players
  add column capabilities    jsonb,
  add column capabilities_at timestamptz,
  add column state           jsonb,
  add column state_at        timestamptz,
  add constraint players_capabilities_object check (jsonb_typeof(capabilities) = 'object'),
  add constraint players_state_object check (jsonb_typeof(state) = 'object');

alter table view_events
  add column player_hash text,
  add constraint view_events_player_hash_length check (char_length(player_hash) between 1 and 128);

create index view_events_player_repeat_idx on view_events (player_hash, post_id, created_at desc)
  where player_hash is not null;
