// SPDX-License-Identifier: Apache-2.0
/**
 * End to end: Linux's own virtio drivers in the frontend VM use the baojs
 * devices through the Remote I/O path of the test monitor (trap, ASK,
 * completion, NOTIFY), with all DMA in the shared regions. The Linux shell
 * itself runs on /dev/hvc0, served by baojs: every command of these tests
 * crosses the console device both ways.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { qemuTransport, temporaryDisks } from '../../qemu/disks.ts';
import { bootSystem, type SystemSession } from '../../qemu/system.ts';
import { CONSOLE_ESCAPE } from '../../qemu/system.ts';
import { poolNodeName } from '../../qemu/frontend/dts.ts';
import { DescFlag, DeviceStatus, MmioReg } from '../../src/virtio/spec.ts';
import { BlkStatus, BlkType } from '../../src/devices/blk-request.ts';
import { devicesOfFrontend, type Platform } from '../../src/config/platform.ts';

/**
 * Registers and runs the suite against `platform` (its firmware, its Linux
 * frontend, the monitor of its architecture). The checks of the backend's
 * passthrough disk run only where the description passes one through.
 */
export function runSystemSuite(platform: Platform): void {
  const test = suite(`system ${platform.name}`);

  /** The device models frontend 1 (the shell of these tests) sees. */
  const frontend1Devices = devicesOfFrontend(platform, 0);

  let sys: SystemSession;
  /** images of the passthrough disks in a temporary directory: a test never touches the user's */
  const disks = temporaryDisks(platform);
  const md5Of = (s: string): string => {
    const m = /\b([0-9a-f]{32})\b/.exec(s);
    assert.ok(m, `no md5 in ${JSON.stringify(s)}`);
    return m[1];
  };
  const dev = (name: string) => platform.devices.find((d) => d.name === name)!;
  const hex = (n: number): string => `0x${n.toString(16)}`;
  /** The debugfs directory of device `name`'s restricted DMA pool (qemu/frontend/dts.ts). */
  const poolDir = (name: string): string => `/sys/kernel/debug/${poolNodeName(name, dev(name).shmem.base)}`;

  /** Where {@link rawBlkRequest} keeps vdb's queue 0 and a request's buffers: the last 64 KiB of vdb's shared region. */
  interface RawQueue {
    desc: number;
    avail: number;
    used: number;
    /** 16 bytes for a request header */
    header: number;
    /** the status byte (preset to 0xee) */
    status: number;
    /** 4 KiB of data */
    data: number;
  }

  /** What {@link rawBlkRequest} found after the request. */
  interface RawOutcome {
    /** the used element's id and length */
    usedId: number;
    usedLen: number;
    /** the byte at the last descriptor's address (the status byte) */
    status: number;
    /** what the system printed meanwhile (the backend's log lines) */
    log: string;
  }

  /**
   * One virtio-blk request on vdb sent by hand, past Linux's block layer:
   * unbinds Linux's driver, sets the device up with plain register stores
   * (busybox devmem, as Bao decodes them) and queue 0 on {@link RawQueue},
   * runs `setup`, writes `chain` ([address, length, flags], linked in order
   * from descriptor 0), makes it available after DRIVER_OK (so that the kick
   * reaches the C data plane first, which serves or hands back), kicks, and
   * reads the used ring; then resets the device and binds the driver again.
   * Asserts that exactly one used element came back.
   */
  async function rawBlkRequest(make: (q: RawQueue) => { setup?: string[]; chain: Array<[number, number, number]> }): Promise<RawOutcome> {
    const vdb = dev('vdb');
    const w = vdb.window.base;
    const base = vdb.shmem.base + vdb.shmem.size - 0x10000; // unused while the driver is unbound
    const q: RawQueue = { desc: base, avail: base + 0x1000, used: base + 0x2000, header: base + 0x3000, status: base + 0x4000, data: base + 0x5000 };
    const { setup = [], chain } = make(q);
    const statusAddr = chain[chain.length - 1][0];
    const name = (await sys.check(`basename $(readlink /sys/block/vdb/device)`)).trim();
    await sys.check(`echo ${name} > /sys/bus/virtio/drivers/virtio_blk/unbind`);
    const from = sys.output.length;
    const desc = (i: number, [addr, len, flags]: [number, number, number]): string[] => [
      `devmem ${hex(q.desc + 16 * i)} 32 ${hex(addr)}`, `devmem ${hex(q.desc + 16 * i + 4)} 32 0`,
      `devmem ${hex(q.desc + 16 * i + 8)} 32 ${len}`, `devmem ${hex(q.desc + 16 * i + 12)} 32 ${hex(flags | ((flags & DescFlag.NEXT ? i + 1 : 0) << 16))}`,
    ];
    const reg = (r: MmioReg, v: number): string => `devmem ${hex(w + r)} 32 ${hex(v)}`;
    const steps = [
      reg(MmioReg.Status, 0), reg(MmioReg.Status, DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER),
      reg(MmioReg.DriverFeaturesSel, 1), reg(MmioReg.DriverFeatures, 1), reg(MmioReg.DriverFeaturesSel, 0), reg(MmioReg.DriverFeatures, 0), // VERSION_1
      reg(MmioReg.Status, DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER | DeviceStatus.FEATURES_OK), reg(MmioReg.QueueSel, 0), reg(MmioReg.QueueNum, 8),
      reg(MmioReg.QueueDescLow, q.desc), reg(MmioReg.QueueDescHigh, 0),
      reg(MmioReg.QueueDriverLow, q.avail), reg(MmioReg.QueueDriverHigh, 0),
      reg(MmioReg.QueueDeviceLow, q.used), reg(MmioReg.QueueDeviceHigh, 0),
      ...setup,
      ...chain.flatMap((d, i) => desc(i, d)),
      `devmem ${hex(statusAddr)} 8 0xee`, `devmem ${hex(q.used)} 32 0`,
      `devmem ${hex(q.avail)} 32 0`, `devmem ${hex(q.avail + 4)} 32 0`, // avail: idx 0, ring[0] = head 0
      reg(MmioReg.QueueReady, 1), reg(MmioReg.Status, DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER | DeviceStatus.FEATURES_OK | DeviceStatus.DRIVER_OK),
    ];
    for (let i = 0; i < steps.length; i += 12) await sys.check(steps.slice(i, i + 12).join(' && '), 60_000); // lines under 1,000 bytes
    await sys.check(`devmem ${hex(q.avail)} 32 0x10000 && ${reg(MmioReg.QueueNotify, 0)}`, 60_000); // avail idx 1; kick
    const [usedIdx, usedId, usedLen, status] = (await sys.check(
      `devmem ${hex(q.used)} 32; devmem ${hex(q.used + 4)} 32; devmem ${hex(q.used + 8)} 32; devmem ${hex(statusAddr)} 8`,
    )).trim().split('\n').map((x) => Number(x.trim()));
    const log = sys.output.slice(from);
    assert.is(usedIdx >>> 16, 1, 'one used element');
    await sys.check(`${reg(MmioReg.Status, 0)} && echo ${name} > /sys/bus/virtio/drivers/virtio_blk/bind`);
    await sys.check('until [ -b /dev/vdb ]; do sleep 0.1; done; dd if=/dev/vdb bs=64k count=1 2>/dev/null | wc -c', 60_000);
    return { usedId, usedLen, status, log };
  }

  test.before(async () => {
    // BAOJS_SYSTEM_LOG=<file> keeps everything the system printed, for a failure's post-mortem.
    // Wall-clock limits only (the file's budget is 900 s): 32 s quiet, 172 s beside two CPU-bound processes.
    sys = await bootSystem({ platform: platform.name, timeoutMs: 840_000, disks: disks.disks, readyTimeoutMs: 300_000, log: () => {}, logFile: process.env.BAOJS_SYSTEM_LOG });
  });

  test.after(async () => {
    if (sys) {
      sys.send('poweroff -f\n');
      await sys.close(10_000);
    }
    disks.remove();
  });

  if (platform.backend.passthrough?.length) test('the backend reads its passthrough disk (QEMU virt\'s last transport) with host.mmioRead; the frontend does not see it', async () => {
    // printed once at start: MagicValue "virt", Version 2 (-global virtio-mmio.force-legacy=false), DeviceID 2 (block)
    const pt = platform.backend.passthrough![0];
    const riscv = platform.machine.arch === 'riscv64';
    const last = qemuTransport(platform.machine.arch, 0);
    assert.match(sys.output, `baojs: passthrough ${pt.name}: virtio-mmio v2 device 2 at 0x${last.base.toString(16).padStart(8, '0')} INTID ${last.intid}`);
    assert.is(pt.base, last.base);
    // the frontend's virtio devices are baojs's alone: none of them is a transport of QEMU virt
    const out = await sys.check('for d in /sys/bus/virtio/devices/*; do readlink -f $d; done');
    assert.is(out.trim().split('\n').length, frontend1Devices.length);
    assert.not.match(out, riscv ? /1000[1-8]000\.virtio_mmio/ : /a00[0-3][0-9a-f]{3}\.virtio_mmio/, 'no transport of QEMU virt');
  });

  // Under the monitor each boot's device trees are new; a Bao image's are built once and carry no seed (docs/bao.md).
  if (platform.otherFrontends?.length && !process.env.BAO_IMAGE) test('every frontend\'s CRNG is ready before its init runs (its device tree\'s rng-seed), frontend 2 without a virtio-rng too', async () => {
    // Without it frontend 2's first /dev/urandom read waits in Linux's timer-jitter loop (qemu/frontend/dts.ts freshRngSeed).
    const order = (log: string): string => log.split('\n').map((l) => (/crng init done/.test(l) ? 'crng' : /Run \/init/.test(l) ? 'init' : '')).filter(Boolean).join(' ');
    assert.is(order(await sys.check("dmesg | grep -E 'crng init done|Run /init'")), 'crng init', 'frontend 1');
    const f2 = await sys.onFrontend(2, () => sys.check("dmesg | grep -E 'crng init done|Run /init'; cat /sys/class/misc/hw_random/rng_current"));
    assert.is(order(f2), 'crng init', 'frontend 2');
    assert.match(f2, /^none$/m, 'frontend 2 has no virtio-rng');
  });

  test('Linux finds every baojs device, with VIRTIO_F_ACCESS_PLATFORM and its DMA in the shared regions', async () => {
    const out = await sys.check('ls /dev/vda /dev/vdb /dev/hvc0 /dev/hwrng && cat /sys/block/vda/size /sys/block/vdb/ro /sys/class/misc/hw_random/rng_current');
    assert.match(out, /^131072$/m, 'vda has disk0\'s 64 MiB');
    assert.match(out, /^1$/m, 'vdb is read-only');
    assert.match(out, /virtio_rng/);
    const features = await sys.check('for d in /sys/bus/virtio/devices/*; do echo "$(cat $d/device) $(cat $d/features)"; done');
    const lines = features.trim().split('\n');
    assert.is(lines.length, frontend1Devices.length);
    for (const line of lines) {
      const [, bits] = line.split(' ');
      assert.is(bits[32], '1', `VIRTIO_F_VERSION_1 in ${line}`);
      assert.is(bits[33], '1', `VIRTIO_F_ACCESS_PLATFORM in ${line}`);
    }
    const dmesg = await sys.check('dmesg | grep "assigned reserved memory"');
    for (const d of frontend1Devices) assert.match(dmesg, new RegExp(`${d.name}-dma@${d.shmem.base.toString(16)}`));
    // Each device's restricted pool spans its whole shared region (2 KiB slabs) and holds its rings
    // and RX buffers: nothing of them would be there if the driver allocated outside the pool.
    for (const d of frontend1Devices) {
      const [nslabs, used] = (await sys.check(`cat ${poolDir(d.name)}/io_tlb_nslabs ${poolDir(d.name)}/io_tlb_used`)).trim().split('\n').map(Number);
      assert.is(nslabs, d.shmem.size / 2048, `${d.name}: pool of ${nslabs} slabs`);
      assert.ok(used > 0, `${d.name}: ${used} slabs of its pool in use`);
    }
  });

  test('block: a 16 MiB pattern written with dd reads back with the same checksum after the caches are dropped', async () => {
    await sys.check('dd if=/dev/urandom of=/tmp/pattern bs=1M count=16 2>/dev/null', 120_000);
    const want = md5Of(await sys.check('md5sum /tmp/pattern', 120_000));
    await sys.check('dd if=/tmp/pattern of=/dev/vda bs=1M conv=fsync 2>/dev/null', 240_000);
    await sys.check('sync; echo 3 > /proc/sys/vm/drop_caches');
    assert.is(md5Of(await sys.check('dd if=/dev/vda bs=1M count=16 2>/dev/null | md5sum', 240_000)), want);
    assert.is(md5Of(await sys.check('echo 3 > /proc/sys/vm/drop_caches; dd if=/dev/vda bs=4k count=4096 2>/dev/null | md5sum', 240_000)), want);
    // The data itself bounces through vda's pool, i.e. its shared region: a direct write of a marker
    // leaves the marker in vda's region (swiotlb does not clear a slot it releases) and in no other
    // device's region. Read through /dev/mem (the frontend's kernel has no STRICT_DEVMEM).
    const marker = `baojs-dma-marker-${Date.now().toString(36)}`;
    await sys.check(`yes ${marker} | head -c 65536 > /tmp/marker && dd if=/tmp/marker of=/dev/vda bs=64k seek=1000 oflag=direct 2>/dev/null`, 60_000);
    const inRegion = async (name: string): Promise<number> => {
      const { base, size } = dev(name).shmem;
      const out = await sys.check(`dd if=/dev/mem bs=64k skip=${base / 65536} count=${size / 65536} 2>/dev/null | grep -a -c ${marker} || true`, 120_000);
      // the count is the command's last line of digits: a kernel message (a slow machine's RCU or timer
      // warning, on the same console) may come before or after it
      const counts = out.split('\n').filter((l) => /^\d+$/.test(l.trim()));
      return counts.length ? Number(counts[counts.length - 1].trim()) : NaN;
    };
    const lines = Math.floor(65536 / (marker.length + 1));
    const found = await inRegion('vda');
    assert.ok(found >= lines / 2, `${found} of the ${lines} marker lines written to vda found in vda's shared region`);
    assert.is(await inRegion('vdb'), 0, 'the marker is in no other device\'s region');
    await sys.check('rm /tmp/pattern');
  });

  test('block: mkfs, mount, write files, unmount, fsck, mount again and compare', async () => {
    await sys.check('mke2fs -q /dev/vda 2>&1', 240_000);
    await sys.check('mount -t ext2 /dev/vda /mnt && mkdir /mnt/d && dd if=/dev/urandom of=/mnt/d/a bs=64k count=40 2>/dev/null && echo hello > /mnt/d/b && md5sum /mnt/d/a /mnt/d/b > /tmp/sums && umount /mnt', 240_000);
    const fsck = await sys.check('echo 3 > /proc/sys/vm/drop_caches; e2fsck -fn /dev/vda 2>&1', 240_000);
    assert.match(fsck, /Pass 5: Checking group summary information/);
    assert.match(fsck, /\/dev\/vda: 14\/\d+ files/, 'a fresh filesystem (11 inodes) plus the directory and its two files');
    const out = await sys.check('echo 3 > /proc/sys/vm/drop_caches; mount -t ext4 /dev/vda /mnt && md5sum -c /tmp/sums && cat /mnt/d/b && umount /mnt', 240_000);
    assert.match(out, /\/mnt\/d\/a: OK/);
    assert.match(out, /^hello$/m);
  });

  test('block: concurrent writers and readers on separate ranges all see their own bytes', async () => {
    await sys.check('for i in 1 2; do dd if=/dev/urandom of=/tmp/w$i bs=64k count=32 2>/dev/null; done', 120_000);
    const cmd = [
      'dd if=/tmp/w1 of=/dev/vda bs=64k seek=64 conv=fsync 2>/dev/null &',
      'dd if=/tmp/w2 of=/dev/vda bs=64k seek=128 conv=fsync 2>/dev/null &',
      'dd if=/dev/vda of=/dev/null bs=64k count=64 2>/dev/null &',
      'dd if=/dev/vda of=/dev/null bs=4k skip=100 count=512 2>/dev/null &',
      'wait',
    ].join(' ');
    await sys.check(cmd, 240_000);
    const out = await sys.check('echo 3 > /proc/sys/vm/drop_caches; md5sum /tmp/w1 /tmp/w2; dd if=/dev/vda bs=64k skip=64 count=32 2>/dev/null | md5sum; dd if=/dev/vda bs=64k skip=128 count=32 2>/dev/null | md5sum', 240_000);
    const sums = [...out.matchAll(/\b[0-9a-f]{32}\b/g)].map((m) => m[0]);
    assert.is(sums.length, 4);
    assert.is(sums[2], sums[0]);
    assert.is(sums[3], sums[1]);
  });

  test('block: the read-only disk reads; baojs itself answers a write to it with VIRTIO_BLK_S_IOERR and leaves the disk unchanged', async () => {
    assert.match(await sys.check('dd if=/dev/vdb bs=64k 2>/dev/null | wc -c', 120_000), /^4194304$/m);
    // Linux refuses writes to a disk that offers VIRTIO_BLK_F_RO before baojs sees them: send the
    // OUT request by hand on vdb's queue, past Linux's block layer.
    const sector = 8;
    const sectorSum = async (): Promise<string> => md5Of(await sys.check(`dd if=/dev/vdb bs=512 skip=${sector} count=1 iflag=direct 2>/dev/null | md5sum`));
    const before = await sectorSum();
    const r = await rawBlkRequest((q) => ({
      setup: [
        `devmem ${hex(q.header)} 32 ${BlkType.OUT}`, `devmem ${hex(q.header + 4)} 32 0`,
        `devmem ${hex(q.header + 8)} 32 ${sector}`, `devmem ${hex(q.header + 12)} 32 0`,
        `devmem ${hex(q.data)} 32 0x5a5a5a5a`,
      ],
      chain: [[q.header, 16, DescFlag.NEXT], [q.data, 512, DescFlag.NEXT], [q.status, 1, DescFlag.WRITE]],
    }));
    assert.is(r.usedId, 0, 'the used element is the chain at head 0');
    assert.is(r.usedLen, 1, 'only the status byte was written');
    assert.is(r.status, BlkStatus.IOERR, 'VIRTIO_BLK_S_IOERR');
    assert.match(r.log, new RegExp(`^vdb: write to read-only device \\(sector ${sector}\\)`, 'm'));
    assert.is(await sectorSum(), before, 'the sector is unchanged');
  });

  test('console: bytes typed reach the Linux shell and its output comes back', async () => {
    const out = await sys.check('echo "$((6 * 7)) $(printf "\\x62\\x61\\x6f")"');
    assert.is(out.trim(), '42 bao');
    const long = 'x'.repeat(900);
    assert.is((await sys.check(`echo ${long} | wc -c`)).trim(), String(long.length + 1));
  });

  test('rng: 64 KiB from /dev/hwrng are neither constant nor repeating', async () => {
    const out = await sys.check('dd if=/dev/hwrng of=/tmp/r bs=1k count=64 2>/dev/null; wc -c < /tmp/r; dd if=/tmp/r bs=1k count=32 2>/dev/null | md5sum; dd if=/tmp/r bs=1k skip=32 2>/dev/null | md5sum; gzip -c /tmp/r | wc -c; od -An -tx1 -N16 /tmp/r', 120_000);
    const [bytes, , , gz] = out.trim().split('\n');
    assert.is(bytes.trim(), '65536');
    const sums = [...out.matchAll(/\b[0-9a-f]{32}\b/g)].map((m) => m[0]);
    assert.is.not(sums[0], sums[1], 'the two halves are equal');
    assert.ok(Number(gz.trim()) > 60000, `64 KiB of entropy compressed to ${gz.trim()} bytes`);
  });

  test('robustness: unbinding and rebinding the block driver resets the device, and the disk works again', async () => {
    const name = (await sys.check(`basename $(readlink /sys/block/vda/device)`)).trim();
    await sys.check(`echo ${name} > /sys/bus/virtio/drivers/virtio_blk/unbind`);
    assert.is((await sys.run('ls /dev/vda')).status, 1);
    await sys.check(`echo ${name} > /sys/bus/virtio/drivers/virtio_blk/bind`);
    await sys.check('until [ -b /dev/vda ]; do sleep 0.1; done', 60_000); // bounded by the host's clock, not the guest's
    const out = await sys.check('dd if=/dev/urandom of=/tmp/x bs=4k count=16 2>/dev/null; dd if=/tmp/x of=/dev/vda bs=4k seek=1000 conv=fsync 2>/dev/null; echo 3 > /proc/sys/vm/drop_caches; md5sum /tmp/x; dd if=/dev/vda bs=4k skip=1000 count=16 2>/dev/null | md5sum', 120_000);
    const sums = [...out.matchAll(/\b[0-9a-f]{32}\b/g)].map((m) => m[0]);
    assert.is(sums[1], sums[0]);
  });

  test('robustness: garbage written to a window gets virtio errors and log lines; the other devices keep serving', async () => {
    const vdb = dev('vdb');
    const w = vdb.window.base;
    const name = (await sys.check(`basename $(readlink /sys/block/vdb/device)`)).trim();
    await sys.check(`echo ${name} > /sys/bus/virtio/drivers/virtio_blk/unbind`);
    const from = sys.output.length;
    // Plain single-register loads and stores (busybox devmem), as Bao can decode them.
    const outside = platform.frontend.ram.base + 0x100000; // frontend RAM: outside vdb's shared region
    const steps = [
      `devmem ${hex(w + 0x70)} 32 0`, // reset
      `devmem ${hex(w + 0x70)} 32 3`, // ACKNOWLEDGE | DRIVER
      `devmem ${hex(w + 0x24)} 32 1`, `devmem ${hex(w + 0x20)} 32 1`, // DriverFeatures: VERSION_1
      `devmem ${hex(w + 0x24)} 32 0`, `devmem ${hex(w + 0x20)} 32 0`,
      `devmem ${hex(w + 0x70)} 32 11`, // + FEATURES_OK
      `devmem ${hex(w + 0x30)} 32 0`, `devmem ${hex(w + 0x38)} 32 8`, // QueueSel 0, QueueNum 8
      `devmem ${hex(w + 0x80)} 32 ${hex(outside)}`, `devmem ${hex(w + 0x84)} 32 0`, // QueueDesc outside the region
      `devmem ${hex(w + 0x90)} 32 ${hex(outside + 0x1000)}`, `devmem ${hex(w + 0x94)} 32 0`,
      `devmem ${hex(w + 0xa0)} 32 ${hex(outside + 0x2000)}`, `devmem ${hex(w + 0xa4)} 32 0`,
      `devmem ${hex(w + 0x44)} 32 1`, // QueueReady
      `devmem ${hex(w + 0x70)} 32 15`, // + DRIVER_OK
      `devmem ${hex(w + 0x50)} 32 0`, // QueueNotify
      `devmem ${hex(w + 0x50)} 32 77`, // QueueNotify of a queue that does not exist
      `devmem ${hex(w + 0x100)} 8 0xff`, // a write to the read-only config space
      `devmem ${hex(w + 0x1f0)} 16 0xffff`, // past the config space
    ];
    await sys.check(steps.join(' && '), 60_000);
    const status = Number((await sys.check(`devmem ${hex(w + 0x70)} 32`)).trim());
    assert.ok(status & 0x40, `DEVICE_NEEDS_RESET in Status 0x${status.toString(16)}`);
    assert.is(Number((await sys.check(`devmem ${hex(w)} 32`)).trim()), 0x74726976, 'MagicValue still answers');
    // The other disk still serves.
    const out = await sys.check('dd if=/dev/urandom of=/tmp/y bs=4k count=8 2>/dev/null; dd if=/tmp/y of=/dev/vda bs=4k seek=2000 conv=fsync 2>/dev/null; echo 3 > /proc/sys/vm/drop_caches; md5sum /tmp/y; dd if=/dev/vda bs=4k skip=2000 count=8 2>/dev/null | md5sum', 120_000);
    const sums = [...out.matchAll(/\b[0-9a-f]{32}\b/g)].map((m) => m[0]);
    assert.is(sums[1], sums[0]);
    // The backend logged the rejection.
    const log = sys.output.slice(from);
    assert.match(log, new RegExp(`^vdb: DEVICE_NEEDS_RESET: .*descriptor table ${hex(outside)} outside shmem:vdb`, 'm'));
    assert.match(log, /^vdb: QueueNotify for missing queue 77: ignored/m);
    assert.match(log, /^vdb: 1-byte config write at 0x0: not writable, ignored/m);
    assert.match(log, /^vdb: 2-byte config write at 0xf0: not writable, ignored/m);
    // Reset and hand the device back to Linux.
    await sys.check(`devmem ${hex(w + 0x70)} 32 0 && echo ${name} > /sys/bus/virtio/drivers/virtio_blk/bind`);
    await sys.check('until [ -b /dev/vdb ]; do sleep 0.1; done; dd if=/dev/vdb bs=64k count=1 2>/dev/null | wc -c', 60_000);
  });

  test('robustness: a block request whose header lies outside the shared region completes with VIRTIO_BLK_S_IOERR', async () => {
    // header (readable) in the frontend's own RAM, data and status (writable) in the region
    const r = await rawBlkRequest((q) => ({
      chain: [[platform.frontend.ram.base + 0x100000, 16, DescFlag.NEXT], [q.data, 512, DescFlag.WRITE | DescFlag.NEXT], [q.status, 1, DescFlag.WRITE]],
    }));
    assert.is(r.usedId, 0, 'the used element is the chain at head 0');
    assert.is(r.usedLen, 1, 'only the status byte was written');
    assert.is(r.status, BlkStatus.IOERR, 'VIRTIO_BLK_S_IOERR');
    assert.match(r.log, /^vdb: request at head 0: request header outside the shared region/m);
  });

  /** vda's chains served by the TypeScript device and by the data plane, and the InterruptACKs the data plane answered (Ctrl-] s). */
  const vdaCounts = async (): Promise<{ js: number; dp: number; acks: number }> => {
    const from = sys.output.length;
    sys.send(`${CONSOLE_ESCAPE}s`);
    await sys.waitFor(/baojs: stats heap: used \d+ KiB/, 30_000);
    const m = /baojs: stats vda \(blk, dm 0\): .*device: chains (\d+),.*data plane(?: \(off\))?: InterruptStatus reads \d+, InterruptACKs (\d+), kicks \d+, chains (\d+),/.exec(sys.output.slice(from));
    assert.ok(m, sys.output.slice(from));
    return { js: Number(m[1]), acks: Number(m[2]), dp: Number(m[3]) };
  };
  /** 32 KiB of random bytes written to vda at 4 KiB block `seek` (O_DIRECT, 8 requests) and read back equal. */
  const vdaRoundTrip = async (seek: number): Promise<void> => {
    const out = await sys.check(`dd if=/dev/urandom of=/tmp/z bs=4k count=8 2>/dev/null; dd if=/tmp/z of=/dev/vda bs=4k seek=${seek} oflag=direct 2>/dev/null; md5sum /tmp/z; dd if=/dev/vda bs=4k skip=${seek} count=8 iflag=direct 2>/dev/null | md5sum`, 120_000);
    const sums = [...out.matchAll(/\b[0-9a-f]{32}\b/g)].map((m) => m[0]);
    assert.is(sums.length, 2, out);
    assert.is(sums[1], sums[0]);
  };

  test('Ctrl-] d turns the data plane off and on; meanwhile the TypeScript device serves the same disk', async () => {
    sys.send(`${CONSOLE_ESCAPE}d`);
    await sys.waitFor(new RegExp(`baojs: data plane off \\(${platform.devices.length} devices\\)`), 30_000);
    const a = await vdaCounts();
    await vdaRoundTrip(3000);
    const b = await vdaCounts();
    assert.ok(b.js > a.js, `the TypeScript device served the requests (${a.js} -> ${b.js} chains)`);
    assert.is(b.dp, a.dp, 'the data plane served none while off');
    sys.send(`${CONSOLE_ESCAPE}d`);
    await sys.waitFor(new RegExp(`baojs: data plane on \\(${platform.devices.length} devices\\)`), 30_000);
    await vdaRoundTrip(3100);
    const c = await vdaCounts();
    assert.ok(c.dp > b.dp, `the data plane serves again (${b.dp} -> ${c.dp} chains)`);
  });

  test('Ctrl-] q hands the block queues to the TypeScript device and back; the interrupt registers stay in C meanwhile', async () => {
    sys.send(`${CONSOLE_ESCAPE}q`);
    const off = await sys.waitFor(/baojs: queue plane off \((\d+) devices\)/, 30_000);
    assert.ok(Number(off[1]) >= 1, off[0]);
    const a = await vdaCounts();
    await vdaRoundTrip(3200);
    const b = await vdaCounts();
    assert.ok(b.js >= a.js + 16, `the TypeScript device served the requests (${a.js} -> ${b.js} chains)`);
    assert.is(b.dp, a.dp, 'no block request served in C while off');
    assert.ok(b.acks > a.acks, `the InterruptACKs were still answered in C (${a.acks} -> ${b.acks})`);
    sys.send(`${CONSOLE_ESCAPE}q`);
    await sys.waitFor(/baojs: queue plane on \(\d+ devices\)/, 30_000);
    await vdaRoundTrip(3300);
    const c = await vdaCounts();
    assert.ok(c.dp > b.dp, `the data plane serves again (${b.dp} -> ${c.dp} chains)`);
  });

  /** hvc0's transmit chains and bytes the host's console plane wrote, the typed bytes it placed (Ctrl-] s), and whether it is on. */
  const hvc0Plane = async (): Promise<{ on: boolean; kicks: number; chains: number; bytes: number; typed: number }> => {
    const from = sys.output.length;
    sys.send(`${CONSOLE_ESCAPE}s`);
    await sys.waitFor(/baojs: stats heap: used \d+ KiB/, 30_000);
    const m = /baojs: stats hvc0 \(console, dm 1\): .*; console plane( \(off\))?: kicks (\d+), chains (\d+), bytes (\d+), .*typed bytes (\d+)/.exec(sys.output.slice(from));
    assert.ok(m, sys.output.slice(from));
    return { on: m[1] === undefined, kicks: Number(m[2]), chains: Number(m[3]), bytes: Number(m[4]), typed: Number(m[5]) };
  };

  test('console: the host writes what the bridged frontend prints and places what is typed (the console plane); with Ctrl-] d the TypeScript device does, byte for byte', async () => {
    const command = 'echo "$((6 * 7)) $(printf "\\x62\\x61\\x6f")"; seq 1 200 | md5sum';
    const a = await hvc0Plane();
    assert.ok(a.on, 'on while hvc0 is bridged');
    const inC = await sys.check(command);
    const b = await hvc0Plane();
    assert.ok(b.chains > a.chains && b.kicks > a.kicks, `the plane served the output (${a.chains} -> ${b.chains} chains)`);
    assert.ok(b.bytes - a.bytes >= inC.length, `${b.bytes - a.bytes} bytes written by the plane for ${inC.length} of output`);
    assert.ok(b.typed - a.typed >= command.length / 2, `${b.typed - a.typed} of the ${command.length} typed bytes placed by the plane`);
    sys.send(`${CONSOLE_ESCAPE}d`);
    await sys.waitFor(/baojs: data plane off/, 30_000);
    const c = await hvc0Plane();
    const inTs = await sys.check(command);
    const d = await hvc0Plane();
    assert.ok(!c.on, 'off with the data plane');
    assert.is(d.chains, c.chains, 'nothing written by the plane while off');
    assert.is(d.typed, c.typed, 'nothing typed placed by the plane while off');
    assert.is(inTs, inC, 'the same output from the TypeScript device');
    assert.match(inC, /^42 bao\n[0-9a-f]{32} {2}-/);
    sys.send(`${CONSOLE_ESCAPE}d`);
    await sys.waitFor(/baojs: data plane on/, 30_000);
    assert.is(await sys.check(command), inC);
    const e = await hvc0Plane();
    assert.ok(e.on && e.chains > d.chains && e.typed > d.typed, `the plane serves again (${d.chains} -> ${e.chains} chains, ${d.typed} -> ${e.typed} typed bytes)`);
  });

  test("the backend's counters come out on the console (Ctrl-] s) and show the traffic", async () => {
    const from = sys.output.length;
    sys.send(`${CONSOLE_ESCAPE}s`);
    await sys.waitFor(/baojs: stats heap: used \d+ KiB/, 30_000);
    const text = sys.output.slice(from);
    const vda = /baojs: stats vda \(blk, dm 0\): requests (\d+) \(reads (\d+), writes (\d+)\), notifies (\d+), errors (\d+); device: (.*)/.exec(text);
    assert.ok(vda, text);
    assert.ok(Number(vda[1]) > 100 && Number(vda[4]) > 0, vda[0]);
    // the firmware's C data plane served most block requests (runtime/dataplane.c) ...
    const dp = /data plane: InterruptStatus reads (\d+), InterruptACKs (\d+), kicks (\d+), chains (\d+), reads (\d+), writes (\d+), bytesRead (\d+), bytesWritten (\d+), usedNotifications (\d+), hand-backs (\d+), errors (\d+)/.exec(vda[6]);
    assert.ok(dp, vda[6]);
    assert.ok(Number(dp[4]) > 500 && Number(dp[5]) > 0 && Number(dp[6]) > 0 && Number(dp[8]) > 16 * 2 ** 20, dp[0]);
    assert.is(Number(dp[11]), 0, 'no failed completion or NOTIFY');
    // ... and vdb's handed the out-of-region header back to the TypeScript device, which answered IOERR
    const vdb = /baojs: stats vdb \(blk, dm 3\): .*; device: (.*)/.exec(text);
    assert.ok(vdb, text);
    assert.match(vdb[1], /hand-backs [1-9]/, vdb[0]);
    assert.match(vdb[1], /errors [1-9]\d*, /);
    assert.match(text, /baojs: stats hvc0 \(console, dm 1\): requests [1-9]/);
    // every device's interrupt registers are answered in C
    assert.match(text, /baojs: stats hvc0 \(console, dm 1\): .*; data plane: InterruptStatus reads [1-9]\d*, InterruptACKs [1-9]/);
    assert.match(text, /baojs: stats hwrng \(rng, dm 2\): .*; data plane: InterruptStatus reads [1-9]\d*, InterruptACKs [1-9]/);
    assert.match(text, /baojs: stats hwrng \(rng, dm 2\): requests [1-9]/);
    // the line a person reads first: what was served where, and how long it took; no raw arrays
    assert.match(text, /baojs: stats vda: register accesses [1-9]\d* in C \+ [1-9]\d* in TypeScript; requests [1-9]\d* in C \+ \d+ in TypeScript; mean service time \(guest microseconds\): register read \d/);
    assert.not.match(text, /baojs: (stats )?perf /);
    // and every device's side-effect-free register reads from the register shadow (runtime/regshadow.c)
    for (const n of platform.devices.map((d) => d.name)) assert.match(text, new RegExp(`baojs: stats ${n} \\(.*; data plane.*, shadow reads [1-9]`));
  });

  test.run();
}
