// SPDX-License-Identifier: Apache-2.0
/**
 * End to end: two Linux frontends (linux on CPU 0, linux2 on CPU 2), each
 * with Linux's own virtio-net driver on its NIC (net0, net1), joined by the
 * Ethernet switch inside baojs (src/net/switch.ts), under the remio test
 * monitor, with busybox's `ip`, `ping` and `nc`. Frontend 2's shell is
 * reached through its own console (`Ctrl-] 2`, ConsoleSession.onFrontend).
 *
 * - ping both ways;
 * - a 64 MiB TCP transfer frontend 1 → frontend 2 with matching md5sums;
 * - frontend 2 floods broadcast frames (test/e2e/frontend/ethflood.c) while
 *   a transfer completes with the right checksum, and frontend 1 receives
 *   no more of the flood than was sent and than the switch's flood bucket
 *   lets through (under TCG the flooder reaches a few hundred frames a
 *   second, below the bucket's 1,000: what the bucket drops is tested in
 *   test/unit/switch.test.ts);
 * - `ip link set eth0 down` / `up` in frontend 1 in the middle of a
 *   transfer: the transfer completes with the right checksum;
 * - virtio_net unbound from net0 and bound again in the middle of a
 *   transfer (the device is reset and probed again; eth0 is a new
 *   interface, given its address again): the transfer completes with the
 *   right checksum (TCP retransmits what the reset lost), and the new eth0
 *   carries a full transfer after;
 * - the disks of the two frontends (frontend 1's vdc, frontend 2's vdd,
 *   ranges of one physical disk) never see each other's data.
 *
 * Everything asserted is what the guests report (checksums, counts, exit
 * statuses), not wall time; the one rate check compares guest counts with
 * guest time. Throughput is printed in guest time (/proc/uptime; under TCG
 * without -icount it follows the host's load: a figure, not a check).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { temporaryDisks } from '../../qemu/disks.ts';
import { bootSystem, CONSOLE_ESCAPE, frontendAddress, type SystemSession } from '../../qemu/system.ts';
import type { DeviceMetrics } from '../../src/metrics.ts';
import { ETHFLOOD, buildFrontendTool } from '../../qemu/frontend/tool.ts';
import { platform } from '../../platforms/qemu-aarch64-virt.ts';

let sys: SystemSession;
/** images of the passthrough disks in a temporary directory: a test never touches the user's */
const disks = temporaryDisks(platform);
const IP1 = frontendAddress(0);
const IP2 = frontendAddress(1);
/** the switch's default flood bucket (src/net/switch.ts SwitchOptions): frames per second and depth */
const FLOOD_RATE = 1000;
const FLOOD_BURST = 64;
let bootMs = 0;
let port = 6000;

test.before(async () => {
  const t0 = Date.now();
  sys = await bootSystem({
    timeoutMs: 1_500_000, disks: disks.disks, readyTimeoutMs: 300_000, log: () => {}, logFile: process.env.BAOJS_SYSTEM_LOG,
    initramfsExtra: [{ path: ETHFLOOD.path, contents: buildFrontendTool(ETHFLOOD.source) }],
  });
  bootMs = Date.now() - t0;
  console.log(`# both frontends at their shells ${(bootMs / 1000).toFixed(1)} s (wall) after the start`);
});

test.after(async () => {
  if (sys) {
    sys.send('poweroff -f\n');
    await sys.close(10_000);
  }
  disks.remove();
});

/**
 * `out` without what the kernel printed on the console meanwhile
 * (`[  219.074156] random: …` up to its line end), also where it cut into
 * a line of the command's output.
 */
const withoutKernelLines = (out: string): string => out.replace(/\[ *\d+\.\d+\] [^\n]*\n?/g, '');

const md5Of = (out: string): string => {
  const m = /^([0-9a-f]{32}) /m.exec(withoutKernelLines(out));
  if (!m) throw new Error(`no md5 in: ${out}`);
  return m[1];
};

