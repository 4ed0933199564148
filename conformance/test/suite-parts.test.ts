// The suite's own parts, without a broker: the case files and their schema, the derived cases,
// templates, name patterns, known-failing lists, the reports and the command line.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCli, UsageError } from '../src/cli/args.js';
import { main } from '../src/cli/main.js';
import { CaseFileError, loadCaseFiles, parseCaseFile } from '../src/cases/load.js';
import { render, type TemplateScope } from '../src/cases/template.js';
import { requestExamples } from '../src/examples/catalog.js';
import { MAX_POST_ID, substitute, type DataMap } from '../src/examples/substitute.js';
import { exampleWorld } from '../src/examples/world.js';
import { SkipCase, StopCase, type CaseResult } from '../src/model/case.js';
import { playerCases } from '../src/player/suite.js';
import { formatCaseResult, formatHuman } from '../src/report/human.js';
import { formatJunit } from '../src/report/junit.js';
import { formatJson } from '../src/report/json.js';
import { matchesPattern } from '../src/run/glob.js';
import { KnownFailingError, parseKnownFailing, staleEntries } from '../src/run/known-failing.js';
import { runCases, type SuiteResult } from '../src/run/execute.js';
import { serverCases } from '../src/server/suite.js';

const tmp = mkdtempSync(join(tmpdir(), 'conformance-parts-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function capture(): { io: { out(l: string): void; err(l: string): void }; text(): string } {
  const lines: string[] = [];
  return { io: { out: (l) => lines.push(l), err: (l) => lines.push(l) }, text: () => lines.join('\n') };
}

describe('case files', () => {
  const files = loadCaseFiles();

  it('validate against the case-file schema and name every case once', () => {
    const names = serverCases(files).map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual(expect.arrayContaining([
      'server/mqtt/query_posts/by_user', 'server/mqtt/flows/pagination_walk', 'server/mqtt/flows/duplicate_request_id_view',
      'server/mqtt/flows/sixth_reaction_refused', 'server/mqtt/negatives/unknown_request_type', 'server/mqtt/negatives/malformed_json',
      'server/mqtt/negatives/wrong_player_key', 'server/mqtt/negatives/limit_out_of_range', 'server/mqtt/negatives/tampered_cursor',
      'server/mqtt/command/show_artwork', 'server/mqtt/status/last_will', 'server/mqtt/notification/new_post',
    ]));
    expect(playerCases(files).map((c) => c.name)).toEqual(expect.arrayContaining(['player/status/heartbeat', 'player/command/survives_invalid_command', 'player/status/last_will']));
  });

  it('derive one case per request example, except the ones replaced by a flow', () => {
    const derived = serverCases(files).filter((c) => c.source.startsWith('spec: ') && c.name.split('/').length === 4 && !c.name.includes('/command/') && !c.name.includes('/status/') && !c.name.includes('/notification/'));
    // replaced: the reaction limit (needs five reactions first) and the three 1.1 user_sqid examples (flows with the owner's sqid)
    expect(derived.length).toBe(requestExamples().length - 4);
    expect(derived.map((c) => c.name)).not.toContain('server/mqtt/submit_reaction/submit_reaction_reaction_limit_exceeded');
  });

  it('report schema problems with file:line:col and the JSON pointer', () => {
    const text = 'suite: server/mqtt/x\nmode: server\ncases:\n  - name: a\n    summary: s\n    steps:\n      - send: { exmaple: QueryPostsRequest.by_user }\n';
    expect(() => parseCaseFile(text, 'bad.yaml')).toThrow(CaseFileError);
    try {
      parseCaseFile(text, 'bad.yaml');
    } catch (err) {
      expect((err as CaseFileError).problems).toContain('bad.yaml:7:26 /cases/0/steps/0/send/exmaple: is not allowed (unknown field)');
    }
  });

  it('report rules beyond the schema: unknown examples, example and raw together, step kind per mode, same_as before save', () => {
    const text = [
      'suite: player/x', 'mode: player', 'cases:', '  - name: a', '    summary: s', '    steps:',
      '      - command: { example: NoSuchMessage.nope }', '      - command: { example: SwapNextCommand.swap_next, raw: "{}" }',
      '      - send: { example: QueryPostsRequest.by_user }', '        expect: { same_as: later }', '',
    ].join('\n');
    let problems: string[] = [];
    try {
      parseCaseFile(text, 'p.yaml');
    } catch (err) {
      problems = (err as CaseFileError).problems;
    }
    expect(problems).toEqual([
      'p.yaml:7:29 /cases/0/steps/0/command/example: no example NoSuchMessage.nope in generated/asyncapi/examples.ts',
      'p.yaml:8:18 /cases/0/steps/1/command: give exactly one of example and raw',
      'p.yaml:9:9 /cases/0/steps/2: a send step is not allowed in a player file (use command)',
      'p.yaml:10:28 /cases/0/steps/2/expect/same_as: no earlier step saves later',
    ]);
  });
});

describe('substitution and templates', () => {
  const world = exampleWorld();
  const map: DataMap = { playerKey: '11111111-1111-4111-8111-111111111111', posts: new Map([[123, 7], [122, 8]]), handles: new Map([['pixel_queen', 'cfx_pixel_queen']]), missingPostId: MAX_POST_ID, runToken: 'abc123' };

  it('finds the example world: placeholder key, owner, posts', () => {
    expect(world.placeholderPlayerKey).toBe('550e8400-e29b-41d4-a716-446655440000');
    expect(world.ownerHandle).toBe('artist123');
    expect([...world.posts.keys()].sort()).toEqual([101, 118, 122, 123, 97]);
  });

  it('maps keys, post ids and handles, sends unknown ids to a post that does not exist', () => {
    const by = requestExamples().find((r) => r.ref === 'QueryPostsRequest.by_user')!;
    expect(substitute(by.payload, map, { requestId: 'r1' })).toMatchObject({ request_id: 'r1', player_key: map.playerKey, user_handle: 'cfx_pixel_queen' });
    const nf = requestExamples().find((r) => r.ref === 'SubmitViewRequest.submit_view_not_found')!;
    expect(substitute(nf.payload, map).post_id).toBe(MAX_POST_ID);
    const other = requestExamples().find((r) => r.ref === 'QueryPostsRequest.query_posts_authentication_failed')!;
    expect(substitute(other.payload, map).player_key).toBe(other.payload.player_key);
    const unknownHandle = requestExamples().find((r) => r.ref === 'QueryPostsRequest.query_posts_not_found')!;
    expect(substitute(unknownHandle.payload, map).user_handle).toBe('nobody_here_abc123');
    const view = requestExamples().find((r) => r.ref === 'SubmitViewRequest.intentional')!;
    expect(() => substitute(view.payload, map)).toThrow(SkipCase);
  });

  it('renders templates, keeping the type of a whole-string template', () => {
    const scope: TemplateScope = { vars: { player_key: 'k', item: 51 }, saved: new Map([['page1', { next_cursor: 'AAAAxyz' }]]), mapPost: (id) => id + 1000 };
    expect(render({ limit: '{{item}}', id: 'other-{{player_key}}', post: '{{post:123}}' }, scope)).toEqual({ limit: 51, id: 'other-k', post: 1123 });
    expect(render('{{saved.page1/next_cursor | tamper}}', scope)).toBe('AAABxyz');
    expect(() => render('{{nope}}', scope)).toThrow(/unknown name/);
    const empty: TemplateScope = { ...scope, saved: new Map([['page1', { next_cursor: null }]]) };
    expect(() => render('{{saved.page1/next_cursor | tamper}}', empty)).toThrow(SkipCase);
  });
});

describe('runner, known-failing lists and reports', () => {
  const result = (name: string, status: CaseResult['status']): CaseResult => ({ name, status, durationMs: 1, mismatches: [], reproduce: [] });

  it('matches patterns: * spans levels, a plain name selects itself and its children', () => {
    expect(matchesPattern('server/mqtt/query_posts', 'server/mqtt/query_posts/by_user')).toBe(true);
    expect(matchesPattern('server/mqtt/query_posts', 'server/mqtt/query_posts_x')).toBe(false);
    expect(matchesPattern('*by_user', 'server/mqtt/query_posts/by_user')).toBe(true);
    expect(matchesPattern('server/*/flows/?agination_walk', 'server/mqtt/flows/pagination_walk')).toBe(true);
  });

  it('requires a comment for each known-failing entry', () => {
    expect(parseKnownFailing('# why\nserver/a\n\nserver/b  # because\n', 'k.txt')).toEqual([
      { pattern: 'server/a', comment: 'why', where: 'k.txt:2' },
      { pattern: 'server/b', comment: 'because', where: 'k.txt:4' },
    ]);
    expect(() => parseKnownFailing('# why\n\nserver/a\n', 'k.txt')).toThrow(KnownFailingError);
    expect(() => parseKnownFailing('server/a\n', 'k.txt')).toThrow(/k\.txt:1: entry server\/a has no comment/);
  });

  it('flags entries that match no case and entries that now pass', () => {
    const entries = parseKnownFailing('a/x  # 1\na/y  # 2\na/z  # 3\n', 'k');
    const stale = staleEntries(entries, ['a/x', 'a/y'], [result('a/x', 'known_failing'), result('a/y', 'passed')]);
    expect(stale).toEqual(['known-failing entry a/y (k:2) now passes (a/y); remove it', 'known-failing entry a/z (k:3) matches no case; remove it']);
  });

  it('skips cases needing a missing feature, turns errors into failures, applies known failures', async () => {
    const s = await runCases([
      { name: 't/a', features: ['rest'], source: 'x', run: async () => undefined },
      { name: 't/b', features: [], source: 'x', run: async () => { throw new Error('boom'); } },
      { name: 't/c', features: [], source: 'x', run: async (_c, rec) => rec.mismatch({ topic: 't', pointer: '/p', expected: '1', got: '2' }) },
      { name: 't/d', features: [], source: 'x', run: async () => { throw new SkipCase('no data'); } },
    ], {}, { mode: 'server', target: 'test' }, { features: new Set(['mqtt']), knownFailing: parseKnownFailing('t/c  # known\n', 'k') });
    expect(s.results.map((r) => [r.name, r.status, r.skipReason])).toEqual([
      ['t/a', 'skipped', 'needs feature rest'], ['t/b', 'failed', undefined], ['t/c', 'known_failing', undefined], ['t/d', 'skipped', 'no data'],
    ]);
    expect(s.results[1].mismatches[0].got).toBe('error: boom');
    expect(s.totals).toEqual({ passed: 0, failed: 1, skipped: 2, knownFailing: 1 });
  });

  it('fails a case that outlives its budget and goes on with the next one', async () => {
    let stoppedBetweenSteps = false;
    // the hanging case goes on only once its result was taken (after runCases returned), then says so
    let resume!: () => void;
    const resumed = new Promise<void>((r) => (resume = r));
    let lateStepsDone!: () => void;
    const lateSteps = new Promise<void>((r) => (lateStepsDone = r));
    const s = await runCases([
      { name: 't/hangs', features: [], source: 'x', run: async (_c, rec) => {
        await resumed;
        rec.mismatch({ topic: 'late', pointer: '', expected: 'x', got: 'y' }); // after its result was taken: ignored
        try {
          rec.throwIfClosed(); // what step loops call before each step
        } catch (err) {
          stoppedBetweenSteps = err instanceof StopCase;
        }
        lateStepsDone();
        await new Promise<void>(() => undefined);
      } },
      { name: 't/quick', features: [], source: 'x', run: async () => undefined },
    ], {}, { mode: 'player', target: 'test' }, { features: new Set(), caseBudgetMs: 50 });
    expect(s.results.map((r) => [r.name, r.status])).toEqual([['t/hangs', 'failed'], ['t/quick', 'passed']]);
    resume();
    await lateSteps; // the late mismatch has happened now
    expect(stoppedBetweenSteps).toBe(true);
    expect(s.results[0].mismatches).toEqual([{ topic: '', pointer: '', expected: 'the case to finish within 50 ms', got: 'still waiting on a step that never completed' }]);
  });

  it('prints FAILED with every mismatch and the reproduce command, then totals; JUnit and JSON for CI', () => {
    const failed: CaseResult = { ...result('server/mqtt/query_posts/by_user', 'failed'), mismatches: [{ topic: 'a/response/1', pointer: '/success', expected: 'true', got: 'false' }], reproduce: ['mosquitto_rr -t a/request/1 -e a/response/1 -m \'{}\''] };
    const suite: SuiteResult = { mode: 'server', target: 't', features: ['mqtt'], results: [result('server/x/ok', 'passed'), failed], stale: [], totals: { passed: 1, failed: 1, skipped: 0, knownFailing: 0 }, durationMs: 1234 };
    expect(formatCaseResult(failed)).toBe("FAILED: server/mqtt/query_posts/by_user\n  - topic a/response/1 at /success: expected true, got false\n  reproduce: mosquitto_rr -t a/request/1 -e a/response/1 -m '{}'");
    expect(formatHuman(suite).split('\n').at(-1)).toBe('server: 1 passed, 1 failed, 0 skipped, 0 known failing (1.2 s)');
    const junit = formatJunit(suite);
    expect(junit).toContain('<testsuite name="server" tests="2" failures="1" errors="0" skipped="0" time="1.234">');
    expect(junit).toContain('<testcase classname="server/mqtt/query_posts" name="by_user" time="0.001">');
    expect(junit).toContain('<failure type="mismatch" message="1 mismatch: topic a/response/1 at /success: expected true, got false">');
    expect(JSON.parse(formatJson(suite))).toMatchObject({ ok: false, totals: { failed: 1 } });
  });
});

describe('command line', () => {
  it('parses both server forms and the player form', () => {
    const api = parseCli(['server', '--api', 'http://h:8000', '--broker', 'mqtts://h:8883', '--run', 'a', '--run', 'b', '--report', 'junit:r.xml']);
    expect(api).toMatchObject({ mode: 'server', common: { timeoutMs: 30000, run: ['a', 'b'], reports: [{ kind: 'junit', file: 'r.xml' }] }, server: { apiUrl: 'http://h:8000', brokerUrl: 'mqtts://h:8883', protocolVersion: 5 } });
    const mqttOnly = parseCli(['server', '--broker', 'mqtts://h:8883', '--ca', 'c', '--cert', 'x', '--key', 'y', '--player-key', '550e8400-e29b-41d4-a716-446655440000', '--mqtt-version', '3.1.1']);
    expect(mqttOnly).toMatchObject({ server: { certFile: 'x', keyFile: 'y', playerKey: '550e8400-e29b-41d4-a716-446655440000', protocolVersion: 4 } });
    const player = parseCli(['player', '--broker', 'mqtt://h:1883', '--username', 'u', '--password', 'p', '--player-key', '550e8400-e29b-41d4-a716-446655440000', '--timeout-ms', '5000']);
    expect(player).toMatchObject({ mode: 'player', player: { heartbeatMs: 60000, toleranceMs: 5000, timeoutMs: 5000 } });
  });

  it('refuses bad usage with a message naming the option', () => {
    expect(() => parseCli([])).toThrow('give a mode: server or player');
    expect(() => parseCli(['server', '--broker', 'mqtts://h:1'])).toThrow('server mode needs --api URL, or --cert, --key, --player-key for an MQTT-only run');
    expect(() => parseCli(['server', '--api', 'http://h', '--broker', 'mqtts://h:1', '--cert', 'x'])).toThrow('--cert cannot be used with --api');
    expect(() => parseCli(['player', '--broker', 'mqtt://h', '--username', 'u', '--password', 'p', '--player-key', 'nope'])).toThrow('--player-key must be a UUID');
    expect(() => parseCli(['server', '--api', 'http://h', '--broker', 'mqtts://h:1', '--report', 'xml:f'])).toThrow(UsageError);
    expect(() => parseCli(['server', '--bogus'])).toThrow(UsageError);
  });

  it('exits 2 on bad usage, on an unreachable target and on a known-failing list without comments', async () => {
    const a = capture();
    expect(await main(['server'], a.io)).toBe(2);
    expect(a.text()).toContain('Usage:');
    const b = capture();
    expect(await main(['server', '--api', 'http://127.0.0.1:9', '--broker', 'mqtts://127.0.0.1:9', '--timeout-ms', '1000'], b.io)).toBe(2);
    expect(b.text()).toContain('error: setup through REST failed: REST API http://127.0.0.1:9 is not reachable');
    const c = capture();
    const key = join(tmp, 'key.pem');
    writeFileSync(key, 'x');
    expect(await main(['server', '--broker', 'mqtts://127.0.0.1:9', '--cert', key, '--key', key, '--player-key', '550e8400-e29b-41d4-a716-446655440000', '--timeout-ms', '1000'], c.io)).toBe(2);
    expect(c.text()).toMatch(/error: cannot connect to mqtts:\/\/127\.0\.0\.1:9 as player 550e8400/);
    const list = join(tmp, 'kf.txt');
    writeFileSync(list, 'server/mqtt/query_posts/by_user\n');
    const d = capture();
    expect(await main(['server', '--api', 'http://127.0.0.1:9', '--broker', 'mqtts://127.0.0.1:9', '--known-failing', list], d.io)).toBe(2);
    expect(d.text()).toContain('has no comment');
  });
});
