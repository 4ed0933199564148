// The migrations against the spec: every CHECK constraint that lists a column's values lists
// exactly the values of the generated enum it stores (so a value added to the spec fails here until
// a migration adds it too), every value written in a CHECK or in the reaction-limit trigger is the
// spec's, and every length/range CHECK admits at least what the spec's bounds admit (a spec-valid
// value must never fail in the database). Expected values come from generated/, read from
// pg_catalog after applying the real migrations to a real PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { limits } from '@makapix/contract/asyncapi/limits';
import { CommandAckBounds } from '@makapix/contract/asyncapi/schemas';
import { CommentBounds, PostSummaryBounds } from '@makapix/contract/components/post';
import {
  ArtUrlBounds, Canvas, CommandAckStatusValues, CommandTypeValues, ConnectionStatusValues, DeviceModelBounds, EmojiBounds, FirmwareVersionBounds,
  HandleBounds, NativeFormatValues, PlayerNameBounds, PostTitleBounds, PromotionCategoryValues, RegistrationStatusValues, RequestIdBounds, ViewIntentValues,
} from '@makapix/contract/components/identifiers';
import { CreateCommentRequestBounds, CreatePostRequestBounds, EmailBounds, UserRoleValues } from '@makapix/contract/openapi/schemas';
import { migrate } from '../../src/db/migrate.js';
import { startTestDatabase, type TestDatabase } from './pg-fixture.js';

/** Columns whose CHECK lists the values of a spec enum. */
const ENUM_COLUMNS: { table: string; column: string; values: readonly string[]; spec: string }[] = [
  { table: 'posts', column: 'promoted_category', values: PromotionCategoryValues, spec: 'PromotionCategory' },
  { table: 'category_follows', column: 'category', values: PromotionCategoryValues, spec: 'PromotionCategory' },
  { table: 'players', column: 'registration_status', values: RegistrationStatusValues, spec: 'RegistrationStatus' },
  { table: 'players', column: 'connection_status', values: ConnectionStatusValues, spec: 'ConnectionStatus' },
  { table: 'player_commands', column: 'command_type', values: CommandTypeValues, spec: 'CommandType' },
  { table: 'player_commands', column: 'ack_status', values: CommandAckStatusValues, spec: 'CommandAckStatus' },
  { table: 'users', column: 'roles', values: UserRoleValues.filter((r) => r !== 'user'), spec: "UserRole but 'user' (every user has it; it is never stored)" },
  { table: 'role_changes', column: 'role', values: UserRoleValues.filter((r) => r !== 'user'), spec: "UserRole but 'user' (the operator grants and revokes only stored roles)" },
  { table: 'view_events', column: 'view_type', values: ViewIntentValues.map((v) => (v === 'automated' ? 'listing' : v)), spec: 'ViewIntent (automated is stored as listing, see submit-view.ts)' },
  { table: 'posts', column: 'native_format', values: NativeFormatValues, spec: 'NativeFormat' },
  { table: 'vault_objects', column: 'native_format', values: NativeFormatValues, spec: 'NativeFormat' },
];

/** Columns whose CHECK lists values that are not the protocol's. */
const NOT_PROTOCOL: { table: string; column: string; why: string }[] = [
  { table: 'view_events', column: 'source', why: "where a view was recorded (player or web): the server's own bookkeeping" },
  { table: 'role_changes', column: 'action', why: 'grant or revoke: the history of the operator command, not a protocol value' },
];