/** Writes `mib` MiB of random bytes to /tmp/tx in frontend 1; returns their md5. */
async function makePayload(mib: number): Promise<string> {
  return md5Of(await sys.check(`dd if=/dev/urandom of=/tmp/tx bs=1M count=${mib} 2>/dev/null && md5sum /tmp/tx`, 240_000));
}

/**
 * Starts, in frontend 2, a listener on a new port that keeps what it
 * receives in its tmpfs and, once the connection ends, writes its md5, byte
 * count and nc's exit status to /tmp/rx.<port>. The listener's stdin is a
 * FIFO it holds open for writing itself, so it never reads an end (busybox
 * nc ends a connection when its stdin ends). Returns the port.
 */
async function listen(): Promise<number> {
  const p = ++port;
  await sys.onFrontend(2, () => sys.check(
    `rm -f /tmp/rx.${p} /tmp/in.${p}; mkfifo /tmp/in.${p}; { (nc -l -p ${p} 0<>/tmp/in.${p} > /tmp/rxdata; rc=$?; { md5sum < /tmp/rxdata; wc -c < /tmp/rxdata; echo "nc exit $rc"; } > /tmp/rx.${p}.tmp; rm -f /tmp/rxdata /tmp/in.${p}; mv /tmp/rx.${p}.tmp /tmp/rx.${p}) </dev/null >/dev/null 2>&1 & }`));
  return p;
}

/** What a listener ({@link listen}) received: md5 and byte count of the data, nc's exit status. */
interface Received { md5: string; bytes: number; rc: number }

/** Waits (polling frontend 2) until the listener on `p` finished; returns what it received. */
async function received(p: number, timeoutMs = 600_000): Promise<Received> {
  return sys.onFrontend(2, async () => {
    const out = await sys.check(`i=0; while [ ! -f /tmp/rx.${p} ] && [ $i -lt ${timeoutMs / 1000} ]; do sleep 1; i=$((i+1)); done; cat /tmp/rx.${p}`, timeoutMs + 30_000);
    // the kernel may print on the same console, even between the file's lines (e.g. "random: crng init done")
    const m = /([0-9a-f]{32}) +-\n+(\d+)\s*\n+nc exit (\d+)\s*$/.exec(withoutKernelLines(out));
    if (!m) throw new Error(`listener on port ${p}: no md5, byte count and exit status in:\n${out}`);
    return { md5: m[1], bytes: Number(m[2]), rc: Number(m[3]) };
  });
}

/**
 * What both frontends say about a transfer that ended short: the sender's
 * exit status (/tmp/tx.rc), each kernel's last messages, TCP counters and
 * free memory, and both ports' metrics. For assertion messages.
 */
async function transferReport(got: Received): Promise<string> {
  const state = 'dmesg | tail -n 15; grep -A1 "^Tcp:" /proc/net/snmp; grep -A1 "^TcpExt:" /proc/net/netstat; grep MemAvailable /proc/meminfo';
  const f1 = await sys.check(`cat /tmp/tx.rc 2>/dev/null || echo "sender still running"; ${state}`, 60_000);
  const f2 = await sys.onFrontend(2, () => sys.check(state, 60_000));
  const m = [await metricsOf('net0'), await metricsOf('net1')].map((x) => JSON.stringify(x.device));
  return `received ${got.bytes} bytes, listener's nc exit ${got.rc}\n--- frontend 1 (sender exit status first):\n${f1}\n--- frontend 2:\n${f2}\n--- net0: ${m[0]}\n--- net1: ${m[1]}`;
}

/** Guest seconds since frontend 1 booted. */
const uptime = async (): Promise<number> => Number((await sys.check('cut -d" " -f1 /proc/uptime')).trim());

/** Feature bits negotiated by Linux's driver of eth0 (sysfs: one '0'/'1' per bit, bit 0 first). */
const negotiated = async (): Promise<string> => (await sys.check('cat /sys/class/net/eth0/device/features')).trim();
/** VIRTIO_NET_F_CSUM, GUEST_CSUM, GUEST_TSO4, GUEST_TSO6, HOST_TSO4, HOST_TSO6, MRG_RXBUF (virtio 1.2 5.1.3) */
const OFFLOAD_BITS = [0, 1, 7, 8, 11, 12, 15];

