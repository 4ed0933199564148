-- 0011_player_auth_notify: the MQTT request path keeps who a player is (registered, owner, the
-- owner's moderator flag) in memory; these triggers tell every server instance when that changes
-- (NOTIFY is delivered at commit). Payload: the player_key, or 'user:<users.id>' when an owner's
-- roles change. A deleted user's players are deleted by the cascade, which fires the players trigger.
create function notify_player_auth_changed() returns trigger language plpgsql as $$
begin
  if tg_table_name = 'players' then
    perform pg_notify('makapix_player_auth', old.player_key::text);
    if tg_op = 'UPDATE' and new.player_key is distinct from old.player_key then
      perform pg_notify('makapix_player_auth', new.player_key::text);
    end if;
  else
    perform pg_notify('makapix_player_auth', 'user:' || old.id::text);
  end if;
  return null;
end
$$;

create trigger players_auth_changed
  after update of registration_status, owner_id, player_key or delete on players
  for each row execute function notify_player_auth_changed();

create trigger users_auth_changed
  after update of roles or delete on users
  for each row execute function notify_player_auth_changed();
