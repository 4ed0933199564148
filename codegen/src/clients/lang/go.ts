import type { Decl, Field, ObjectDecl, TypeRef } from '../decls.js';
import { comment } from '../text.js';

/**
 * Go (standard library only): structs with json tags. Absent, null and a value stay apart: a required
 * field that may be null is a pointer, an optional one is a pointer with omitempty, and an optional
 * field that may also be null is a `Nullable[T]` (its struct drops it when unset). Unions hold one
 * member in `Value` and read the discriminator to decode.
 */
export function renderGo(decls: Decl[], banner: string[]): Map<string, string> {
  const out: string[] = [...banner.map((l) => `// ${l}`), '', '// Package makapix holds the Makapix Club protocol\'s message and REST body models.', 'package makapix', '', 'import (', '\t"bytes"', '\t"encoding/json"', '\t"fmt"', ')', ''];
  out.push(...NULLABLE);
  for (const d of decls) {
    out.push(...comment('', `${d.name}${d.description ? ': ' + d.description : ''}`, '', '// ', null));
    if (d.kind === 'enum') {
      const base = d.valueType === 'integer' ? 'int64' : 'string';
      out.push(`type ${d.name} ${base}`, '', 'const (');
      out.push(...aligned(d.values.map((v) => [enumKey(d.name, v.key), d.name, `= ${JSON.stringify(v.value)}`])));
      out.push(')', '');
    } else if (d.kind === 'object') {
      out.push(`type ${d.name} struct {`);
      let run: string[][] = []; // consecutive fields without a comment between them align (as gofmt does)
      for (const f of d.fields) {
        const doc = comment('\t', f.description, '', '// ', null);
        if (doc.length) {
          out.push(...aligned(run), ...doc);
          run = [];
        }
        run.push([f.name, fieldType(f), `\`json:"${f.json}${omit(f) ? ',omitempty' : ''}"\``]);
      }
      out.push(...aligned(run), '}', '');
      out.push(...marshalDropUnset(d));
    } else {
      const members = d.members.map((m) => `*${m}`).join(', ');
      out.push(`type ${d.name} struct {`, `\t// Value is one of ${members}.`, '\tValue any', '}', '');
      out.push(`// MarshalJSON writes the member held in Value.`);
      out.push(`func (u ${d.name}) MarshalJSON() ([]byte, error) {`, '\treturn json.Marshal(u.Value)', '}', '');
      out.push(`// UnmarshalJSON reads the member that ${d.discriminator.json} names.`);
      out.push(`func (u *${d.name}) UnmarshalJSON(b []byte) error {`);
      out.push('\tvar head map[string]json.RawMessage', '\tif err := json.Unmarshal(b, &head); err != nil {', `\t\treturn fmt.Errorf("${d.name}: %w", err)`, '\t}');
      out.push(`\ttag := string(bytes.TrimSpace(head[${JSON.stringify(d.discriminator.json)}]))`, '\tswitch tag {');
      for (const [v, m] of d.discriminator.byValue) {
        out.push(`\tcase ${goString(v)}:`, `\t\tvar v ${m}`, '\t\tif err := json.Unmarshal(b, &v); err != nil {', `\t\t\treturn fmt.Errorf("${d.name}: %w", err)`, '\t\t}', '\t\tu.Value = &v');
      }
      out.push('\tdefault:', `\t\treturn fmt.Errorf("${d.name}: unknown ${d.discriminator.json} %s", tag)`, '\t}', '\treturn nil', '}', '');
    }
  }
  return new Map([
    ['go.mod', `// ${banner[0]}\nmodule ${GO_MODULE}\n\ngo 1.19\n`],
    ['models.go', out.join('\n').trimEnd() + '\n'],
  ]);
}

/** The module path of generated/clients/go (no dot: use it with a `replace` directive, see its README). */
export const GO_MODULE = 'makapix';

const NULLABLE = [
  '// Nullable is an optional field that may also be null: Set is false when the field is absent;',
  '// when it is present, Value is nil for null. The struct holding it leaves it out when unset.',
  'type Nullable[T any] struct {',
  '\tSet   bool',
  '\tValue *T',
  '}',
  '',
  '// Null is a present null; Of is a present value.',
  'func Null[T any]() Nullable[T] { return Nullable[T]{Set: true} }',
  '',
  '// Of is a present value.',
  'func Of[T any](v T) Nullable[T] { return Nullable[T]{Set: true, Value: &v} }',
  '',
  '// MarshalJSON writes null or the value.',
  'func (n Nullable[T]) MarshalJSON() ([]byte, error) {',
  '\tif n.Value == nil {',
  '\t\treturn []byte("null"), nil',
  '\t}',
  '\treturn json.Marshal(*n.Value)',
  '}',
  '',
  '// UnmarshalJSON marks the field present and reads null or the value.',
  'func (n *Nullable[T]) UnmarshalJSON(b []byte) error {',
  '\tn.Set = true',
  '\tn.Value = nil',
  '\tif string(bytes.TrimSpace(b)) == "null" {',
  '\t\treturn nil',
  '\t}',
  '\tvar v T',
  '\tif err := json.Unmarshal(b, &v); err != nil {',
  '\t\treturn err',
  '\t}',
  '\tn.Value = &v',
  '\treturn nil',
  '}',
  '',
];

function marshalDropUnset(d: ObjectDecl): string[] {
  const tri = d.fields.filter((f) => !f.required && (f.nullable || f.type.kind === 'null'));
  if (tri.length === 0) return [];
  const out = [`// MarshalJSON leaves out the optional fields that are unset (absent), and writes null for a Null one.`];
  out.push(`func (x ${d.name}) MarshalJSON() ([]byte, error) {`, `\ttype plain ${d.name}`, '\tb, err := json.Marshal(plain(x))', '\tif err != nil {', '\t\treturn nil, err', '\t}');
  out.push('\tvar m map[string]json.RawMessage', '\tif err := json.Unmarshal(b, &m); err != nil {', '\t\treturn nil, err', '\t}');
  for (const f of tri) out.push(`\tif !x.${f.name}.Set {`, `\t\tdelete(m, ${JSON.stringify(f.json)})`, '\t}');
  out.push('\treturn json.Marshal(m)', '}', '');
  return out;
}

/** Rows of cells as gofmt prints them: every column but the last padded to its widest cell. */
function aligned(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => r[i].length))) ?? [];
  return rows.map((r) => '\t' + r.map((c, i) => (i < r.length - 1 ? c.padEnd(widths[i]) : c)).join(' '));
}

function omit(f: Field): boolean {
  return !f.required && !(f.nullable || f.type.kind === 'null');
}

function fieldType(f: Field): string {
  const t = typeOf(f.type);
  if (f.type.kind === 'null') return f.required ? 'any' : 'Nullable[any]';
  if (f.required) return f.nullable ? `*${t}` : t;
  return f.nullable ? `Nullable[${t}]` : `*${t}`;
}

function typeOf(t: TypeRef): string {
  switch (t.kind) {
    case 'string': return 'string';
    case 'integer': return 'int64';
    case 'number': return 'float64';
    case 'boolean': return 'bool';
    case 'null': case 'any': return 'any';
    case 'array': return `[]${typeOf(t.items)}`;
    case 'map': return `map[string]${typeOf(t.value)}`;
    case 'ref': return t.name;
  }
}

function enumKey(name: string, key: string): string {
  const k = key.startsWith(name) ? key.slice(name.length) : key;
  return name + (/^[0-9]/.test(k) ? 'V' + k : k);
}

function goString(s: string): string {
  return s.includes('`') ? JSON.stringify(s) : '`' + s + '`';
}