test('both frontends have eth0 up with their MAC and address, the checksum and TSO offloads negotiated; ping both ways', async () => {
  const features = await negotiated();
  for (const bit of OFFLOAD_BITS) assert.is(features[bit], '1', `feature bit ${bit} negotiated: ${features}`);
  const a = await sys.check('cat /sys/class/net/eth0/address; ip -4 addr show eth0');
  assert.match(a, /52:54:00:12:34:01/);
  assert.match(a, new RegExp(`inet ${IP1}/24`));
  const p1 = await sys.check(`ping -c 5 -W 10 ${IP2}`, 60_000);
  assert.match(p1, /5 packets transmitted, 5 packets received, 0% packet loss/);
  await sys.onFrontend(2, async () => {
    const b = await sys.check('hostname; cat /sys/class/net/eth0/address; ip -4 addr show eth0');
    assert.match(b, /^linux2$/m);
    assert.match(b, /52:54:00:12:34:02/);
    assert.match(b, new RegExp(`inet ${IP2}/24`));
    const p2 = await sys.check(`ping -c 5 -W 10 ${IP1}`, 60_000);
    assert.match(p2, /5 packets transmitted, 5 packets received, 0% packet loss/);
  });
});

/** The metrics record of `name` (`Ctrl-] p`, src/metrics.ts). */
async function metricsOf(name: string): Promise<DeviceMetrics> {
  sys.send(`${CONSOLE_ESCAPE}p`);
  const m = await sys.waitFor(new RegExp(`baojs: metrics ${name}: (\\{.*\\})\\r?\\n`), 30_000);
  await sys.waitFor(/baojs: metrics heap: /, 30_000);
  return JSON.parse(m[1]) as DeviceMetrics;
}

test('a 64 MiB TCP transfer frontend 1 → frontend 2 arrives whole, with the same md5, most of it forwarded by the network plane in C', async () => {
  const want = await makePayload(64);
  const before = await metricsOf('net0');
  const p = await listen();
  const t0 = await uptime();
  await sys.check(`nc ${IP2} ${p} < /tmp/tx`, 600_000);
  const t1 = await uptime();
  const got = await received(p);
  assert.is(got.bytes, 64 << 20);
  assert.is(got.md5, want);
  // frontend 1's data frames: the device counts them all, the plane those it forwarded itself
  const after = await metricsOf('net0');
  const frames = after.device.txFrames - before.device.txFrames;
  const inC = (after.c?.net?.txFrames ?? 0) - (before.c?.net?.txFrames ?? 0);
  console.log(`# net0: ${frames} frames transmitted, ${inC} of them forwarded by the network plane`);
  // at least one frame per 64 KiB (a GSO frame's most), most of them forwarded in C
  assert.ok(frames > (64 << 20) / 65536, `frames transmitted: ${frames}`);
  assert.ok(inC > frames / 2, `forwarded in C: ${inC} of ${frames}`);
  console.log(`# 64 MiB frontend 1 → frontend 2 over TCP: ${(t1 - t0).toFixed(2)} s of frontend 1's guest time, ${(64 / (t1 - t0)).toFixed(1)} MiB/s (TCG, no -icount)`);
});

/** Frames and bytes eth0 of the current frontend transmitted (Linux counts a GSO frame as one). */
const txStats = async (): Promise<[number, number]> => {
  const v = withoutKernelLines(await sys.check('cat /sys/class/net/eth0/statistics/tx_packets /sys/class/net/eth0/statistics/tx_bytes')).trim().split(/\s+/).map(Number);
  return [v[0], v[1]];
};

