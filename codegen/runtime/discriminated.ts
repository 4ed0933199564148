// A validator for a union of objects told apart by one `const` property (request_type, command_type,
// success): the tag picks the branch, so errors name the branch's fields instead of "no union member".
import { Type, type TSchema } from 'typebox';
import type { Checked, ValidationIssue, Validator } from './validator.js';

export function discriminated<T>(property: string, branches: Record<string, Validator<unknown>>): Validator<T> {
  const schema: TSchema = Type.Union(Object.values(branches).map((b) => b.schema));
  const allowed = Object.keys(branches);
  const branchOf = (value: unknown): Validator<unknown> | undefined => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    const tag = (value as Record<string, unknown>)[property];
    if (typeof tag !== 'string' && typeof tag !== 'boolean') return undefined;
    return Object.prototype.hasOwnProperty.call(branches, String(tag)) ? branches[String(tag)] : undefined;
  };
  const tagIssue = (value: unknown): ValidationIssue[] => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return [{ pointer: '', message: 'must be an object' }];
    const tag = (value as Record<string, unknown>)[property];
    if (tag === undefined) return [{ pointer: `/${property}`, message: 'is required' }];
    return [{ pointer: `/${property}`, message: `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')} (got ${JSON.stringify(tag)})` }];
  };
  const issues = (value: unknown): ValidationIssue[] => {
    const b = branchOf(value);
    return b ? b.issues(value) : tagIssue(value);
  };
  return {
    schema,
    check: (value: unknown): value is T => branchOf(value)?.check(value) ?? false,
    checked: (value) => (branchOf(value)?.check(value) ? (value as Checked<T>) : undefined),
    issues,
    explain: (value, prefix) => {
      const b = branchOf(value);
      if (b) return b.explain(value, prefix);
      return tagIssue(value).map((i) => `${prefix ? prefix + '/' : ''}${i.pointer.replace(/^\//, '') || '(root)'}: ${i.message}`).join('; ');
    },
    clean: (value) => branchOf(value)?.clean(value) ?? value,
  };
}

/** True when the value's tag is not one of the branches (e.g. an unknown request_type). */
export function isUnknownTag(property: string, branches: readonly string[], value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const tag = (value as Record<string, unknown>)[property];
  return tag !== undefined && !branches.includes(String(tag));
}
