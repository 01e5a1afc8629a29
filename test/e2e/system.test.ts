// SPDX-License-Identifier: Apache-2.0
/** The system suite (test/e2e/system-suite.ts) on qemu-aarch64-virt. */
import { platform } from '../../platforms/qemu-aarch64-virt.ts';
import { runSystemSuite } from './system-suite.ts';

runSystemSuite(platform);
