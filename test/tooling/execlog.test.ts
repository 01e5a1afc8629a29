// SPDX-License-Identifier: Apache-2.0
// The execution-log counter of `npm run profile` and the benchmark's exact
// per-frame figures (bench/execlog.ts), on a log in QEMU 7.2's format
// (`-d exec,nochain,in_asm`): each block's size comes from its one
// disassembly, an interval counts only the blocks executed in it, by
// function with symbols, and a block executed before its disassembly was
// logged again still counts its size. A pc translated again cut short
// (under -icount: a count in the Trace line's cflags) counts that count
// for those runs and its full size for the others.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExecLog, execLogArgs, lookup, type Sym } from '../../bench/execlog.ts';

/** One block's disassembly as QEMU logs it: `IN:` and one line per instruction, then a blank line. */
const block = (addr: number, n: number): string =>
  'IN: \n' + Array.from({ length: n }, (_, i) => `0x${(addr + 4 * i).toString(16).padStart(16, '0')}:  d503201f      nop      \n`).join('') + '\n';
/** One execution of the block at `addr`. */
const trace = (addr: number, cflags = 0xff020200): string =>
  `Trace 0: 0x7f1c2c000100 [0000000000004000/${addr.toString(16).padStart(16, '0')}/00000021/${cflags.toString(16).padStart(8, '0')}] \n`;

const SYMS: Sym[] = [
  { start: 0x50001000, end: 0x50001100, name: 'rm_service' },
  { start: 0x50002000, end: 0x50002400, name: 'np_tx_process' },
];

test('intervals count the instructions of the blocks executed in them, by function', () => {
  const dir = mkdtempSync(join(tmpdir(), 'baojs-execlog-'));
  try {
    const path = join(dir, 'exec.log');
    writeFileSync(path, block(0x50001000, 3) + trace(0x50001000) + block(0x50002000, 5) + trace(0x50002000));
    const log = new ExecLog(path);
    const from = log.mark();
    appendFileSync(path, trace(0x50001000) + trace(0x50002000) + trace(0x50002000) + trace(0x50003000));
    const to = log.mark();
    appendFileSync(path, trace(0x50002000));
    const c = log.count(from, to, SYMS, 'np_tx_process');
    // 3 + 5 + 5, and the block never disassembled counts 1
    assert.is(c.total, 14);
    assert.is(c.blocks, 4);
    assert.equal([...c.byFn.entries()].sort(), [['0x50003000', 1], ['np_tx_process', 10], ['rm_service', 3]]);
    assert.is(c.byAddr.get(0x50002000), 2);
    assert.is(c.byAddr.get(0x50002010), 2);
    assert.is(c.byAddr.size, 5);
    // the whole log, without symbols
    const all = log.count(0, log.mark());
    assert.is(all.total, 3 + 5 + 14 + 5);
    assert.is(all.byFn.size, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a block translated again cut to a count: those runs count it, the others the full block', () => {
  const dir = mkdtempSync(join(tmpdir(), 'baojs-execlog-'));
  try {
    const path = join(dir, 'exec.log');
    // the full block (10), later the same pc cut to 2 instructions (cflags count 2) and to 12 (more than the block)
    writeFileSync(path, block(0x50002000, 10) + trace(0x50002000));
    const log = new ExecLog(path);
    const from = log.mark();
    appendFileSync(path, trace(0x50002000) + block(0x50002000, 2) + trace(0x50002000, 0xff020202) + trace(0x50002000) + trace(0x50002000, 0xff02020c));
    const c = log.count(from, log.mark(), SYMS, 'np_tx_process');
    assert.is(c.total, 10 + 2 + 10 + 10);
    assert.is(c.blocks, 4);
    assert.is(c.byAddr.get(0x50002000), 4);
    assert.is(c.byAddr.get(0x50002004), 4);
    assert.is(c.byAddr.get(0x50002008), 3);
    assert.is(c.byAddr.get(0x50002024), 3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('symbol lookup and QEMU arguments', () => {
  assert.is(lookup(SYMS, 0x500010fc), 'rm_service');
  assert.is(lookup(SYMS, 0x50001100), '0x50001100');
  assert.is(lookup(SYMS, 0x40000000), '0x40000000');
  assert.equal(execLogArgs(0x50000000, 0x1000000, '/x/exec.log'), ['-d', 'exec,nochain,in_asm', '-dfilter', '0x50000000+0x1000000', '-D', '/x/exec.log']);
});

test.run();
