import {
  CplusplusGenerator, DartGenerator, DART_JSON_PRESET, KotlinGenerator, PhpGenerator,
  type AbstractGenerator,
} from '@asyncapi/modelina';
import type { ClientInput } from '../input.js';
import { csharpGenerator } from './csharp.js';

/**
 * The languages printed by Modelina's own renderers (its JSON presets where it has one): C#, Kotlin,
 * Dart, C++ and PHP. Their round trip is not verified (see generated/clients/README.md); what is fixed
 * here is what kept them from being usable at all: one file per model under a stable name, C++ include
 * guards, Kotlin without trailing commas (Kotlin 1.3), and the banner. C# has its own preset (csharp.ts).
 */
export interface ModelinaLanguage {
  dir: string;
  generator: (input: ClientInput) => AbstractGenerator<any, any>;
  options: object;
  file: (name: string) => string;
  comment: string;
  fix?: (name: string, text: string) => string;
}

export const MODELINA_LANGUAGES: ModelinaLanguage[] = [
  {
    dir: 'csharp',
    generator: (input) => csharpGenerator(input.nullable), // C# 7 + Newtonsoft.Json 6 (Debian 12), see csharp.ts
    options: { namespace: 'Makapix.Models' },
    file: (n) => `${n}.cs`,
    comment: '//',
  },
  {
    dir: 'kotlin',
    generator: () => new KotlinGenerator({ processorOptions: { interpreter: { ignoreAdditionalProperties: true } } }),
    options: { packageName: 'club.makapix.models' },
    file: (n) => `src/main/kotlin/club/makapix/models/${n}.kt`,
    comment: '//',
    // no trailing comma before `)`: Kotlin allows it only from 1.4, Debian 12's kotlinc is 1.3
    fix: (_name, text) => text.replace(/,(\s*\n\s*\))/g, '$1'),
  },
  {
    dir: 'dart',
    generator: () => new DartGenerator({ presets: [DART_JSON_PRESET], processorOptions: { interpreter: { ignoreAdditionalProperties: true } } }),
    options: { packageName: 'makapix_models' },
    file: (n) => `lib/${snake(n)}.dart`,
    comment: '//',
  },
  {
    dir: 'cplusplus',
    generator: () => new CplusplusGenerator({ namespace: 'makapix', processorOptions: { interpreter: { ignoreAdditionalProperties: true } } }),
    options: {},
    file: (n) => `include/makapix/${n}.hpp`,
    comment: '//',
    fix: (name, text) => {
      const guard = `MAKAPIX_${snake(name).toUpperCase()}_HPP`;
      return `#ifndef ${guard}\n#define ${guard}\n${text.replace(/^#pragma once\n/m, '')}\n#endif // ${guard}\n`;
    },
  },
  {
    dir: 'php',
    generator: () => new PhpGenerator({ processorOptions: { interpreter: { ignoreAdditionalProperties: true } } }),
    options: { namespace: 'Makapix\\Models', declareStrictTypes: true },
    file: (n) => `src/${n}.php`,
    comment: '//',
  },
];

function snake(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

/** Every file of one language, by path under its directory. */
export async function renderWithModelina(lang: ModelinaLanguage, input: ClientInput, root: object, rootTitle: string, banner: string[]): Promise<Map<string, string>> {
  const outputs = await lang.generator(input).generateCompleteModels(root as any, lang.options as any);
  const files = new Map<string, string>();
  for (const o of [...outputs].sort((a, b) => (a.modelName < b.modelName ? -1 : a.modelName > b.modelName ? 1 : 0))) {
    if (o.modelName === rootTitle || !o.modelName) continue;
    const path = lang.file(o.modelName);
    if (files.has(path)) throw new Error(`client models (${lang.dir}): two models named ${o.modelName}`);
    let text = o.result.replace(/[ \t]+$/gm, '').trim() + '\n';
    if (lang.fix) text = lang.fix(o.modelName, text);
    if (lang.dir === 'php') text = text.replace(/^<\?php\n/, `<?php\n${banner.map((l) => `${lang.comment} ${l}`).join('\n')}\n`);
    else text = `${banner.map((l) => `${lang.comment} ${l}`).join('\n')}\n${text}`;
    files.set(path, text);
  }
  return files;
}
