// SPDX-License-Identifier: Apache-2.0
/**
 * The register shadow's C lookup (runtime/regshadow.c, built with the host
 * compiler and AddressSanitizer/UBSan):
 * - on every state the seeded register fuzz visits (test/driver/register-fuzz.ts,
 *   every device kind, after every write), it answers exactly the reads the
 *   transport answers without side effects, with the transport's values,
 *   and declines every other;
 * - on arbitrary shadows (random words, a CONFIG_LEN past the config array,
 *   offsets below the window, odd widths) it answers as the TypeScript
 *   lookup the simulated host uses (test/sim/regshadow.ts), and never reads
 *   outside its arrays.
 */
import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildHarness } from './build-harness.ts';
import { RegShadowWord, REG_SHADOW_WORDS } from '../../src/host.ts';
import { registerFuzz, type ShadowProbe, type ShadowState } from '../driver/register-fuzz.ts';
import { Prng } from '../sim/prng.ts';
import { regShadowRead } from '../sim/regshadow.ts';



/** Runs the C lookup on `states`; per state, per probe [answered, lo, hi], and the final N_READS word. */
function runC(exe: string, states: ShadowState[]): { answers: number[][]; nReads: number }[] {
  const input: Buffer[] = [];
  for (const s of states) {
    input.push(Buffer.from(s.shadow.buffer, s.shadow.byteOffset, s.shadow.byteLength));
    input.push(Buffer.from(new Uint32Array([s.config.length]).buffer), Buffer.from(s.config));
    const probes = new Uint32Array(1 + 3 * s.probes.length);
    probes[0] = s.probes.length;
    s.probes.forEach((p, i) => {
      const off = BigInt.asUintN(64, BigInt(p.off));
      probes[1 + 3 * i] = Number(off & 0xffffffffn);
      probes[2 + 3 * i] = Number(off >> 32n);
      probes[3 + 3 * i] = p.width;
    });
    input.push(Buffer.from(probes.buffer));
  }
  const r = spawnSync(exe, [], { input: Buffer.concat(input), maxBuffer: 1 << 30, timeout: 300_000 });
  assert.is(r.status, 0, r.stderr?.toString());
  const out = r.stdout;
  let at = 0;
  const res = states.map((s) => {
    const answers: number[][] = [];
    for (let i = 0; i < s.probes.length; i++, at += 12) answers.push([out.readUInt32LE(at), out.readUInt32LE(at + 4), out.readUInt32LE(at + 8)]);
    const nReads = out.readUInt32LE(at);
    at += 4;
    return { answers, nReads };
  });
  assert.is(at, out.length);
  return res;
}

test('on every state of the register fuzz, the C lookup answers exactly what the transport answers without side effects', () => {
  const exe = buildHarness('regshadow_harness', ['runtime/regshadow.c']);
  const states: ShadowState[] = [];
  for (const seed of [11, 12]) {
    const r = registerFuzz(seed, 120, (s) => states.push(s));
    assert.equal(r.mismatches.slice(0, 5), []);
  }
  assert.ok(states.length > 300, `states: ${states.length}`);
  const c = runC(exe, states);
  let answered = 0;
  states.forEach((s, i) => {
    const n0 = s.shadow[RegShadowWord.N_READS];
    let n = 0;
    s.probes.forEach((p: ShadowProbe, j) => {
      const [ok, lo, hi] = c[i].answers[j];
      const what = `state ${i}: ${p.width}-byte read at 0x${p.off.toString(16)}`;
      assert.is(ok === 1, p.expected !== undefined, `${what}: C ${ok ? 'answered' : 'declined'}`);
      if (p.expected) {
        assert.is(lo, p.expected.lo, `${what}: low half`);
        assert.is(hi, p.expected.hi, `${what}: high half`);
        n++;
      }
    });
    assert.is(c[i].nReads, (n0 + n) >>> 0, `state ${i}: N_READS counts each answer`);
    answered += n;
  });
  assert.ok(answered > states.length * 50, `reads the C lookup answered: ${answered}`);
});

test('on arbitrary shadows the C lookup answers as the TypeScript one and stays inside its arrays (2000 seeded states)', () => {
  const exe = buildHarness('regshadow_harness', ['runtime/regshadow.c']);
  const p = new Prng(0xc0ffee);
  const states: ShadowState[] = [];
  for (let k = 0; k < 2000; k++) {
    const shadow = new Uint32Array(REG_SHADOW_WORDS);
    for (let i = 0; i < shadow.length; i++) shadow[i] = p.u32();
    shadow[RegShadowWord.CTRL] = p.chance(0.85) ? 1 : p.pick([0, 2, 0xfffffffe, 0xffffffff]);
    const config = new Uint8Array(p.pick([0, 1, 4, 7, 8, 24, 60, 256]));
    p.fill(config);
    shadow[RegShadowWord.CONFIG_LEN] = p.pick([config.length, config.length + 1 + p.below(64), p.below(config.length + 1), 0xffffffff, 0x100]);
    const probes: ShadowProbe[] = [];
    for (let j = 0; j < 64; j++) {
      const off = p.pick([
        p.below(0x100), 0x100 + p.below(config.length + 16), 0x100 + config.length - p.below(9), p.below(0x200),
        -1 - p.below(8), 2 ** 40 + p.below(8), 0xfc, 0x100 + 2 ** 32 - p.below(8),
      ]);
      probes.push({ off, width: p.pick([1, 2, 4, 8, 4, 4, 0, 3, 16]) });
    }
    states.push({ shadow, config, probes });
  }
  const c = runC(exe, states);
  const v = new Uint32Array(2);
  let answered = 0;
  let declined = 0;
  states.forEach((s, i) => {
    const sh = s.shadow.slice();
    s.probes.forEach((pr, j) => {
      v[0] = 0;
      v[1] = 0;
      // below the window the C offset is 2^64 - n, which the TypeScript lookup takes as negative
      const ok = regShadowRead(sh, s.config, pr.off >= 2 ** 53 ? -1 : pr.off, pr.width, v);
      const [cok, lo, hi] = c[i].answers[j];
      const what = `state ${i}: ${pr.width}-byte read at 0x${pr.off.toString(16)} (CONFIG_LEN ${s.shadow[RegShadowWord.CONFIG_LEN]}, config ${s.config.length})`;
      assert.is(cok === 1, ok, `${what}: C ${cok ? 'answered' : 'declined'}`);
      if (ok) {
        answered++;
        assert.is(lo, v[0], `${what}: low half`);
        assert.is(hi, v[1], `${what}: high half`);
      } else {
        declined++;
      }
    });
    assert.is(c[i].nReads, sh[RegShadowWord.N_READS], `state ${i}: N_READS`);
  });
  assert.ok(answered > 5000 && declined > 50000, `answered ${answered}, declined ${declined}`);
});

test.run();
