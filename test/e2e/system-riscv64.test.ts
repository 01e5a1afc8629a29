// SPDX-License-Identifier: Apache-2.0
/**
 * The system suite (test/e2e/system-suite.ts) on qemu-riscv64-virt: the
 * riscv64 Linux frontends and the riscv64 baojs firmware, from the same
 * TypeScript bundle, on the remio test monitor's riscv64 form (HS-mode
 * below QEMU's OpenSBI).
 *
 * Part of `npm test` (1 to 2 minutes). It ran by hand first: in one run of
 * three, a command typed into the frontend's shell never finished. Found
 * since: the monitor's wait for the backend had become a busy spin (an IPI
 * left pending made every later WFI return at once), which took a host
 * core from the other harts and, under -icount, stopped the system
 * outright; platforms/qemu-riscv64-virt.ts says why the backend now also
 * runs on hart 0. With `BAO_IMAGE` set it runs under Bao (docs/bao.md).
 */
import { platform } from '../../platforms/qemu-riscv64-virt.ts';
import { runSystemSuite } from './system-suite.ts';

runSystemSuite(platform);
