// SPDX-License-Identifier: Apache-2.0
/**
 * The backend's first look at the devices passed through to it
 * (`backend.passthrough` of the platform description): reads each one's
 * virtio-mmio identification registers (virtio 1.2 section 4.2.2:
 * MagicValue, Version, DeviceID) through {@link Host.mmioRead} and says
 * what it found, one line per device. It only reads: the device is left
 * as it was for its driver.
 */
import type { PassthroughDevice } from './config/platform.ts';
import type { Host } from './host.ts';
import { DeviceId, MMIO_MAGIC, MmioReg } from './virtio/spec.ts';

/** What a passthrough device's kind expects in DeviceID (virtio 1.2 section 5). */
const EXPECTED_DEVICE_ID: Record<PassthroughDevice['kind'], number> = {
  'virtio-blk': DeviceId.BLOCK,
  'virtio-net': DeviceId.NET,
};

const hex8 = (v: number): string => `0x${v.toString(16).padStart(8, '0')}`;

/**
 * One line per device of `devices`: `baojs: passthrough <name>: virtio-mmio
 * v<Version> device <DeviceID> at <base> INTID <intid>` when MagicValue is
 * "virt" (0x74726976), Version 2 and DeviceID the kind's; otherwise a line
 * naming what was wrong (no virtio-mmio device, a legacy transport, no or
 * another device behind it). Registers read: 3 per device, 32-bit.
 * @throws RangeError from host.mmioRead when a window is not a device region of the host
 */
export function probePassthrough(host: Host, devices: readonly PassthroughDevice[]): string[] {
  return devices.map((d) => {
    const at = `at ${hex8(d.base)} INTID ${d.intid}`;
    const magic = host.mmioRead(d.base + MmioReg.MagicValue, 4);
    if (magic !== MMIO_MAGIC) return `baojs: passthrough ${d.name}: no virtio-mmio device ${at} (MagicValue ${hex8(magic)})`;
    const version = host.mmioRead(d.base + MmioReg.Version, 4);
    const id = host.mmioRead(d.base + MmioReg.DeviceID, 4);
    const line = `baojs: passthrough ${d.name}: virtio-mmio v${version} device ${id} ${at}`;
    if (version !== 2) return `${line}: not a virtio-mmio version 2 (modern) transport`;
    if (id === 0) return `${line}: no device behind the transport`;
    if (id !== EXPECTED_DEVICE_ID[d.kind]) return `${line}: not a ${d.kind} device (DeviceID ${EXPECTED_DEVICE_ID[d.kind]})`;
    return line;
  });
}
