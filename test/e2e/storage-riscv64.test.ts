// SPDX-License-Identifier: Apache-2.0
/**
 * The storage suite (test/e2e/storage-suite.ts) on qemu-riscv64-virt: the
 * disk passed through to the riscv64 backend (QEMU's last virtio-mmio
 * transport, PLIC source 8), driven by the same TypeScript driver and C
 * disk plane as on aarch64. 5 crash-consistency runs by default (each
 * riscv64 boot takes longer; aarch64's 20 cover the ordering itself).
 */
import { platform } from '../../platforms/qemu-riscv64-virt.ts';
import { runStorageSuite } from './storage-suite.ts';

runStorageSuite(platform, 5);
