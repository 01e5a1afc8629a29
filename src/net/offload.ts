// SPDX-License-Identifier: Apache-2.0
/**
 * Checksum and segmentation offloads of frames crossing the switch
 * (virtio 1.2 5.1.6.2 and 5.1.6.4; Linux `include/linux/virtio_net.h`
 * `virtio_net_hdr_to_skb`, `net/ipv4/tcp_offload.c` `tcp_gso_segment`).
 *
 * A frontend that negotiated VIRTIO_NET_F_CSUM may send a frame whose
 * transport checksum is partial (NEEDS_CSUM: the pseudo-header sum is in
 * the checksum field, the rest is left to the device); one that negotiated
 * HOST_TSO4/6 may send one TCP segment of up to 64 KiB (gso_type, gso_size)
 * for the device to cut. {@link FrameOffload} carries those header fields
 * with the frame through the switch. A port that takes them as they are
 * ({@link PortOffload}: a frontend whose driver negotiated GUEST_CSUM,
 * GUEST_TSO4/6) gets the frame and the fields; for any other (the uplink,
 * a driver without them) the switch completes the checksum
 * ({@link completeChecksum}) or cuts the frame into segments of gso_size
 * bytes with every checksum complete ({@link Segmenter}), as a NIC would.
 *
 * A transmitting device checks every offloaded frame with
 * {@link checkOffload} before the switch sees it: the header's fields are
 * untrusted, and a frame that passes can always be completed or cut.
 * runtime/netplane.c `np_check_offload` is the same check in C, and
 * GSO_MAX_FRAME and GSO_MAX_SEGS reach it through the generated abi.h.
 */
import { GsoType, NetHdrFlag } from '../devices/net-spec.ts';

/** What a port takes as it is, without the switch completing or cutting it. */
export const enum PortOffload {
  /** frames with a partial checksum (the driver negotiated VIRTIO_NET_F_GUEST_CSUM) */
  CSUM = 1,
  /** TCP/IPv4 GSO frames (GUEST_TSO4, with GUEST_CSUM) */
  TSO4 = 2,
  /** TCP/IPv6 GSO frames (GUEST_TSO6, with GUEST_CSUM) */
  TSO6 = 4,
}

/**
 * Longest GSO frame, bytes: an IP datagram of Linux's GSO_LEGACY_MAX_SIZE
 * (65,536) after an Ethernet header and an 802.1Q tag. A frame without GSO
 * stays within the port's MTU.
 */
export const GSO_MAX_FRAME = 65536 + 14 + 4;

const NEEDS_CSUM = NetHdrFlag.NEEDS_CSUM;
const ETH_P_IP = 0x0800;
const ETH_P_IPV6 = 0x86dd;
const ETH_P_8021Q = 0x8100;
const IPPROTO_TCP = 6;
/** Offset of the checksum in a TCP header (RFC 793). */
const TCP_CSUM_OFFSET = 16;
/** Most segments one GSO frame may be cut into (Linux's GSO_MAX_SEGS is 65,535; a 64 KiB frame of 1-byte segments is absurd). */
export const GSO_MAX_SEGS = 4096;

/** The offload fields of one frame's virtio_net_hdr (5.1.6): what travels with the frame through the switch. */
export class FrameOffload {
  /** NEEDS_CSUM or 0 (DATA_VALID and RSC_INFO are never carried) */
  flags = 0;
  /** {@link GsoType}: NONE, TCPV4 or TCPV6 */
  gsoType = 0;
  /** bytes of the Ethernet, IP and TCP headers of a GSO frame (computed by {@link checkOffload}); 0 without GSO */
  hdrLen = 0;
  /** bytes of TCP payload per segment of a GSO frame; 0 without GSO */
  gsoSize = 0;
  /** with NEEDS_CSUM: where the checksummed bytes start, and the checksum's offset from there (bytes) */
  csumStart = 0;
  csumOffset = 0;

  /** Whether the frame needs anything done (a partial checksum or GSO). */
  get active(): boolean {
    return this.flags !== 0 || this.gsoType !== GsoType.NONE;
  }

  /** What a port must take to get the frame as it is ({@link PortOffload} bits). */
  get needs(): number {
    if (this.gsoType === GsoType.TCPV4) return PortOffload.CSUM | PortOffload.TSO4;
    if (this.gsoType === GsoType.TCPV6) return PortOffload.CSUM | PortOffload.TSO6;
    return this.flags !== 0 ? PortOffload.CSUM : 0;
  }

