// SPDX-License-Identifier: Apache-2.0
// The passthrough disk images of a run (qemu/disks.ts), without booting: an
// image that is missing, too small for the description's disk ranges or
// held by another QEMU is refused with one line naming the file, and
// nothing is written to it; the default image is made sparse in the cache
// directory; the QEMU arguments put each disk on the transport the
// description names, or say which field is wrong. The lock case starts a
// real QEMU (paused, with a time limit, ended by its PID) that holds the image.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskImageError, defaultDiskImage, diskLockProblem, diskQemuArgs, imageLocked, ioUringAvailable, prepareDisks, temporaryDisks } from '../../qemu/disks.ts';
import { runQemu, qemuProgram } from '../../qemu/qemu.ts';
import { uplinkQemuArgs } from '../../qemu/uplink.ts';
import { diskMinimumSize, type Platform } from '../../src/config/platform.ts';
import { platform as shipped, placement } from '../../platforms/qemu-aarch64-virt.ts';
import { platform as riscv } from '../../platforms/qemu-riscv64-virt.ts';
import { system } from '../../platforms/system.ts';

const MiB = 0x100000;
/** The shipped platform with the frontend disks on pdisk0: its ranges need 96 MiB. */
const p: Platform = { ...shipped, ...system(placement, { storage: true }) };
const work = mkdtempSync(join(tmpdir(), 'baojs-disks-test-'));

/** Runs `f`, expects a DiskImageError; returns its message after checking it is one line naming `file`. */
function refusal(f: () => unknown, file: string): string {
  try {
    f();
  } catch (e) {
    assert.instance(e, DiskImageError);
    const m = (e as Error).message;
    assert.not.match(m, '\n', 'one line');
    assert.ok(m.includes(file), `names ${file}: ${m}`);
    return m;
  }
  return assert.unreachable('accepted') as never;
}

/** A file with known bytes, and a check that they and its mtime are still the same. */
function witness(name: string, size: number): { file: string; unchanged(): void } {
  const file = join(work, name);
  const bytes = Buffer.alloc(size, 0xa5);
  writeFileSync(file, bytes);
  const before = statSync(file);
  return {
    file,
    unchanged() {
      const after = statSync(file);
      assert.is(after.size, before.size, 'size unchanged');
      assert.is(after.mtimeMs, before.mtimeMs, 'not written');
      assert.ok(readFileSync(file).equals(bytes), 'contents unchanged');
    },
  };
}

test('an image given that does not exist: refused, and not created', () => {
  const file = join(work, 'missing.img');
  assert.match(refusal(() => prepareDisks(p, { pdisk0: file }), file), /disk image of pdisk0 does not exist/);
  assert.not.ok(existsSync(file));
});

test('an image smaller than the disk ranges need: refused with both sizes, nothing written', () => {
  const w = witness('small.img', 4096);
  const m = refusal(() => prepareDisks(p, { pdisk0: w.file }), w.file);
  assert.match(m, `has 4096 bytes, the disk ranges of qemu-aarch64-virt need ${96 * MiB}`);
  w.unchanged();
  truncateSync(w.file, 96 * MiB - 4096);
  assert.throws(() => prepareDisks(p, { pdisk0: w.file }), /need 100663296/);
});

test('an image that holds the ranges is used as it is, by absolute path', () => {
  const file = join(work, 'ok.img');
  writeFileSync(file, '');
  truncateSync(file, 96 * MiB);
  const before = statSync(file).mtimeMs;
  assert.equal(prepareDisks(p, { pdisk0: file }), [{ name: 'pdisk0', file }]);
  assert.is(statSync(file).mtimeMs, before);
});

test('a disk name the platform does not have is refused', () => {
  assert.throws(() => prepareDisks(p, { pdisk9: '/x' }), /no passthrough disk pdisk9 in qemu-aarch64-virt \(it has: pdisk0\)/);
});

