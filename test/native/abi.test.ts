// SPDX-License-Identifier: Apache-2.0
/**
 * The generated `abi.h` (scripts/gen-abi.ts) against its TypeScript source:
 * - every member of every shared enum, and every shared count, as the
 *   TypeScript modules hold it at run time, is defined by the header with
 *   the same value: a C program built with the host compiler prints each
 *   one (a dropped member does not compile, a wrong value prints wrong);
 * - the header defines nothing else, the bit masks are unsigned;
 * - no C source of the firmware, the runtime, the remio test monitor or
 *   its test guests defines one of these names itself (one definition).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ABI_ENUMS, ABI_MODULES, ABI_VALUES, cMember, generateAbi } from '../../scripts/gen-abi.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const OUT = join(ROOT, 'build', 'native', 'abi');

/** Every C name the header must define, with the value the TypeScript code uses. */
function expected(): Map<string, number> {
  const want = new Map<string, number>();
  for (const e of ABI_ENUMS) {
    const obj = ABI_MODULES[e.file][e.ts] as Record<string, unknown>;
    assert.type(obj, 'object', `${e.file} exports ${e.ts}`);
    // A numeric enum object maps names to numbers and numbers back to names: keep the names.
    const members = Object.entries(obj).filter(([k, v]) => typeof v === 'number' && !/^-?\d+$/.test(k));
    assert.ok(members.length > 0, `${e.ts} has members`);
    for (const [k, v] of members) want.set(`${e.prefix}${cMember(k)}`, v as number);
  }
  for (const v of ABI_VALUES) want.set(v.c, v.value);
  return want;
}

test('abi.h defines every shared constant with the value its TypeScript source gives it', () => {
  const want = expected();
  const header = generateAbi(OUT);
  const prog = join(OUT, 'print.c');
  const lines = [...want.keys()].map((n) => `\tprintf("%s %lld\\n", "${n}", (long long)(${n}));`);
  writeFileSync(prog, ['#include <stdio.h>', '#include "abi.h"', 'int main(void)', '{', ...lines, '\treturn 0;', '}', ''].join('\n'));
  const exe = join(OUT, 'print');
  const cc = spawnSync('gcc', ['-std=c11', '-Wall', '-Wextra', '-Werror', `-I${dirname(header)}`, '-o', exe, prog], { encoding: 'utf8' });
  assert.is(cc.status, 0, cc.stderr);
  const run = spawnSync(exe, { encoding: 'utf8' });
  assert.is(run.status, 0, run.stderr);
  const got = new Map(run.stdout.trim().split('\n').map((l) => {
    const [n, v] = l.split(' ');
    return [n, Number(v)] as const;
  }));
  assert.equal(Object.fromEntries(got), Object.fromEntries(want));
  // Nothing else: every #define and enum constant of the header is one of these.
  const text = readFileSync(header, 'utf8');
  const defined = [...text.matchAll(/^#define (\w+) /gm), ...text.matchAll(/^\t(\w+) = /gm)].map((m) => m[1]);
  assert.equal(defined.sort(), [...want.keys()].sort());
});

test('abi.h: bit masks are unsigned, enum word layouts keep their C type names', () => {
  const text = readFileSync(generateAbi(OUT), 'utf8');
  for (const e of ABI_ENUMS.filter((a) => a.suffix === 'u')) {
    for (const m of text.matchAll(new RegExp(`^#define ${e.prefix}\\w+ (\\S+)`, 'gm'))) assert.match(m[1], /^\d+u$/, `${e.ts}: ${m[0]}`);
  }
  assert.match(text, /^enum dp_word \{$/m);
  assert.match(text, /^enum rs_word \{$/m);
});

/** C and header files under `dir`, recursively, without build outputs. */
function cFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = join(dir, d.name);
    if (d.isDirectory()) return cFiles(p);
    return /\.[ch]$/.test(d.name) ? [p] : [];
  });
}

test('no C source defines a shared constant of its own', () => {
  const names = new Set(expected().keys());
  const enums = new Set(ABI_ENUMS.flatMap((e) => (e.cEnum ? [e.cEnum] : [])));
  const files = ['runtime', 'firmware', 'qemu/monitor', 'test/native'].flatMap((d) => cFiles(join(ROOT, d)));
  assert.ok(files.length > 20, `${files.length} C files`);
  const copies: string[] = [];
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(/^\s*#\s*define\s+(\w+)/gm)) if (names.has(m[1])) copies.push(`${f.replace(`${ROOT}/`, '')}: #define ${m[1]}`);
    for (const m of text.matchAll(/\benum\s+(\w+)\s*\{/g)) if (enums.has(m[1])) copies.push(`${f.replace(`${ROOT}/`, '')}: enum ${m[1]}`);
  }
  assert.equal(copies, []);
});

mkdirSync(OUT, { recursive: true });
test.run();
