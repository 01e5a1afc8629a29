// SPDX-License-Identifier: Apache-2.0
/**
 * End to end: Linux's own virtio-vsock driver (AF_VSOCK) in the frontend
 * reaches the backend's example services at CID 2 through the Remote I/O
 * path of the test monitor, with every buffer in vsock0's shared region.
 * The frontend side is test/e2e/frontend/vsockcat.c.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { temporaryDisks } from '../../qemu/disks.ts';
import { bootSystem, CONSOLE_ESCAPE, type SystemSession } from '../../qemu/system.ts';
import { ECHO_PORT } from '../../src/services/echo.ts';
import { KV_PORT } from '../../src/services/kv.ts';
import { platform } from '../../platforms/qemu-aarch64-virt.ts';

let sys: SystemSession;
/** images of the passthrough disks in a temporary directory: a test never touches the user's */
const disks = temporaryDisks(platform);

test.before(async () => {
  // every system's frontend carries vsockcat (qemu/frontend/tool.ts)
  sys = await bootSystem({ timeoutMs: 540_000, disks: disks.disks, log: () => {}, logFile: process.env.BAOJS_SYSTEM_LOG });
});

test.after(async () => {
  if (sys) {
    sys.send('poweroff -f\n');
    await sys.close(10_000);
  }
  disks.remove();
});

test('Linux binds its virtio-vsock driver to vsock0 and reads the guest CID', async () => {
  const out = await sys.check('for d in /sys/bus/virtio/devices/*; do echo "$(cat $d/device) $(basename $(readlink $d/driver))"; done');
  assert.match(out, /^0x0013 vmw_vsock_virtio_transport$/m);
});

test('echo: 16 MiB through one connection come back byte for byte, with equal checksums', async () => {
  const out = await sys.check(`vsockcat echo ${ECHO_PORT} ${16 << 20} 12345`, 400_000);
  const m = /vsockcat: echo bytes (\d+) sent ([0-9a-f]{16}) received ([0-9a-f]{16}) ns \d+ ok/.exec(out);
  assert.ok(m, out);
  assert.is(Number(m[1]), 16 << 20);
  assert.is(m[3], m[2]);
});

test('64 connections at once each echo their own stream', async () => {
  const out = await sys.check(`vsockcat many ${ECHO_PORT} 64 65536`, 400_000);
  assert.match(out, /vsockcat: many connections 64 bytes 65536 failed 0 ok/);
});

test('a client that never reads is held back by credit; another connection still echoes', async () => {
  const out = await sys.check(`vsockcat noread ${ECHO_PORT} 1048576`, 400_000);
  const m = /vsockcat: noread blocked after (\d+) bytes; second connection echoed 1048576 bytes ok/.exec(out);
  assert.ok(m, out);
  // the backend holds at most its receive and send buffers; Linux buffers the rest on its side
  assert.ok(Number(m[1]) < 4 << 20, `${m[1]} bytes taken before the writer blocked`);
});

test('a connection to a port nobody listens on is refused', async () => {
  const r = await sys.run('vsockcat connect 4242');
  assert.is.not(r.status, 0);
  assert.match(r.output, /vsockcat: connect: (Connection reset by peer|Connection refused)/);
});

test('the key-value store answers over vsock', async () => {
  const out = await sys.check(`vsockcat lines ${KV_PORT} "SET colour blue" "GET colour" "DEL colour" "GET colour" "COUNT"`);
  const answers = [...out.matchAll(/^vsockcat: answer (.*)$/gm)].map((m) => m[1].trim());
  assert.equal(answers, ['OK', 'VALUE blue', 'OK', 'NONE', 'COUNT 0']);
});

test("the backend's counters show vsock0's traffic and no malformed packet", async () => {
  const from = sys.output.length;
  sys.send(`${CONSOLE_ESCAPE}s`);
  await sys.waitFor(/baojs: stats heap: used \d+ KiB/, 30_000);
  const m = /baojs: stats vsock0 \(vsock, dm 4\): .*device: (.*)/.exec(sys.output.slice(from));
  assert.ok(m, sys.output.slice(from));
  const c = Object.fromEntries(m[1].split(/[,;] /).map((kv) => kv.split(' ')).filter((kv) => kv.length === 2).map(([k, v]) => [k, Number(v)]));
  assert.ok(c.bytesIn > 16 << 20 && c.bytesOut > 16 << 20, m[1]);
  assert.ok(c.connections >= 67, m[1]);
  assert.is(c.refused, 1);
  assert.is(c.malformed, 0);
  assert.is(c.creditViolations, 0);
});

test.run();