test('no image given: <cache>/disks/<platform>-<name>.img, made sparse at diskMinimumSize once, then reused', () => {
  const saved = process.env.BAOJS_CACHE;
  process.env.BAOJS_CACHE = join(work, 'cache');
  try {
    const file = defaultDiskImage('qemu-aarch64-virt', 'pdisk0');
    assert.is(file, join(work, 'cache', 'disks', 'qemu-aarch64-virt-pdisk0.img'));
    assert.equal(prepareDisks(p), [{ name: 'pdisk0', file }]);
    const st = statSync(file);
    assert.is(st.size, diskMinimumSize(p, 'pdisk0'));
    assert.ok(st.blocks * 512 < MiB, `sparse: ${st.blocks} blocks`);
    writeFileSync(file, 'kept', { flag: 'r+' });
    prepareDisks(p);
    assert.is(readFileSync(file).subarray(0, 4).toString(), 'kept', 'an existing default image is not made again');
    // the shipped platform has no range on pdisk0 yet: its default image still gets 1 MiB
    process.env.BAOJS_CACHE = join(work, 'cache2');
    prepareDisks(shipped);
    assert.is(statSync(defaultDiskImage('qemu-aarch64-virt', 'pdisk0')).size, Math.max(diskMinimumSize(shipped, 'pdisk0'), MiB));
  } finally {
    if (saved === undefined) delete process.env.BAOJS_CACHE;
    else process.env.BAOJS_CACHE = saved;
  }
});

test('temporaryDisks: sparse images of the right size in their own directory, gone after remove()', () => {
  const t = temporaryDisks(p);
  const file = t.disks.pdisk0;
  assert.ok(file.startsWith(tmpdir()));
  assert.is(statSync(file).size, 96 * MiB);
  t.remove();
  assert.not.ok(existsSync(file));
});

