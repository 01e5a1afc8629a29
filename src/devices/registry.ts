// SPDX-License-Identifier: Apache-2.0
/**
 * The device registry: every kind of device model a platform description
 * can name (`DeviceModel.kind`), with its virtio device id (virtio 1.2
 * section 5), the kind's own fields of the description and their checks,
 * and the factory that builds the device.
 *
 * A new kind is one entry here; `validatePlatform` (src/config/platform.ts),
 * `createBackend` (src/backend.ts) and the generators (platform.h, the
 * frontend device tree, Bao's configuration) take everything else from the
 * entry and from the device's `DeviceModel` (window, interrupts, shared
 * region), which are the same for every virtio-mmio device.
 */
import type { DeviceModel, DiskRange, Platform } from '../config/platform.ts';
import { ConfigError } from '../config/error.ts';
import type { LogSink } from '../dispatcher/log.ts';
import type { Host } from '../host.ts';
import type { VirtioDevice } from '../virtio/device.ts';
import { DeviceId } from '../virtio/spec.ts';
import { RamBacking, type AsyncBlockBacking, type BlockBacking } from './backing.ts';
import type { SharedDisk } from './disk.ts';
import { BlkDevice } from './blk.ts';
import { ConsoleDevice } from './console.ts';
import { GpioDevice } from './gpio.ts';
import { NET_MTU_MAX, NET_MTU_MIN } from './net-spec.ts';
import { NetDevice } from './net.ts';
import { RngDevice } from './rng.ts';
import { Utf8Decoder } from './utf8.ts';
import { VsockDevice } from './vsock.ts';
import type { VsockHub } from './vsock-socket.ts';
import { isGroupMac, parseMac, type EthernetSwitch } from '../net/switch.ts';

/** What a factory gets besides the device's platform entry. */
export interface DeviceEnv {
  /** the backend's host */
  host: Host;
  /** the backend's log */
  log: LogSink;
  /** the backend's vsock services (vsock devices join it) */
  vsock: VsockHub;
  /** the backend's Ethernet switch (net devices are its ports) */
  netSwitch: EthernetSwitch;
  /** the physical disks the backend drives, by passthrough device name (frontend disks on ranges of them) */
  disks?: ReadonlyMap<string, SharedDisk>;
  /** a console's transmitted bytes, `bytes[start, end)` valid during the call (default: host.writeBytes, else decoded as UTF-8 to host.write) */
  consoleOutput?: (name: string, bytes: Uint8Array, start: number, end: number) => void;
  /**
   * a block device's backing (default: a RamBacking over
   * host.region(model.backing) for a region name; a range of the
   * passthrough disk it names, from `disks`, for a DiskRange)
   */
  blockBacking?: (model: DeviceModel, host: Host) => BlockBacking | AsyncBlockBacking;
}

/** The kind-specific fields of {@link DeviceModel} a kind may use. */
export type KindField = 'backing' | 'readOnly' | 'guestCid' | 'mac' | 'mtu' | 'isolated' | 'offloads';

/** One kind of device model. */
export interface DeviceKindEntry {
  /** virtio device id (virtio 1.2 section 5), the DeviceID register */
  deviceId: DeviceId;
  /** the kind-specific fields this kind takes (any other one is refused) */
  fields: readonly KindField[];
  /**
   * Checks the kind's own fields of `p.devices[index]` (`d`), named `at`
   * (`devices[i]`) in messages; the common fields are checked already.
   * @throws ConfigError naming the bad field
   */
  validate?(d: DeviceModel, at: string, p: Platform, index: number): void;
  /**
   * Builds the device for platform entry `model`.
   * @throws RangeError when a region it needs is missing from the host
   */
  create(model: DeviceModel, env: DeviceEnv): VirtioDevice;
}

const SECTOR_ALIGN = 4096;

/**
 * Checks the {@link DiskRange} backing of blk device `d` (`p.devices[index]`,
 * named `at`): `disk` names a passthrough device of kind virtio-blk, offset
 * and size are multiples of 4096 with size > 0, and a writable range (the
 * device not `readOnly`) overlaps no writable range of an earlier device on
 * the same disk (read-only ranges may overlap anything).
 * @throws ConfigError on `<at>.backing.<field>`
 */
function checkDiskRange(d: DeviceModel, at: string, p: Platform, index: number): void {
  const r = d.backing as DiskRange;
  const f = `${at}.backing`;
  const disk = (p.backend.passthrough ?? []).find((x) => x.name === r.disk);
  if (!disk) throw new ConfigError(`${f}.disk`, `no passthrough device named ${r.disk}`);
  if (disk.kind !== 'virtio-blk') throw new ConfigError(`${f}.disk`, `${r.disk} is not a virtio-blk device`);
  if (!Number.isSafeInteger(r.offset) || r.offset < 0 || r.offset % SECTOR_ALIGN) throw new ConfigError(`${f}.offset`, `must be a non-negative multiple of 4096: ${r.offset}`);
  if (!Number.isSafeInteger(r.size) || r.size <= 0 || r.size % SECTOR_ALIGN) throw new ConfigError(`${f}.size`, `must be a positive multiple of 4096: ${r.size}`);
  if (d.readOnly) return;
  for (let j = 0; j < index; j++) {
    const o = p.devices[j];
    const b = o.backing;
    if (o.kind !== 'blk' || o.readOnly || typeof b !== 'object' || b === null || b.disk !== r.disk) continue;
    if (r.offset < b.offset + b.size && b.offset < r.offset + r.size) {
      throw new ConfigError(f, `writable range ${r.offset}..${r.offset + r.size - 1} of ${r.disk} overlaps the writable range of devices[${j}] (${o.name})`);
    }
  }
}

