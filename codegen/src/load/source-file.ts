import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { LineCounter, parseDocument, isMap, isSeq, isScalar, type Node } from 'yaml';
import { splitPointer } from './pointer.js';

/** One YAML (or JSON) spec file with its parsed value and a way to find the line of any pointer. */
export class SourceFile {
  readonly value: unknown;
  readonly parseErrors: { message: string; line: number; col: number }[] = [];
  private readonly doc: ReturnType<typeof parseDocument>;
  private readonly lines = new LineCounter();

  constructor(
    readonly abs: string,
    readonly rel: string,
    readonly text: string,
  ) {
    this.doc = parseDocument(text, { lineCounter: this.lines, prettyErrors: false, uniqueKeys: true });
    for (const e of [...this.doc.errors, ...this.doc.warnings]) {
      const pos = this.lines.linePos(e.pos[0]);
      this.parseErrors.push({ message: e.message.split('\n')[0], line: pos.line, col: pos.col });
    }
    this.value = this.doc.errors.length ? undefined : this.doc.toJS({ maxAliasCount: 100 });
  }

  static read(abs: string, root: string): SourceFile {
    return new SourceFile(abs, relative(root, abs), readFileSync(abs, 'utf8'));
  }

  /** Line and column (1-based) of the node at `pointer`, or of its deepest existing ancestor. */
  locate(pointer: string, onKey = false): { line: number; col: number } {
    let node: Node | null = this.doc.contents as Node | null;
    let offset = node?.range?.[0] ?? 0;
    for (const seg of safeSplit(pointer)) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === seg);
        if (!pair) break;
        const keyNode = pair.key as Node;
        node = pair.value as Node | null;
        offset = (onKey ? keyNode.range?.[0] : node?.range?.[0]) ?? keyNode.range?.[0] ?? offset;
      } else if (isSeq(node)) {
        const item = node.items[Number(seg)] as Node | undefined;
        if (!item) break;
        node = item;
        offset = item.range?.[0] ?? offset;
      } else break;
    }
    const pos = this.lines.linePos(offset);
    return { line: pos.line, col: pos.col };
  }
}

function safeSplit(pointer: string): string[] {
  try {
    return splitPointer(pointer);
  } catch {
    return [];
  }
}