/** Length and range CHECKs: the database must admit every value the spec's bounds admit. */
const BOUNDED: { constraint: string; spec: string; bounds: { minimum?: number; maximum?: number; minLength?: number; maxLength?: number } }[] = [
  { constraint: 'users_handle_format', spec: 'Handle', bounds: HandleBounds },
  { constraint: 'users_email_format', spec: 'Email', bounds: EmailBounds },
  { constraint: 'posts_title_length', spec: 'PostTitle', bounds: PostTitleBounds },
  { constraint: 'posts_art_url_length', spec: 'ArtUrl', bounds: ArtUrlBounds },
  { constraint: 'posts_width_range', spec: 'CreatePostRequest.width', bounds: CreatePostRequestBounds.width },
  { constraint: 'posts_height_range', spec: 'CreatePostRequest.height', bounds: CreatePostRequestBounds.height },
  { constraint: 'posts_width_range', spec: 'PostSummary.width', bounds: PostSummaryBounds.width },
  { constraint: 'posts_frame_count_range', spec: 'CreatePostRequest.frame_count', bounds: CreatePostRequestBounds.frame_count },
  { constraint: 'comments_depth_range', spec: 'Comment.depth', bounds: CommentBounds.depth },
  { constraint: 'comments_body_length', spec: 'Comment.body', bounds: CommentBounds.body },
  { constraint: 'comments_body_length', spec: 'CreateCommentRequest.body', bounds: CreateCommentRequestBounds.body },
  { constraint: 'reactions_emoji_length', spec: 'Emoji', bounds: EmojiBounds },
  { constraint: 'players_name_length', spec: 'PlayerName', bounds: PlayerNameBounds },
  { constraint: 'players_device_model_length', spec: 'DeviceModel', bounds: DeviceModelBounds },
  { constraint: 'players_firmware_version_length', spec: 'FirmwareVersion', bounds: FirmwareVersionBounds },
  { constraint: 'mqtt_requests_request_id_length', spec: 'RequestId', bounds: RequestIdBounds },
  { constraint: 'player_commands_ack_error_length', spec: 'CommandAck.error', bounds: CommandAckBounds.error },
];

interface CheckRow { table: string; name: string; def: string }

let db: TestDatabase;
let checks: CheckRow[];

beforeAll(async () => {
  db = await startTestDatabase();
  await migrate(db.sql);
  checks = await db.sql<CheckRow[]>`
    select conrelid::regclass::text as table, conname as name, pg_get_constraintdef(oid) as def
    from pg_constraint where contype = 'c' and connamespace = 'public'::regnamespace order by 1, 2`;
});
afterAll(async () => db?.stop());

const TEXT_LITERAL = /'((?:[^']|'')*)'::text/g;
const unquote = (s: string) => s.replace(/''/g, "'");

/** `col = ANY (ARRAY['a'::text, ...])` or `col <@ ARRAY['a'::text, ...]`: the column and its listed values. */
function valueLists(def: string): { column: string; values: string[] }[] {
  return [...def.matchAll(/\(?(\w+)\)? (?:= ANY \(|<@ )ARRAY\[([^\]]*)\]/g)].map((m) => ({
    column: m[1]!,
    values: [...m[2]!.matchAll(TEXT_LITERAL)].map((v) => unquote(v[1]!)),
  }));
}

/** Every `col = 'x'::text` (or `<>`) comparison: the column and the literal. */
function comparedLiterals(def: string): { column: string; value: string }[] {
  return [...def.matchAll(/\(?(\w+)\)? (?:=|<>) '((?:[^']|'')*)'::text/g)].map((m) => ({ column: m[1]!, value: unquote(m[2]!) }));
}

/** The bounds a CHECK states: `x >= n`, `x <= n`, `x > n`, `x < n`, or a regex repetition `{min,max}`. */
function dbBounds(def: string): { min?: number; max?: number } {
  const out: { min?: number; max?: number } = {};
  for (const m of def.matchAll(/ (>=|<=|>|<) (\d+)\)/g)) {
    const n = Number(m[2]);
    if (m[1] === '>=') out.min = n;
    else if (m[1] === '>') out.min = n + 1;
    else if (m[1] === '<=') out.max = n;
    else out.max = n - 1;
  }
  const rep = /\{(\d+),(\d+)\}\$'::text/.exec(def);
  if (rep) {
    out.min = Number(rep[1]);
    out.max = Number(rep[2]);
  }
  return out;
}

