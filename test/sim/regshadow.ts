// SPDX-License-Identifier: Apache-2.0
/**
 * The host's register-shadow lookup in TypeScript: what runtime/regshadow.c
 * `rs_read` answers, for the simulated host ({@link SimBao.regShadow}) and
 * as the reference the C lookup is held to (test/native/regshadow.test.ts).
 * Pure JS: runs inside QuickJS too.
 */
import { RegShadowCtrl, RegShadowWord } from '../../src/host.ts';
import { MmioReg } from '../../src/virtio/spec.ts';

/**
 * Answers a READ of `width` bytes at byte offset `off` of the window from
 * `shadow` and the device's `config` bytes: true with the value's low and
 * high halves in `out[0]`, `out[1]` (zero-extended) and N_READS counted, or
 * false when the transport must answer it. See runtime/regshadow.h.
 */
export function regShadowRead(shadow: Uint32Array, config: Uint8Array, off: number, width: number, out: Uint32Array): boolean {
  if ((shadow[RegShadowWord.CTRL] & RegShadowCtrl.VALID) === 0) return false;
  if (off < 0) return false; // below the window: C sees a huge unsigned offset
  if (off < MmioReg.Config) {
    const i = off >>> 2;
    if (width !== 4 || (off & 3) !== 0 || ((shadow[RegShadowWord.READABLE_LO + (i >>> 5)] >>> (i & 31)) & 1) === 0) return false;
    out[0] = shadow[RegShadowWord.REGS + i];
    out[1] = 0;
  } else {
    const c = off - MmioReg.Config;
    const len = Math.min(shadow[RegShadowWord.CONFIG_LEN], config.length);
    if ((width !== 1 && width !== 2 && width !== 4 && width !== 8) || c % width !== 0 || c > len || width > len - c) return false;
    let lo = 0;
    let hi = 0;
    for (let i = Math.min(width, 4) - 1; i >= 0; i--) lo = lo * 256 + config[c + i];
    for (let i = width - 1; i >= 4; i--) hi = hi * 256 + config[c + i];
    out[0] = lo;
    out[1] = hi;
  }
  shadow[RegShadowWord.N_READS] = (shadow[RegShadowWord.N_READS] + 1) >>> 0;
  return true;
}
