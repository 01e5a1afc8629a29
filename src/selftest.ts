// SPDX-License-Identifier: Apache-2.0
/**
 * Start-up self-test of the host module: the clock is monotonic, a timer
 * fires, and an ArrayBuffer over the `selftest` region reads what the
 * firmware's C side wrote there (firmware/main.c `selftest_fill`).
 */
import type { Host } from './host.ts';

/** The pattern the firmware writes at byte `i` of the `selftest` region. */
export function selftestByte(i: number): number {
  return (i * 31 + 7) & 0xff;
}

/** One check's outcome. */
export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
}

function clockCheck(host: Host): CheckResult {
  let prev = host.nowNs();
  let ok = prev > 0;
  for (let i = 0; i < 1000 && ok; i++) {
    const t = host.nowNs();
    if (t < prev) ok = false;
    prev = t;
  }
  return { name: 'clock', ok, detail: ok ? `monotonic, now ${(prev / 1e6).toFixed(3)} ms` : 'went backwards' };
}

function regionCheck(host: Host): CheckResult {
  let buf: ArrayBuffer;
  try {
    buf = host.region('selftest');
  } catch (e) {
    return { name: 'region', ok: false, detail: String(e) };
  }
  const bytes = new Uint8Array(buf);
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== selftestByte(i)) {
      return { name: 'region', ok: false, detail: `byte ${i} is ${bytes[i]}, want ${selftestByte(i)}` };
    }
  }
  return { name: 'region', ok: bytes.length > 0, detail: `${bytes.length} bytes at 0x${host.regionBase('selftest').toString(16)} match` };
}

function timerCheck(host: Host): Promise<CheckResult> {
  const start = host.nowNs();
  return new Promise((resolve) => {
    const guard = host.setTimeout(() => resolve({ name: 'timer', ok: false, detail: 'a 2 ms timer did not fire within 1 s' }), 1000);
    host.setTimeout(() => {
      host.clearTimer(guard);
      const ms = (host.nowNs() - start) / 1e6;
      resolve({ name: 'timer', ok: ms >= 2, detail: `fired after ${ms.toFixed(3)} ms` });
    }, 2);
  });
}

/** Runs every check; resolves with their results (never rejects). */
export async function selfTest(host: Host): Promise<CheckResult[]> {
  const results = [clockCheck(host), regionCheck(host)];
  results.push(await timerCheck(host));
  return results;
}
