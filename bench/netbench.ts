// SPDX-License-Identifier: Apache-2.0
/**
 * The frontend's network benchmark tool (bench/frontend/netbench.c), built
 * by qemu/frontend/tool.ts, and the parsers of the lines it prints.
 */
import { join } from 'node:path';
import { buildFrontendTool } from '../qemu/frontend/tool.ts';

const ROOT = join(import.meta.dirname, '..');
/** The tool's source. */
export const NETBENCH_SOURCE = join(ROOT, 'bench', 'frontend', 'netbench.c');
/** Where the tool lands inside the frontend's initramfs. */
export const NETBENCH_PATH = '/usr/bin/netbench';

/** Builds (or finds) the static tool; returns its bytes, ready for `InitramfsFile.contents`. */
export function ensureNetbench(): Buffer {
  return buildFrontendTool(NETBENCH_SOURCE);
}

/** What `netbench udp-send` printed. */
export interface UdpSendResult {
  /** Ethernet frame size of each datagram, bytes (headers included, no FCS) */
  frame: number;
  /** datagrams sent */
  count: number;
  /** guest ns from the first send to the last (CLOCK_MONOTONIC; instructions under -icount shift=0) */
  ns: number;
  /** sends that failed (a full queue, an ICMP error from the peer) */
  errors: number;
}

/** What `netbench udp-recv` printed. */
export interface UdpRecvResult {
  /** datagrams received */
  frames: number;
  /** UDP payload bytes received */
  bytes: number;
  /** guest ns from the first datagram to the last */
  ns: number;
  /** datagrams whose sequence number was below one received before them */
  reordered: number;
}

/** What `netbench tcp-send`, `tcp-recv` or `tcp-serve` printed. */
export interface TcpResult {
  mode: 'tcp-send' | 'tcp-recv' | 'tcp-serve';
  /** bytes moved */
  bytes: number;
  /** guest ns: tcp-send from connected, tcp-serve from accepted, tcp-recv from the first byte, each to the end of the transfer */
  ns: number;
}

const clean = (output: string): string => output.replace(/\r/g, '');

/** Parses `netbench udp-send`'s result line out of a command's output. @throws when there is none. */
export function parseUdpSend(output: string): UdpSendResult {
  const m = /netbench: udp-send frame (\d+) count (\d+) ns (\d+) errors (\d+)/.exec(clean(output));
  if (!m) throw new Error(`no netbench udp-send result in:\n${output}`);
  const [frame, count, ns, errors] = m.slice(1).map(Number);
  return { frame, count, ns, errors };
}

/** Parses `netbench udp-recv`'s result line out of a command's output. @throws when there is none. */
export function parseUdpRecv(output: string): UdpRecvResult {
  const m = /netbench: udp-recv frames (\d+) bytes (\d+) ns (\d+) reordered (\d+)/.exec(clean(output));
  if (!m) throw new Error(`no netbench udp-recv result in:\n${output}`);
  const [frames, bytes, ns, reordered] = m.slice(1).map(Number);
  return { frames, bytes, ns, reordered };
}

/** Parses the result line of a TCP mode (`mode`) out of a command's output. @throws when there is none. */
export function parseTcp(output: string, mode: TcpResult['mode']): TcpResult {
  const m = new RegExp(`netbench: ${mode} bytes (\\d+) ns (\\d+)`).exec(clean(output));
  if (!m) throw new Error(`no netbench ${mode} result in:\n${output}`);
  return { mode, bytes: Number(m[1]), ns: Number(m[2]) };
}

/** True once a listening mode (`udp-recv`, `tcp-recv`, `tcp-serve`) has said it listens. */
export function netbenchListening(output: string, mode: 'udp-recv' | 'tcp-recv' | 'tcp-serve'): boolean {
  return new RegExp(`netbench: ${mode} listening on \\d+`).test(clean(output));
}

/** Bytes of the Ethernet, IPv4 and UDP headers in a `udp-send` frame before its payload. */
export const UDP_FRAME_OVERHEAD = 14 + 20 + 8;

/** One UDP rate measurement: what was sent and received, as rates of the receiver's guest time. */
export interface UdpRate {
  /** Ethernet frame size, bytes */
  frame: number;
  sent: number;
  received: number;
  /** sent − received (frames dropped anywhere on the way, at the sender's qdisc included) */
  lost: number;
  reordered: number;
  /** sends that failed at the sender */
  sendErrors: number;
  /** frames received per second of the receiver's guest time (first to last frame) */
  framesPerSecond: number;
  /** Ethernet frame bytes received per receiver guest µs (= MB/s) */
  mbps: number;
}

/**
 * The rate of one `udp-send` → `udp-recv` exchange: frames the receiver
 * got over its guest time from the first to the last.
 * @throws when nothing arrived, or the sizes of the two sides disagree
 */
export function udpRate(send: UdpSendResult, recv: UdpRecvResult): UdpRate {
  if (recv.frames < 2 || recv.ns <= 0) throw new Error(`udp-recv got ${recv.frames} datagrams in ${recv.ns} ns: no rate`);
  if (recv.bytes !== recv.frames * (send.frame - UDP_FRAME_OVERHEAD)) {
    throw new Error(`udp-recv got ${recv.bytes} payload bytes in ${recv.frames} datagrams of ${send.frame}-byte frames`);
  }
  // the first frame opens the measured interval: frames − 1 intervals in ns
  const framesPerSecond = ((recv.frames - 1) / recv.ns) * 1e9;
  return {
    frame: send.frame, sent: send.count, received: recv.frames, lost: send.count - recv.frames, reordered: recv.reordered,
    sendErrors: send.errors, framesPerSecond, mbps: (framesPerSecond * send.frame) / 1e6,
  };
}
