// SPDX-License-Identifier: Apache-2.0
/**
 * The network part of `npm run bench`: traffic between two frontends with
 * netbench (bench/frontend/netbench.c), on baojs (net0 → the switch →
 * net1, under the remio test monitor) and on the reference, two standalone
 * QEMU frontends each with QEMU's own `virtio-net-device`, joined by a
 * `-netdev socket` stream on the host's 127.0.0.1; and transfers between
 * a host program and frontend 1 through the backend's uplink (hostfwd on
 * 127.0.0.1).
 *
 * Every figure is guest time of a frontend (CLOCK_MONOTONIC; instructions
 * under `-icount shift=0`) unless it says host time.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import type { Platform, Range } from '../src/config/platform.ts';
import { frontendAddress } from '../qemu/frontend/dts.ts';
import type { FrontendArtifacts } from '../qemu/frontend/build.ts';
import type { ConsoleSession } from '../qemu/frontend/session.ts';
import { bootStandalone, type StandaloneFrontend } from '../qemu/frontend/standalone.ts';
import { UPLINK_GUEST_ADDR } from '../qemu/uplink.ts';
import { bootSystem } from '../qemu/system.ts';
import { ExecLog, execLogArgs } from './execlog.ts';
import { parseTcp, parseUdpRecv, parseUdpSend, udpRate, type TcpResult, type UdpRate } from './netbench.ts';

/** Frontend 1's and frontend 2's shells: the two ends of a measurement. */
export interface NetPeers {
  /** what the two sides are, for log lines */
  label: string;
  /** runs `command` on frontend `n`'s shell; resolves with its output, throws unless it exits 0 */
  check(n: 1 | 2, command: string, timeoutMs: number): Promise<string>;
}

/** The two frontends of the system: frontend 1's console, and frontend 2's through `Ctrl-] 2`. */
export function systemPeers(s: ConsoleSession): NetPeers {
  return {
    label: 'baojs',
    check: (n, command, timeoutMs) => (n === 1 ? s.check(command, timeoutMs) : s.onFrontend(2, () => s.check(command, timeoutMs))),
  };
}

/** TCP port of the receivers. */
const TCP_PORT = 5201;
const UDP_PORT = 5202;
/** Guest ms without a datagram after which udp-recv stops counting. */
const UDP_IDLE_MS = 3000;
/** Frontend 2's output file of the tool running in its background. */
const RECV_OUT = '/tmp/netbench.out';

/**
 * Starts `netbench <args>` in frontend `n`'s background with its output in
 * RECV_OUT, and returns once the tool says it listens (up to 60 guest
 * seconds).
 */
async function startListener(peers: NetPeers, n: 1 | 2, args: string, mode: string): Promise<void> {
  await peers.check(n, `rm -f ${RECV_OUT}; { netbench ${args} > ${RECV_OUT} 2>&1 & }; ` +
    `i=0; while ! grep -q "${mode} listening" ${RECV_OUT} && [ $i -lt 60 ]; do sleep 1; i=$((i+1)); done; cat ${RECV_OUT}; grep -q "${mode} listening" ${RECV_OUT}`, 120_000);
}

/** Waits for the result line of the background tool on frontend `n` (up to `seconds` guest seconds); returns RECV_OUT. */
function collect(peers: NetPeers, n: 1 | 2, result: string, seconds: number, timeoutMs: number): Promise<string> {
  return peers.check(n, `i=0; while ! grep -q "${result}" ${RECV_OUT} && [ $i -lt ${seconds} ]; do sleep 1; i=$((i+1)); done; cat ${RECV_OUT}; grep -q "${result}" ${RECV_OUT}`, timeoutMs);
}

/** Resolves 10.0.0.2 in frontend 1 (and 10.0.0.1 in frontend 2) before a measurement, so that no frame waits for ARP. */
export async function warmUp(peers: NetPeers): Promise<void> {
  await peers.check(1, `ping -c 2 -W 5 ${frontendAddress(1)} > /dev/null`, 120_000);
}

