// SPDX-License-Identifier: Apache-2.0
/**
 * Firmware test entry: the product's devices, served as src/main.ts serves
 * them (console output only), plus the passthrough disk's interrupt taken
 * the way its driver will take it. The disk is set up as far as a
 * configuration-change interrupt needs (virtio 1.2 section 3.1.1: reset,
 * ACKNOWLEDGE, DRIVER, VIRTIO_F_VERSION_1, FEATURES_OK, DRIVER_OK; no
 * queue), then the test resizes the image from QEMU's monitor and the
 * device raises its level-triggered line. The handler reads
 * InterruptStatus and leaves the device unacknowledged for HOLD_MS: the
 * firmware has masked the INTID, so no second interrupt may arrive; then it
 * writes InterruptACK and calls host.irqEnable. Prints
 * `PTIRQ <event> ...` lines.
 */
import * as native from 'host';
import { platform } from '@platform';
import type { Host } from '../../../src/host.ts';
import { createBackend } from '../../../src/backend.ts';
import { diskMinimumSize } from '../../../src/config/platform.ts';
import { BlkStatus } from '../../../src/devices/blk-request.ts';
import type { PhysicalDisk } from '../../../src/devices/disk.ts';
import { DeviceStatus, MmioReg } from '../../../src/virtio/spec.ts';

/** how long the interrupt stays unacknowledged, ms of guest time */
const HOLD_MS = 300;

const host: Host = native;
/**
 * This entry owns pdisk0's registers, so the backend must not drive it: the
 * frontend disks on ranges of it (vdc, vdd) get a stand-in that answers
 * every request IOERR (the frontend boots with I/O errors on them).
 */
const standIn: PhysicalDisk & { onInterrupt(): void } = {
  capacity: diskMinimumSize(platform, 'pdisk0'), readOnly: false, flush: false, maxSegments: 1, maxSegmentBytes: 1 << 20,
  submit(_type, _sector, _addrs, _lens, _count, done) {
    // outside the disk's interrupt: SharedDisk passes the completion on at once
    host.setTimeout(() => done(BlkStatus.IOERR), 0);
    return true;
  },
  onInterrupt() {},
};
const backend = createBackend(host, platform, { diskDriver: () => standIn });
const pt = platform.backend.passthrough![0];
const reg = (r: MmioReg): number => host.mmioRead(pt.base + r, 4);
const set = (r: MmioReg, v: number): void => host.mmioWrite(pt.base + r, 4, v);

set(MmioReg.Status, 0);
set(MmioReg.Status, DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER);
set(MmioReg.DriverFeaturesSel, 1);
set(MmioReg.DriverFeatures, 1); // VIRTIO_F_VERSION_1 (bit 32)
set(MmioReg.DriverFeaturesSel, 0);
set(MmioReg.DriverFeatures, 0);
set(MmioReg.Status, DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER | DeviceStatus.FEATURES_OK);
const ok = (reg(MmioReg.Status) & DeviceStatus.FEATURES_OK) !== 0;
set(MmioReg.Status, DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER | DeviceStatus.FEATURES_OK | DeviceStatus.DRIVER_OK);

let taken = 0;
host.onIrq((intid: number) => {
  if (intid !== pt.intid) {
    backend.dispatcher.serviceIrq(intid);
    return;
  }
  taken++;
  const isr = reg(MmioReg.InterruptStatus);
  host.write(`PTIRQ taken ${taken} intid ${intid} InterruptStatus ${isr}\n`);
  if (taken > 1) return;
  host.setTimeout(() => {
    host.write(`PTIRQ held ${HOLD_MS} ms: taken ${taken}\n`);
    set(MmioReg.InterruptACK, isr);
    host.irqEnable(pt.intid);
    host.setTimeout(() => host.write(`PTIRQ after ack: taken ${taken}, InterruptStatus ${reg(MmioReg.InterruptStatus)}\n`), HOLD_MS);
  }, HOLD_MS);
});
host.irqEnable(pt.intid);
backend.pollAll();
host.write(`PTIRQ armed: FEATURES_OK ${ok ? 'kept' : 'refused'}, Status ${reg(MmioReg.Status)}\n`);
