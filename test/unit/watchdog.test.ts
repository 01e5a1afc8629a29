// SPDX-License-Identifier: Apache-2.0
/**
 * A call into the backend that the watchdog stops: the stop is uncatchable
 * (no `catch`, no `finally` of the dispatcher runs), the simulated host
 * then does what the firmware's C does (completes the requests left open,
 * calls the onWatchdog handler), and the dispatcher's recovery must leave
 * every device model consistent: the request being served completed (a
 * read answered 0, a write dropped), the device in DEVICE_NEEDS_RESET with
 * a log line, the other devices serving, the device working again after a
 * driver reset. Covered: a runaway register read and write, a runaway
 * queue handler, a runaway in a rescheduled service (a timer), a runaway
 * timer that belongs to no device model.
 *
 * The stop is real where the engine offers one to a test: on Node, a `vm`
 * timeout ends the call the way QuickJS's interrupt handler does (checked
 * below). Inside the QuickJS engine runs no such stop is available to a
 * test, so only the tests that need none run there; the firmware test
 * (test/e2e/watchdog.test.ts) stops real QuickJS calls on the target.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Dispatcher } from '../../src/dispatcher/dispatcher.ts';
import { WatchdogStop, type IoClient } from '../../src/dispatcher/client.ts';
import { SimBao, type SimOptions } from '../sim/bao.ts';
import { testPlatform } from '../sim/platforms.ts';
import { makeSystem } from '../driver/system.ts';
import { RngDriver } from '../driver/rng.ts';
import { BlkDriver } from '../driver/blk.ts';

const WIN0 = 0x0b000000;
const WIN_RNG = 0x0b002000;
/**
 * Wall-clock budget of one call in these tests, ms: far above any real call
 * even on a loaded host (300 ms once stopped an ordinary call there), short
 * enough to wait for.
 */
const BUDGET_MS = 2000;

type VmModule = typeof import('node:vm');
/** Node's vm module when the engine is Node (`process.getBuiltinModule`), else undefined. */
const vm = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule?.('node:vm') as VmModule | undefined;

/**
 * A {@link SimOptions.callJs} that stops a call after its budget the way
 * the firmware's engine does, or undefined where the engine has none.
 */
