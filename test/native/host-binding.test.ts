// SPDX-License-Identifier: Apache-2.0
/**
 * The firmware's native `host` module (runtime/host.c) and the Host
 * interface (src/host.ts) must not drift: every member of Host is exported
 * by the C table, and the C table exports nothing Host does not declare.
 * (The words and bits both sides share are generated for C from src/host.ts:
 * test/native/abi.test.ts.)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const ROOT = join(import.meta.dirname, '..', '..');

/** Member names of `interface Host` in src/host.ts, read with the TypeScript parser. */
function hostInterfaceMembers(): string[] {
  const file = join(ROOT, 'src', 'host.ts');
  const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const names: string[] = [];
  sf.forEachChild((node) => {
    if (ts.isInterfaceDeclaration(node) && node.name.text === 'Host') {
      for (const m of node.members) if (m.name && ts.isIdentifier(m.name)) names.push(m.name.text);
    }
  });
  return names.sort();
}

/** Names the C module exports: JS_CFUNC_DEF entries and the value exports. */
function cModuleExports(): string[] {
  const c = readFileSync(join(ROOT, 'runtime', 'host.c'), 'utf8');
  const fns = [...c.matchAll(/JS_CFUNC_DEF\("(\w+)"/g)].map((m) => m[1]);
  const valuesBlock = /host_values\[\]\s*=\s*\{([^}]*)\}/.exec(c);
  assert.ok(valuesBlock, 'host_values table not found in runtime/host.c');
  const values = [...valuesBlock[1].matchAll(/"(\w+)"/g)].map((m) => m[1]);
  return [...fns, ...values].sort();
}

test('runtime/host.c exports exactly the members of the Host interface', () => {
  const members = hostInterfaceMembers();
  assert.ok(members.length > 10, `Host has ${members.length} members`);
  assert.equal(cModuleExports(), members);
});

test.run();
