// SPDX-License-Identifier: Apache-2.0
/**
 * Builds a serving backend from a platform description and a Host: one
 * dispatcher, and for each device model its shared region, device, and
 * virtio-mmio transport, registered on the DM's window; the host's IRQ
 * handler wired to the dispatcher and each DM's backend INTID enabled.
 */
import { shmemRegionName, validatePlatform, type DeviceModel, type PassthroughDevice, type Platform } from './config/platform.ts';
import { Dispatcher, type DispatcherOptions } from './dispatcher/dispatcher.ts';
import { describeError, type LogSink } from './dispatcher/log.ts';
import { isAsyncBacking, type AsyncBlockBacking, type BlockBacking } from './devices/backing.ts';
import { BlkDevice } from './devices/blk.ts';
import { DEVICE_KINDS } from './devices/registry.ts';
import { VsockHub } from './devices/vsock-socket.ts';
import { EthernetSwitch, type SwitchOptions } from './net/switch.ts';
import { NetDevice } from './devices/net.ts';
import { DiskRangeBacking, SharedDisk, type PhysicalDisk } from './devices/disk.ts';
import { VirtioBlkDriver } from './drivers/virtio-blk.ts';
import { VirtioNetDriver } from './drivers/virtio-net.ts';
import { UplinkPort } from './net/uplink.ts';
import { DataPlaneQueueFlag, DataPlaneWord, type Host } from './host.ts';
import type { VirtioDevice } from './virtio/device.ts';
import { GuestMemory } from './virtio/memory.ts';
import { VirtioMmioTransport } from './virtio/mmio.ts';

/** One served device: its description, device model and transport. */
export interface ServedDevice {
  /** the platform's entry */
  model: DeviceModel;
  /** the virtio device, built by the registry entry of `model.kind` (src/devices/registry.ts) */
  device: VirtioDevice;
  /** its virtio-mmio register file */
  transport: VirtioMmioTransport;
  /** its shared region */
  mem: GuestMemory;
}

/** A running backend. */
export interface Backend {
  dispatcher: Dispatcher;
  /** the devices, by device name */
  devices: Map<string, ServedDevice>;
  /** the backend's vsock services: listen on a port for every frontend, connect to a frontend by guest CID */
  vsock: VsockHub;
  /** the backend's Ethernet switch: every net device is a port of it */
  netSwitch: EthernetSwitch;
  /** the physical disks the backend drives (`backend.passthrough` of kind virtio-blk), by name */
  disks: Map<string, PassthroughDisk>;
  /** the network cards the backend drives (`backend.passthrough` of kind virtio-net), each a port of the switch, by name */
  uplinks: Map<string, UplinkPort>;
  /**
   * Serves interrupt `intid`: a passthrough device's (its driver), else a
   * device model's (the dispatcher). Returns false (and logs) for one that
   * belongs to neither.
   */
  serviceIrq(intid: number): boolean;
  /** Services every DM once (requests that arrived before the IRQs were enabled). */
  pollAll(): void;
}

/** Options of {@link createBackend}. */
export interface BackendOptions {
  /** log lines (default: host.write with a newline) */
  log?: LogSink;
  /** dispatcher options (maxRequestsPerService) */
  dispatcher?: Omit<DispatcherOptions, 'log'>;
  /** a console's transmitted bytes, `bytes[start, end)` valid during the call (default: host.writeBytes, else decoded as UTF-8 to host.write) */
  consoleOutput?: (name: string, bytes: Uint8Array, start: number, end: number) => void;
  /** a block device's backing (default: a RamBacking over host.region(model.backing)) */
  blockBacking?: (model: DeviceModel, host: Host) => BlockBacking | AsyncBlockBacking;
  /**
   * use the host's data plane and register shadow when it has them: interrupt
   * registers and side-effect-free register reads of every device, the request
   * path of blk over RAM (default true)
   */
  dataPlane?: boolean;
  /**
   * let the host's C virtqueue do the ring work of every device's queues when
   * it has one (Host.vqAttach; default true)
   */
  hostQueues?: boolean;
  /** refuse drivers that do not accept VIRTIO_F_ACCESS_PLATFORM (default false) */
  requireAccessPlatform?: boolean;
  /** the Ethernet switch's ageing time, flood limits and table sizes (src/net/switch.ts defaults) */
  netSwitch?: SwitchOptions;
  /**
   * the driver of a passthrough disk (default: {@link VirtioBlkDriver.open}
   * on the device's window, interrupt and DMA region)
   */
  diskDriver?: (device: PassthroughDevice, host: Host, log: LogSink) => PhysicalDisk & { onInterrupt(): void };
  /**
   * the driver of a passthrough network card (default: {@link
   * VirtioNetDriver.open} on the device's window, interrupt and DMA region)
   */
  netDriver?: (device: PassthroughDevice, host: Host, log: LogSink) => VirtioNetDriver;
}

