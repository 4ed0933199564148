// The client models whose round trip is not verified (Modelina's own renderers: Kotlin, Dart, C++, PHP)
// at least compile where Debian has the compiler: C++ headers with g++ (syntax only, C++17), PHP files
// with `php -l`, Kotlin with kotlinc (1.3). Dart is generated only (see generated/clients/README.md);
// C# is compiled and round-tripped by csharp.test.ts.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLIENTS } from './cases.js';

const files = (dir: string, ext: string) => readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith(ext)).sort();

describe('client models of the other languages', () => {
  it.skipIf(!existsSync('/usr/bin/g++'))('C++: all headers compile together, each included twice (g++ -std=c++17 -fsyntax-only -Wall)', () => {
    const inc = join(CLIENTS, 'cplusplus/include');
    const headers = files(join(inc, 'makapix'), '.hpp');
    expect(headers.length).toBeGreaterThan(90);
    const dir = mkdtempSync(join(tmpdir(), 'makapix-cpp-'));
    // twice each: the include guards make a second include harmless
    writeFileSync(join(dir, 'all.cpp'), [...headers, ...headers].map((h) => `#include "makapix/${h}"`).join('\n') + '\n');
    const r = spawnSync('/usr/bin/g++', ['-std=c++17', '-fsyntax-only', '-Wall', '-I', inc, join(dir, 'all.cpp')], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  }, 120_000);

  it.skipIf(!existsSync('/usr/bin/kotlinc'))('Kotlin: all files compile together (kotlinc -Werror)', () => {
    const src = join(CLIENTS, 'kotlin/src/main/kotlin');
    const kt = files(src, '.kt');
    expect(kt.length).toBeGreaterThan(90);
    const dir = mkdtempSync(join(tmpdir(), 'makapix-kotlin-'));
    const r = spawnSync('/usr/bin/kotlinc', ['-Werror', '-d', join(dir, 'classes'), ...kt.map((f) => join(src, f))], { encoding: 'utf8' });
    // the JVM of Debian's kotlinc warns about its own options (-Xverify:none); anything else is the models'
    const out = (r.stdout + r.stderr).split('\n').filter((l) => l.trim() && !/^OpenJDK 64-Bit Server VM warning: Options -Xverify:none/.test(l));
    expect(out).toEqual([]);
    expect(r.status).toBe(0);
  }, 180_000);

  it.skipIf(!existsSync('/usr/bin/php'))('PHP: every file passes php -l', () => {
    const src = join(CLIENTS, 'php/src');
    const php = files(src, '.php');
    expect(php.length).toBeGreaterThan(90);
    const r = spawnSync('bash', ['-c', 'printf "%s\\0" "$@" | xargs -0 -n 1 -P 2 /usr/bin/php -n -l 2>&1 | grep -v "^No syntax errors detected" || true', '--', ...php.map((f) => join(src, f))], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
  }, 120_000);
});