  /** Copies another's fields. */
  copyFrom(o: FrameOffload): void {
    this.flags = o.flags;
    this.gsoType = o.gsoType;
    this.hdrLen = o.hdrLen;
    this.gsoSize = o.gsoSize;
    this.csumStart = o.csumStart;
    this.csumOffset = o.csumOffset;
  }

  /** No offload. */
  clear(): void {
    this.flags = 0;
    this.gsoType = 0;
    this.hdrLen = 0;
    this.gsoSize = 0;
    this.csumStart = 0;
    this.csumOffset = 0;
  }
}

/**
 * Checks the offload a transmitted frame asks for, `frame[0..len)` with
 * its header's fields in `off` (flags, gso_type, gso_size, csum_start,
 * csum_offset as the driver wrote them); `allowed` is what the port's
 * driver negotiated ({@link PortOffload} bits of CSUM, HOST_TSO4,
 * HOST_TSO6). On success `off` is normalised: flags NEEDS_CSUM or 0,
 * hdr_len computed for GSO frames and 0 otherwise, gso_size 0 without GSO.
 *
 * - NEEDS_CSUM needs CSUM, and csum_start + csum_offset + 2 within the frame
 *   (`virtio_net_hdr_to_skb`'s `skb_partial_csum_set`), csum_start at least
 *   past the Ethernet header;
 * - gso_type TCPV4/TCPV6 needs HOST_TSO4/6 and NEEDS_CSUM; ECN, UDP and any
 *   other type are refused; gso_size at least 1; the frame an Ethernet
 *   (optionally 802.1Q-tagged) IPv4 datagram without options past 60
 *   bytes of header, not a fragment, or an IPv6 packet whose next header
 *   is TCP, with IP lengths that match the frame, TCP at csum_start, the
 *   checksum at csum_offset 16, a TCP header inside the frame; every
 *   segment (headers + gso_size) at most `maxFrame`; at most 4,096
 *   segments.
 *
 * @param maxFrame the longest frame without GSO the port sends (MTU + 14 + 4)
 * @returns '' if the frame may go on, else why not (for the log)
 */
export function checkOffload(frame: Uint8Array, len: number, off: FrameOffload, allowed: number, maxFrame: number): string {
  const needs = (off.flags & NEEDS_CSUM) !== 0;
  off.flags = needs ? NEEDS_CSUM : 0;
  if (needs) {
    if ((allowed & PortOffload.CSUM) === 0) return 'asks for a checksum offload not negotiated (NEEDS_CSUM without VIRTIO_NET_F_CSUM)';
    if (off.csumStart < 14 || off.csumStart + off.csumOffset + 2 > len) return `has csum_start ${off.csumStart} + csum_offset ${off.csumOffset} outside its ${len} bytes`;
  } else {
    off.csumStart = 0;
    off.csumOffset = 0;
  }
  const gso = off.gsoType;
  if (gso === GsoType.NONE) {
    off.hdrLen = 0;
    off.gsoSize = 0;
    return '';
  }
  const want = gso === GsoType.TCPV4 ? PortOffload.TSO4 : gso === GsoType.TCPV6 ? PortOffload.TSO6 : 0;
  if (want === 0 || (allowed & want) === 0) return `asks for a segmentation offload not negotiated (gso_type ${gso})`;
  if (!needs) return 'asks for TCP segmentation without NEEDS_CSUM';
  if (off.gsoSize === 0) return 'asks for TCP segmentation with gso_size 0';
  // the headers: Ethernet (tagged or not), then IP
  let l3 = 14;
  let type = (frame[12] << 8) | frame[13];
  if (type === ETH_P_8021Q) {
    if (len < 18) return 'is a GSO frame too short for its 802.1Q tag';
    type = (frame[16] << 8) | frame[17];
    l3 = 18;
  }
  let l4: number;
  if (gso === GsoType.TCPV4) {
    if (type !== ETH_P_IP || len < l3 + 20) return 'is a TCPV4 GSO frame without an IPv4 header';
    const vihl = frame[l3];
    const ihl = (vihl & 15) * 4;
    if (vihl >> 4 !== 4 || ihl < 20 || len < l3 + ihl) return 'is a TCPV4 GSO frame with a bad IPv4 header';
    if (frame[l3 + 9] !== IPPROTO_TCP) return 'is a TCPV4 GSO frame that is not TCP';
    if (((frame[l3 + 6] & 0x3f) | frame[l3 + 7]) !== 0) return 'is a TCPV4 GSO frame that is an IP fragment';
    if (((frame[l3 + 2] << 8) | frame[l3 + 3]) !== len - l3) return 'is a TCPV4 GSO frame whose IPv4 total length is not its length';
    l4 = l3 + ihl;
  } else {
    if (type !== ETH_P_IPV6 || len < l3 + 40) return 'is a TCPV6 GSO frame without an IPv6 header';
    if (frame[l3] >> 4 !== 6) return 'is a TCPV6 GSO frame with a bad IPv6 header';
    if (frame[l3 + 6] !== IPPROTO_TCP) return 'is a TCPV6 GSO frame whose next header is not TCP';
    if (((frame[l3 + 4] << 8) | frame[l3 + 5]) !== len - l3 - 40) return 'is a TCPV6 GSO frame whose IPv6 payload length is not its length';
    l4 = l3 + 40;
  }
  if (off.csumStart !== l4 || off.csumOffset !== TCP_CSUM_OFFSET) return `is a GSO frame whose checksum (csum_start ${off.csumStart}, csum_offset ${off.csumOffset}) is not TCP's at ${l4}`;
  if (len < l4 + 20) return 'is a GSO frame without a TCP header';
  const thl = (frame[l4 + 12] >> 4) * 4;
  if (thl < 20 || len < l4 + thl) return 'is a GSO frame with a bad TCP header';
  const hdrLen = l4 + thl;
  if (hdrLen + off.gsoSize > maxFrame) return `is a GSO frame whose segments (${hdrLen} + ${off.gsoSize} bytes) exceed the MTU`;
  if (Math.ceil((len - hdrLen) / off.gsoSize) > GSO_MAX_SEGS) return `is a GSO frame of more than ${GSO_MAX_SEGS} segments`;
  off.hdrLen = hdrLen;
  return '';
}

