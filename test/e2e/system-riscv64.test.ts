// SPDX-License-Identifier: Apache-2.0
/**
 * The system suite (test/e2e/system-suite.ts) on qemu-riscv64-virt: the
 * riscv64 Linux frontends and the riscv64 baojs firmware, from the same
 * TypeScript bundle, on the remio test monitor's riscv64 form (HS-mode
 * below QEMU's OpenSBI).
 */
import { platform } from '../../platforms/qemu-riscv64-virt.ts';
import { runSystemSuite } from './system-suite.ts';

runSystemSuite(platform);
