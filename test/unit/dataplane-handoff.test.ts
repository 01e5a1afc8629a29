// SPDX-License-Identifier: Apache-2.0
/**
 * The TypeScript half of the block data plane (Host.dataPlane): which
 * devices are offered to it, what the shared state words say, when the
 * transport hands queue 0 over and takes it back, and that InterruptStatus
 * is the shared word. The host here records the registration and serves
 * nothing itself, so every request still reaches JS; the C half is tested
 * against the TypeScript device in test/native/dataplane.test.ts and end
 * to end in test/e2e/system.test.ts.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { platform } from '../../platforms/qemu-aarch64-virt.ts';
import type { Platform } from '../../src/config/platform.ts';
import { shmemRegionName } from '../../src/config/platform.ts';
import { createBackend, type BackendOptions } from '../../src/backend.ts';
import { DataPlaneCtrl, DataPlaneQueueFlag, DataPlaneWord, DATA_PLANE_WORDS, RemioOp, RemioReq, REMIO_REQ_WORDS } from '../../src/host.ts';
import { MmioReg } from '../../src/virtio/spec.ts';
import { SimBao } from '../sim/bao.ts';
import { serveFromState } from '../sim/dataplane.ts';
import { attachPassthroughDevices } from '../sim/passthrough-devices.ts';
import { BlkDriver } from '../driver/blk.ts';
import { ConsoleDriver } from '../driver/console.ts';

interface Registration { dmId: number; intid: number; st: Uint32Array; shmem: ArrayBuffer; disk: ArrayBuffer | null }

function setup(options: BackendOptions = {}) {
  const p = JSON.parse(JSON.stringify(platform)) as Platform;
  const sim = attachPassthroughDevices(new SimBao(p), p);
  const regs: Registration[] = [];
  const host = sim as SimBao & { dataPlane?: (dmId: number, intid: number, st: Uint32Array, shmem: ArrayBuffer, disk: ArrayBuffer | null) => boolean };
  host.dataPlane = (dmId, intid, st, shmem, disk) => {
    regs.push({ dmId, intid, st, shmem, disk });
    return true;
  };
  const logs: string[] = [];
  const backend = createBackend(sim, p, { log: (l) => logs.push(l), ...options });
  backend.pollAll();
  const dev = (n: string) => p.devices.find((d) => d.name === n)!;
  const reg = (n: string) => regs.find((r) => r.dmId === dev(n).dmId)!;
  return { p, sim, regs, logs, dev, reg, backend };
}

test('every device is offered to the data plane with its window and region; blk devices on RAM with their disk, the others without', () => {
  const { sim, regs, dev, reg } = setup();
  assert.equal(regs.map((r) => r.dmId).sort(), platform.devices.map((d) => d.dmId).sort());
  for (const d of platform.devices) {
    const r = reg(d.name);
    assert.is(r.intid, d.backendIntid);
    assert.is(r.st.length, DATA_PLANE_WORDS);
    assert.ok(r.shmem === sim.region(shmemRegionName(d)), `${d.name}: the shared region's buffer`);
    if (d.kind === 'blk' && typeof d.backing === 'string') assert.ok(r.disk === sim.region(d.backing), `${d.name}: the backing region's buffer`);
    else assert.is(r.disk, null, `${d.name}: no disk in RAM (a range of a passthrough disk is served in JS)`);
    assert.is(r.st[DataPlaneWord.WINDOW_LO] + r.st[DataPlaneWord.WINDOW_HI] * 2 ** 32, d.window.base);
    assert.is(r.st[DataPlaneWord.SHMEM_LO] + r.st[DataPlaneWord.SHMEM_HI] * 2 ** 32, d.shmem.base);
    // before a driver: the interrupt registers only
    assert.is(r.st[DataPlaneWord.CTRL], DataPlaneCtrl.IRQ_REGS);
  }
  // a console's queues stay with JS once live; its interrupt registers go to the host
  const con = new ConsoleDriver(sim, dev('hvc0'));
  con.write(Uint8Array.of(0x68, 0x69, 0x0a));
  assert.ok(sim.output.includes('hi\n'));
  assert.is(reg('hvc0').st[DataPlaneWord.CTRL], DataPlaneCtrl.IRQ_REGS);
  assert.is(reg('vdb').st[DataPlaneWord.Q_FLAGS] & DataPlaneQueueFlag.READ_ONLY, 0, 'not armed yet');
});

test('DRIVER_OK hands queue 0 over with its layout; requests served in JS move the indices it hands over again', () => {
  const { sim, dev, reg } = setup();
  const st = reg('vda').st;
  const blk = new BlkDriver(sim, dev('vda'));
  const base = dev('vda').shmem.base;
  assert.is(st[DataPlaneWord.CTRL], DataPlaneCtrl.IRQ_REGS | DataPlaneCtrl.QUEUE);
  assert.is(st[DataPlaneWord.Q_NUM], blk.q.num);
  assert.is(st[DataPlaneWord.Q_DESC], blk.q.descAddr - base);
  assert.is(st[DataPlaneWord.Q_AVAIL], blk.q.availAddr - base);
  assert.is(st[DataPlaneWord.Q_USED], blk.q.usedAddr - base);
  assert.is(st[DataPlaneWord.Q_LAST_AVAIL], 0);
  assert.is(st[DataPlaneWord.Q_USED_IDX], 0);
  const flags = (blk.q.eventIdx ? DataPlaneQueueFlag.EVENT_IDX : 0) | (blk.q.indirect ? DataPlaneQueueFlag.INDIRECT : 0);
  assert.is(st[DataPlaneWord.Q_FLAGS], flags);
  // this host serves nothing: the kick reaches JS, which takes the queue back, serves it, hands it over again
  const data = new Uint8Array(1024).map((_, i) => (i * 7) & 0xff);
  assert.is(blk.write(8, data).status, 0);
  assert.equal(Array.from(blk.read(8, 2).data), Array.from(data));
  assert.is(st[DataPlaneWord.CTRL] & DataPlaneCtrl.QUEUE, DataPlaneCtrl.QUEUE);
  assert.is(st[DataPlaneWord.Q_LAST_AVAIL], 2);
  assert.is(st[DataPlaneWord.Q_USED_IDX], 2);
  // the read-only disk says so
  new BlkDriver(sim, dev('vdb'));
  assert.is(reg('vdb').st[DataPlaneWord.Q_FLAGS] & DataPlaneQueueFlag.READ_ONLY, DataPlaneQueueFlag.READ_ONLY);
});

/**
 * A host that serves like the firmware's (runtime/host.c host_dataplane_service):
 * it takes the DM's requests one at a time, answers InterruptStatus,
 * InterruptACK and QueueNotify of queue 0 itself while CTRL allows, and
 * passes the rest to JS. Its queue work is done by the TypeScript device on
 * the shared state words (the C code is held to that device by
 * test/native/dataplane.test.ts). `handBack` makes it hand the next kick back.
 */
