// SPDX-License-Identifier: Apache-2.0
// validatePlatform: the shipped platform passes; each broken variant is refused
// with a ConfigError that names the exact field. Pure JS: runs on Node and in QuickJS.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, validatePlatform } from '../../src/config/platform.ts';
import type { Platform } from '../../src/config/platform.ts';
import { platform } from '../../platforms/qemu-aarch64-virt.ts';

/** A deep copy of the shipped platform (plain data: JSON is enough, and exists in every engine). */
function copy(): Platform {
  return JSON.parse(JSON.stringify(platform)) as Platform;
}

/** Asserts that `mutate`d copies of the platform are refused with a ConfigError on `field`. */
function refused(mutate: (p: Platform) => void, field: string, because?: RegExp): void {
  const p = copy();
  mutate(p);
  let error: unknown;
  try {
    validatePlatform(p);
  } catch (e) {
    error = e;
  }
  if (error === undefined) assert.unreachable(`validatePlatform accepted a platform with a bad ${field}`);
  assert.instance(error, ConfigError);
  const e = error as ConfigError;
  assert.is(e.name, 'ConfigError');
  assert.is(e.field, field);
  assert.ok(e.message.startsWith(`${field}: `), `message names the field: ${e.message}`);
  if (because) assert.match(e.message, because);
}

const shipped = suite('shipped platform');

shipped('qemu-aarch64-virt validates and is returned as is', () => {
  const before = JSON.stringify(platform);
  assert.is(validatePlatform(platform), platform);
  assert.is(JSON.stringify(platform), before, 'validation does not change the description');
});

shipped('a deep copy validates too', () => {
  const p = copy();
  assert.equal(validatePlatform(p), platform);
});

shipped.run();

const broken = suite('broken variants');

broken('two overlapping remio windows -> devices[1].window', () => {
  refused((p) => { p.devices[1].window.base = p.devices[0].window.base; }, 'devices[1].window', /overlaps devices\[0\]\.window/);
});

broken('bind key 300 (Bao keeps 8 bits) -> devices[0].bindKey', () => {
  refused((p) => { p.devices[0].bindKey = 300; }, 'devices[0].bindKey', /below 256/);
});

broken('a blk device without a backing region -> devices[0].backing', () => {
  refused((p) => { delete p.devices[0].backing; }, 'devices[0].backing');
});

broken('a blk device backed by a region that does not exist -> devices[3].backing', () => {
  refused((p) => { p.devices[3].backing = 'nosuchdisk'; }, 'devices[3].backing', /nosuchdisk/);
});

broken('a console with a backing store -> devices[1].backing', () => {
  refused((p) => { p.devices[1].backing = 'disk0'; }, 'devices[1].backing');
});

broken('two devices with the same dmId -> devices[2].dmId', () => {
  refused((p) => { p.devices[2].dmId = p.devices[0].dmId; }, 'devices[2].dmId', /duplicate/);
});

broken('a window not aligned to 0x200 -> devices[0].window.base', () => {
  refused((p) => { p.devices[0].window.base += 0x100; }, 'devices[0].window.base');
});

broken('a shared region inside the backend RAM -> devices[0].shmem', () => {
  refused((p) => { p.devices[0].shmem.base = p.backend.ram.base; }, 'devices[0].shmem', /RAM/);
});

broken('QueueNumMax that is not a power of 2 -> devices[1].queueNumMax', () => {
  refused((p) => { p.devices[1].queueNumMax = 48; }, 'devices[1].queueNumMax');
});

broken('a backend interrupt that is not an SPI -> devices[2].backendIntid', () => {
  refused((p) => { p.devices[2].backendIntid = 27; }, 'devices[2].backendIntid', /SPI/);
});

broken('backend and frontend on the same CPU -> backend.cpus', () => {
  refused((p) => { p.backend.cpus = [0]; }, 'backend.cpus');
});

broken('heap and stack larger than the backend RAM -> backend.heapSize', () => {
  refused((p) => { p.backend.heapSize = p.backend.ram.size; }, 'backend.heapSize');
});

broken('two backend regions with the same name -> backend.regions[1].name', () => {
  refused((p) => { p.backend.regions[1].name = p.backend.regions[0].name; }, 'backend.regions[1].name', /duplicate/);
});

broken('GICv3 without a redistributor -> machine.gic.gicr', () => {
  refused((p) => { delete p.machine.gic.gicr; }, 'machine.gic.gicr');
});

broken.run();
