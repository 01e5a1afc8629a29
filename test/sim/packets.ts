// SPDX-License-Identifier: Apache-2.0
/**
 * TCP/IP frames for the offload tests, built and checked here with a
 * reference checksum written independently of src/net/offload.ts (a plain
 * RFC 1071 loop over a copy): Ethernet (optionally 802.1Q-tagged), IPv4
 * (RFC 791) or IPv6 (RFC 8200), TCP (RFC 793). A frame as Linux hands it
 * to virtio-net with the checksum offload: the TCP checksum field holds the
 * pseudo-header's folded sum (`~tcp_v4_check(len, saddr, daddr, 0)`), the
 * rest is the device's.
 */
import { macBytes } from '../driver/net.ts';

/** RFC 1071: the ones' complement of the ones' complement sum of `bytes` (big-endian words). */
export function inetChecksum(bytes: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) {
    sum += (bytes[i] << 8) + (i + 1 < bytes.length ? bytes[i + 1] : 0);
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  return ~sum & 0xffff;
}

/** Options of {@link tcpFrame}. */
export interface TcpFrameOptions {
  dst: string;
  src: string;
  v6?: boolean;
  /** an 802.1Q tag with this VLAN id */
  vlan?: number;
  seq?: number;
  /** TCP flags byte (default ACK|PSH) */
  flags?: number;
  ipId?: number;
  /** TCP options, bytes (a multiple of 4) */
  options?: Uint8Array;
}

/** Where the headers of a frame built by {@link tcpFrame} are. */
export interface TcpLayout {
  l3: number;
  l4: number;
  hdrLen: number;
}

/** The layout of a frame {@link tcpFrame} built with `o`. */
export function tcpLayout(o: TcpFrameOptions): TcpLayout {
  const l3 = o.vlan !== undefined ? 18 : 14;
  const l4 = l3 + (o.v6 ? 40 : 20);
  return { l3, l4, hdrLen: l4 + 20 + (o.options?.length ?? 0) };
}

/**
 * A TCP segment carrying `payload`, with complete checksums, or with the
 * TCP checksum partial (`partial`: the pseudo-header's sum, as Linux leaves
 * it for NEEDS_CSUM).
 */
export function tcpFrame(o: TcpFrameOptions, payload: Uint8Array, partial = false): Uint8Array {
  const { l3, l4, hdrLen } = tcpLayout(o);
  const f = new Uint8Array(hdrLen + payload.length);
  macBytes(o.dst, f, 0);
  macBytes(o.src, f, 6);
  let at = 12;
  if (o.vlan !== undefined) {
    f[12] = 0x81; f[13] = 0x00; f[14] = o.vlan >> 8; f[15] = o.vlan & 0xff;
    at = 16;
  }
  const type = o.v6 ? 0x86dd : 0x0800;
  f[at] = type >> 8; f[at + 1] = type & 0xff;
  const tcpLen = f.length - l4;
  if (o.v6) {
    f[l3] = 0x60;
    f[l3 + 4] = tcpLen >> 8; f[l3 + 5] = tcpLen & 0xff;
    f[l3 + 6] = 6; f[l3 + 7] = 64;
    // fd00::1 → fd00::2
    f[l3 + 8] = 0xfd; f[l3 + 23] = 1;
    f[l3 + 24] = 0xfd; f[l3 + 39] = 2;
  } else {
    const tot = f.length - l3;
    f[l3] = 0x45;
    f[l3 + 2] = tot >> 8; f[l3 + 3] = tot & 0xff;
    const id = o.ipId ?? 0x1234;
    f[l3 + 4] = id >> 8; f[l3 + 5] = id & 0xff;
    f[l3 + 6] = 0x40; // DF
    f[l3 + 8] = 64; f[l3 + 9] = 6;
    f.set([10, 0, 0, 1], l3 + 12);
    f.set([10, 0, 0, 2], l3 + 16);
    const c = inetChecksum(f.subarray(l3, l4));
    f[l3 + 10] = c >> 8; f[l3 + 11] = c & 0xff;
  }
  f[l4] = 0x9c; f[l4 + 1] = 0x40; f[l4 + 2] = 0x13; f[l4 + 3] = 0x89;
  const seq = o.seq ?? 0xfffff000; // wraps within a 64 KiB frame
  f[l4 + 4] = seq >>> 24; f[l4 + 5] = (seq >>> 16) & 0xff; f[l4 + 6] = (seq >>> 8) & 0xff; f[l4 + 7] = seq & 0xff;
  f[l4 + 8] = 0; f[l4 + 11] = 1;
  f[l4 + 12] = ((hdrLen - l4) / 4) << 4;
  f[l4 + 13] = o.flags ?? 0x18;
  f[l4 + 14] = 0xff; f[l4 + 15] = 0xff;
  if (o.options) f.set(o.options, l4 + 20);
  f.set(payload, hdrLen);
  const pseudo = pseudoHeader(f, l3, !!o.v6, tcpLen);
  if (partial) {
    const folded = ~inetChecksum(pseudo) & 0xffff;
    f[l4 + 16] = folded >> 8; f[l4 + 17] = folded & 0xff;
  } else {
    const c = inetChecksum(concat(pseudo, f.subarray(l4)));
    f[l4 + 16] = c >> 8; f[l4 + 17] = c & 0xff;
  }
  return f;
}

