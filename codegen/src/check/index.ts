import { Diagnostics } from '../diagnostics.js';
import { buildModel, type BuildInput } from '../model/build.js';
import { SchemaIndex } from '../model/schema-index.js';
import type { Model } from '../model/types.js';
import type { SpecSet } from '../load/spec-set.js';
import { checkAsyncApi, checkOpenApi } from './parsers.js';
import { checkPublication } from './publication.js';
import { checkModel } from './rules.js';

export interface Checked {
  model: Model;
  specs: SpecSet;
  index: SchemaIndex;
  diagnostics: Diagnostics;
}

/** load -> check: the model and every problem found (parsers' and ours). */
export async function loadAndCheck(input: BuildInput, opts: { parsers?: boolean } = {}): Promise<Checked> {
  const diagnostics = new Diagnostics();
  const { model, specs } = buildModel(input, diagnostics);
  const index = new SchemaIndex(specs, model);
  if (opts.parsers !== false) {
    await Promise.all([checkAsyncApi(specs, input.asyncapi, diagnostics), checkOpenApi(specs, input.openapi, diagnostics)]);
    checkPublication(specs, input, diagnostics); // what the published docs need (lint only)
  }
  checkModel(model, index, diagnostics);
  return { model, specs, index, diagnostics };
}