/**
 * A sum of `buf[start..end)` as {@link onesSum} computes it from 0, folded
 * or not: the TypeScript one ({@link sumOf}) or a host's accelerator
 * (Host.inetSum, runtime/inetsum.h).
 */
export type SumFn = (buf: Uint8Array, start: number, end: number) => number;

/** {@link onesSum} from 0: the reference {@link SumFn}. */
export const sumOf: SumFn = (buf, start, end) => onesSum(buf, start, end, 0);

/**
 * The 16-bit ones' complement sum (RFC 1071) of `buf[start..end)` added to
 * `sum`, not folded: big-endian words, an odd last byte padded with zero.
 * The result stays below 2^53 for any frame.
 */
export function onesSum(buf: Uint8Array, start: number, end: number, sum: number): number {
  let s = sum;
  let i = start;
  const even = end - ((end - start) & 1);
  for (; i + 8 <= even; i += 8) {
    s += ((buf[i] << 8) | buf[i + 1]) + ((buf[i + 2] << 8) | buf[i + 3]) + ((buf[i + 4] << 8) | buf[i + 5]) + ((buf[i + 6] << 8) | buf[i + 7]);
  }
  for (; i < even; i += 2) s += (buf[i] << 8) | buf[i + 1];
  if (even !== end) s += buf[end - 1] << 8;
  return s;
}

/** A {@link onesSum} folded to 16 bits (end-around carries): 0..0xffff. */
export function foldSum(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s % 0x10000) + Math.floor(s / 0x10000);
  return s;
}

/** The 16-bit ones' complement of a folded {@link onesSum}: the TCP or UDP checksum to store (0 is sent as 0xffff, as Linux's CSUM_MANGLED_0). */
export function foldChecksum(sum: number): number {
  const c = ~foldSum(sum) & 0xffff;
  return c === 0 ? 0xffff : c;
}

/**
 * Completes a partial checksum in place (what a NIC does for NEEDS_CSUM):
 * the ones' complement sum from csum_start to the end of the frame, the
 * checksum field included (it holds the pseudo-header's sum), stored at
 * csum_start + csum_offset. `off` was checked by {@link checkOffload}.
 */