/** Every kind, by the name platform descriptions use. */
export const DEVICE_KINDS = {
  blk: {
    deviceId: DeviceId.BLOCK,
    fields: ['backing', 'readOnly'],
    validate(d, at, p, index) {
      if (typeof d.backing === 'object' && d.backing !== null) {
        checkDiskRange(d, at, p, index);
        return;
      }
      if (!d.backing || !p.backend.regions.some((r) => r.name === d.backing)) throw new ConfigError(`${at}.backing`, `no backend region named ${d.backing}`);
    },
    create(model, env) {
      if (env.blockBacking) return new BlkDevice(model.name, env.blockBacking(model, env.host), { queueNumMax: model.queueNumMax });
      if (typeof model.backing !== 'string') {
        const r = model.backing!;
        const disk = env.disks?.get(r.disk);
        if (!disk) throw new Error(`${model.name}.backing.disk: the passthrough disk ${r.disk} is not driven by this backend`);
        const range = disk.range(r.offset, r.size, model.readOnly ?? false, `baojs-${model.name}`, `${model.name}.backing`);
        return new BlkDevice(model.name, range, { queueNumMax: model.queueNumMax });
      }
      const backing = new RamBacking(env.host.region(model.backing), model.readOnly ?? false, `baojs-${model.name}`, env.host);
      return new BlkDevice(model.name, backing, { queueNumMax: model.queueNumMax });
    },
  },
  console: {
    deviceId: DeviceId.CONSOLE,
    fields: [],
    create(model, env) {
      let output: (bytes: Uint8Array, start: number, end: number) => void;
      if (env.consoleOutput) {
        const sink = env.consoleOutput;
        output = (bytes, start, end) => sink(model.name, bytes, start, end);
      } else if (env.host.writeBytes) {
        // the bytes as they are: no string per character
        const host = env.host;
        output = (bytes, start, end) => host.writeBytes!(bytes, start, end);
      } else {
        const decoder = new Utf8Decoder();
        output = (bytes, start, end) => {
          const text = decoder.decode(bytes.subarray(start, end));
          if (text) env.host.write(text);
        };
      }
      return new ConsoleDevice(model.name, { output, queueNumMax: model.queueNumMax });
    },
  },
  rng: {
    deviceId: DeviceId.ENTROPY,
    fields: [],
    create: (model, env) => new RngDevice(model.name, env.host, { queueNumMax: model.queueNumMax, log: env.log }),
  },
  vsock: {
    deviceId: DeviceId.SOCKET,
    fields: ['guestCid'],
    validate(d, at, p, index) {
      if (!Number.isInteger(d.guestCid) || d.guestCid! < 3 || d.guestCid! > 0xfffffffe) throw new ConfigError(`${at}.guestCid`, 'a vsock device needs a guest CID from 3 to 4294967294');
      for (let j = 0; j < index; j++) {
        const o = p.devices[j];
        if (o.kind === 'vsock' && o.guestCid === d.guestCid) throw new ConfigError(`${at}.guestCid`, `shared with devices[${j}]`);
      }
    },
    create: (model, env) => new VsockDevice(model.name, model.guestCid!, env.vsock, { queueNumMax: model.queueNumMax }),
  },
  net: {
    deviceId: DeviceId.NET,
    fields: ['mac', 'mtu', 'isolated', 'offloads'],
    validate(d, at, p, index) {
      const mac = parseMac(d.mac!);
      if (mac < 0) throw new ConfigError(`${at}.mac`, `a net device needs a MAC written xx:xx:xx:xx:xx:xx: ${d.mac}`);
      if (mac === 0 || isGroupMac(mac)) throw new ConfigError(`${at}.mac`, `${d.mac} is not a unicast address (the first byte's lowest bit is the group bit)`);
      for (let j = 0; j < index; j++) {
        const o = p.devices[j];
        if (o.kind === 'net' && parseMac(o.mac!) === mac) throw new ConfigError(`${at}.mac`, `shared with devices[${j}]`);
      }
      if (d.mtu !== undefined && (!Number.isInteger(d.mtu) || d.mtu < NET_MTU_MIN || d.mtu > NET_MTU_MAX)) throw new ConfigError(`${at}.mtu`, `must be an integer from ${NET_MTU_MIN} to ${NET_MTU_MAX}: ${d.mtu}`);
      if (d.isolated !== undefined && typeof d.isolated !== 'boolean') throw new ConfigError(`${at}.isolated`, `must be true or false: ${d.isolated}`);
      if (d.offloads !== undefined && typeof d.offloads !== 'boolean') throw new ConfigError(`${at}.offloads`, `must be true or false: ${d.offloads}`);
    },
    create: (model, env) => new NetDevice(model.name, env.netSwitch, { mac: model.mac!, mtu: model.mtu, queueNumMax: model.queueNumMax, isolated: model.isolated, offloads: model.offloads }),
  },
  gpio: {
    deviceId: DeviceId.GPIO,
    fields: [],
    create: (model) => new GpioDevice(model.name, { queueNumMax: model.queueNumMax }),
  },
} satisfies Record<string, DeviceKindEntry>;

/** Kinds of virtio device baojs implements: the keys of {@link DEVICE_KINDS}. */
export type DeviceKind = keyof typeof DEVICE_KINDS;