function servingHost(sim: SimBao, r: Registration, window: number) {
  const ctl = { handBack: false, served: 0, handedBack: 0 };
  const orig = sim.remioBatch.bind(sim);
  const one = new Uint32Array(REMIO_REQ_WORDS);
  sim.remioBatch = (dmId: number, reqs: Uint32Array, max: number): number => {
    if (dmId !== r.dmId) return orig(dmId, reqs, max);
    const st = r.st;
    let n = 0;
    while (n < max) {
      const got = orig(dmId, one, 1);
      if (got <= 0) {
        reqs[RemioReq.STATUS] = one[RemioReq.STATUS];
        return n === 0 && got < 0 ? got : n;
      }
      const off = one[RemioReq.ADDR_LO] - window;
      const op = one[RemioReq.OP];
      const ctrl = st[DataPlaneWord.CTRL];
      if (one[RemioReq.WIDTH] === 4 && (ctrl & DataPlaneCtrl.IRQ_REGS) && op === RemioOp.READ && off === MmioReg.InterruptStatus) {
        one[RemioReq.VALUE_LO] = st[DataPlaneWord.INT_STATUS];
        sim.remioComplete(dmId, one, 1);
        continue;
      }
      if (one[RemioReq.WIDTH] === 4 && (ctrl & DataPlaneCtrl.IRQ_REGS) && op === RemioOp.WRITE && off === MmioReg.InterruptACK) {
        st[DataPlaneWord.INT_STATUS] &= ~one[RemioReq.VALUE_LO];
        sim.remioComplete(dmId, one, 1);
        continue;
      }
      if ((ctrl & DataPlaneCtrl.QUEUE) && op === RemioOp.WRITE && off === MmioReg.QueueNotify && one[RemioReq.VALUE_LO] === 0) {
        if (ctl.handBack) {
          ctl.handBack = false;
          ctl.handedBack++;
          st[DataPlaneWord.CTRL] &= ~DataPlaneCtrl.QUEUE;
        } else {
          const notify = serveQueue(r);
          ctl.served++;
          sim.remioComplete(dmId, one, 1);
          if (notify) sim.remio(dmId, 0, 3, 0, 0, 0, new Uint32Array(8));
          continue;
        }
      }
      reqs.set(one, n * REMIO_REQ_WORDS);
      n++;
    }
    reqs[RemioReq.STATUS] = 0;
    return n;
  };
  return ctl;
}