test('diskQemuArgs: transport 31 first, version 2 transports, writeback cache; the uplink second; a description off QEMU\'s order names the field', () => {
  const images = [{ name: 'pdisk0', file: '/images/a.img' }];
  assert.equal(diskQemuArgs(p, images), [
    '-global', 'virtio-mmio.force-legacy=false',
    '-drive', 'if=none,id=pdisk0,format=raw,file=/images/a.img,cache=writeback', '-device', 'virtio-blk-device,drive=pdisk0',
    '-netdev', 'user,id=uplink0,restrict=on,net=10.0.2.0/24', '-device', 'virtio-net-device,netdev=uplink0,mac=52:54:00:0a:00:01',
  ]);
  const three: Platform = JSON.parse(JSON.stringify(p));
  three.backend.passthrough!.push({ ...three.backend.passthrough![0], name: 'pdisk1', base: 0x0a003a00, intid: 77 });
  const args = diskQemuArgs(three, [...images, { name: 'pdisk1', file: '/images/b.img' }]);
  const line = args.join(' ');
  assert.ok(line.indexOf('drive=pdisk0') < line.indexOf('netdev=uplink0') && line.indexOf('netdev=uplink0') < line.indexOf('drive=pdisk1'), 'in description order');
  // the third device of the command line is transport 29: 0x0a003a00, not 0x0a003800
  three.backend.passthrough![2].base = 0x0a003800;
  assert.throws(() => diskQemuArgs(three, [...images, { name: 'pdisk1', file: '/b' }]),
    /^backend\.passthrough\[2\]\.base: 0x0a003800 is not where QEMU virt puts the virtio device added 3rd \(transport 29, 0x0a003a00\)$/);
  // the card first: it would be transport 31, where the description has the disk
  const swapped: Platform = JSON.parse(JSON.stringify(p));
  swapped.backend.passthrough!.reverse();
  assert.throws(() => diskQemuArgs(swapped, images), /^backend\.passthrough\[0\]\.base: 0x0a003c00 is not where QEMU virt puts the virtio device added 1st \(transport 31, 0x0a003e00\)$/);
  const wrongIrq: Platform = JSON.parse(JSON.stringify(p));
  wrongIrq.backend.passthrough![0].intid = 80;
  assert.throws(() => diskQemuArgs(wrongIrq, images), /^backend\.passthrough\[0\]\.intid: 80 is not the interrupt of QEMU virt's transport 31 \(INTID 79\)$/);
  assert.equal(diskQemuArgs({ ...p, backend: { ...p.backend, passthrough: undefined } }, []), [], 'no passthrough device: no argument');
});

test('diskQemuArgs: an image\'s aio mode goes on its -drive; without one QEMU keeps its default', () => {
  const args = diskQemuArgs(p, [{ name: 'pdisk0', file: '/images/a.img', aio: 'io_uring' }]);
  assert.equal(args.slice(2, 4), ['-drive', 'if=none,id=pdisk0,format=raw,file=/images/a.img,cache=writeback,aio=io_uring']);
  assert.not.match(diskQemuArgs(p, [{ name: 'pdisk0', file: '/images/a.img' }]).join(' '), /aio=/);
});

test('ioUringAvailable: true only when QEMU opened the image with aio=io_uring and quit with status 0', () => {
  const dir = mkdtempSync(join(tmpdir(), 'baojs-fake-qemu-'));
  try {
    // a stand-in QEMU that records its arguments and standard input, and exits with the status it is told
    const fake = (name: string, status: number): string => {
      const f = join(dir, name);
      writeFileSync(f, `#!/bin/sh\necho "$@" > ${f}.args\ncat > ${f}.stdin\nexit ${status}\n`, { mode: 0o755 });
      return f;
    };
    const good = fake('good', 0);
    assert.ok(ioUringAvailable(good));
    assert.match(readFileSync(`${good}.args`, 'utf8'), /-drive if=none,id=probe,format=raw,file=\S+\/probe\.img,aio=io_uring/);
    assert.is(readFileSync(`${good}.stdin`, 'utf8'), 'quit\n');
    assert.not.ok(ioUringAvailable(fake('refuses', 1)));
    assert.not.ok(ioUringAvailable(join(dir, 'missing')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('diskQemuArgs on riscv64: transport 7 (0x10008000, PLIC source 8) first, the card on transport 6 (source 7); a wrong source names the field', () => {
  const images = [{ name: 'pdisk0', file: '/images/a.img' }];
  const args = diskQemuArgs(riscv, images);
  assert.equal(args.slice(0, 6), [
    '-global', 'virtio-mmio.force-legacy=false',
    '-drive', 'if=none,id=pdisk0,format=raw,file=/images/a.img,cache=writeback', '-device', 'virtio-blk-device,drive=pdisk0',
  ]);
  assert.match(args.join(' '), /-device virtio-net-device,netdev=uplink0,mac=52:54:00:0a:00:01$/);
  const wrongIrq: Platform = JSON.parse(JSON.stringify(riscv));
  wrongIrq.backend.passthrough![0].intid = 9;
  assert.throws(() => diskQemuArgs(wrongIrq, images), /^backend\.passthrough\[0\]\.intid: 9 is not the interrupt of QEMU virt's transport 7 \(PLIC source 8\)$/);
  const swapped: Platform = JSON.parse(JSON.stringify(riscv));
  swapped.backend.passthrough!.reverse();
  assert.throws(() => diskQemuArgs(swapped, images), /^backend\.passthrough\[0\]\.base: 0x10007000 is not where QEMU virt puts the virtio device added 1st \(transport 7, 0x10008000\)$/);
});

test('the uplink\'s user network: restrict=on always, forwards only from and to the host\'s 127.0.0.1, ports checked', () => {
  const args = diskQemuArgs(p, [{ name: 'pdisk0', file: '/images/a.img' }], {
    uplink0: { hostfwd: [{ hostPort: 40022, guestPort: 22 }], guestfwd: [{ guestPort: 8080, hostPort: 40080 }], mac: '52:54:00:aa:bb:cc' },
  });
  assert.equal(args.slice(-4), [
    '-netdev', 'user,id=uplink0,restrict=on,net=10.0.2.0/24,hostfwd=tcp:127.0.0.1:40022-10.0.2.15:22,guestfwd=tcp:10.0.2.100:8080-tcp:127.0.0.1:40080',
    '-device', 'virtio-net-device,netdev=uplink0,mac=52:54:00:aa:bb:cc',
  ]);
  const t = temporaryDisks(p);
  assert.equal(Object.keys(t.disks), ['pdisk0'], 'no disk image for the network card');
  t.remove();
  assert.throws(() => prepareDisks(p, { uplink0: '/x' }), /no passthrough disk uplink0 in qemu-aarch64-virt \(it has: pdisk0\)/);
  assert.throws(() => diskQemuArgs(p, [{ name: 'pdisk0', file: '/a' }], { uplink0: { hostfwd: [{ hostPort: 0, guestPort: 22 }] } }), /uplink0 hostfwd hostPort: 0 is not a TCP port/);
  assert.throws(() => diskQemuArgs(p, [{ name: 'pdisk0', file: '/a' }], { uplink0: { guestfwd: [{ hostPort: 80, guestPort: 70000 }] } }), /uplink0 guestfwd guestPort: 70000/);
  assert.throws(() => diskQemuArgs(p, [{ name: 'pdisk0', file: '/a' }], { uplink0: { mac: 'nope' } }), /MAC nope/);
});

test('an image another QEMU holds: refused before QEMU starts, and QEMU\'s own refusal becomes the same one line; nothing written', async () => {
  const w = witness('locked.img', 96 * MiB);
  const images = [{ name: 'pdisk0', file: w.file }];
  const machine = ['-M', 'virt', '-nographic', '-nic', 'none', '-S', '-serial', 'none', '-monitor', 'none'];
  // the other run: paused, holding the image, ended by its PID at the latest after 60 s
  const holder = spawn(qemuProgram(), [...machine, ...diskQemuArgs(p, images)], { stdio: 'ignore' });
  const limit = setTimeout(() => holder.kill('SIGKILL'), 60_000);
  try {
    const t0 = Date.now();
    while (!imageLocked(w.file) && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 100));
    assert.ok(imageLocked(w.file), 'the other QEMU took its locks');
    assert.match(refusal(() => prepareDisks(p, { pdisk0: w.file }), w.file), /disk image of pdisk0 is in use by another run \(QEMU could not get its "write" lock\)/);
    // had the check missed it, QEMU would refuse it itself: that output gives the same line
    const r = await runQemu({ args: [...machine, ...diskQemuArgs(p, images)], timeoutMs: 30_000 });
    assert.not.ok(r.timedOut);
    assert.match(r.output, 'Failed to get "write" lock');
    const line = diskLockProblem(r.output, images)!;
    assert.ok(line.includes(w.file) && !line.includes('\n'), line);
    assert.match(line, /in use by another run/);
  } finally {
    clearTimeout(limit);
    holder.kill('SIGKILL');
    await new Promise((r) => (holder.exitCode !== null || holder.signalCode !== null ? r(null) : holder.once('exit', r)));
  }
  assert.not.ok(imageLocked(w.file), 'free again once that QEMU is gone');
  w.unchanged();
  assert.is(diskLockProblem('qemu-system-aarch64: some other failure', images), null);
});

test.after(() => rmSync(work, { recursive: true, force: true }));

test('uplink arguments: restrict=on, forwards on 127.0.0.1 only, a guestfwd command with its commas doubled; bad ports and MACs refused', () => {
  const args = uplinkQemuArgs('uplink0', {
    hostfwd: [{ hostPort: 40000, guestPort: 8080 }],
    guestfwd: [{ guestPort: 8081, hostPort: 40001 }, { guestPort: 8082, command: 'relay a,b' }],
  });
  assert.equal(args, ['-netdev', 'user,id=uplink0,restrict=on,net=10.0.2.0/24,hostfwd=tcp:127.0.0.1:40000-10.0.2.15:8080,' +
    'guestfwd=tcp:10.0.2.100:8081-tcp:127.0.0.1:40001,guestfwd=tcp:10.0.2.100:8082-cmd:relay a,,b',
  '-device', 'virtio-net-device,netdev=uplink0,mac=52:54:00:0a:00:01']);
  assert.throws(() => uplinkQemuArgs('u', { hostfwd: [{ hostPort: 0, guestPort: 1 }] }), /hostPort: 0 is not a TCP port/);
  assert.throws(() => uplinkQemuArgs('u', { mac: '52:54:00' }), /not xx:xx/);
});

test.run();
