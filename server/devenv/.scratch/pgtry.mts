import { startPostgres } from '/work/main/server/devenv/postgres.ts';
import postgres from 'postgres';
let t = performance.now();
const pg = await startPostgres({ dir: '/tmp/pgtry/pg', forTests: true });
console.log('start1', performance.now() - t, pg.url, pg.pid);
let sql = postgres(pg.url, { max: 1 });
await sql`create table if not exists t (x int)`; await sql`insert into t values (42)`;
console.log(await sql`select count(*)::int as n from t`);
await sql.end();
t = performance.now(); await pg.stop(); console.log('stop', performance.now() - t);
t = performance.now();
const pg2 = await startPostgres({ dir: '/tmp/pgtry/pg', forTests: true });
console.log('start2', performance.now() - t, pg2.url);
sql = postgres(pg2.url, { max: 1 });
console.log(await sql`select count(*)::int as n from t`);
// stop with an open connection
t = performance.now(); await pg2.stop(); console.log('stop with client', performance.now() - t);
await sql.end().catch(() => {});
