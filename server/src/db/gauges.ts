// What the metrics read from the database when scraped (metrics/server-metrics.ts): players online
// and unpublished outbox rows (both over partial indexes), and how many of this instance's pool
// connections PostgreSQL sees busy: those with this instance's application_name whose state is not
// idle (running a query, or inside a transaction), this statement's own connection excluded.
import type { Queryable } from './client.js';

export interface DatabaseGaugeRow {
  playersOnline: number;
  outboxPending: number;
  poolInUse: number;
}

export async function readDatabaseGauges(sql: Queryable, applicationName: string): Promise<DatabaseGaugeRow> {
  const [row] = await sql<{ players_online: number; outbox_pending: number; pool_in_use: number }[]>`
    select
      (select count(*) from players where connection_status = 'online') as players_online,
      (select count(*) from outbox where published_at is null) as outbox_pending,
      (select count(*) from pg_stat_activity
        where application_name = ${applicationName} and state is not null and state <> 'idle'
          and pid <> pg_backend_pid()) as pool_in_use`;
  return { playersOnline: row!.players_online, outboxPending: row!.outbox_pending, poolInUse: row!.pool_in_use };
}