/** A physical disk's disk plane and the frontend disks on it that it serves (by DM id). */
interface DiskPlaneLink {
  handle: number;
  frontends: Map<number, { device: BlkDevice; transport: VirtioMmioTransport }>;
}

/** A physical disk the backend drives. */
export interface PassthroughDisk {
  /** its platform entry */
  device: PassthroughDevice;
  /** its driver */
  driver: PhysicalDisk & { onInterrupt(): void };
  /** the frontend disks' view of it (ranges, queueing, grouped flushes) */
  shared: SharedDisk;
}

/**
 * Validates `platform`, builds every device model on `host`, wires
 * `host.onIrq` to the dispatcher and enables each DM's backend INTID.
 * @throws ConfigError for a bad platform description; RangeError when a
 *   region is missing from the host or smaller than described
 */
export function createBackend(host: Host, platform: Platform, options: BackendOptions = {}): Backend {
  validatePlatform(platform);
  const log: LogSink = options.log ?? ((line: string) => host.write(line + '\n'));
  const dispatcher = new Dispatcher(host, { ...options.dispatcher, log });
  const devices = new Map<string, ServedDevice>();
  const vsock = new VsockHub();
  const netSwitch = new EthernetSwitch(host, options.netSwitch);
  // the physical disks first: the frontend disks on them are ranges of them
  const disks = new Map<string, PassthroughDisk>();
  const irqHandlers: (() => void)[] = [];
  for (const pt of platform.backend.passthrough ?? []) {
    if (pt.kind !== 'virtio-blk' || !platform.devices.some((d) => typeof d.backing === 'object' && d.backing?.disk === pt.name)) continue;
    const driver = options.diskDriver
      ? options.diskDriver(pt, host, log)
      : VirtioBlkDriver.open(host, { name: pt.name, base: pt.base, intid: pt.intid, dma: pt.dma, log });
    const shared = new SharedDisk(driver, pt.name);
    disks.set(pt.name, { device: pt, driver, shared });
    irqHandlers[pt.intid] = () => {
      shared.interruptBegins();
      driver.onInterrupt();
      shared.completed();
    };
    log(`${pt.name}: ${driver.capacity} bytes${driver.readOnly ? ', read-only' : ''}, ${driver.flush ? 'volatile write cache (flushed on FLUSH)' : 'no volatile write cache'}`);
  }
  // the network cards: each one's driver is an uplink port of the switch
  const uplinks = new Map<string, UplinkPort>();
  for (const pt of platform.backend.passthrough ?? []) {
    if (pt.kind !== 'virtio-net') continue;
    let driver: VirtioNetDriver;
    try {
      driver = options.netDriver
        ? options.netDriver(pt, host, log)
        : VirtioNetDriver.open(host, { name: pt.name, base: pt.base, intid: pt.intid, dma: pt.dma, log });
    } catch (e) {
      // the frontends' network still works without its uplink
      log(`${pt.name}: no uplink: ${describeError(e)}`);
      continue;
    }
    const port = new UplinkPort(driver, netSwitch);
    uplinks.set(pt.name, port);
    irqHandlers[pt.intid] = () => driver.onInterrupt();
    log(`${pt.name}: MAC ${driver.mac || 'not given'}, MTU ${driver.mtu}, link ${driver.linkUp ? 'up' : 'down'}, ${driver.rxBuffers} receive and ${driver.txBuffers} transmit buffers of ${driver.bufferBytes} bytes, switch port ${port.id}`);
  }
  const diskMap = new Map<string, SharedDisk>();
  for (const [name, d] of disks) diskMap.set(name, d.shared);
  /** the disk planes ({@link Host.diskPlane}) of the physical disks that have one, and the frontend disks linked to each */
  const planes = new Map<SharedDisk, DiskPlaneLink>();
  for (const d of disks.values()) {
    const driver = d.driver;
    if (!(driver instanceof VirtioBlkDriver) || driver.plane === null) continue;
    const link: DiskPlaneLink = { handle: driver.planeHandle, frontends: new Map() };
    planes.set(d.shared, link);
    driver.onHostAnswer = (a) => {
      const fe = link.frontends.get(a.dm);
      if (!fe) return;
      const st = fe.transport.dataPlane;
      if (!a.reapedByHost && st[DataPlaneWord.N_IN_FLIGHT] > 0) st[DataPlaneWord.N_IN_FLIGHT]--;
      if (st[DataPlaneWord.GENERATION] !== a.generation) {
        st[DataPlaneWord.N_DISK_STALE]++; // reset since: nobody waits for it
        return;
      }
      fe.device.hostPlacedDone(a.feHead, a.statusOff, a.written, a.type, a.status);
    };
  }
  function diskPlaneOf(backing: DiskRangeBacking): DiskPlaneLink | null {
    return planes.get(backing.disk) ?? null;
  }
  for (const model of platform.devices) {
    const name = shmemRegionName(model);
    const buffer = host.region(name);
    if (buffer.byteLength < model.shmem.size) throw new RangeError(`region ${name} is ${buffer.byteLength} bytes, the platform says ${model.shmem.size}`);
    const mem = new GuestMemory(model.shmem.base, buffer, name, model.shmem.size);
    const device = DEVICE_KINDS[model.kind].create(model, { host, log, vsock, netSwitch, disks: diskMap, consoleOutput: options.consoleOutput, blockBacking: options.blockBacking });
    dispatcher.addDeviceModel({ dmId: model.dmId, name: model.name, backendIntid: model.backendIntid });
    const transport = new VirtioMmioTransport(device, mem, {
      base: model.window.base,
      interrupt: dispatcher.interruptFor(model.dmId),
      log,
      requireAccessPlatform: options.requireAccessPlatform,
    });
    dispatcher.register(model.dmId, model.window.base, model.window.size, transport);
    if (options.hostQueues !== false) transport.useHostQueues(host);
    if (host.dataPlane && options.dataPlane !== false) {
      // The host answers the interrupt registers and, for a blk device over RAM
      // or on a range of a physical disk with a disk plane, serves the request
      // path; the device still answers everything else.
      const backing = device instanceof BlkDevice ? device.backing : null;
      const ram = backing && !isAsyncBacking(backing) ? backing.ram ?? null : null;
      const plane = device instanceof BlkDevice && backing instanceof DiskRangeBacking ? diskPlaneOf(backing) : null;
      const dataPlane = host.dataPlane.bind(host);
      try {
        if (plane && device instanceof BlkDevice && backing instanceof DiskRangeBacking && host.diskRange) {
          const diskRange = host.diskRange.bind(host);
          transport.useDataPlane((st) => {
            st[DataPlaneWord.RANGE_BASE_LO] = backing.base % 4294967296;
            st[DataPlaneWord.RANGE_BASE_HI] = Math.floor(backing.base / 4294967296);
            st[DataPlaneWord.RANGE_SIZE_LO] = backing.capacity % 4294967296;
            st[DataPlaneWord.RANGE_SIZE_HI] = Math.floor(backing.capacity / 4294967296);
            return dataPlane(model.dmId, model.backendIntid, st, buffer, null) && diskRange(model.dmId, plane.handle);
          }, backing.readOnly, true,
          () => (backing.volatileCache && device.writeThrough() ? DataPlaneQueueFlag.WRITETHROUGH : 0));
          plane.frontends.set(model.dmId, { device, transport });
        } else {
          transport.useDataPlane((st) => dataPlane(model.dmId, model.backendIntid, st, buffer, ram), backing?.readOnly ?? false, ram !== null);
        }
      } catch (e) {
        log(`${model.name}: no data plane (${e instanceof Error ? e.message : String(e)}); JS serves every request`);
      }
    }
    if (device instanceof NetDevice && transport.dataPlaneState === 'on' && options.dataPlane !== false) {
      // The host forwards frames between two ports whose queues it serves, as long as the device lets it.
      try {
        if (netSwitch.useHostTable(host) || netSwitch.hostTable) device.useHostPlane(host, model.dmId, transport.queues);
      } catch (e) {
        log(`${model.name}: no network plane (${e instanceof Error ? e.message : String(e)}); JS forwards every frame`);
      }
    }
    if (host.regShadow && options.dataPlane !== false) {
      // The host answers register reads without side effects from the transport's shadow.
      const regShadow = host.regShadow.bind(host);
      try {
        transport.useRegShadow((shadow, config) => regShadow(model.dmId, shadow, config));
      } catch (e) {
        log(`${model.name}: no register shadow (${e instanceof Error ? e.message : String(e)}); JS answers every register read`);
      }
    }
    devices.set(model.name, { model, device, transport, mem });
  }
  host.onIrq((intid: number) => {
    serviceIrq(intid);
  });
  for (const model of platform.devices) host.irqEnable(model.backendIntid);
  function serviceIrq(intid: number): boolean {
    const h = irqHandlers[intid];
    if (h !== undefined) {
      h();
      return true;
    }
    return dispatcher.serviceIrq(intid);
  }
  return {
    dispatcher,
    devices,
    vsock,
    netSwitch,
    disks,
    uplinks,
    serviceIrq,
    pollAll(): void {
      for (const id of dispatcher.dmIds()) dispatcher.service(id);
    },
  };
}
