// SPDX-License-Identifier: Apache-2.0
// probePassthrough: the line the backend prints for each passthrough device,
// from the three identification registers it reads (and only those).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { PassthroughDevice } from '../../src/config/platform.ts';
import type { Host } from '../../src/host.ts';
import { probePassthrough } from '../../src/passthrough-probe.ts';

const pdisk0: PassthroughDevice = { name: 'pdisk0', kind: 'virtio-blk', base: 0x0a003e00, size: 0x200, intid: 79, dma: 'dma:pdisk0' };

/** A host whose MMIO is the registers `regs` (offset → value) of a device at pdisk0.base; records every access. */
function hostWith(regs: Record<number, number>): { host: Host; reads: number[] } {
  const reads: number[] = [];
  const host = {
    mmioRead(addr: number, width: number): number {
      assert.is(width, 4);
      reads.push(addr - pdisk0.base);
      return regs[addr - pdisk0.base] ?? 0;
    },
    mmioWrite(): void {
      throw new Error('the probe must not write');
    },
  } as unknown as Host;
  return { host, reads };
}

test('a virtio-mmio v2 block device: the one line the e2e test looks for', () => {
  const { host, reads } = hostWith({ 0: 0x74726976, 4: 2, 8: 2 });
  assert.equal(probePassthrough(host, [pdisk0]), ['baojs: passthrough pdisk0: virtio-mmio v2 device 2 at 0x0a003e00 INTID 79']);
  assert.equal(reads, [0, 4, 8]);
});

test('no magic: says so and reads nothing more', () => {
  const { host, reads } = hostWith({ 0: 0xffffffff });
  assert.equal(probePassthrough(host, [pdisk0]), ['baojs: passthrough pdisk0: no virtio-mmio device at 0x0a003e00 INTID 79 (MagicValue 0xffffffff)']);
  assert.equal(reads, [0]);
});

test('a legacy transport, an empty transport, another device: each named', () => {
  assert.match(probePassthrough(hostWith({ 0: 0x74726976, 4: 1, 8: 2 }).host, [pdisk0])[0], /v1 device 2 .*: not a virtio-mmio version 2/);
  assert.match(probePassthrough(hostWith({ 0: 0x74726976, 4: 2, 8: 0 }).host, [pdisk0])[0], /device 0 .*: no device behind the transport/);
  assert.match(probePassthrough(hostWith({ 0: 0x74726976, 4: 2, 8: 1 }).host, [pdisk0])[0], /device 1 .*: not a virtio-blk device \(DeviceID 2\)/);
});

test('a network card (kind virtio-net) expects DeviceID 1', () => {
  const uplink0: PassthroughDevice = { ...pdisk0, name: 'uplink0', kind: 'virtio-net', dma: 'dma:uplink0' };
  assert.equal(probePassthrough(hostWith({ 0: 0x74726976, 4: 2, 8: 1 }).host, [uplink0]), ['baojs: passthrough uplink0: virtio-mmio v2 device 1 at 0x0a003e00 INTID 79']);
  assert.match(probePassthrough(hostWith({ 0: 0x74726976, 4: 2, 8: 2 }).host, [uplink0])[0], /device 2 .*: not a virtio-net device \(DeviceID 1\)/);
});

test('no passthrough device: no line, no access', () => {
  const { host, reads } = hostWith({});
  assert.equal(probePassthrough(host, []), []);
  assert.equal(reads, []);
});

test.run();