/** One TCP transfer frontend 1 → frontend 2: both sides' results. */
export interface TcpTransfer {
  send: TcpResult;
  recv: TcpResult;
  /** bytes per sender guest µs (= MB/s), from connected to the receiver's end */
  mbps: number;
}

/** Sends `bytes` from frontend 1 (netbench tcp-send) to frontend 2 (netbench tcp-recv). */
export async function tcpTransfer(peers: NetPeers, bytes: number): Promise<TcpTransfer> {
  await startListener(peers, 2, `tcp-recv ${TCP_PORT}`, 'tcp-recv');
  const send = parseTcp(await peers.check(1, `netbench tcp-send ${frontendAddress(1)} ${TCP_PORT} ${bytes}`, 1_800_000), 'tcp-send');
  const recv = parseTcp(await collect(peers, 2, 'tcp-recv bytes', 60, 120_000), 'tcp-recv');
  if (send.bytes !== bytes || recv.bytes !== bytes) throw new Error(`${peers.label} TCP: sent ${send.bytes}, received ${recv.bytes} of ${bytes} bytes`);
  return { send, recv, mbps: (bytes / send.ns) * 1e3 };
}

/** Sends `count` UDP datagrams of `frame`-byte Ethernet frames from frontend 1 to frontend 2 and counts what arrived. */
export async function udpExchange(peers: NetPeers, frame: number, count: number): Promise<UdpRate> {
  await startListener(peers, 2, `udp-recv ${UDP_PORT} ${count} ${UDP_IDLE_MS}`, 'udp-recv');
  const send = parseUdpSend(await peers.check(1, `netbench udp-send ${frontendAddress(1)} ${UDP_PORT} ${frame} ${count}`, 1_800_000));
  const recv = parseUdpRecv(await collect(peers, 2, 'udp-recv frames', 120, 300_000));
  return udpRate(send, recv);
}

// ---- the reference: QEMU's virtio-net-device in two standalone frontends ------------

/** What the reference pair needs from the bench. */
export interface NetReferenceOptions {
  platform: Platform;
  artifacts: FrontendArtifacts;
  /** the restricted DMA pool of each side (frontend 1's, frontend 2's): the net devices' shared regions */
  pools: [Range, Range];
  /** MACs of the two cards */
  macs: [string, string];
  icount: string;
  /** log file of each side */
  logFiles: [string, string];
}

/** The reference pair: peers, and an end that powers both off. */
export interface NetReference extends NetPeers {
  frontends: StandaloneFrontend[];
  /** the host port of the socket netdev (127.0.0.1) */
  port: number;
  shutdown(): Promise<void>;
}

/** A free TCP port on 127.0.0.1, taken from the system and released. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * The QEMU arguments of the reference's card: QEMU's `virtio-net-device`
 * (VIRTIO_F_ACCESS_PLATFORM: Linux bounces through the restricted pool, as
 * under Bao) on a `-netdev socket` that listens on, or connects to,
 * 127.0.0.1:`port` (a TCP stream between the two QEMUs, nothing else).
 * A socket netdev has no virtio-net header: QEMU offers no checksum or
 * segmentation offload on it, as baojs's switch does not.
 */
export function referenceNicArgs(side: 'listen' | 'connect', port: number, mac: string): string[] {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`port ${port} is not a TCP port (1..65535)`);
  return ['-netdev', `socket,id=n0,${side}=127.0.0.1:${port}`, '-device', `virtio-net-device,netdev=n0,mac=${mac},iommu_platform=on`];
}

/**
 * Boots the reference pair one after the other (frontend 1's QEMU listens
 * on the socket, frontend 2's connects), each at its own address
 * (`baojs.ip=`, 10.0.0.1/24 and 10.0.0.2/24 as on the system), under
 * `-icount`, with a time limit and ended by its own PID.
 */
