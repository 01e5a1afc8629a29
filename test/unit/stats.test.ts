// SPDX-License-Identifier: Apache-2.0
// The counters as a person reads them (src/stats.ts): mean service times
// from a perfCounters array, and the one line per device of Ctrl-] s.
// Pure JS: runs on Node and in QuickJS.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PERF_FIELDS, PERF_OUT_WORDS, PerfField, PerfKind, PerfOut } from '../../src/host.ts';
import { meanServiceUs, serviceLine } from '../../src/stats.ts';

/** A perfCounters array at `hz` with `[count, totalTicks]` per kind. */
function perf(hz: number, kinds: Partial<Record<PerfKind, [number, number]>>): Float64Array {
  const a = new Float64Array(PERF_OUT_WORDS);
  a[PerfOut.CLOCK_HZ] = hz;
  for (const [k, [n, total]] of Object.entries(kinds) as unknown as Array<[PerfKind, [number, number]]>) {
    a[PerfOut.KINDS + Number(k) * PERF_FIELDS + PerfField.COUNT] = n;
    a[PerfOut.KINDS + Number(k) * PERF_FIELDS + PerfField.TOTAL] = total;
    a[PerfOut.KINDS + Number(k) * PERF_FIELDS + PerfField.C] = total / 2; // other fields do not enter the mean
  }
  return a;
}

test('meanServiceUs: TOTAL ticks over COUNT at CLOCK_HZ, per kind; null where nothing was measured', () => {
  // 62.5 MHz: 625 ticks = 10 µs
  const m = meanServiceUs(perf(62_500_000, { [PerfKind.READ]: [4, 4 * 625], [PerfKind.NOTIFY]: [2, 2 * 62_500] }));
  assert.is(m.read, 10);
  assert.is(m.write, null);
  assert.is(m.notify, 1000);
  assert.equal(meanServiceUs(new Float64Array(PERF_OUT_WORDS)), { read: null, write: null, notify: null }, 'no clock: nothing');
});

test('serviceLine: C and TypeScript shares, means, and the data plane state', () => {
  const meanUs = { read: 3.14, write: null, notify: 123.4 };
  assert.is(serviceLine({ name: 'vda', tsAccesses: 134, cAccesses: 1100, tsChains: 8, cChains: 850, dataPlane: 'on', meanUs }),
    'baojs: stats vda: register accesses 1100 in C + 134 in TypeScript; requests 850 in C + 8 in TypeScript; ' +
    'mean service time (guest microseconds): register read 3.1, register write -, QueueNotify 123');
  assert.match(serviceLine({ name: 'vda', tsAccesses: 1, cAccesses: 2, tsChains: 3, cChains: 4, dataPlane: 'off', meanUs }),
    /requests 4 in C \+ 3 in TypeScript \(data plane off\);/);
  assert.match(serviceLine({ name: 'hwrng', tsAccesses: 42, cAccesses: 0, tsChains: 8, cChains: 0, dataPlane: null, meanUs }),
    /^baojs: stats hwrng: register accesses 42 in TypeScript; requests 8 in TypeScript; /);
});

test('serviceLine: one ASCII line (the console bridge may split a multi-byte character), no raw arrays', () => {
  const line = serviceLine({ name: 'vdb', tsAccesses: 41, cAccesses: 30, tsChains: 1, cChains: 0, dataPlane: 'on', meanUs: { read: 12.4, write: 9.94, notify: null } });
  assert.not.match(line, /\n/);
  assert.ok([...line].every((ch) => ch.charCodeAt(0) < 0x80), line);
  assert.match(line, /register read 12, register write 9\.9, QueueNotify -$/, 'one decimal below 10 µs, whole µs above');
});

test.run();
