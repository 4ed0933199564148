import type { Decl, Field, TypeRef } from '../decls.js';
import { comment } from '../text.js';

/**
 * Python (pydantic, the 1.10 and the 2 API): package makapix_models, one model class per schema named
 * as in the spec. Fields carry the wire name as alias; `to_dict()` writes only the fields that were
 * set (absent stays absent, null stays null) plus the `const` fields; unions have a parse function
 * that reads the discriminator.
 */
export function renderPython(decls: Decl[], banner: string[], version: string): Map<string, string> {
  const out: string[] = [...banner.map((l) => `# ${l}`), '"""Makapix Club protocol models: MQTT messages and REST bodies (pydantic 1.10 or 2)."""', ...PRELUDE];
  const names: string[] = [];
  const models: string[] = [];
  const unions: string[] = []; // after every class: a Union alias names classes
  for (const d of decls) {
    names.push(d.name);
    if (d.kind === 'enum') {
      out.push('', '', `class ${d.name}(${d.valueType === 'integer' ? 'int' : 'str'}, enum.Enum):`, ...doc(d.description));
      for (const v of d.values) out.push(`    ${v.key} = ${JSON.stringify(v.value)}`);
    } else if (d.kind === 'object') {
      models.push(d.name);
      out.push('', '', `class ${d.name}(_Model):`, ...doc(d.description));
      const consts = d.fields.filter((f) => f.constValue !== undefined).map((f) => f.name);
      if (consts.length) out.push(`    _consts: ClassVar[Tuple[str, ...]] = (${consts.map((c) => `'${c}'`).join(', ')},)`, '');
      for (const f of d.fields) {
        out.push(`    ${f.name}: ${annotation(f)} = Field(${defaultOf(f)}, alias=${JSON.stringify(f.json)}${f.description ? `, description=${pyString(f.description)}` : ''})`);
      }
      if (!d.fields.length) out.push('    pass');
    } else {
      const fn = `parse_${snake(d.name)}`;
      names.push(fn);
      unions.push('', '', `${d.name} = Union[${d.members.join(', ')}]`, ...comment('', d.description, '"""', '', '"""'));
      unions.push('', '', `def ${fn}(data: Dict[str, Any]) -> ${d.name}:`, `    """Reads a ${d.name} from parsed JSON by its ${d.discriminator.json}; ValueError on an unknown one."""`);
      unions.push(`    member = {${d.discriminator.byValue.map(([v, m]) => `${pyString(v)}: ${m}`).join(', ')}}.get(json.dumps(data.get(${JSON.stringify(d.discriminator.json)})) if isinstance(data, dict) else None)`);
      unions.push('    if member is None:', `        raise ValueError('${d.name}: unknown ${d.discriminator.json} ' + repr(data.get(${JSON.stringify(d.discriminator.json)}) if isinstance(data, dict) else data))`, '    return member.from_dict(data)');
    }
  }
  out.push(...unions);
  out.push('', '', `for _m in (${models.join(', ')},):`, '    _m.model_rebuild() if _V2 else _m.update_forward_refs()', '');
  const init = [...banner.map((l) => `# ${l}`), '"""Makapix Club protocol models (pydantic 1.10 or 2): `from makapix_models import QueryPostsRequest`."""', 'from .models import (', ...names.map((n) => `    ${n},`), '    Nullable,', ')', '', '__all__ = [', ...names.map((n) => `    ${JSON.stringify(n)},`), "    'Nullable',", ']', ''];
  const pyproject = [`# ${banner[0]}`, '[build-system]', 'requires = ["setuptools>=61"]', 'build-backend = "setuptools.build_meta"', '', '[project]', 'name = "makapix-models"', `version = "${version}"`, 'description = "Makapix Club protocol models (MQTT messages and REST bodies), generated from the spec"', 'requires-python = ">=3.8"', 'dependencies = ["pydantic>=1.10,<3"]', '', '[tool.setuptools]', 'packages = ["makapix_models"]', ''];
  return new Map([
    ['pyproject.toml', pyproject.join('\n')],
    ['makapix_models/__init__.py', init.join('\n')],
    ['makapix_models/models.py', out.join('\n').replace(/\n{3,}(?=\S)/g, '\n\n\n').trimEnd() + '\n'],
  ]);
}

const PRELUDE = `from __future__ import annotations

import enum
import json
from typing import Any, ClassVar, Dict, List, Literal, Optional, Tuple, Union

import pydantic
from pydantic import BaseModel, Field

_V2 = pydantic.VERSION.startswith('2')

# An optional field that may also be null is Optional[...] too: absent and null differ by whether the
# field was set (to_dict leaves out unset fields), so Nullable only names that meaning.
Nullable = Optional


class _Model(BaseModel):
    """Base of the models: wire names as aliases, unknown fields ignored, absent fields kept absent."""

    if _V2:
        model_config = {'populate_by_name': True, 'extra': 'ignore'}
    else:
        class Config:
            allow_population_by_field_name = True
            extra = 'ignore'

    _consts: ClassVar[Tuple[str, ...]] = ()

    def __init__(self, **data: Any) -> None:
        super().__init__(**data)
        self._mark_consts()

    def model_post_init(self, _context: Any) -> None:
        self._mark_consts()

    def _mark_consts(self) -> None:
        # a const field is always written, even when the caller left it to its default
        fields_set = self.__pydantic_fields_set__ if _V2 else self.__fields_set__
        fields_set.update(self._consts)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]):
        """Reads parsed JSON (a dict) into the model; pydantic's ValidationError when it does not fit."""
        return cls.model_validate(data) if _V2 else cls.parse_obj(data)

    @classmethod
    def from_json(cls, text: str):
        return cls.from_dict(json.loads(text))

    def to_dict(self) -> Dict[str, Any]:
        """The model as JSON-ready data with the wire names: fields never set are left out, null stays null."""
        if _V2:
            return self.model_dump(mode='json', by_alias=True, exclude_unset=True)
        return json.loads(self.json(by_alias=True, exclude_unset=True))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(',', ':'))`.split('\n');

function doc(text: string | undefined): string[] {
  return text ? comment('    ', text, '"""', '    ', '"""').map((l, i, a) => (a.length > 1 && i === 0 ? '    """' : l)) : [];
}

function annotation(f: Field): string {
  if (f.constValue !== undefined) return f.constValue === null ? 'None' : `Literal[${pyLiteral(f.constValue)}]`;
  if (f.type.kind === 'null') return 'None';
  const t = typeOf(f.type);
  return f.required && !f.nullable ? t : `Optional[${t}]`;
}

function defaultOf(f: Field): string {
  if (f.constValue !== undefined) return pyLiteral(f.constValue);
  return f.required ? '...' : 'None';
}

function typeOf(t: TypeRef): string {
  switch (t.kind) {
    case 'string': return 'str';
    case 'integer': return 'int';
    case 'number': return 'float';
    case 'boolean': return 'bool';
    case 'null': return 'None';
    case 'any': return 'Any';
    case 'array': return `List[${typeOf(t.items)}]`;
    case 'map': return `Dict[str, ${typeOf(t.value)}]`;
    case 'ref': return t.name;
  }
}

function pyLiteral(v: string | boolean | number | null): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  return typeof v === 'string' ? pyString(v) : String(v);
}

function pyString(s: string): string {
  return JSON.stringify(s);
}

function snake(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}