export function completeChecksum(frame: Uint8Array, len: number, off: FrameOffload, sum: SumFn = sumOf): void {
  const at = off.csumStart + off.csumOffset;
  const c = foldChecksum(sum(frame, off.csumStart, len));
  frame[at] = c >>> 8;
  frame[at + 1] = c & 0xff;
}

/**
 * Cuts TCP GSO frames into segments, as Linux's `tcp_gso_segment` and a
 * NIC's TSO do: each segment is the frame's headers and up to gso_size
 * bytes of its payload; IPv4 total length, identification (+1 per segment)
 * and header checksum, or IPv6 payload length, rewritten; TCP sequence
 * number advanced by the payload before it; FIN and PSH kept on the last
 * segment only, CWR on the first only; the TCP checksum complete.
 */
export class Segmenter {
  private buf = new Uint8Array(0);

  /** @param sum sums each segment's TCP header and payload (the host's accelerator, or {@link sumOf}) */
  constructor(private readonly sum: SumFn = sumOf) {}

  /**
   * Calls `emit(segment, length)` for each segment of the GSO frame
   * `frame[0..len)` (its offload checked by {@link checkOffload}); the
   * segment's bytes are valid only during the call.
   * @returns the number of segments
   */
  segment(frame: Uint8Array, len: number, off: FrameOffload, emit: (seg: Uint8Array, len: number) => void): number {
    const hdrLen = off.hdrLen;
    const mss = off.gsoSize;
    const l4 = off.csumStart;
    const v4 = off.gsoType === GsoType.TCPV4;
    const l3 = (frame[12] << 8 | frame[13]) === ETH_P_8021Q ? 18 : 14;
    const thl = hdrLen - l4;
    if (this.buf.length < hdrLen + mss) this.buf = new Uint8Array(hdrLen + mss);
    const out = this.buf;
    const payload = len - hdrLen;
    const seq0 = ((frame[l4 + 4] << 24) | (frame[l4 + 5] << 16) | (frame[l4 + 6] << 8) | frame[l4 + 7]) >>> 0;
    const id0 = (frame[l3 + 4] << 8) | frame[l3 + 5];
    const tcpFlags = frame[l4 + 13];
    // the pseudo-header's addresses: IPv4 source and destination (8 bytes at 12), IPv6's (32 bytes at 8)
    const addrSum = v4 ? onesSum(frame, l3 + 12, l3 + 20, 0) : onesSum(frame, l3 + 8, l3 + 40, 0);
    let n = 0;
    for (let at = 0; at < payload || (at === 0 && n === 0); at += mss) {
      const seg = Math.min(mss, payload - at);
      const last = at + seg >= payload;
      out.set(frame.subarray(0, hdrLen), 0);
      out.set(frame.subarray(hdrLen + at, hdrLen + at + seg), hdrLen);
      const tcpLen = thl + seg;
      if (v4) {
        const tot = l4 - l3 + tcpLen;
        out[l3 + 2] = tot >>> 8;
        out[l3 + 3] = tot & 0xff;
        const id = (id0 + n) & 0xffff;
        out[l3 + 4] = id >>> 8;
        out[l3 + 5] = id & 0xff;
        out[l3 + 10] = 0;
        out[l3 + 11] = 0;
        const ipc = ~foldSum(onesSum(out, l3, l4, 0)) & 0xffff; // RFC 791: no "no checksum", 0 stays 0
        out[l3 + 10] = ipc >>> 8;
        out[l3 + 11] = ipc & 0xff;
      } else {
        out[l3 + 4] = tcpLen >>> 8;
        out[l3 + 5] = tcpLen & 0xff;
      }
      const seq = (seq0 + at) >>> 0;
      out[l4 + 4] = seq >>> 24;
      out[l4 + 5] = (seq >>> 16) & 0xff;
      out[l4 + 6] = (seq >>> 8) & 0xff;
      out[l4 + 7] = seq & 0xff;
      let f = tcpFlags;
      if (!last) f &= ~0x09; // FIN, PSH
      if (n > 0) f &= ~0x80; // CWR
      out[l4 + 13] = f;
      out[l4 + 16] = 0;
      out[l4 + 17] = 0;
      const c = foldChecksum(this.sum(out, l4, hdrLen + seg) + addrSum + IPPROTO_TCP + tcpLen);
      out[l4 + 16] = c >>> 8;
      out[l4 + 17] = c & 0xff;
      emit(out, hdrLen + seg);
      n++;
      if (last) break;
    }
    return n;
  }
}
