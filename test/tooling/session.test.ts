// SPDX-License-Identifier: Apache-2.0
// The console session's timeout probe (qemu/frontend/session.ts): a command
// of `run` that does not finish in time ends in an error that carries what
// the process printed in answer to the probe (a system session sends
// baojs's `Ctrl-] s`), and nothing is sent without one. The child is a
// small Node program that opens a command's frame, never closes it, and
// answers the probe's bytes with a counters line; it is ended by its PID.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { ConsoleSession } from '../../qemu/frontend/session.ts';
import { STATS_PROBE } from '../../qemu/system.ts';

/** Prints a command's BEGIN marker and never its END; answers STATS_PROBE's bytes with one line. */
const CHILD = `
process.stdin.on('data', (d) => {
  const s = d.toString('binary');
  if (s.includes('\\x1ds')) process.stdout.write('baojs: stats vdd: queue 0: avail 7, consumed 6\\n');
  const m = /_BEGIN (\\d+)/.exec(s.replace(/"/g, ''));
  if (m) process.stdout.write('@@BAOJS_BEGIN ' + m[1] + '\\n');
});
`;

/** A session over a fresh child, with `probe` as its timeout probe. */
function session(probe?: string): ConsoleSession {
  const child = spawn(process.execPath, ['-e', CHILD], { stdio: ['pipe', 'pipe', 'pipe'] });
  return new ConsoleSession(child, { name: 'fake', timeoutMs: 60_000, ...(probe !== undefined ? { timeoutProbe: probe } : {}) });
}

test('a command that times out: the error carries what the process printed in answer to the probe', async () => {
  const s = session(STATS_PROBE);
  try {
    const e = await s.run('dd if=/dev/zero of=/dev/vda', 500).then(() => null, (x: Error) => x);
    assert.ok(e, 'the run failed');
    assert.match(e!.message, /fake: no \/@@BAOJS_END \d+ \(\\d\+\)\/ within 500 ms/);
    assert.match(e!.message, /printed in answer to the timeout probe:\nbaojs: stats vdd: queue 0: avail 7, consumed 6/);
  } finally {
    s.kill();
    await s.close(5_000);
  }
});

test('without a probe: the same timeout, nothing sent, nothing added', async () => {
  const s = session();
  try {
    const e = await s.run('dd if=/dev/zero of=/dev/vda', 500).then(() => null, (x: Error) => x);
    assert.ok(e, 'the run failed');
    assert.match(e!.message, /within 500 ms/);
    assert.not.match(e!.message, /probe/);
    assert.not.match(s.output, /baojs: stats/);
  } finally {
    s.kill();
    await s.close(5_000);
  }
});

test.run();
