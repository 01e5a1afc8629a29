// SPDX-License-Identifier: Apache-2.0
/**
 * The system suite (test/e2e/system-suite.ts) on qemu-riscv64-virt: the
 * riscv64 Linux frontends and the riscv64 baojs firmware, from the same
 * TypeScript bundle, on the remio test monitor's riscv64 form (HS-mode
 * below QEMU's OpenSBI).
 *
 * Not part of `npm test` yet (run it with `node --import tsx
 * test/e2e/system-riscv64.ts`, about 10 minutes): both frontends boot and
 * the block, console, robustness and statistics tests pass, but the
 * frontend's round trips through the console and the rng device are slow
 * on riscv64 (seconds per shell command, 64 KiB from /dev/hwrng beyond the
 * test's two minutes), which is still being looked into.
 */
import { platform } from '../../platforms/qemu-riscv64-virt.ts';
import { runSystemSuite } from './system-suite.ts';

runSystemSuite(platform);
