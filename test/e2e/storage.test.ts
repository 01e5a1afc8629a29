// SPDX-License-Identifier: Apache-2.0
/** The storage suite (test/e2e/storage-suite.ts) on qemu-aarch64-virt: 20 crash-consistency runs by default. */
import { platform } from '../../platforms/qemu-aarch64-virt.ts';
import { runStorageSuite } from './storage-suite.ts';

runStorageSuite(platform, 20);