export async function bootNetReference(o: NetReferenceOptions): Promise<NetReference> {
  const port = await freePort();
  const frontends: StandaloneFrontend[] = [];
  const shutdown = async (): Promise<void> => {
    for (const f of frontends.reverse()) await f.shutdown();
  };
  try {
    for (const i of [0, 1] as const) {
      frontends.push(await bootStandalone({
        platform: o.platform, artifacts: o.artifacts, restrictedPool: o.pools[i], conduit: 'smc', icount: o.icount,
        append: `baojs.hostname=ref${i + 1} baojs.ip=${frontendAddress(i)}/24`,
        qemuArgs: referenceNicArgs(i === 0 ? 'listen' : 'connect', port, o.macs[i]),
        timeoutMs: 1_800_000, readyTimeoutMs: 180_000, logFile: o.logFiles[i],
      }));
    }
  } catch (e) {
    await shutdown();
    throw e;
  }
  return {
    label: 'qemu', frontends, port, shutdown,
    check: (n, command, timeoutMs) => frontends[n - 1].check(command, timeoutMs),
  };
}

// ---- the uplink: a host program ↔ frontend 1 through hostfwd -------------------------

/** One transfer through the uplink. */
export interface UplinkTransfer {
  direction: 'host-to-frontend' | 'frontend-to-host';
  bytes: number;
  /** frontend 1's guest ns (tcp-recv: first byte to the end; tcp-serve: accepted to the host's close) */
  guestNs: number;
  /** MB/s in frontend 1's guest time */
  guestMbps: number;
  /** host ns from the host's connect to the connection's close */
  hostNs: number;
  /** MB/s in host time */
  hostMbps: number;
}

/** Makes frontend 1 reachable behind the uplink: 10.0.2.15/24 on its eth0 as well (the address the hostfwd leads to). */
export async function uplinkAddress(s: ConsoleSession): Promise<void> {
  await s.check(`ip addr add ${UPLINK_GUEST_ADDR}/24 dev eth0 2>/dev/null; ip -4 addr show eth0 | grep -q ${UPLINK_GUEST_ADDR}`, 60_000);
}

/**
 * One host connection to 127.0.0.1:`hostPort`: writes `send` bytes (then
 * ends its side) or only reads; resolves at the close with the bytes read
 * and the host ns it took, or rejects after `timeoutMs`.
 */
function hostConnection(hostPort: number, send: number, timeoutMs: number): Promise<{ received: number; ns: number }> {
  return new Promise((resolve, reject) => {
    const chunk = Buffer.alloc(65536, 0x5a);
    let received = 0;
    const t0 = process.hrtime.bigint();
    const c = createConnection({ host: '127.0.0.1', port: hostPort });
    const timer = setTimeout(() => { c.destroy(); reject(new Error(`uplink: the host connection was not done after ${timeoutMs} ms (${received} bytes read)`)); }, timeoutMs);
    c.on('data', (d: Buffer) => { received += d.length; });
    c.on('error', () => {});
    c.on('close', () => { clearTimeout(timer); resolve({ received, ns: Number(process.hrtime.bigint() - t0) }); });
    if (send > 0) {
      c.once('connect', () => {
        let left = send;
        const pump = (): void => {
          while (left > 0) {
            const n = Math.min(left, chunk.length);
            left -= n;
            if (!c.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
              c.once('drain', pump);
              return;
            }
          }
          c.end();
        };
        pump();
      });
    }
  });
}

/**
 * `bytes` from a host program to frontend 1 (netbench tcp-recv behind the
 * hostfwd), then `bytes` from frontend 1 (netbench tcp-serve) to the host
 * program. QEMU's user network accepts on 127.0.0.1 before it reaches the
 * frontend; a connection that ends with nothing moved is tried again.
 */
