// The client models are drift-checked with the rest of generated/: a new required field in one message,
// planted in a copy of the spec (with its examples updated, so the spec stays valid), makes
// `check-generated` fail on every language's models.
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { copySpec, edit, lineOf, REPO, runCodegen } from '../spec-copy.js';

describe('check-generated covers generated/clients/', () => {
  it('fails for every language when a message gains a required field', () => {
    const dir = copySpec();
    cpSync(join(REPO, 'generated'), join(dir, 'generated'), { recursive: true });
    const file = 'spec/asyncapi.yaml';
    const at = lineOf(dir, file, '      title: GetPostRequest');
    edit(dir, file, '          description: The post to describe.', '          description: The post to describe.\n        planted_note:\n          description: A field planted by the test.\n          type: string', at);
    edit(dir, file, 'required: [request_id, request_type, player_key, post_id]', 'required: [request_id, request_type, player_key, post_id, planted_note]', at);
    const path = join(dir, file);
    writeFileSync(path, readFileSync(path, 'utf8').replaceAll('{request_type: get_post,', '{request_type: get_post, planted_note: x,'));
    const r = runCodegen(['check-generated', '--root', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).not.toMatch(/spec check failed/);
    for (const f of [
      'clients/typescript/index.ts', 'clients/go/models.go', 'clients/rust/src/lib.rs', 'clients/java/src/main/java/club/makapix/models/GetPostRequest.java',
      'clients/python/makapix_models/models.py', 'clients/csharp/GetPostRequest.cs', 'clients/kotlin/src/main/kotlin/club/makapix/models/GetPostRequest.kt',
      'clients/dart/lib/get_post_request.dart', 'clients/cplusplus/include/makapix/get_post_request.hpp', 'clients/php/src/GetPostRequest.php',
    ]) {
      expect(r.stderr).toContain(`differs:  generated/${f}`);
    }
  }, 120_000);
});
