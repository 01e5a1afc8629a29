// SPDX-License-Identifier: Apache-2.0
/**
 * src/net/offload.ts against an independent reference (test/sim/packets.ts):
 * partial checksums completed as a NIC completes them, GSO frames cut as
 * Linux's tcp_gso_segment cuts them (IPv4 and IPv6, tagged or not, with TCP
 * options, sequence numbers wrapping), and every malformed header refused
 * with its reason; seeded frames of random sizes.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GsoType } from '../../src/devices/net-spec.ts';
import { checkOffload, completeChecksum, FrameOffload, GSO_MAX_FRAME, onesSum, foldChecksum, PortOffload, Segmenter } from '../../src/net/offload.ts';
import { Prng } from '../sim/prng.ts';
import { fuzzSeeds, withSeed } from '../sim/fuzz.ts';
import { inetChecksum, parseTcp, tcpFrame, tcpLayout, type TcpFrameOptions } from '../sim/packets.ts';

const A = '02:00:00:00:00:01';
const B = '02:00:00:00:00:02';
const ALL = PortOffload.CSUM | PortOffload.TSO4 | PortOffload.TSO6;
const MAX_FRAME = 1500 + 18;

function bytes(n: number, seed: number): Uint8Array {
  const a = new Uint8Array(n);
  new Prng(seed).fill(a);
  return a;
}

/** The offload Linux would ask for a frame built with `o`: partial checksum, and GSO when `mss` is given. */
function offloadOf(o: TcpFrameOptions, mss = 0): FrameOffload {
  const { l4 } = tcpLayout(o);
  const off = new FrameOffload();
  off.flags = 1;
  off.csumStart = l4;
  off.csumOffset = 16;
  if (mss) {
    off.gsoType = o.v6 ? GsoType.TCPV6 : GsoType.TCPV4;
    off.gsoSize = mss;
    off.hdrLen = 0xabcd; // the driver's hint, recomputed
  }
  return off;
}