/** Queue 0 served from the state words by the TypeScript device, as the host's data plane would; returns whether to NOTIFY. */
function serveQueue(r: Registration): boolean {
  const { failed, notified } = serveFromState(r.st, r.shmem, r.disk!);
  if (failed) throw new Error('the host would have handed this back');
  if (notified) r.st[DataPlaneWord.INT_STATUS] |= 1;
  return notified;
}

test('requests the host serves and requests handed back to JS interleave: JS continues from the indices the host left', () => {
  const { sim, dev, reg, backend } = setup();
  const vda = dev('vda');
  const r = reg('vda');
  const jsChains = () => backend.devices.get('vda')!.device.counters.chains;
  const host = servingHost(sim, r, vda.window.base);
  const blk = new BlkDriver(sim, vda);
  const pattern = (seed: number) => new Uint8Array(1024).map((_, i) => (i * seed + seed) & 0xff);
  for (let i = 0; i < 12; i++) {
    if (i % 3 === 2) host.handBack = true;
    assert.is(blk.write(16 * i, pattern(i + 1)).status, 0, `write ${i}`);
  }
  for (let i = 11; i >= 0; i--) {
    if (i % 4 === 1) host.handBack = true;
    const got = blk.read(16 * i, 2);
    assert.is(got.status, 0, `read ${i}`);
    assert.equal(Array.from(got.data), Array.from(pattern(i + 1)), `read ${i}`);
  }
  assert.is(host.handedBack, 7);
  // each chain served once: the 7 handed back by JS, the other 17 by the host
  assert.is(jsChains(), 7, 'chains the TypeScript device served');
  assert.is(host.served, 17, 'kicks the host served');
  assert.is(r.st[DataPlaneWord.Q_LAST_AVAIL], 24);
  assert.is(r.st[DataPlaneWord.Q_USED_IDX], 24);
  assert.is(r.st[DataPlaneWord.CTRL], DataPlaneCtrl.IRQ_REGS | DataPlaneCtrl.QUEUE);
  assert.equal(sim.violations, []);
});

/** vda with a serving host and a driver: its registration, transport, and the chains its TypeScript device served. */
function servedVda() {
  const { sim, dev, reg, backend } = setup();
  const vda = dev('vda');
  const r = reg('vda');
  const host = servingHost(sim, r, vda.window.base);
  const blk = new BlkDriver(sim, vda);
  const t = backend.devices.get('vda')!.transport;
  const jsChains = () => backend.devices.get('vda')!.device.counters.chains;
  return { sim, backend, r, host, blk, t, jsChains };
}

test('turned off, the data plane serves nothing and JS everything; turned on again, it serves again', () => {
  const { r, host, blk, t, jsChains } = servedVda();
  assert.is(blk.write(40, new Uint8Array(512).fill(7)).status, 0);
  assert.is(host.served, 1);
  assert.is(t.setDataPlaneEnabled(false), true);
  assert.is(t.dataPlaneState, 'off');
  assert.is(r.st[DataPlaneWord.CTRL], 0);
  const js0 = jsChains();
  assert.equal(Array.from(blk.read(40, 1).data), new Array(512).fill(7));
  assert.is(blk.write(41, new Uint8Array(512).fill(8)).status, 0);
  assert.is(host.served, 1, 'nothing served by the host while off');
  assert.is(jsChains(), js0 + 2);
  t.setDataPlaneEnabled(true);
  assert.is(t.dataPlaneState, 'on');
  assert.is(r.st[DataPlaneWord.CTRL], DataPlaneCtrl.IRQ_REGS | DataPlaneCtrl.QUEUE);
  assert.equal(Array.from(blk.read(41, 1).data), new Array(512).fill(8));
  assert.is(host.served, 2);
  // a device without a data plane says so
  const { backend: b2 } = setup({ dataPlane: false });
  assert.is(b2.devices.get('vda')!.transport.setDataPlaneEnabled(false), false);
  assert.is(b2.devices.get('vda')!.transport.dataPlaneState, null);
});

