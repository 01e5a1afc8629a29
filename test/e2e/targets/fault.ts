// SPDX-License-Identifier: Apache-2.0
/**
 * Firmware test entry (qemu-riscv64-virt): an unexpected trap. QEMU virt's
 * ns16550 decodes 8 bytes of its page: a load at offset 0x18, inside the
 * UART's page of the platform description (so host.mmioRead allows it),
 * reaches nothing and raises a load access fault, which the firmware's trap
 * vector reports with a register dump before powering off with status 1.
 */
import * as native from 'host';
import type { Host } from '../../../src/host.ts';
import { platform } from '@platform';

const host: Host = native;
host.write('FAULT NEXT\n');
host.mmioRead(platform.machine.uart.base + 0x18, 4);
host.write('no fault\n');
host.powerOff(0);
