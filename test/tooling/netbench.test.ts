// SPDX-License-Identifier: Apache-2.0
// The network benchmark's tool and its parsers (bench/netbench.ts), without
// booting: the lines netbench prints (carriage returns of a console
// included) parse into their numbers, a missing line is an error naming
// the mode, a UDP exchange becomes a rate of the receiver's guest time
// with what was lost, and the reference's card stays on 127.0.0.1. The
// tool is built for arm64 Linux when the cross compiler is there.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { ensureNetbench, netbenchListening, parseTcp, parseUdpRecv, parseUdpSend, udpRate, UDP_FRAME_OVERHEAD } from '../../bench/netbench.ts';
import { referenceNicArgs } from '../../bench/net.ts';

test('udp-send and udp-recv lines parse into their numbers', () => {
  assert.equal(parseUdpSend('$ netbench udp-send 10.0.0.2 5202 64 2048\r\nnetbench: udp-send frame 64 count 2048 ns 40434816 errors 3\r\n'),
    { frame: 64, count: 2048, ns: 40434816, errors: 3 });
  assert.equal(parseUdpRecv('netbench: udp-recv listening on 5202\nnetbench: udp-recv frames 1729 bytes 38038 ns 17145234 reordered 2\n'),
    { frames: 1729, bytes: 38038, ns: 17145234, reordered: 2 });
});

test('TCP lines parse for the mode asked, and only for it', () => {
  assert.equal(parseTcp('netbench: tcp-send bytes 2097152 ns 40434816\r\n', 'tcp-send'), { mode: 'tcp-send', bytes: 2097152, ns: 40434816 });
  assert.equal(parseTcp('netbench: tcp-recv listening on 5201\nnetbench: tcp-recv bytes 2097152 ns 24625648\n', 'tcp-recv'), { mode: 'tcp-recv', bytes: 2097152, ns: 24625648 });
  assert.equal(parseTcp('netbench: tcp-serve bytes 1048576 ns 99\n', 'tcp-serve').bytes, 1048576);
  assert.throws(() => parseTcp('netbench: tcp-recv bytes 1 ns 2\n', 'tcp-send'), /no netbench tcp-send result/);
});

test('a missing result line is an error that shows the output', () => {
  assert.throws(() => parseUdpSend('netbench: connect: Network is unreachable\n'), /no netbench udp-send result in:\nnetbench: connect/);
  assert.throws(() => parseUdpRecv('netbench: udp-recv listening on 5202\n'), /no netbench udp-recv result/);
});

test('a listening mode is seen listening once it said so', () => {
  assert.ok(netbenchListening('netbench: udp-recv listening on 5202\r\n', 'udp-recv'));
  assert.ok(netbenchListening('netbench: tcp-serve listening on 8080\n', 'tcp-serve'));
  assert.not.ok(netbenchListening('netbench: udp-recv listening on 5202\n', 'tcp-recv'));
  assert.not.ok(netbenchListening('', 'tcp-recv'));
});

test('a UDP exchange is a rate of the receiver\'s guest time, first to last frame, with the frames lost', () => {
  const payload = 64 - UDP_FRAME_OVERHEAD;
  const r = udpRate({ frame: 64, count: 2048, ns: 1e9, errors: 0 }, { frames: 1001, bytes: 1001 * payload, ns: 10_000_000, reordered: 1 });
  // 1,000 intervals in 10 ms
  assert.is(r.framesPerSecond, 100_000);
  assert.is(r.mbps, 6.4);
  assert.is(r.lost, 1047);
  assert.is(r.received, 1001);
  assert.is(r.reordered, 1);
});

test('a UDP exchange with fewer than two frames, or bytes that do not match the frame size, has no rate', () => {
  assert.throws(() => udpRate({ frame: 64, count: 10, ns: 1, errors: 0 }, { frames: 1, bytes: 22, ns: 0, reordered: 0 }), /no rate/);
  assert.throws(() => udpRate({ frame: 1514, count: 10, ns: 1, errors: 0 }, { frames: 10, bytes: 220, ns: 100, reordered: 0 }), /payload bytes/);
});

test('the reference\'s card: QEMU\'s virtio-net-device with the restricted pool on a socket netdev on 127.0.0.1 only', () => {
  assert.equal(referenceNicArgs('listen', 40000, '52:54:00:12:34:01'),
    ['-netdev', 'socket,id=n0,listen=127.0.0.1:40000', '-device', 'virtio-net-device,netdev=n0,mac=52:54:00:12:34:01,iommu_platform=on']);
  assert.match(referenceNicArgs('connect', 40000, '52:54:00:12:34:02')[1], /^socket,id=n0,connect=127\.0\.0\.1:40000$/);
  assert.throws(() => referenceNicArgs('listen', 0, '52:54:00:12:34:01'), RangeError);
  assert.throws(() => referenceNicArgs('listen', 65536, '52:54:00:12:34:01'), RangeError);
});

const haveCross = spawnSync('aarch64-linux-gnu-gcc', ['--version']).status === 0;
test('netbench builds as a static arm64 Linux program (with the cross compiler)', () => {
  if (!haveCross) return;
  const elf = ensureNetbench();
  assert.equal([...elf.subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46], 'an ELF file');
  assert.is(elf.readUInt16LE(18), 183, 'EM_AARCH64');
});

test.run();