/** The TCP pseudo-header of the packet at `l3` (RFC 793 / RFC 8200 8.1) for a TCP length. */
function pseudoHeader(f: Uint8Array, l3: number, v6: boolean, tcpLen: number): Uint8Array {
  if (v6) {
    const p = new Uint8Array(40);
    p.set(f.subarray(l3 + 8, l3 + 40), 0);
    p[34] = tcpLen >> 8; p[35] = tcpLen & 0xff; p[39] = 6;
    return p;
  }
  const p = new Uint8Array(12);
  p.set(f.subarray(l3 + 12, l3 + 20), 0);
  p[9] = 6; p[10] = tcpLen >> 8; p[11] = tcpLen & 0xff;
  return p;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const c = new Uint8Array(a.length + b.length);
  c.set(a, 0);
  c.set(b, a.length);
  return c;
}

/** What {@link parseTcp} reads from a frame. */
export interface ParsedTcp {
  v6: boolean;
  seq: number;
  flags: number;
  ipId: number;
  payload: Uint8Array;
  /** IPv4 header checksum verifies (true for IPv6) */
  ipOk: boolean;
  /** the TCP checksum verifies */
  tcpOk: boolean;
  /** the IP length fields match the frame */
  lengthOk: boolean;
}

/** Parses and verifies a TCP frame built like {@link tcpFrame}'s. */
export function parseTcp(f: Uint8Array): ParsedTcp {
  const l3 = f[12] === 0x81 && f[13] === 0 ? 18 : 14;
  const v6 = f[l3 - 2] === 0x86;
  const l4 = l3 + (v6 ? 40 : (f[l3] & 15) * 4);
  const thl = (f[l4 + 12] >> 4) * 4;
  const tcpLen = f.length - l4;
  const lengthOk = v6 ? ((f[l3 + 4] << 8) | f[l3 + 5]) === tcpLen : ((f[l3 + 2] << 8) | f[l3 + 3]) === f.length - l3;
  return {
    v6,
    seq: ((f[l4 + 4] << 24) | (f[l4 + 5] << 16) | (f[l4 + 6] << 8) | f[l4 + 7]) >>> 0,
    flags: f[l4 + 13],
    ipId: v6 ? 0 : (f[l3 + 4] << 8) | f[l3 + 5],
    payload: f.slice(l4 + thl),
    ipOk: v6 || inetChecksum(f.subarray(l3, l4)) === 0,
    tcpOk: inetChecksum(concat(pseudoHeader(f, l3, v6, tcpLen), f.subarray(l4))) === 0,
    lengthOk,
  };
}
