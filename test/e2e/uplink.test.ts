// SPDX-License-Identifier: Apache-2.0
/**
 * End to end: the shipped system's network card passed through to the
 * backend (`uplink0`, QEMU's virtio-net-device on virtio-mmio transport
 * 30, INTID 78, on a restrict=on user network) is probed and driven by
 * baojs: the probe line names DeviceID 1 at its window, the driver's line
 * gives the MAC QEMU was told and its buffers, and a connection from the
 * host to the hostfwd port on 127.0.0.1 makes QEMU's user network look for
 * 10.0.2.15 behind the uplink (an ARP request, broadcast), which reaches
 * the switch through the driver's receive path: the uplink's counters
 * (console `Ctrl-] s`) show frames received from the wire and flooded.
 * A guestfwd to a server on the host's 127.0.0.1 is on the command line
 * too (QEMU connects its end at start, so the run also proves the argument
 * is taken).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createConnection, createServer, type AddressInfo, type Server } from 'node:net';
import { temporaryDisks } from '../../qemu/disks.ts';
import { bootSystem, type SystemSession } from '../../qemu/system.ts';
import { UPLINK_MAC } from '../../qemu/uplink.ts';
import { platform } from '../../platforms/qemu-aarch64-virt.ts';

let sys: SystemSession;
const disks = temporaryDisks(platform);
/** the host-side service a guestfwd leads to */
let hostService: Server;
let hostfwdPort = 0;

/** A TCP server on 127.0.0.1 with a port of the system's choosing. */
function listen(): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer((c) => {
      // QEMU's guestfwd end connects at start and may reset: not this test's concern
      c.on('error', () => {});
      c.end('hello from the host\n');
    });
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => resolve(s));
  });
}

const portOf = (s: Server): number => (s.address() as AddressInfo).port;

test.before(async () => {
  hostService = await listen();
  // a free port for the hostfwd: taken from the system, then released for QEMU
  const probe = await listen();
  hostfwdPort = portOf(probe);
  await new Promise((r) => probe.close(r));
  sys = await bootSystem({
    timeoutMs: 540_000, readyTimeoutMs: 300_000, disks: disks.disks, log: () => {}, logFile: process.env.BAOJS_SYSTEM_LOG,
    uplinks: { uplink0: { hostfwd: [{ hostPort: hostfwdPort, guestPort: 8080 }], guestfwd: [{ guestPort: 8080, hostPort: portOf(hostService) }] } },
  });
});

test.after(async () => {
  if (sys) {
    sys.send('poweroff -f\n');
    await sys.close(10_000);
  }
  disks.remove();
  await new Promise((r) => hostService.close(r));
});

test('uplink0 is probed (DeviceID 1 at 0x0a003c00, INTID 78) and driven: the MAC QEMU was given, 256 receive and transmit buffers', () => {
  const pt = platform.backend.passthrough!.find((d) => d.name === 'uplink0')!;
  assert.is(pt.base, 0x0a003c00);
  assert.match(sys.output, /baojs: passthrough uplink0: virtio-mmio v2 device 1 at 0x0a003c00 INTID 78\r?\n/);
  assert.match(sys.output, `uplink0: MAC ${UPLINK_MAC}, MTU 1500, link up, 256 receive and 256 transmit buffers of 2048 bytes, switch port 0`);
  assert.not.match(sys.output, /uplink0: (no uplink|giving up)/);
});

test('a host connection to the hostfwd port sends frames from the wire through the driver into the switch', async () => {
  const before = await uplinkCounters();
  // QEMU's user network accepts on 127.0.0.1 and then looks for 10.0.2.15 behind the uplink (ARP, broadcast)
  const c = createConnection({ host: '127.0.0.1', port: hostfwdPort });
  // QEMU resets the connection when nothing answers behind the uplink: expected here
  c.on('error', () => {});
  await new Promise<void>((resolve) => {
    c.once('connect', () => resolve());
    c.once('error', () => resolve());
  });
  let after = before;
  for (let i = 0; i < 20 && after.rx <= before.rx; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    after = await uplinkCounters();
  }
  c.destroy();
  assert.ok(after.rx > before.rx, `frames from the wire: ${before.rx} → ${after.rx}`);
  assert.ok(after.switchIn > before.switchIn, `the switch took them: ${before.switchIn} → ${after.switchIn}`);
  assert.ok(after.floods > before.floods, 'a broadcast (or an unknown destination) is flooded');
});

/** The uplink's counters from the console's `Ctrl-] s`. */
async function uplinkCounters(): Promise<{ rx: number; switchIn: number; floods: number }> {
  const mark = sys.output.length;
  sys.send('\x1ds');
  const re = /uplink0: uplink link up; wire rx (\d+) frames \d+ bytes.*switch port \d+: in (\d+) \(floods (\d+)/;
  for (let i = 0; i < 300; i++) {
    const m = re.exec(sys.output.slice(mark));
    if (m) return { rx: Number(m[1]), switchIn: Number(m[2]), floods: Number(m[3]) };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no uplink0 counters line after Ctrl-] s:\n${sys.output.slice(mark)}`);
}

test.run();
