// SPDX-License-Identifier: Apache-2.0
/**
 * The uplink suite (test/e2e/uplink-suite.ts) on qemu-riscv64-virt: the
 * network card passed through to the riscv64 backend (QEMU's virtio-mmio
 * transport before the last, PLIC source 7), driven by the same TypeScript
 * driver as on aarch64.
 */
import { platform } from '../../platforms/qemu-riscv64-virt.ts';
import { runUplinkSuite } from './uplink-suite.ts';

runUplinkSuite(platform);