test('TSO: a 32 MiB file served by httpd in frontend 2 (sendfile) and fetched by wget in frontend 1 arrives with the same md5, sent as GSO frames larger than an MTU', async () => {
  const want = await sys.onFrontend(2, async () => {
    const m = md5Of(await sys.check('mkdir -p /tmp/www && dd if=/dev/urandom of=/tmp/www/blob bs=1M count=32 2>/dev/null && md5sum /tmp/www/blob', 240_000));
    await sys.check('httpd -p 8000 -h /tmp/www');
    return m;
  });
  const before = await sys.onFrontend(2, txStats);
  const got = md5Of(await sys.check(`wget -q -O - http://${IP2}:8000/blob | md5sum`, 600_000));
  const after = await sys.onFrontend(2, txStats);
  await sys.onFrontend(2, () => sys.check('killall httpd; rm -rf /tmp/www'));
  assert.is(got, want);
  const avg = (after[1] - before[1]) / (after[0] - before[0]);
  console.log(`# httpd → wget: frontend 2 sent ${after[0] - before[0]} frames, ${avg.toFixed(0)} bytes on average`);
  // no frame without GSO exceeds 1,514 bytes: an average above it needs GSO frames (how large Linux makes them follows its pacing, which host load moves)
  assert.ok(avg > 1514, `frontend 2's average transmitted frame: ${avg.toFixed(0)} bytes (TSO frames are up to 64 KiB)`);
});

test('frontend 2 floods broadcasts: a transfer still completes with the right md5, and frontend 1 gets at most the switch\'s flood bucket of them', async () => {
  const want = await makePayload(16);
  const p = await listen();
  const seconds = 20;
  // frontend 1 counts the flood while frontend 2 sends it, both in the background
  await sys.check(`{ ethflood count eth0 ${seconds + 5} > /tmp/flood.count 2>&1 & }`);
  await sys.onFrontend(2, () => sys.check(`{ ethflood send eth0 ${seconds} 1514 > /tmp/flood.sent 2>&1 & }`));
  await sys.check(`nc ${IP2} ${p} < /tmp/tx`, 600_000);
  const got = await received(p);
  assert.is(got.md5, want, 'the transfer under the flood arrived whole');
  const sent = await sys.onFrontend(2, () => sys.check(`while [ ! -s /tmp/flood.sent ]; do sleep 1; done; cat /tmp/flood.sent`, (seconds + 60) * 1000));
  const count = await sys.check(`while [ ! -s /tmp/flood.count ]; do sleep 1; done; cat /tmp/flood.count`, (seconds + 60) * 1000);
  const s = /sent (\d+) frames in ([\d.]+) s/.exec(sent);
  const r = /received (\d+) frames in ([\d.]+) s/.exec(count);
  assert.ok(s, sent);
  assert.ok(r, count);
  const [nSent, tSent, nRecv] = [Number(s![1]), Number(s![2]), Number(r![1])];
  console.log(`# flood: frontend 2 sent ${nSent} broadcast frames in ${tSent} s, frontend 1 received ${nRecv}`);
  assert.ok(nRecv > 0, 'flooded frames within the bucket are forwarded');
  assert.ok(nRecv <= nSent, `frontend 1 received ${nRecv} flooded frames, ${nSent} were sent`);
  // the bucket refills at FLOOD_RATE per second of the backend's guest time: allow it 2 s more than the flood lasted
  assert.ok(nRecv <= FLOOD_BURST + FLOOD_RATE * (tSent + 2), `frontend 1 received ${nRecv} flooded frames in ${tSent} s: more than the bucket allows`);
});

test('ip link set eth0 down, then up, in frontend 1 in the middle of a transfer: it completes with the right md5', async () => {
  const want = await makePayload(32);
  const p = await listen();
  await sys.check(`rm -f /tmp/tx.rc; { (nc ${IP2} ${p} < /tmp/tx; echo $? > /tmp/tx.rc) </dev/null >/dev/null 2>&1 & }`);
  // the transfer is still going when the link goes down (test ! -f /tmp/tx.rc)
  await sys.check('sleep 1; test ! -f /tmp/tx.rc && ip link set eth0 down; sleep 2; ip link set eth0 up; ip route | grep -q "10.0.0.0/24 dev eth0"', 60_000);
  const got = await received(p);
  assert.is(got.md5, want);
  assert.is((await sys.check('while [ ! -f /tmp/tx.rc ]; do sleep 1; done; cat /tmp/tx.rc', 120_000)).trim(), '0');
  assert.match(await sys.check(`ping -c 2 -W 10 ${IP2}`, 60_000), / 0% packet loss/);
});