test('the queue plane turned off: JS serves every block request, the host still the interrupt registers; turned on again, the host serves again', () => {
  const { sim, backend, r, host, blk, t, jsChains } = servedVda();
  const jsWrites = () => t.counters.writes;
  assert.is(blk.write(50, new Uint8Array(512).fill(5)).status, 0);
  assert.is(host.served, 1);
  assert.is(t.setQueuePlaneEnabled(false), true);
  assert.is(t.dataPlaneState, 'on', 'the interrupt registers are still the host\'s');
  assert.is(r.st[DataPlaneWord.CTRL], DataPlaneCtrl.IRQ_REGS);
  const js0 = jsChains();
  const w0 = jsWrites();
  assert.equal(Array.from(blk.read(50, 1).data), new Array(512).fill(5));
  assert.is(blk.write(51, new Uint8Array(512).fill(6)).status, 0);
  assert.is(host.served, 1, 'no queue served by the host while off');
  assert.is(jsChains(), js0 + 2);
  // two QueueNotify writes reached JS; the InterruptACKs of the two completions did not
  assert.is(jsWrites(), w0 + 2);
  // Ctrl-] d off and on again keeps the queue with JS
  t.setDataPlaneEnabled(false);
  t.setDataPlaneEnabled(true);
  assert.is(r.st[DataPlaneWord.CTRL], DataPlaneCtrl.IRQ_REGS);
  assert.is(t.setQueuePlaneEnabled(true), true);
  assert.is(r.st[DataPlaneWord.CTRL], DataPlaneCtrl.IRQ_REGS | DataPlaneCtrl.QUEUE);
  assert.equal(Array.from(blk.read(51, 1).data), new Array(512).fill(6));
  assert.is(host.served, 2);
  // a device whose queues the host does not serve says so
  assert.is(backend.devices.get('hvc0')!.transport.setQueuePlaneEnabled(false), false);
  assert.equal(sim.violations, []);
});

test('InterruptStatus is the shared word; a reset takes the queue back and clears it', () => {
  const { sim, dev, reg } = setup();
  const st = reg('vda').st;
  const blk = new BlkDriver(sim, dev('vda'));
  st[DataPlaneWord.INT_STATUS] = 1; // as the host sets it with a used buffer notification
  assert.is(blk.drv.readl(MmioReg.InterruptStatus), 1);
  blk.drv.writel(MmioReg.InterruptACK, 1);
  assert.is(st[DataPlaneWord.INT_STATUS], 0);
  st[DataPlaneWord.INT_STATUS] = 3;
  blk.drv.reset();
  assert.is(st[DataPlaneWord.INT_STATUS], 0);
  assert.is(st[DataPlaneWord.CTRL], DataPlaneCtrl.IRQ_REGS, 'the queue is back with JS');
});

test('without a data plane (option off, or a host that refuses) JS serves everything', () => {
  const { regs, sim, dev } = setup({ dataPlane: false });
  assert.is(regs.length, 0);
  const blk = new BlkDriver(sim, dev('vda'));
  assert.is(blk.write(3, new Uint8Array(512).fill(1)).status, 0);
  const p = JSON.parse(JSON.stringify(platform)) as Platform;
  const sim2 = attachPassthroughDevices(new SimBao(p), p);
  const logs: string[] = [];
  (sim2 as SimBao & { dataPlane?: () => boolean }).dataPlane = () => {
    throw new RangeError('host.dataPlane: more than 16 data planes');
  };
  createBackend(sim2, p, { log: (l) => logs.push(l) }).pollAll();
  assert.ok(logs.some((l) => /vda: no data plane \(host.dataPlane: more than 16 data planes\); JS serves every request/.test(l)), logs.join('\n'));
  const blk2 = new BlkDriver(sim2, p.devices.find((d) => d.name === 'vda')!);
  assert.is(blk2.read(0, 1).status, 0);
});

test.run();
