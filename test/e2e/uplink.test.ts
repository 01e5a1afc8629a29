// SPDX-License-Identifier: Apache-2.0
/** The uplink suite (test/e2e/uplink-suite.ts) on qemu-aarch64-virt. */
import { platform } from '../../platforms/qemu-aarch64-virt.ts';
import { runUplinkSuite } from './uplink-suite.ts';

runUplinkSuite(platform);
