// SPDX-License-Identifier: Apache-2.0
/**
 * `npm run fuzz`: the long run of the seeded fuzz suites, at volumes no
 * `npm test` reaches: random register accesses with live queues, malformed
 * descriptor chains through the TypeScript device, random packets to the
 * vsock device, and broken requests through the C data plane (built with
 * AddressSanitizer and UBSan) against the TypeScript device. Each suite
 * runs with its own BAOJS_FUZZ_SCALE, chosen to reach at least 10^6
 * register accesses, 10^5 malformed chains, 10^5 vsock packets and 10^5
 * broken data-plane requests; a BAOJS_FUZZ_SCALE in the environment
 * multiplies them all.
 *
 * Prints each suite's volumes and time, then a summary; exits 1 if a suite
 * failed (its output, with the failing round's seed, is printed) or fell
 * short of its volume. A failing round replays alone with
 * `BAOJS_FUZZ_SEED=<seed> node --import tsx <suite file>`.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const extra = Number(process.env.BAOJS_FUZZ_SCALE ?? 1);
if (!(extra > 0)) {
  console.error(`BAOJS_FUZZ_SCALE=${process.env.BAOJS_FUZZ_SCALE}: expected a positive number`);
  process.exit(2);
}

/** One suite of the long run. */
interface Suite {
  file: string;
  /** BAOJS_FUZZ_SCALE it runs with (times the environment's) */
  scale: number;
  /** the line prefix under which the suite prints its volumes as JSON */
  tag: string;
  /** the volume that counts, from the suite's JSON, and the least it must reach */
  volume: (v: Record<string, number>) => number;
  unit: string;
  target: number;
}

const SUITES: Suite[] = [
  { file: 'test/unit/fuzz-registers.test.ts', scale: 50, tag: 'fuzz-registers:', volume: (v) => v.accesses, unit: 'register accesses', target: 1e6 },
  { file: 'test/unit/fuzz-chains.test.ts', scale: 600, tag: 'fuzz-chains:', volume: (v) => v.malformed + v.noStatus, unit: 'malformed chains (TypeScript)', target: 1e5 },
  { file: 'test/unit/vsock.test.ts', scale: 250, tag: 'vsock-fuzz:', volume: (v) => v.packets, unit: 'random vsock packets (TypeScript)', target: 1e5 },
  { file: 'test/native/dataplane.test.ts', scale: 60, tag: 'dataplane:', volume: (v) => v.broken, unit: 'broken requests (C data plane, ASan/UBSan)', target: 1e5 },
];

/** Runs one suite; resolves with its output, status and wall time. */
function run(s: Suite): Promise<{ out: string; status: number | null; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, s.file)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, BAOJS_FUZZ_SCALE: String(s.scale * extra), NO_COLOR: '1', FORCE_COLOR: '0' },
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { out += d; });
    child.on('close', (status) => resolve({ out, status, ms: Date.now() - started }));
  });
}

async function main(): Promise<number> {
  const started = Date.now();
  let bad = 0;
  const rows: string[] = [];
  for (const s of SUITES) {
    console.log(`[fuzz] ${s.file} at BAOJS_FUZZ_SCALE=${s.scale * extra}`);
    const r = await run(s);
    const line = r.out.split('\n').find((l) => l.includes(s.tag));
    const json = line ? /(\{.*\})/.exec(line.slice(line.indexOf(s.tag)))?.[1] : undefined;
    const v = json ? (JSON.parse(json) as Record<string, number>) : undefined;
    const volume = v ? s.volume(v) : 0;
    const ok = r.status === 0 && volume >= s.target * Math.min(1, extra);
    if (!ok) {
      bad++;
      console.log(r.out.trimEnd());
      console.log(`[fuzz] ${s.file}: ${r.status === 0 ? `only ${volume} ${s.unit}, want ${s.target}` : `failed (exit status ${r.status})`}`);
    }
    const row = `${ok ? '✔' : '✘'} ${volume.toLocaleString('en')} ${s.unit} in ${(r.ms / 1000).toFixed(1)} s  ${json ?? ''}`;
    console.log(`  ${row}`);
    rows.push(row);
  }
  console.log(`\n[fuzz] done in ${((Date.now() - started) / 1000).toFixed(1)} s:`);
  for (const row of rows) console.log(`  ${row}`);
  return bad ? 1 : 0;
}

main().then((code) => process.exit(code), (e: unknown) => {
  console.error(e instanceof Error ? e.stack ?? e.message : e);
  process.exit(1);
});
