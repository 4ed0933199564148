import type { Decl, Field, TypeRef } from '../decls.js';
import { comment } from '../text.js';

/**
 * Rust (serde + serde_json): one `lib.rs` (no module without a file), `Cargo.toml` for crate
 * makapix_models. Optional fields are `Option<T>` left out when None; a required field that may be
 * null is `Option<T>` always written; an optional one that may be null is `Option<Option<T>>`
 * (None absent, Some(None) null). Unions decode by their discriminator.
 */
export function renderRust(decls: Decl[], banner: string[], version: string): Map<string, string> {
  const out: string[] = [...banner.map((l) => `// ${l}`), '', '//! The Makapix Club protocol\'s message and REST body models (serde).', '', 'use serde::{Deserialize, Deserializer, Serialize, Serializer};', '', ...NULLABLE];
  for (const d of decls) {
    out.push(...comment('', d.description, '/// ', '/// ', null));
    if (d.kind === 'enum' && d.valueType === 'string') {
      out.push('#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]', `pub enum ${d.name} {`);
      for (const v of d.values) out.push(`    #[serde(rename = ${JSON.stringify(v.value)})]`, `    ${variant(v.key)},`);
      out.push('}', '');
    } else if (d.kind === 'enum') {
      out.push('#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]', `pub enum ${d.name} {`);
      for (const v of d.values) out.push(`    ${variant(v.key)},`);
      out.push('}', '');
      out.push(`impl Serialize for ${d.name} {`, '    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {', '        s.serialize_i64(match self {');
      for (const v of d.values) out.push(`            ${d.name}::${variant(v.key)} => ${v.value},`);
      out.push('        })', '    }', '}', '');
      out.push(`impl<'de> Deserialize<'de> for ${d.name} {`, "    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {", '        match i64::deserialize(d)? {');
      for (const v of d.values) out.push(`            ${v.value} => Ok(${d.name}::${variant(v.key)}),`);
      out.push(`            other => Err(serde::de::Error::custom(format!("unknown ${d.name} {}", other))),`, '        }', '    }', '}', '');
    } else if (d.kind === 'object') {
      out.push('#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]', `pub struct ${d.name} {`);
      for (const f of d.fields) {
        out.push(...comment('    ', f.description, '/// ', '/// ', null));
        out.push(`    #[serde(${attrs(f).join(', ')})]`, `    pub ${f.name}: ${fieldType(f)},`);
      }
      out.push('}', '');
    } else {
      out.push('#[derive(Clone, Debug, PartialEq, Serialize)]', '#[serde(untagged)]', `pub enum ${d.name} {`);
      for (const m of d.members) out.push(`    ${m}(${m}),`);
      out.push('}', '');
      out.push(`impl<'de> Deserialize<'de> for ${d.name} {`, "    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {");
      out.push('        let v = serde_json::Value::deserialize(d)?;');
      out.push(`        let tag = v.get(${JSON.stringify(d.discriminator.json)}).cloned().unwrap_or(serde_json::Value::Null).to_string();`);
      out.push('        match tag.as_str() {');
      for (const [v, m] of d.discriminator.byValue) out.push(`            ${JSON.stringify(v)} => serde_json::from_value(v).map(${d.name}::${m}).map_err(serde::de::Error::custom),`);
      out.push(`            other => Err(serde::de::Error::custom(format!("${d.name}: unknown ${d.discriminator.json} {}", other))),`, '        }', '    }', '}', '');
    }
  }
  const cargo = [
    `# ${banner[0]}`,
    '[package]',
    'name = "makapix_models"',
    `version = "${version}"`,
    'edition = "2021"',
    'description = "Makapix Club protocol models (MQTT messages and REST bodies), generated from the spec"',
    '',
    '[lib]',
    'path = "src/lib.rs"',
    '',
    '[dependencies]',
    'serde = { version = "1.0.100", features = ["derive"] }',
    'serde_json = "1.0.40"',
    '',
  ];
  return new Map([
    ['Cargo.toml', cargo.join('\n')],
    ['src/lib.rs', out.join('\n').trimEnd() + '\n'],
  ]);
}

const NULLABLE = [
  '/// serde helpers for an optional field that may also be null (`Option<Option<T>>`): absent is',
  '/// None, null is Some(None).',
  'pub mod nullable {',
  '    use serde::{Deserialize, Deserializer};',
  '',
  '    /// Reads a present field (null or a value) as Some.',
  "    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {",
  '        Option::<T>::deserialize(d).map(Some)',
  '    }',
  '}',
  '',
];

function attrs(f: Field): string[] {
  const a = [`rename = ${JSON.stringify(f.json)}`];
  if (!f.required) {
    a.push('default', 'skip_serializing_if = "Option::is_none"');
    if (f.nullable || f.type.kind === 'null') a.push('deserialize_with = "nullable::deserialize"');
  }
  return a;
}

function fieldType(f: Field): string {
  if (f.type.kind === 'null') return f.required ? '()' : 'Option<Option<()>>';
  const t = typeOf(f.type);
  if (f.required) return f.nullable ? `Option<${t}>` : t;
  return f.nullable ? `Option<Option<${t}>>` : `Option<${t}>`;
}

function typeOf(t: TypeRef): string {
  switch (t.kind) {
    case 'string': return 'String';
    case 'integer': return 'i64';
    case 'number': return 'f64';
    case 'boolean': return 'bool';
    case 'null': return '()';
    case 'any': return 'serde_json::Value';
    case 'array': return `Vec<${typeOf(t.items)}>`;
    case 'map': return `std::collections::BTreeMap<String, ${typeOf(t.value)}>`;
    case 'ref': return t.name;
  }
}

function variant(key: string): string {
  const k = key.replace(/^[^A-Za-z]+/, (m) => m).replace(/[^A-Za-z0-9_]/g, '_');
  const pascal = k.split('_').filter(Boolean).map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');
  return /^[0-9]/.test(pascal) ? `V${pascal}` : pascal || 'Empty';
}
