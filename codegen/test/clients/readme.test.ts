// The verification table in README.md is the one the client READMEs are printed from (readmes.ts), so
// the README says what codegen/test/clients/ checks.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verificationTable } from '../../src/clients/readmes.js';
import { CLIENTS, REPO } from './cases.js';

describe('client models README table', () => {
  it('is the same in README.md and generated/clients/README.md', () => {
    const table = verificationTable().join('\n');
    expect(readFileSync(join(REPO, 'README.md'), 'utf8')).toContain(table);
    expect(readFileSync(join(CLIENTS, 'README.md'), 'utf8')).toContain(table);
  });
});