describe('migrations agree with the spec', () => {
  it('found the CHECK constraints', () => {
    expect(checks.length).toBeGreaterThan(20);
  });

  it.each(ENUM_COLUMNS.map((e) => ({ ...e, where: `${e.table}.${e.column}` })))('$where lists exactly the values of $spec', ({ table, column, values }) => {
    const lists = checks.filter((c) => c.table === table).flatMap((c) => valueLists(c.def).filter((l) => l.column === column).map((l) => ({ ...l, name: c.name })));
    expect(lists.map((l) => l.name), `one CHECK of ${table} lists the values of ${column}`).toHaveLength(1);
    expect([...lists[0]!.values].sort(), `${lists[0]!.name}: ${checks.find((c) => c.name === lists[0]!.name)!.def}`).toEqual([...values].sort());
  });

  it('every value compared with such a column in a CHECK is one of the spec values', () => {
    for (const c of checks) {
      for (const { column, value } of comparedLiterals(c.def)) {
        const known = ENUM_COLUMNS.find((e) => e.table === c.table && e.column === column);
        if (known) expect(known.values, `${c.name} compares ${column} with '${value}'`).toContain(value);
      }
    }
  });

  it('every CHECK that lists values is accounted for (a spec enum above, or named as not the protocol\'s)', () => {
    const unknown = checks.flatMap((c) => valueLists(c.def)
      .filter((l) => !ENUM_COLUMNS.some((e) => e.table === c.table && e.column === l.column) && !NOT_PROTOCOL.some((e) => e.table === c.table && e.column === l.column))
      .map((l) => `${c.name} (${c.table}.${l.column}): ${c.def}`));
    expect(unknown, 'add the column to ENUM_COLUMNS (with its generated <Name>Values) or to NOT_PROTOCOL with the reason').toEqual([]);
  });

  it('uses no enum types (values live in CHECKs, which this test reads)', async () => {
    const enums = await db.sql<{ typname: string }[]>`select distinct t.typname from pg_type t join pg_enum e on e.enumtypid = t.oid`;
    expect(enums.map((e) => e.typname), 'an enum type needs a row in this test that compares its pg_enum labels with the generated values').toEqual([]);
  });

  it.each(BOUNDED)('$constraint admits every value of $spec', ({ constraint, bounds }) => {
    const c = checks.find((x) => x.name === constraint);
    expect(c, `constraint ${constraint} exists`).toBeDefined();
    const got = dbBounds(c!.def);
    const specMin = bounds.minLength ?? bounds.minimum;
    const specMax = bounds.maxLength ?? bounds.maximum;
    if (specMin !== undefined && got.min !== undefined) expect(got.min, `${constraint}: ${c!.def}`).toBeLessThanOrEqual(specMin);
    if (specMax !== undefined) {
      // no upper bound in the database admits the spec's maximum too (the column's type holds it: integer bounds are lint-checked)
      if (got.max !== undefined) expect(got.max, `${constraint}: ${c!.def}`).toBeGreaterThanOrEqual(specMax);
    } else {
      expect(got.max, `${constraint} bounds what the spec leaves open: ${c!.def}`).toBeUndefined();
    }
  });

  it("posts_canvas_format is the spec's Canvas pattern", () => {
    const pattern: unknown = Reflect.get(Canvas, 'pattern');
    expect(typeof pattern).toBe('string');
    expect(checks.find((c) => c.name === 'posts_canvas_format')?.def).toContain(`'${String(pattern)}'::text`);
  });

  it('the reaction-limit trigger counts up to limits.maxReactionsPerUserPerPost', async () => {
    const [{ def }] = await db.sql<{ def: string }[]>`select pg_get_functiondef('reactions_enforce_limit'::regproc) as def`;
    const counted = [...def.matchAll(/count\(\*\)[^;]*?>= (\d+)/g)].map((m) => Number(m[1]));
    expect(counted).toEqual([limits.maxReactionsPerUserPerPost]);
  });
});

describe('the parsers of this test', () => {
  it('read value lists, comparisons and bounds as pg_get_constraintdef prints them', () => {
    expect(valueLists("CHECK ((kind = ANY (ARRAY['alpha'::text, 'it''s'::text])))")).toEqual([{ column: 'kind', values: ['alpha', "it's"] }]);
    expect(valueLists("CHECK ((tags <@ ARRAY['x'::text]))")).toEqual([{ column: 'tags', values: ['x'] }]);
    expect(comparedLiterals("CHECK (((kind = 'alpha'::text) OR (owner_id IS NOT NULL)))")).toEqual([{ column: 'kind', value: 'alpha' }]);
    expect(dbBounds('CHECK (((char_length(title) >= 1) AND (char_length(title) <= 200)))')).toEqual({ min: 1, max: 200 });
    expect(dbBounds("CHECK ((handle ~ '^[A-Za-z0-9_-]{2,50}$'::text))")).toEqual({ min: 2, max: 50 });
    expect(dbBounds('CHECK ((frame_count >= 1))')).toEqual({ min: 1 });
  });
  it('would catch a value added to the spec but not to a migration', () => {
    const listed = checks.flatMap((c) => (c.table === 'posts' ? valueLists(c.def) : [])).find((l) => l.column === 'promoted_category')!.values;
    expect([...listed].sort()).toEqual([...PromotionCategoryValues].sort());
    expect([...listed].sort()).not.toEqual([...PromotionCategoryValues, 'new-category'].sort());
  });
});
