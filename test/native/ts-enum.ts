// SPDX-License-Identifier: Apache-2.0
/** Reads a `const enum` of a TypeScript source with the TypeScript parser, for the tests that hold C headers to it. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import * as assert from 'uvu/assert';

const ROOT = join(import.meta.dirname, '..', '..');

/**
 * Members of `const enum name` in `file` (a path from the repository's
 * root), in declaration order, with their values where written as numeric
 * literals. Fails the test if the enum is not there.
 */
export function tsEnum(file: string, name: string): { name: string; value?: number }[] {
  const path = join(ROOT, file);
  const sf = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.ES2022, true);
  const out: { name: string; value?: number }[] = [];
  sf.forEachChild((node) => {
    if (ts.isEnumDeclaration(node) && node.name.text === name) {
      for (const m of node.members) {
        const init = m.initializer && ts.isNumericLiteral(m.initializer) ? Number(m.initializer.text) : undefined;
        out.push({ name: (m.name as ts.Identifier).text, value: init });
      }
    }
  });
  assert.ok(out.length > 0, `enum ${name} not found in ${file}`);
  return out;
}