function stoppableCall(): SimOptions['callJs'] {
  if (!vm) return undefined;
  const sandbox = vm.createContext({ fn: null as (() => void) | null });
  const script = new vm.Script('fn()');
  return (fn, budgetMs) => {
    (sandbox as { fn: (() => void) | null }).fn = fn;
    try {
      script.runInContext(sandbox, { timeout: budgetMs });
      return true;
    } catch (e) {
      if ((e as { code?: string }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') return false;
      throw e;
    } finally {
      (sandbox as { fn: (() => void) | null }).fn = null;
    }
  };
}

/** Loops until the watchdog stops it. */
function runaway(): never {
  let spins = 0;
  for (;;) spins++;
}

/** A sim with the stoppable call, a dispatcher over dm 0 and dm 1, and its recovery wired as main.ts wires it. */
function dispatcherSetup(maxRequestsPerService?: number) {
  const sim = new SimBao(testPlatform(), { seed: 3, callJs: stoppableCall() });
  sim.setWatchdogMs(BUDGET_MS);
  const logs: string[] = [];
  const disp = new Dispatcher(sim, { log: (l) => logs.push(l), maxRequestsPerService });
  disp.addDeviceModel({ dmId: 0, name: 'vda', backendIntid: 144 });
  disp.addDeviceModel({ dmId: 1, name: 'hwrng', backendIntid: 146 });
  sim.onIrq((intid) => disp.serviceIrq(intid));
  sim.onWatchdog(() => { disp.recoverAfterWatchdog(); });
  sim.irqEnable(144);
  sim.irqEnable(146);
  return { sim, disp, logs };
}

/** A client that answers reads with `value`, runs away while `wild.on`, and records faults. */
function wildClient(value: number, wild: { read: boolean; write: boolean }) {
  const faults: unknown[] = [];
  const writes: number[] = [];
  const client: IoClient = {
    read() {
      if (wild.read) runaway();
      return value;
    },
    write(_addr, _width, lo) {
      if (wild.write) runaway();
      writes.push(lo);
    },
    fault(e) {
      faults.push(e);
      wild.read = false;
      wild.write = false;
    },
  };
  return { client, faults, writes };
}

test('recovery with no device model in service changes nothing (a stop in a timer of no device)', () => {
  const { sim, disp, logs } = dispatcherSetup();
  const { client, faults } = wildClient(0x1234, { read: false, write: false });
  disp.register(0, WIN0, 0x200, client);
  assert.is(disp.recoverAfterWatchdog(), 0);
  assert.is(sim.load(0, WIN0, 4).lo, 0x1234);
  assert.is(disp.recoverAfterWatchdog(), 0);
  assert.equal(faults, []);
  assert.equal(logs, []);
  assert.is(sim.notifyCount(0), 0);
  assert.is(disp.counters(0).errors, 0);
});

test('setWatchdogMs refuses budgets outside 10..60000 ms and returns the previous one', () => {
  const sim = new SimBao(testPlatform());
  assert.is(sim.setWatchdogMs(50), 10000);
  assert.is(sim.setWatchdogMs(60000), 50);
  assert.throws(() => sim.setWatchdogMs(9), RangeError);
  assert.throws(() => sim.setWatchdogMs(60001), RangeError);
  assert.throws(() => sim.setWatchdogMs(12.5), RangeError);
});

if (vm) {
  test('the stop used here is uncatchable: neither catch nor finally of the stopped call runs', () => {
    const call = stoppableCall()!;
    let caught = false;
    let finished = false;
    const ok = call(() => {
      try {
        runaway();
      } catch {
        caught = true;
      } finally {
        finished = true;
      }
    }, 50);
    assert.is(ok, false);
    assert.is(caught, false);
    assert.is(finished, false);
  });

  test('without recovery a stopped service wedges its device model (the bug this guards against)', () => {
    const { sim, disp } = dispatcherSetup();
    sim.onWatchdog(() => {}); // the host completes the requests, nobody repairs the dispatcher
    const wild = { read: true, write: false };
    const { client } = wildClient(7, wild);
    disp.register(0, WIN0, 0x200, client);
    assert.equal(sim.load(0, WIN0, 4), { lo: 0, hi: 0 });
    wild.read = false;
    // dm 0 still counts as in service: every later interrupt returns at once
    const r = sim.trap(0, WIN0, 4, false);
    sim.run();
    assert.is(r.state, 'PENDING', 'never asked for');
    assert.ok(sim.isBlocked(0), 'the frontend vCPU stays parked');
  });

  test('a runaway register read: the read is answered 0, the device faults with WatchdogStop, the others serve, and it serves again', () => {
    const { sim, disp, logs } = dispatcherSetup();
    const wild = { read: true, write: false };
    const a = wildClient(0xaaaa, wild);
    const b = wildClient(0xbbbb, { read: false, write: false });
    disp.register(0, WIN0, 0x200, a.client);
    disp.register(1, WIN_RNG, 0x200, b.client);
    assert.equal(sim.load(0, WIN0 + 4, 4), { lo: 0, hi: 0 }, 'answered 0');
    assert.ok(!sim.isBlocked(0), 'the frontend continues');
    assert.equal(sim.violations, []);
    assert.is(sim.watchdogStops, 1);
    assert.is(a.faults.length, 1);
    assert.instance(a.faults[0], WatchdogStop);
    assert.match((a.faults[0] as Error).message, /watchdog/);
    assert.match(sim.output, /baojs: watchdog: 1 remio request left open by the stopped call completed/);
    assert.is(disp.counters(0).errors, 1);
    assert.is(sim.load(0, WIN_RNG, 4).lo, 0xbbbb, 'another device model serves');
    assert.is(sim.load(0, WIN0, 4).lo, 0xaaaa, 'the device model serves again');
    assert.is(a.faults.length, 1);
    assert.equal(logs, [], 'a client with a fault handler reports for itself');
  });

  test('a runaway register write: the write is dropped and completed, the frontend continues', () => {
    const { sim, disp } = dispatcherSetup();
    const wild = { read: false, write: true };
    const a = wildClient(1, wild);
    disp.register(0, WIN0, 0x200, a.client);
    sim.store(1, WIN0 + 0x10, 4, 0x5555);
    assert.ok(!sim.isBlocked(1));
    assert.equal(a.writes, [], 'dropped');
    assert.is(a.faults.length, 1);
    sim.store(1, WIN0 + 0x10, 4, 0x6666);
    assert.equal(a.writes, [0x6666]);
    assert.equal(sim.violations, []);
  });

  test('a client without a fault handler: the dispatcher logs one line naming the DM and the watchdog', () => {
    const { sim, disp, logs } = dispatcherSetup();
    let wild = true;
    disp.register(0, WIN0, 0x200, {
      read() { if (wild) runaway(); return 9; },
      write() {},
    });
    assert.is(sim.load(0, WIN0, 4).lo, 0);
    assert.is(logs.length, 1);
    assert.match(logs[0], /^dm 0 \(vda\): service stopped by the watchdog/);
    wild = false;
    assert.is(sim.load(0, WIN0, 4).lo, 9);
  });

  test('a runaway in a rescheduled service (a timer): the same recovery, every request of the frontend completed', () => {
    const { sim, disp } = dispatcherSetup(1);
    let reads = 0;
    const faults: unknown[] = [];
    disp.register(0, WIN0, 0x200, {
      read() {
        // the second request is taken by the service the first one rescheduled
        if (++reads === 2) runaway();
        return reads;
      },
      write() {},
      fault(e) { faults.push(e); },
    });
    const r0 = sim.trap(0, WIN0, 4, false);
    const r1 = sim.trap(1, WIN0, 4, false);
    sim.run();
    assert.is(r0.state, 'DONE');
    assert.is(r0.regLo, 1);
    assert.is(r1.state, 'DONE');
    assert.is(r1.regLo, 0, 'the stopped request is answered 0');
    assert.is(disp.counters(0).deferrals >= 1, true, 'the stop happened in a rescheduled service');
    assert.is(faults.length, 1);
    assert.instance(faults[0], WatchdogStop);
    assert.is(sim.load(2, WIN0, 4).lo, 3);
    assert.equal(sim.violations, []);
  });

  test('a runaway timer that belongs to no device model: stopped, logged, nothing failed, the devices serve', () => {
    const { sim, disp, logs } = dispatcherSetup();
    const a = wildClient(0x77, { read: false, write: false });
    disp.register(0, WIN0, 0x200, a.client);
    sim.setTimeout(runaway, 5);
    sim.advance(5);
    assert.is(sim.watchdogStops, 1);
    assert.match(sim.output, new RegExp(`baojs: watchdog: a call into JS \\(callback\\) ran longer than ${BUDGET_MS} ms and was stopped`));
    assert.not.match(sim.output, /left open/);
    assert.equal(a.faults, []);
    assert.equal(logs, []);
    assert.is(sim.load(0, WIN0, 4).lo, 0x77);
  });

  test('a runaway queue handler: DEVICE_NEEDS_RESET with a config interrupt and one line naming the device and the watchdog; vda serves; a driver reset makes it work again', () => {
    const sys = makeSystem({ sim: { seed: 5, callJs: stoppableCall() } });
    const { sim, backend, logs } = sys;
    sim.setWatchdogMs(BUDGET_MS);
    sim.onWatchdog(() => { backend.dispatcher.recoverAfterWatchdog(); });
    const vda = new BlkDriver(sim, sys.model('vda'));
    const rng = new RngDriver(sim, sys.model('hwrng'));
    assert.is(rng.read(16).length, 16);
    const device = backend.devices.get('hwrng')!.device;
    const real = device.processQueue.bind(device);
    let wild = true;
    device.processQueue = (i: number) => {
      if (wild) runaway();
      real(i);
    };
    // the kick: QueueNotify is completed first, then the queue handler runs away
    const a = rng.drv.pool.alloc(16, 16);
    rng.q.add([], [{ addr: a, len: 16 }]);
    rng.q.kick();
    assert.ok(!sim.isBlocked(0), 'the frontend continues');
    assert.is(sim.watchdogStops, 1);
    assert.ok(rng.drv.needsReset(), 'DEVICE_NEEDS_RESET');
    assert.is(rng.drv.handleInterrupt() & 2, 2, 'configuration change interrupt (virtio 1.2 2.1.2)');
    const lines = logs.filter((l) => /watchdog/.test(l));
    assert.equal(lines.length, 1, logs.join('\n'));
    assert.match(lines[0], /^hwrng: DEVICE_NEEDS_RESET: stopped by the watchdog/);
    assert.is(backend.devices.get('hwrng')!.transport.counters.needsReset, 1);
    // the other devices keep serving
    const data = new Uint8Array(512).fill(0x5a);
    assert.is(vda.write(3, data).status, 0);
    assert.equal(vda.read(3, 1).data, data);
    // the driver resets the device and sets it up again: it serves
    wild = false;
    const again = new RngDriver(sim, sys.model('hwrng'));
    assert.ok(!again.drv.needsReset());
    assert.is(again.read(32).length, 32);
    assert.equal(sim.violations, []);
  });
}

test.run();