test('virtio_net unbound from net0 and bound again mid-transfer: the device is reset and probed again, the transfer arrives whole, the new eth0 carries a full transfer', async () => {
  const want = await makePayload(32);
  const dev = (await sys.check('basename $(readlink -f /sys/class/net/eth0/device)')).trim();
  assert.match(dev, /^virtio\d+$/);
  const p = await listen();
  await sys.check(`rm -f /tmp/tx.rc; { (nc ${IP2} ${p} < /tmp/tx; echo $? > /tmp/tx.rc) </dev/null >/dev/null 2>&1 & }`);
  // the transfer is still going when the driver lets go of the device (test ! -f /tmp/tx.rc)
  await sys.check(`sleep 1; test ! -f /tmp/tx.rc && echo ${dev} > /sys/bus/virtio/drivers/virtio_net/unbind; sleep 1; test ! -e /sys/class/net/eth0; echo ${dev} > /sys/bus/virtio/drivers/virtio_net/bind`, 60_000);
  assert.match(await sys.check(`ip addr add ${IP1}/24 dev eth0 && ip link set eth0 up && cat /sys/class/net/eth0/address`, 60_000), /52:54:00:12:34:01/);
  // the interrupted connection: TCP retransmits what the reset device lost, through the new eth0
  const got = await received(p);
  if (got.bytes !== 32 << 20 || got.rc !== 0) assert.unreachable(`the transfer across the unbind and bind ended short: ${await transferReport(got)}`);
  assert.is(got.md5, want, 'the transfer across the unbind and bind arrived whole');
  assert.is((await sys.check('while [ ! -f /tmp/tx.rc ]; do sleep 1; done; cat /tmp/tx.rc', 600_000)).trim(), '0');
  // the device again: a whole transfer and pings
  assert.match(await sys.check(`ping -c 3 -W 10 ${IP2}`, 60_000), / 0% packet loss/);
  const again = await listen();
  await sys.check(`nc ${IP2} ${again} < /tmp/tx`, 600_000);
  const after = await received(again);
  assert.is(after.bytes, 32 << 20);
  assert.is(after.md5, want);
});

test('the two frontends\' disks are apart: frontend 2\'s vdd (its /dev/vda) and frontend 1\'s vdc never see each other\'s data', async () => {
  const p1 = md5Of(await sys.check('dd if=/dev/urandom of=/tmp/p1 bs=4k count=256 2>/dev/null && dd if=/tmp/p1 of=/dev/vdc bs=4k conv=fsync 2>/dev/null && md5sum /tmp/p1', 120_000));
  const p2 = await sys.onFrontend(2, async () => {
    const sizes = (await sys.check('cat /sys/block/vda/size; ls /dev/vd*')).trim().split('\n');
    assert.is(Number(sizes[0]), (32 << 20) / 512, 'frontend 2 sees one disk, vdd\'s 32 MiB, as vda');
    assert.equal(sizes.slice(1).join(' ').trim().split(/\s+/), ['/dev/vda']);
    return md5Of(await sys.check('dd if=/dev/urandom of=/tmp/p2 bs=4k count=256 2>/dev/null && dd if=/tmp/p2 of=/dev/vda bs=4k conv=fsync 2>/dev/null && md5sum /tmp/p2', 120_000));
  });
  assert.is.not(p1, p2);
  // each reads back its own pattern, with the caches dropped
  assert.is(md5Of(await sys.check('echo 3 > /proc/sys/vm/drop_caches; dd if=/dev/vdc bs=4k count=256 iflag=direct 2>/dev/null | md5sum', 120_000)), p1);
  await sys.onFrontend(2, async () => {
    assert.is(md5Of(await sys.check('echo 3 > /proc/sys/vm/drop_caches; dd if=/dev/vda bs=4k count=256 iflag=direct 2>/dev/null | md5sum', 120_000)), p2);
    // and frontend 1's disks are not frontend 2's to reach: no other block device, no window mapped
    assert.not.match(await sys.check('cat /proc/partitions'), /vd[b-z]/);
  });
});

test.run();
