// SPDX-License-Identifier: Apache-2.0
/**
 * The uplink suite, run on a platform by test/e2e/uplink.test.ts
 * (qemu-aarch64-virt) and uplink-riscv64.test.ts (qemu-riscv64-virt).
 * End to end: the system's network card passed through to the backend
 * (`uplink0`, QEMU's virtio-net-device on the virtio-mmio transport before
 * the last: aarch64 0x0a00_3c00, INTID 78; riscv64 0x1000_7000, PLIC
 * source 7; on a restrict=on user network) is probed and driven by
 * baojs: the probe line names DeviceID 1 at its window, the driver's line
 * gives the MAC QEMU was told and its buffers, and a connection from the
 * host to the hostfwd port on 127.0.0.1 makes QEMU's user network look for
 * 10.0.2.15 behind the uplink (an ARP request, broadcast), which reaches
 * the switch through the driver's receive path: the uplink's counters
 * (console `Ctrl-] s`) show frames received from the wire and flooded.
 * Then both ways with checksums: frontend 1 takes 10.0.2.15 on its eth0;
 * a host program connects to the hostfwd port on 127.0.0.1 and receives a
 * file from busybox `nc -l` in the frontend; the frontend fetches a file
 * from a server on the host's 127.0.0.1 through a guestfwd (a relay
 * command QEMU starts per connection, which connects to that server).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Prng } from '../sim/prng.ts';
import { qemuTransport, temporaryDisks } from '../../qemu/disks.ts';
import { bootSystem, type SystemSession } from '../../qemu/system.ts';
import { UPLINK_MAC } from '../../qemu/uplink.ts';
import type { Platform } from '../../src/config/platform.ts';

/** Registers and runs the uplink suite on `platform` (its `uplink0` passed through to the backend). */
export function runUplinkSuite(platform: Platform): void {
  const test = suite(`uplink ${platform.name}`);
  let sys: SystemSession;
  const disks = temporaryDisks(platform);
  /** the host-side service a guestfwd leads to */
  let hostService: Server;
  let hostfwdPort = 0;

  /** What the host-side server sends each connection: 2 MiB of seeded bytes. */
  const DOWNLOAD = new Uint8Array(2 * 1024 * 1024);
  new Prng(0x0b1d).fill(DOWNLOAD);
  const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');
  /** Where the relay script lives (a temporary directory). */
  const work = mkdtempSync(join(tmpdir(), 'baojs-uplink-'));
  /** The guestfwd's relay: stdin/stdout (the connection from behind the uplink) to a TCP server on 127.0.0.1. */
  const RELAY = join(work, 'relay.mjs');
  writeFileSync(RELAY, "import { connect } from 'node:net';\n" +
    "const s = connect(Number(process.argv[2]), '127.0.0.1');\n" +
    "process.stdin.pipe(s); s.pipe(process.stdout);\n" +
    "s.on('error', () => process.exit(1)); s.on('close', () => process.exit(0));\n");

  /** A TCP server on 127.0.0.1 with a port of the system's choosing; it sends DOWNLOAD to each connection. */
  function listen(): Promise<Server> {
    return new Promise((resolve, reject) => {
      const s = createServer((c) => {
        c.on('error', () => {});
        c.end(DOWNLOAD);
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
      platform: platform.name, timeoutMs: 540_000, readyTimeoutMs: 300_000, disks: disks.disks, log: () => {}, logFile: process.env.BAOJS_SYSTEM_LOG,
      uplinks: { uplink0: {
        hostfwd: [{ hostPort: hostfwdPort, guestPort: 8080 }],
        guestfwd: [{ guestPort: 8081, command: `${process.execPath} ${RELAY} ${portOf(hostService)}` }],
      } },
    });
  });

  test.after(async () => {
    if (sys) {
      sys.send('poweroff -f\n');
      await sys.close(10_000);
    }
    disks.remove();
    await new Promise((r) => hostService.close(r));
    rmSync(work, { recursive: true, force: true });
  });

  test('uplink0 is probed (DeviceID 1 on QEMU virt\'s transport before the last) and driven: the MAC QEMU was given, 256 receive and transmit buffers', () => {
    const pt = platform.backend.passthrough!.find((d) => d.name === 'uplink0')!;
    const at = qemuTransport(platform.machine.arch, 1);
    assert.is(pt.base, at.base);
    assert.is(pt.intid, at.intid);
    assert.match(sys.output, new RegExp(`baojs: passthrough uplink0: virtio-mmio v2 device 1 at 0x${at.base.toString(16).padStart(8, '0')} INTID ${at.intid}\\r?\\n`));
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

  test('through the uplink both ways, with checksums: a host program gets a file from a frontend\'s service (hostfwd), the frontend gets one from a host server on 127.0.0.1 (guestfwd)', async () => {
    await sys.check('ip addr add 10.0.2.15/24 dev eth0');
    // the frontend fetches from the host: its nc's stdin a FIFO it holds open itself (busybox nc ends a connection when its stdin ends)
    // (again after a failed attempt: the first ARP for 10.0.2.100 can time out while the user network settles)
    const got = await sys.check('rm -f /tmp/dl.in; mkfifo /tmp/dl.in; for i in 1 2 3 4 5; do nc 10.0.2.100 8081 0<>/tmp/dl.in > /tmp/dl && [ -s /tmp/dl ] && break; sleep 2; done; ' +
      'md5sum /tmp/dl; wc -c < /tmp/dl', 300_000);
    const clean = got.replace(/\[ *\d+\.\d+\] [^\n]*\n?/g, '');
    const m = /([0-9a-f]{32}) +\/tmp\/dl\s+(\d+)/.exec(clean);
    assert.ok(m, `md5 and size of the download in:\n${got}`);
    assert.is(Number(m![2]), DOWNLOAD.length, `bytes from the host server:\n${got}`);
    assert.is(m![1], md5(DOWNLOAD), 'md5 of the file from the host server');
    // the host fetches from the frontend's service: nc -l ends the connection when the file (its stdin) ends;
    // it listens again after each connection (one that QEMU's user network gave up before the data, on a
    // loaded host, would otherwise take the only listener: every later attempt then gets no byte)
    const up = await sys.check('dd if=/dev/urandom of=/tmp/up bs=64k count=24 2>/dev/null; md5sum /tmp/up; { while :; do nc -l -p 8080 < /tmp/up > /dev/null 2>&1; done & }', 60_000);
    const upMd5 = /([0-9a-f]{32}) +\/tmp\/up/.exec(up.replace(/\[ *\d+\.\d+\] [^\n]*\n?/g, ''));
    assert.ok(upMd5, up);
    // QEMU accepts on 127.0.0.1 before it reaches the frontend: until nc listens there, a connection ends with no byte
    let received: Buffer = Buffer.alloc(0);
    for (let attempt = 0; attempt < 30 && received.length === 0; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, 1000));
      received = await new Promise<Buffer>((resolve, reject) => {
        const parts: Buffer[] = [];
        const c = createConnection({ host: '127.0.0.1', port: hostfwdPort });
        const timer = setTimeout(() => { c.destroy(); reject(new Error(`hostfwd: ${parts.reduce((n, p) => n + p.length, 0)} bytes after 300 s`)); }, 300_000);
        c.on('data', (d: Buffer) => parts.push(d));
        c.on('error', () => {});
        c.on('close', () => { clearTimeout(timer); resolve(Buffer.concat(parts)); });
      });
    }
    assert.is(received.length, 24 * 64 * 1024, `bytes from the frontend's service (uplink counters: ${JSON.stringify(await uplinkCounters())})`);
    assert.is(md5(received), upMd5![1], 'md5 of the file from the frontend\'s service');
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
}
