// Reads conformance/cases/*.yaml, validates each file against the case-file schema and then the
// rules a schema cannot say (example references exist, one of example/raw, step kinds per mode,
// unique names, same_as after its save). Every problem is reported with file:line:col and pointer.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { isMap, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { compileValidator, type ValidationIssue } from '#runtime/v1';
import { findExample } from '../examples/catalog.js';
import { CaseFile, CommandStep, PaginateStep, SendStep, type MessageSpec } from './schema.js';

export interface LoadedCaseFile {
  /** Path as given to the loader (relative to the working directory when possible). */
  file: string;
  data: CaseFile;
}

export class CaseFileError extends Error {
  override readonly name = 'CaseFileError';
  constructor(readonly problems: string[]) {
    super(`invalid case file${problems.length === 1 ? '' : 's'}:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

const fileValidator = compileValidator<CaseFile>(CaseFile);
const stepValidators = { send: compileValidator(SendStep), paginate: compileValidator(PaginateStep), command: compileValidator(CommandStep) };

export function caseDirectory(): string {
  return new URL('../../cases/', import.meta.url).pathname;
}

/** Loads every *.yaml of `dir` (sorted by name); throws CaseFileError with all problems at once. */
export function loadCaseFiles(dir: string = caseDirectory()): LoadedCaseFile[] {
  const problems: string[] = [];
  const out: LoadedCaseFile[] = [];
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml')).sort();
  for (const f of files) {
    const path = join(dir, f);
    const shown = relative(process.cwd(), path) || path;
    try {
      out.push(parseCaseFile(readFileSync(path, 'utf8'), shown));
    } catch (err) {
      if (err instanceof CaseFileError) problems.push(...err.problems);
      else throw err;
    }
  }
  const seen = new Map<string, string>();
  for (const f of out) {
    for (const c of f.data.cases ?? []) {
      const full = `${f.data.suite}/${c.name}`;
      const other = seen.get(full);
      if (other) problems.push(`${f.file}: case ${full} is also defined in ${other}`);
      seen.set(full, f.file);
    }
  }
  for (const f of out) {
    for (const e of f.data.exceptions ?? []) {
      if (e.replaced_by && !seen.has(e.replaced_by)) problems.push(`${f.file}: exception for ${e.example}: replaced_by ${e.replaced_by} is not a case of any file`);
    }
  }
  if (problems.length) throw new CaseFileError(problems);
  return out;
}

export function parseCaseFile(text: string, file: string): LoadedCaseFile {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  const at = (pointer: string): string => locate(doc, lines, pointer);
  if (doc.errors.length) {
    throw new CaseFileError(doc.errors.map((e) => `${file}:${e.linePos?.[0].line ?? 1}:${e.linePos?.[0].col ?? 1} ${e.message.split('\n')[0]}`));
  }
  const data = doc.toJS() as unknown;
  const problems: string[] = [];
  const report = (issues: ValidationIssue[], base = '') => {
    for (const i of issues) problems.push(`${file}:${at(base + i.pointer)} ${base + i.pointer || '(root)'}: ${i.message}`);
  };
  if (!fileValidator.check(data)) {
    const issues = fileValidator.issues(data);
    // Steps are a union: explain a bad step by the branch its key selects.
    const stepIssues = new Map<string, ValidationIssue[]>();
    const rest: ValidationIssue[] = [];
    for (const i of issues) {
      const m = /^(\/cases\/\d+\/(?:steps|cleanup)\/\d+)(\/.*)?$/.exec(i.pointer);
      if (!m) {
        rest.push(i);
        continue;
      }
      if (stepIssues.has(m[1])) continue;
      const step = pointerGet(data, m[1]);
      const kind = step && typeof step === 'object' ? Object.keys(stepValidators).find((k) => k in (step as object)) : undefined;
      stepIssues.set(m[1], kind
        ? stepValidators[kind as keyof typeof stepValidators].issues(step)
        : [{ pointer: '', message: `must have one of the keys ${Object.keys(stepValidators).join(', ')}` }]);
    }
    report(rest);
    for (const [base, list] of stepIssues) report(list, base);
    throw new CaseFileError(problems);
  }
  const cf = data;
  const names = new Set<string>();
  (cf.cases ?? []).forEach((c, ci) => {
    if (names.has(c.name)) problems.push(`${file}:${at(`/cases/${ci}/name`)} /cases/${ci}/name: duplicate case name ${c.name}`);
    names.add(c.name);
    const saved = new Set<string>();
    const checkSteps = (steps: unknown[], where: 'steps' | 'cleanup') => steps.forEach((s, si) => {
      const base = `/cases/${ci}/${where}/${si}`;
      const step = s as Record<string, unknown>;
      const kind = Object.keys(stepValidators).find((k) => k in step)!;
      const allowed = cf.mode === 'server' ? ['send', 'paginate'] : ['command'];
      if (!allowed.includes(kind)) problems.push(`${file}:${at(base)} ${base}: a ${kind} step is not allowed in a ${cf.mode} file (use ${allowed.join(' or ')})`);
      const messages: [string, MessageSpec][] = [];
      if (kind === 'send') messages.push([`${base}/send`, step.send as MessageSpec]);
      if (kind === 'command') messages.push([`${base}/command`, step.command as MessageSpec]);
      if (kind === 'paginate') {
        const p = step.paginate as { first: MessageSpec; reference: MessageSpec };
        messages.push([`${base}/paginate/first`, p.first], [`${base}/paginate/reference`, p.reference]);
      }
      for (const [ptr, m] of messages) {
        if ((m.example === undefined) === (m.raw === undefined)) problems.push(`${file}:${at(ptr)} ${ptr}: give exactly one of example and raw`);
        if (m.example !== undefined && !findExample(m.example)) problems.push(`${file}:${at(`${ptr}/example`)} ${ptr}/example: no example ${m.example} in generated/asyncapi/examples.ts`);
        if (m.raw !== undefined && (m.set || m.unset)) problems.push(`${file}:${at(ptr)} ${ptr}: set/unset apply to examples, not to raw text`);
      }
      const expect = step.expect as { same_as?: string } | undefined;
      if (expect?.same_as && !saved.has(expect.same_as)) problems.push(`${file}:${at(`${base}/expect/same_as`)} ${base}/expect/same_as: no earlier step saves ${expect.same_as}`);
      if (typeof step.save === 'string') saved.add(step.save);
    });
    checkSteps(c.steps, 'steps');
    checkSteps(c.cleanup ?? [], 'cleanup');
  });
  (cf.exceptions ?? []).forEach((e, ei) => {
    if (!findExample(e.example)) problems.push(`${file}:${at(`/exceptions/${ei}/example`)} /exceptions/${ei}/example: no example ${e.example} in generated/asyncapi/examples.ts`);
  });
  if (problems.length) throw new CaseFileError(problems);
  return { file, data: cf };
}

function pointerGet(root: unknown, pointer: string): unknown {
  let node = root;
  for (const seg of pointer.split('/').slice(1)) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[seg.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return node;
}

/** line:col of the deepest existing node on the pointer's path. */
function locate(doc: Document, lines: LineCounter, pointer: string): string {
  const path = pointer.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  let node: unknown = doc.contents;
  for (const seg of path) {
    let next: unknown;
    if (isMap(node)) next = node.get(seg, true);
    else if (isSeq(node)) next = node.get(Number(seg), true);
    if (next === undefined) break;
    node = next;
  }
  const offset = (node as { range?: [number, number, number] } | null)?.range?.[0] ?? 0;
  const pos = lines.linePos(offset);
  return `${pos.line}:${pos.col}`;
}