export async function uplinkTransfers(s: ConsoleSession, hostPort: number, guestPort: number, bytes: number): Promise<UplinkTransfer[]> {
  const peers: NetPeers = { label: 'uplink', check: (_n, command, timeoutMs) => s.check(command, timeoutMs) };
  const out: UplinkTransfer[] = [];
  const figure = (direction: UplinkTransfer['direction'], guest: TcpResult, hostNs: number): UplinkTransfer => ({
    direction, bytes, guestNs: guest.ns, guestMbps: (bytes / guest.ns) * 1e3, hostNs, hostMbps: (bytes / hostNs) * 1e3,
  });
  // host → frontend 1
  await startListener(peers, 1, `tcp-recv ${guestPort}`, 'tcp-recv');
  let host = { received: 0, ns: 0 };
  for (let attempt = 0; ; attempt++) {
    host = await hostConnection(hostPort, bytes, 1_800_000);
    const got = await s.check(`sleep 1; cat ${RECV_OUT}`, 60_000);
    if (/tcp-recv bytes/.test(got) || attempt >= 10) break;
  }
  const down = parseTcp(await collect(peers, 1, 'tcp-recv bytes', 60, 120_000), 'tcp-recv');
  if (down.bytes !== bytes) throw new Error(`uplink: frontend 1 received ${down.bytes} of ${bytes} bytes`);
  out.push(figure('host-to-frontend', down, host.ns));
  // frontend 1 → host
  await startListener(peers, 1, `tcp-serve ${guestPort} ${bytes}`, 'tcp-serve');
  for (let attempt = 0; ; attempt++) {
    host = await hostConnection(hostPort, 0, 1_800_000);
    if (host.received > 0 || attempt >= 10) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  const up = parseTcp(await collect(peers, 1, 'tcp-serve bytes', 60, 120_000), 'tcp-serve');
  if (host.received !== bytes || up.bytes !== bytes) throw new Error(`uplink: the host received ${host.received} of ${bytes} bytes`);
  out.push(figure('frontend-to-host', up, host.ns));
  return out;
}

// ---- workloads ----------------------------------------------------------------------

/** One network workload between the two frontends. */
export type NetWorkload =
  | { name: string; kind: 'tcp'; /** bytes frontend 1 sends */ bytes: number }
  | { name: string; kind: 'udp'; /** Ethernet frame size, bytes */ frame: number; /** datagrams sent */ count: number };

/** One run of a workload: its figure and what the tool printed. */
export interface NetFigure {
  /** MB/s (10^6 bytes per sender guest second) for TCP, frames received per receiver guest second for UDP */
  value: number;
  tcp?: TcpTransfer;
  udp?: UdpRate;
}

/** The unit of a workload's figure. */
export const netUnit = (w: NetWorkload): string => (w.kind === 'tcp' ? 'MB/s' : 'frames/s');

/** Runs workload `w` once between `peers`' frontend 1 (sender) and frontend 2 (receiver). */
export async function runNetWorkload(peers: NetPeers, w: NetWorkload): Promise<NetFigure> {
  if (w.kind === 'tcp') {
    const tcp = await tcpTransfer(peers, w.bytes);
    return { value: tcp.mbps, tcp };
  }
  const udp = await udpExchange(peers, w.frame, w.count);
  return { value: udp.framesPerSecond, udp };
}

// ---- exact backend instructions ----------------------------------------------------

/** Frames of the two UDP blasts of each size whose difference gives the exact per-frame count. */
export const EXACT_COUNTS = [512, 2048] as const;

/** Backend instructions per forwarded UDP frame, counted exactly ({@link exactNetCosts}). */
export interface ExactNetCost {
  /** instructions per frame that reached frontend 2: the difference of the two blasts */
  perFrame: number;
  /** each blast: frames frontend 2 received, backend instructions from the command's start to its end */
  blasts: { received: number; instructions: number }[];
}

/**
 * An interval of the execution-log boot that another part of the bench
 * marked ({@link exactNetCosts}' `more`): the same `name` twice, with
 * different `units` (requests, characters), gives an exact per-unit count.
 */
export interface ExactInterval {
  name: string;
  /** {@link ExecLog.mark}s around the work */
  from: number;
  to: number;
  /** how many units of work the interval holds */
  units: number;
}

/** Backend instructions per unit of a pair of {@link ExactInterval}s: their difference over the difference of their units. */
export interface ExactCost {
  perUnit: number;
  runs: { units: number; instructions: number }[];
}

/** What {@link exactNetCosts} counted: per forwarded frame, and per unit of each of `more`'s intervals. */
export interface ExactCosts {
  net: Record<string, ExactNetCost>;
  more: Record<string, ExactCost>;
}

/**
 * Backend instructions per forwarded UDP frame, counted exactly: the
 * system booted again with QEMU's execution log of the backend
 * (bench/execlog.ts: only the backend's own instructions, which its
 * service windows in guest time are not while a frontend sends flat out
 * on another vCPU), each frame size sent twice ({@link EXACT_COUNTS}
 * frames), and the difference of the two blasts' instructions over the
 * difference of the frames frontend 2 received: what the console, the
 * commands and the tools' start cost is the same in both and cancels out.
 * Then, in the same boot, `more` marks intervals of its own (pairs of
 * {@link ExactInterval}s, counted the same way).
 */
export async function exactNetCosts(p: Platform, elf: string, extra: { path: string; contents: Buffer | Uint8Array }[], logDir: string, workloads: readonly NetWorkload[],
  more?: (sys: ConsoleSession, log: ExecLog) => Promise<ExactInterval[]>): Promise<ExactCosts> {
  const logPath = join(logDir, `exec-${process.pid}.log`);
  const { base, size } = p.backend.ram;
  const sys = await bootSystem({
    timeoutMs: 3_600_000, readyTimeoutMs: 1_800_000, icount: 'shift=0', firmwareElf: elf, initramfsExtra: extra,
    log: () => {}, logFile: join(logDir, 'system-execlog.log'), qemuArgs: execLogArgs(base, size, logPath),
  });
  const log = new ExecLog(logPath);
  const marks: Record<string, { from: number; to: number; received: number }[]> = {};
  let intervals: ExactInterval[] = [];
  try {
    const peers = systemPeers(sys);
    await warmUp(peers);
    for (const w of workloads) {
      if (w.kind !== 'udp') continue;
      marks[w.name] = [];
      for (const count of EXACT_COUNTS) {
        const from = log.mark();
        const f = await runNetWorkload(peers, { ...w, count });
        marks[w.name].push({ from, to: log.mark(), received: f.udp!.received });
      }
    }
    if (more) intervals = await more(sys, log);
  } finally {
    sys.kill();
    await sys.close(2000);
  }
  const out: ExactCosts = { net: {}, more: {} };
  const f = (x: number): string => Math.round(x).toLocaleString('en-US');
  try {
    for (const [name, m] of Object.entries(marks)) {
      const blasts = m.map((x) => ({ received: x.received, instructions: log.count(x.from, x.to).total }));
      const [a, b] = blasts;
      out.net[name] = { perFrame: (b.instructions - a.instructions) / (b.received - a.received || NaN), blasts };
      console.log(`[bench] exact: ${name}: ${blasts.map((x) => `${f(x.instructions)} backend instructions for ${f(x.received)} frames`).join(', ')}: ${f(out.net[name].perFrame)} per frame`);
    }
    for (const name of new Set(intervals.map((i) => i.name))) {
      const runs = intervals.filter((i) => i.name === name).map((i) => ({ units: i.units, instructions: log.count(i.from, i.to).total }));
      const [a, b] = runs;
      out.more[name] = { perUnit: b ? (b.instructions - a.instructions) / (b.units - a.units || NaN) : NaN, runs };
      console.log(`[bench] exact: ${name}: ${runs.map((x) => `${f(x.instructions)} backend instructions for ${f(x.units)}`).join(', ')}: ${f(out.more[name].perUnit)} each`);
    }
  } finally {
    rmSync(logPath, { force: true });
  }
  return out;
}
