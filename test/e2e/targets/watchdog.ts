// SPDX-License-Identifier: Apache-2.0
/**
 * Firmware test entry: the product's devices, served as src/main.ts serves
 * them, with a watchdog budget of WATCHDOG_MS and a virtio-rng device
 * (`hwrng`) that misbehaves on request. A 4-byte write to offset
 * TRIGGER of its window (a reserved offset) arms one runaway:
 *   1  the next register read of the window never returns (the register
 *      shadow is turned off with it, so that a read the host would answer
 *      from the shadow reaches the device code);
 *   2  this write never returns;
 *   3  the next processing of its queue never returns;
 *   4  a timer that belongs to no device never returns.
 * The device's reset (the watchdog recovery's DEVICE_NEEDS_RESET resets it,
 * and so does the driver's) disarms 1-3. Driven by the monitor's
 * bare-metal frontend in mode 4 (qemu/monitor/test/guest/frontend.c).
 */
import * as native from 'host';
import { platform } from '@platform';
import type { Host } from '../../../src/host.ts';
import { createBackend } from '../../../src/backend.ts';

/** the watchdog's budget here, ms of guest time */
const WATCHDOG_MS = 100;
/** reserved offset of the hwrng window taken as the trigger */
const TRIGGER = 0x0f0;

const host: Host = native;
host.setWatchdogMs(WATCHDOG_MS);
const backend = createBackend(host, platform);
host.onWatchdog(() => { backend.dispatcher.recoverAfterWatchdog(); });

function runaway(): never {
  let spins = 0;
  for (;;) spins++;
}

const rng = backend.devices.get('hwrng')!;
const { transport, device } = rng;
let wildRead = false;
let wildQueue = false;
const read = transport.read.bind(transport);
const write = transport.write.bind(transport);
const processQueue = device.processQueue.bind(device);
const reset = device.reset.bind(device);
transport.read = (addr: number, width: number, hi: Uint32Array): number => {
  if (wildRead) runaway();
  return read(addr, width, hi);
};
transport.write = (addr: number, width: number, lo: number, hi: number): boolean => {
  if (addr !== transport.base + TRIGGER) return write(addr, width, lo, hi);
  host.write(`watchdog test: runaway ${lo} armed\n`);
  if (lo === 1) {
    wildRead = true;
    transport.setDataPlaneEnabled(false);
  }
  else if (lo === 2) runaway();
  else if (lo === 3) wildQueue = true;
  else if (lo === 4) host.setTimeout(runaway, 0);
  return false;
};
device.processQueue = (index: number): void => {
  if (wildQueue) runaway();
  processQueue(index);
};
device.reset = (): void => {
  if (wildRead) transport.setDataPlaneEnabled(true);
  wildRead = false;
  wildQueue = false;
  reset();
};

backend.pollAll();
host.write(`watchdog test backend ready, budget ${WATCHDOG_MS} ms\n`);
