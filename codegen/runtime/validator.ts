// The one validator: a TypeBox schema compiled once (typebox/compile), with issues that name the
// field. TypeBox 1.x checks the standard formats (uuid, date-time, uri, email, ...) itself.
import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { Format } from 'typebox/format';
import { compileCleaner, type Cleaner } from './clean.js';
import { formatIssues, toIssues, type ValidationIssue, type RawValidationError } from './validation-issues.js';

export type { ValidationIssue } from './validation-issues.js';

declare const checkedBrand: unique symbol;

/**
 * A value a validator accepted (from `Validator.checked`). Publishing one with `publishChecked`
 * skips the second check: a value is validated once on its way out. Do not change it afterwards.
 */
export type Checked<T> = T & { readonly [checkedBrand]: true };

export interface Validator<T> {
  readonly schema: TSchema;
  /** True when the value matches the schema exactly (unknown fields fail only where the schema forbids them). */
  check(value: unknown): value is T;
  /** The value, marked as checked, when it matches; undefined otherwise. */
  checked(value: unknown): Checked<T> | undefined;
  /** Every problem, one per field; empty when the value is valid. */
  issues(value: unknown): ValidationIssue[];
  /** One line naming the fields, e.g. "limit: must be <= 50; request_id: is required"; `prefix` gives "body/limit: ...". */
  explain(value: unknown, prefix?: string): string;
  /** A copy of the value without the fields the schema does not declare (inbound forward compatibility). */
  clean(value: unknown): unknown;
}

/**
 * The string formats the profile of the request path shows (every post summary of every answer
 * carries dates, UUIDs and URLs, mostly the same strings answer after answer) are remembered per
 * string: the same verdict as TypeBox's own check, from a bounded map (emptied when full).
 */
const MEMOIZED_FORMATS = ['date-time', 'date', 'time', 'uuid', 'uri'] as const;
const FORMAT_MEMORY = 20_000;
export function memoizeFormat(name: string, check: (value: string) => boolean, size = FORMAT_MEMORY): (value: string) => boolean {
  const verdicts = new Map<string, boolean>();
  const memoized = (value: string): boolean => {
    const had = verdicts.get(value);
    if (had !== undefined) return had;
    const ok = check(value);
    if (verdicts.size >= size) verdicts.clear();
    verdicts.set(value, ok);
    return ok;
  };
  Object.defineProperty(memoized, 'name', { value: `memoized ${name}` });
  return memoized;
}
for (const name of MEMOIZED_FORMATS) {
  const check = Format.Get(name);
  if (check !== undefined && !check.name.startsWith('memoized ')) Format.Set(name, memoizeFormat(name, check));
}

/**
 * The schema is compiled on first use: the contract defines several hundred validators (every
 * message and body, both directions), a server process uses a few dozen, and a compiled TypeBox
 * validator keeps the source it was generated from (about 10 KB each: 9 MB of heap for all of them).
 */
export function compileValidator<T>(schema: TSchema): Validator<T> {
  let compiledOnce: ReturnType<typeof Compile> | undefined;
  const compiled = () => (compiledOnce ??= Compile(schema));
  const issues = (value: unknown): ValidationIssue[] =>
    compiled().Check(value) ? [] : toIssues(compiled().Errors(value) as RawValidationError[], schema, value);
  let cleaner: Cleaner | undefined; // compiled on first use: most validators never clean
  return {
    schema,
    check: (value: unknown): value is T => compiled().Check(value),
    checked: (value) => (compiled().Check(value) ? (value as Checked<T>) : undefined),
    issues,
    explain: (value, prefix) => formatIssues(issues(value), prefix),
    clean: (value) => (cleaner ??= compileCleaner(schema))(value),
  };
}