test('the checksum of RFC 1071\'s example, and an odd length', () => {
  const b = new Uint8Array([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
  assert.is(onesSum(b, 0, 8, 0) % 0xffff, 0xddf2 % 0xffff);
  assert.is(foldChecksum(onesSum(b, 0, 8, 0)), ~0xddf2 & 0xffff);
  for (let n = 0; n < 40; n++) {
    const x = bytes(n, n);
    const want = inetChecksum(x);
    assert.is(foldChecksum(onesSum(x, 0, n, 0)), want === 0 ? 0xffff : want, `length ${n}`);
  }
});

test('a partial checksum completed in place verifies, for IPv4 and IPv6, tagged or not, every length parity', () => {
  for (const v6 of [false, true]) {
    for (const vlan of [undefined, 5]) {
      for (const n of [0, 1, 2, 3, 1399, 1400, 1460]) {
        const o = { dst: B, src: A, v6, vlan };
        const f = tcpFrame(o, bytes(n, n + 1), true);
        const off = offloadOf(o);
        assert.is(checkOffload(f, f.length, off, ALL, MAX_FRAME), '');
        assert.not.ok(parseTcp(f).tcpOk || n === -1, 'partial before');
        completeChecksum(f, f.length, off);
        const p = parseTcp(f);
        assert.ok(p.tcpOk && p.ipOk && p.lengthOk, `v6 ${v6} vlan ${vlan} n ${n}`);
        assert.equal(f, tcpFrame(o, bytes(n, n + 1), false).map((x, i) => (i === tcpLayout(o).l4 + 16 || i === tcpLayout(o).l4 + 17 ? f[i] : x)));
      }
    }
  }
});

test('a 64 KiB GSO frame is cut into MSS segments: payload, sequence numbers, IP ids and lengths, flags and checksums right', () => {
  for (const v6 of [false, true]) {
    for (const vlan of [undefined, 7]) {
      const options = new Uint8Array([1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]); // NOP NOP timestamps
      const o: TcpFrameOptions = { dst: B, src: A, v6, vlan, options, flags: 0x80 | 0x18 | 0x01, seq: 0xffffff00 };
      const { l3, hdrLen } = tcpLayout(o);
      const mss = 1500 - (hdrLen - l3); // Linux's MSS for an MTU of 1500
      const data = bytes(65536 - hdrLen + (vlan ? 4 : 0) - (v6 ? 40 : 0) - 200, 9);
      const f = tcpFrame(o, data, true);
      assert.ok(f.length <= GSO_MAX_FRAME);
      const off = offloadOf(o, mss);
      assert.is(checkOffload(f, f.length, off, ALL, MAX_FRAME), '');
      assert.is(off.hdrLen, hdrLen);
      const segs: Uint8Array[] = [];
      const n = new Segmenter().segment(f, f.length, off, (s, len) => segs.push(s.slice(0, len)));
      assert.is(n, Math.ceil(data.length / mss));
      assert.is(segs.length, n);
      const joined = new Uint8Array(data.length);
      let at = 0;
      segs.forEach((s, i) => {
        const p = parseTcp(s);
        assert.ok(p.ipOk && p.tcpOk && p.lengthOk, `segment ${i}: ip ${p.ipOk} tcp ${p.tcpOk} length ${p.lengthOk}`);
        assert.ok(s.length <= MAX_FRAME);
        assert.is(p.seq, (0xffffff00 + at) >>> 0, `segment ${i} seq`);
        if (!v6) assert.is(p.ipId, (0x1234 + i) & 0xffff);
        const last = i === n - 1;
        assert.is(p.flags & 0x09, last ? 0x09 : 0, `FIN/PSH on segment ${i}`);
        assert.is(p.flags & 0x80, i === 0 ? 0x80 : 0, `CWR on segment ${i}`);
        assert.is(p.flags & 0x10, 0x10, 'ACK everywhere');
        assert.equal(s.subarray(0, 12), f.subarray(0, 12));
        joined.set(p.payload, at);
        at += p.payload.length;
        if (!last) assert.is(p.payload.length, mss);
      });
      assert.is(at, data.length);
      assert.equal(joined, data);
    }
  }
});

test('seeded GSO frames of random sizes and MSS: the segments carry the payload in order and all verify', () => {
  for (const seed of fuzzSeeds(0x0ff10ad, 40)) {
    withSeed(seed, () => {
      const r = new Prng(seed);
      const v6 = r.below(2) === 1;
      const o: TcpFrameOptions = { dst: B, src: A, v6, vlan: r.below(2) ? 3 : undefined, seq: r.u32() >>> 0, ipId: r.below(65536) };
      const mss = 1 + r.below(1500 - (tcpLayout(o).hdrLen - tcpLayout(o).l3));
      const data = bytes(r.below(20000), seed);
      const f = tcpFrame(o, data, true);
      const off = offloadOf(o, mss);
      const why = checkOffload(f, f.length, off, ALL, MAX_FRAME);
      if (Math.ceil(data.length / mss) > 4096) {
        assert.match(why, /more than 4096 segments/);
        return;
      }
      assert.is(why, '');
      const out: number[] = [];
      const seen: Uint8Array[] = [];
      new Segmenter().segment(f, f.length, off, (s, len) => {
        const p = parseTcp(s.slice(0, len));
        assert.ok(p.ipOk && p.tcpOk && p.lengthOk);
        out.push(p.seq);
        seen.push(p.payload);
      });
      const joined = new Uint8Array(seen.reduce((a, p) => a + p.length, 0));
      let at = 0;
      for (const p of seen) { joined.set(p, at); at += p.length; }
      assert.equal(joined, data);
      assert.is(out[0], o.seq);
    });
  }
});

test('malformed offload headers are refused with their reason; a good one is normalised', () => {
  const o = { dst: B, src: A };
  const f = tcpFrame(o, bytes(3000, 1), true);
  const cases: [string, (x: FrameOffload, g: Uint8Array) => void, RegExp, number?][] = [
    ['NEEDS_CSUM without CSUM', () => {}, /NEEDS_CSUM without VIRTIO_NET_F_CSUM/, 0],
    ['csum past the end', (x) => { x.csumOffset = 4000; }, /outside its/],
    ['csum_start in the Ethernet header', (x) => { x.csumStart = 4; x.csumOffset = 0; }, /outside its/],
    ['GSO without HOST_TSO4', (x) => { x.gsoType = GsoType.TCPV4; x.gsoSize = 1448; }, /segmentation offload not negotiated/, PortOffload.CSUM],
    ['TCPV6 on IPv4', (x) => { x.gsoType = GsoType.TCPV6; x.gsoSize = 1448; }, /without an IPv6 header/],
    ['UDP', (x) => { x.gsoType = GsoType.UDP; x.gsoSize = 1448; }, /not negotiated \(gso_type 3\)/],
    ['ECN', (x) => { x.gsoType = GsoType.TCPV4 | GsoType.ECN; x.gsoSize = 1448; }, /not negotiated/],
    ['GSO without NEEDS_CSUM', (x) => { x.flags = 0; x.gsoType = GsoType.TCPV4; x.gsoSize = 1448; }, /without NEEDS_CSUM/],
    ['gso_size 0', (x) => { x.gsoType = GsoType.TCPV4; }, /gso_size 0/],
    ['segments beyond the MTU', (x) => { x.gsoType = GsoType.TCPV4; x.gsoSize = 1500; }, /exceed the MTU/],
    ['not TCP', (x, g) => { x.gsoType = GsoType.TCPV4; x.gsoSize = 1448; g[14 + 9] = 17; }, /not TCP/],
    ['a fragment', (x, g) => { x.gsoType = GsoType.TCPV4; x.gsoSize = 1448; g[14 + 6] = 0x20; }, /fragment/],
    ['a wrong total length', (x, g) => { x.gsoType = GsoType.TCPV4; x.gsoSize = 1448; g[14 + 3]++; }, /total length/],
    ['a bad IHL', (x, g) => { x.gsoType = GsoType.TCPV4; x.gsoSize = 1448; g[14] = 0x44; }, /bad IPv4 header/],
    ['the checksum not at TCP\'s', (x) => { x.gsoType = GsoType.TCPV4; x.gsoSize = 1448; x.csumOffset = 6; }, /is not TCP's/],
    ['a TCP data offset past the frame', (x, g) => { x.gsoType = GsoType.TCPV4; x.gsoSize = 1448; g.fill(0, 54); g[34 + 12] = 0xf0; return g; }, /segments|TCP header/],
    ['not IP', (x, g) => { x.gsoType = GsoType.TCPV4; x.gsoSize = 1448; g[12] = 0x88; }, /without an IPv4 header/],
  ];
  for (const [what, change, want, allowed] of cases) {
    const g = f.slice();
    const x = offloadOf(o);
    change(x, g);
    assert.match(checkOffload(g, g.length, x, allowed ?? ALL, MAX_FRAME), want, what);
  }
  // a short frame whose TCP data offset runs past it
  const short = tcpFrame(o, new Uint8Array(0), true);
  short[34 + 12] = 0xf0;
  const x = offloadOf(o, 100);
  assert.match(checkOffload(short, short.length, x, ALL, MAX_FRAME), /bad TCP header/);
  // good: DATA_VALID dropped from flags, hdr_len computed
  const good = offloadOf(o, 1448);
  good.flags = 3;
  assert.is(checkOffload(f, f.length, good, ALL, MAX_FRAME), '');
  assert.equal([good.flags, good.hdrLen, good.gsoSize], [1, 54, 1448]);
  const plain = new FrameOffload();
  plain.flags = 2; plain.csumStart = 9; plain.gsoSize = 7;
  assert.is(checkOffload(f, f.length, plain, 0, MAX_FRAME), '');
  assert.not.ok(plain.active);
});

test.run();
