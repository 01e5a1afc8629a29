// SPDX-License-Identifier: Apache-2.0
/**
 * The firmware's native `host` module (runtime/host.c) and the Host
 * interface (src/host.ts) must not drift: every member of Host is exported
 * by the C table, and the C table exports nothing Host does not declare;
 * the data plane's shared words and bits (runtime/dataplane.h) are the ones
 * src/host.ts names, in the same order.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { tsEnum as tsEnumOf } from './ts-enum.ts';

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

/** Members of a `const enum` in src/host.ts (see ./ts-enum.ts). */
function tsEnum(name: string): { name: string; value?: number }[] {
  return tsEnumOf('src/host.ts', name);
}

test('the data plane\'s state words, bits and register offsets agree between runtime/dataplane.h and src/host.ts', async () => {
  const h = readFileSync(join(ROOT, 'runtime', 'dataplane.h'), 'utf8');
  const body = /enum dp_word \{([\s\S]*?)\};/.exec(h);
  assert.ok(body, 'enum dp_word not found');
  const cWords = [...body[1].matchAll(/^\s*DP_(\w+)\b/gm)].map((m) => m[1]);
  assert.is(cWords.pop(), 'WORDS');
  assert.equal(tsEnum('DataPlaneWord').map((m) => m.name), cWords);
  const { DATA_PLANE_WORDS } = await import('../../src/host.ts');
  assert.is(DATA_PLANE_WORDS, cWords.length);
  const define = (n: string): number => {
    const m = new RegExp(`#define ${n}\\s+(0x[0-9a-f]+|\\d+)u?\\b`).exec(h);
    assert.ok(m, `${n} not defined in runtime/dataplane.h`);
    return Number(m[1]);
  };
  for (const m of tsEnum('DataPlaneCtrl')) assert.is(define(`DP_CTRL_${m.name}`), m.value, `DataPlaneCtrl.${m.name}`);
  const qf = tsEnum('DataPlaneQueueFlag');
  for (const m of qf) assert.is(define(`DP_QF_${m.name}`), m.value, `DataPlaneQueueFlag.${m.name}`);
  const spec = readFileSync(join(ROOT, 'src', 'virtio', 'spec.ts'), 'utf8');
  const reg = (n: string): number => Number(new RegExp(`\\b${n} = (0x[0-9a-f]+)`).exec(spec)![1]);
  assert.is(define('DP_REG_QUEUE_NOTIFY'), reg('QueueNotify'));
  assert.is(define('DP_REG_INTERRUPT_STATUS'), reg('InterruptStatus'));
  assert.is(define('DP_REG_INTERRUPT_ACK'), reg('InterruptACK'));
});

test.run();
