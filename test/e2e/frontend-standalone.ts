// SPDX-License-Identifier: Apache-2.0
/**
 * The Linux frontend on plain QEMU, no monitor: the kernel, initramfs and
 * device tree the end-to-end tests use, driving QEMU's own
 * virtio-blk-device (virtio-mmio version 2, VIRTIO_F_ACCESS_PLATFORM) through
 * a restricted DMA pool.
 *
 * Checks, on each architecture (arm64 on qemu-aarch64-virt, riscv64 on
 * qemu-riscv64-virt): the frontend reaches its ready marker; the restricted pool is
 * created and the disk's DMA goes through it; 16 MiB written with dd read
 * back with the same md5 (in Linux after dropping caches, and on the host
 * from the image file); mkfs + mount + files + umount + mount + compare; a
 * read-only disk refuses writes.
 *
 * Usage: `node --import tsx test/e2e/frontend-standalone.ts [--arch arm64|riscv64] [--verbose]`
 * (both architectures without --arch); prints `N passed, N failed` and exits non-zero on any failure.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureFrontend, type FrontendArch } from '../../qemu/frontend/build.ts';
import { platform as aarch64Platform } from '../../platforms/qemu-aarch64-virt.ts';
import { platform as riscv64Platform } from '../../platforms/qemu-riscv64-virt.ts';
import { devicesOfFrontend, frontendsOf, type Platform } from '../../src/config/platform.ts';
import { buildFrontendDtb, poolNodeName } from '../../qemu/frontend/dts.ts';
import { bootStandalone, type StandaloneFrontend } from '../../qemu/frontend/standalone.ts';
import { frontendTools } from '../../qemu/frontend/tool.ts';

const verbose = process.argv.includes('--verbose');
const archArg = process.argv.indexOf('--arch');
const ARCHES: FrontendArch[] = archArg > 0 ? [process.argv[archArg + 1] as FrontendArch] : ['arm64', 'riscv64'];
const PLATFORMS: Record<FrontendArch, Platform> = { arm64: aarch64Platform, riscv64: riscv64Platform };
let passed = 0;
let failed = 0;

async function test(name: string, fn: () => Promise<void>): Promise<void> {
  const t0 = Date.now();
  try {
    await fn();
    passed++;
    console.log(`  ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failed++;
    console.log(`  FAIL ${name}\n${String((e as Error).message ?? e).replace(/^/gm, '       ')}`);
  }
}

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

function md5OfFilePrefix(file: string, bytes: number): string {
  const h = createHash('md5');
  const fd = openSync(file, 'r');
  const buf = Buffer.alloc(1 << 20);
  try {
    for (let off = 0; off < bytes;) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, bytes - off), off);
      if (n <= 0) throw new Error(`${file}: short read at ${off}`);
      h.update(buf.subarray(0, n));
      off += n;
    }
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

const md5Of = (out: string): string => {
  const m = /\b([0-9a-f]{32})\b/.exec(out);
  if (!m) throw new Error(`no md5 in: ${out}`);
  return m[1];
};

const hex = (n: number): string => `0x${n.toString(16)}`;

async function main(arch: FrontendArch): Promise<void> {
  const platform = PLATFORMS[arch];
  if (!platform) throw new Error(`--arch ${arch}: one of ${Object.keys(PLATFORMS).join(', ')}`);
  console.log(`${arch} on ${platform.name}`);
  const riscv = arch === 'riscv64';
  // The C tools every system's frontend carries, built for this architecture.
  const tools = frontendTools(arch);
  const artifacts = await ensureFrontend(tools, arch);
  const ram = platform.frontend.ram;
  // bootStandalone's default pool: the last 16 MiB of the frontend's RAM.
  const defaultPool = ram.base + ram.size - 16 * 0x100000;
  const work = mkdtempSync(join(tmpdir(), `baojs-e2e-frontend-${arch}-`));
  const disk = join(work, 'vda.img');
  const roDisk = join(work, 'vdb.img');
  const MiB = 1 << 20;
  // 64 MiB sparse disk; 1 MiB read-only disk holding a known pattern.
  writeFileSync(disk, Buffer.alloc(0));
  truncateSync(disk, 64 * MiB);
  const roData = Buffer.alloc(MiB);
  for (let i = 0; i < roData.length; i++) roData[i] = (i * 7 + (i >> 9)) & 0xff;
  writeFileSync(roDisk, roData);

  const mine = (index: number): ReturnType<typeof devicesOfFrontend> => devicesOfFrontend(platform, index);
  await test(`device trees of ${platform.name} for the monitor, one per frontend: a virtio,mmio node per device of that frontend only, pools = shared regions`, async () => {
    for (const [index, vm] of frontendsOf(platform).entries()) {
      const dtb = buildFrontendDtb(platform, { frontend: index, bootargs: 'console=hvc0', initrd: { base: vm.ram.base + 0x4000000, size: 0x100000 } }, join(work, `platform${index + 1}.dtb`));
      const r = spawnSync('dtc', ['-q', '-I', 'dtb', '-O', 'dts', dtb], { encoding: 'utf8' });
      assert(r.status === 0, `dtc -I dtb: ${r.stderr}`);
      const dts = r.stdout;
      if (riscv) {
        assert(!/psci|arm,gic|armv8-timer/.test(dts), 'PSCI, GIC or Arm timer node in a riscv64 tree');
        assert(!/ns16550/.test(dts), 'the UART belongs to the backend under the monitor');
        assert(dts.includes(`timebase-frequency = <${hex(platform.machine.timebaseHz!)}>`), 'timebase-frequency');
        assert(/riscv,isa = "rv64imafdc"/.test(dts) && /riscv,cpu-intc/.test(dts), 'cpu node');
        const plic = new RegExp(`interrupt-controller@${platform.machine.plic!.base.toString(16)} \\{([^}]*)\\}`).exec(dts);
        assert(plic && plic[1].includes('"sifive,plic-1.0.0\\0riscv,plic0"'), `PLIC node: ${plic?.[1]}`);
        const ndev = Number(/riscv,ndev = <(0x[0-9a-f]+)>/.exec(plic[1])?.[1]);
        assert(mine(index).every((d) => d.frontendIntid <= ndev), `riscv,ndev ${ndev} below a device's source`);
        const ie = /interrupts-extended = <([^>]*)>/.exec(plic[1]);
        const cells = ie ? ie[1].trim().split(/\s+/).map(Number) : [];
        const irqs = cells.filter((_, i) => i % 2 === 1).join(',');
        assert(irqs === Array(vm.cpus.length).fill('11,9').join(','), `interrupts-extended (M 11, S 9 per hart): ${ie?.[1]}`);
      } else {
        assert(/method = "smc"/.test(dts), 'PSCI conduit is not smc');
        assert(!/pl011/.test(dts), 'the UART belongs to the backend under the monitor');
      }
      assert(new RegExp(`linux,initrd-start = <0x00 0x${(vm.ram.base + 0x4000000).toString(16)}>`).test(dts), 'initrd start');
      assert(new RegExp(`memory@${vm.ram.base.toString(16)} `).test(dts), `${vm.name}: its RAM`);
      const own = mine(index);
      for (const d of platform.devices.filter((x) => !own.includes(x))) {
        assert(!dts.includes(`virtio_mmio@${d.window.base.toString(16)} `) && !dts.includes(`memory@${d.shmem.base.toString(16)} `), `${vm.name}: ${d.name} is another frontend's`);
      }
      for (const d of own) {
        const node = new RegExp(`virtio_mmio@${d.window.base.toString(16)} \\{([^}]*)\\}`).exec(dts);
        assert(node, `no virtio,mmio node for ${d.name}`);
        const irq = riscv ? `interrupts = <0x${d.frontendIntid.toString(16).padStart(2, '0')}>` : `interrupts = <0x00 0x${(d.frontendIntid - 32).toString(16).padStart(2, '0')} 0x04>`;
        assert(node[1].includes(irq), `${d.name} interrupt: ${node[1]}`);
        assert(/memory-region = <0x[0-9a-f]+>/.test(node[1]), `${d.name}: no memory-region`);
        const pool = new RegExp(`${poolNodeName(d.name, d.shmem.base)} \\{([^}]*)\\}`).exec(dts);
        assert(pool && pool[1].includes('restricted-dma-pool'), `${d.name}: no restricted pool`);
        assert(new RegExp(`memory@${d.shmem.base.toString(16)} `).test(dts), `${d.name}: shared region not listed as memory`);
      }
    }
  });

  let fe: StandaloneFrontend | undefined;
  let fe2: StandaloneFrontend | undefined;
  let guestMd5 = '';
  try {
    const t0 = Date.now();
    await test('boots to the ready marker with a shell', async () => {
      fe = await bootStandalone({
        platform, artifacts,
        disks: [{ file: disk }, { file: roDisk, readOnly: true }],
        logFile: join(work, 'console.log'),
        onOutput: verbose ? (s) => process.stdout.write(s) : undefined,
        timeoutMs: 300000,
      });
      console.log(`       ${fe.readyLine} after ${Date.now() - t0} ms wall`);
    });
    if (!fe) throw new Error('frontend did not boot; console log: ' + join(work, 'console.log'));
    const f = fe;

    await test(`the frontend's C tools run (${tools.map((t) => t.path).join(', ')})`, async () => {
      for (const t of tools) {
        const r = await f.run(`${t.path} 2>&1`);
        // Without arguments each prints its usage and exits 2; a binary of another architecture cannot run.
        assert(r.status === 2 && /^usage: /.test(r.output.trim()), `${t.path}: status ${r.status}: ${r.output}`);
      }
    });

    await test('restricted DMA pool created', async () => {
      const out = await f.check('dmesg | grep -i "restricted DMA pool"');
      assert(new RegExp(`Reserved memory: created restricted DMA pool at 0x0*${defaultPool.toString(16)}, size 16 MiB`).test(out), `unexpected: ${out}`);
    });

    await test('virtio-blk disks probed with VIRTIO_F_ACCESS_PLATFORM', async () => {
      const out = await f.check('ls /dev/vda /dev/vdb && cat /sys/block/vda/size /sys/block/vdb/size /sys/block/vdb/ro && for d in /sys/bus/virtio/devices/*; do cat $d/device $d/features; done');
      const lines = out.trim().split('\n');
      assert(lines.includes(String(64 * 2048)), `vda size: ${out}`);
      assert(lines.includes('2048'), `vdb size: ${out}`);
      const features = lines.filter((l) => /^[01]{64}$/.test(l));
      assert(features.length === 2, `features: ${out}`);
      for (const ft of features) assert(ft[33] === '1', `VIRTIO_F_ACCESS_PLATFORM (bit 33) not negotiated: ${ft}`);
      assert(features.every((ft) => ft[32] === '1'), 'VIRTIO_F_VERSION_1 not negotiated');
    });

    await test('dd 16 MiB round trip: md5 equal after dropping caches, and on the host', async () => {
      await f.check('dd if=/dev/urandom of=/tmp/pattern bs=1M count=16 2>/dev/null', 120000);
      guestMd5 = md5Of(await f.check('md5sum /tmp/pattern', 120000));
      await f.check('dd if=/tmp/pattern of=/dev/vda bs=1M conv=fsync 2>&1', 120000);
      await f.check('sync; echo 3 > /proc/sys/vm/drop_caches');
      const back = md5Of(await f.check('dd if=/dev/vda bs=1M count=16 2>/dev/null | md5sum', 120000));
      assert(back === guestMd5, `read back ${back}, wrote ${guestMd5}`);
      const small = md5Of(await f.check('dd if=/dev/vda bs=4k count=4096 2>/dev/null | md5sum', 120000));
      assert(small === guestMd5, `4 KiB reads gave ${small}, wrote ${guestMd5}`);
      const host = md5OfFilePrefix(disk, 16 * MiB);
      assert(host === guestMd5, `host image holds ${host}, frontend wrote ${guestMd5}`);
      await f.check('rm /tmp/pattern');
    });

    await test('DMA went through the restricted pool', async () => {
      const dir = `/sys/kernel/debug/${poolNodeName('qemu-virtio', defaultPool)}`;
      const out = await f.check(`cat ${dir}/io_tlb_nslabs ${dir}/io_tlb_used`);
      const [nslabs, used] = out.trim().split(/\s+/).map(Number);
      assert(nslabs === (16 << 20) >> 11, `pool slabs: ${out}`);
      assert(used > 0, `pool unused (rings live in it while the devices are bound): ${out}`);
    });

    await test('ext2: mkfs, mount, write files, umount, mount, compare', async () => {
      await f.check('mke2fs -q /dev/vda 2>&1 || mkfs.ext2 /dev/vda 2>&1', 120000);
      await f.check('mount -t ext2 /dev/vda /mnt && mkdir /mnt/d && dd if=/dev/urandom of=/mnt/d/a bs=64k count=40 2>/dev/null && echo hello > /mnt/d/b && md5sum /mnt/d/a /mnt/d/b > /tmp/sums && umount /mnt', 120000);
      await f.check('echo 3 > /proc/sys/vm/drop_caches; mount -t ext4 /dev/vda /mnt && md5sum -c /tmp/sums && umount /mnt', 120000);
    });

    await test('read-only disk: reads match, writes fail with an I/O error', async () => {
      const out = await f.check('dd if=/dev/vdb bs=64k 2>/dev/null | md5sum');
      assert(md5Of(out) === createHash('md5').update(roData).digest('hex'), `vdb md5 ${out}`);
      const w = await f.run('dd if=/dev/zero of=/dev/vdb bs=4k count=1 conv=fsync 2>&1');
      assert(w.status !== 0, `write to the read-only disk succeeded: ${w.output}`);
    });

    await test('poweroff ends QEMU', async () => {
      const code = await f.shutdown(15000);
      assert(code === 0, `QEMU exit code ${code}`);
    });

    await test('host images: the file system on vda, the read-only disk unchanged', async () => {
      const ro = md5OfFilePrefix(roDisk, MiB);
      assert(ro === createHash('md5').update(roData).digest('hex'), 'read-only disk image changed');
      const sb = readFileSync(disk).subarray(1024, 2048);
      assert(sb.readUInt16LE(56) === 0xef53, 'no ext2 superblock magic in the disk image');
    });

    // The layout Bao and the monitor give Linux: the restricted pool in a
    // device's shared region, outside the frontend's RAM, listed as memory
    // of its own; QEMU's loader leaves the device tree as generated.
    const shmem = platform.devices[0].shmem;
    await test(`Bao layout: pool in ${platform.devices[0].name}'s shared region at 0x${shmem.base.toString(16)}, 16 MiB dd round trip`, async () => {
      fe2 = await bootStandalone({
        platform, artifacts, disks: [{ file: disk }], restrictedPool: shmem, rawBoot: true,
        logFile: join(work, 'console-bao-layout.log'), onOutput: verbose ? (t) => process.stdout.write(t) : undefined, timeoutMs: 300000,
      });
      const iomem = await fe2.check('cat /proc/iomem');
      const hex8 = (n: number): string => n.toString(16).padStart(8, '0');
      const ramEnd = platform.frontend.ram.base + platform.frontend.ram.size - 1;
      // riscv64 Linux 6.1 starts its memory at the kernel (RAM + 2 MiB): the 2 MiB below it go unused.
      const ramStart = platform.frontend.ram.base + (riscv ? 0x200000 : 0);
      assert(iomem.includes(`${hex8(ramStart)}-${hex8(ramEnd)} : System RAM`), `frontend RAM not as generated:\n${iomem}`);
      assert(iomem.includes(`${hex8(shmem.base)}-${hex8(shmem.base + shmem.size - 1)} : System RAM`), `shared region not in Linux's memory:\n${iomem}`);
      const out = await fe2.check('dmesg | grep "restricted DMA pool"');
      assert(out.includes(`restricted DMA pool at 0x${shmem.base.toString(16).padStart(16, '0')}, size ${shmem.size >> 20} MiB`), out);
      await fe2.check('dd if=/dev/urandom of=/tmp/p bs=1M count=16 2>/dev/null', 120000);
      const want = md5Of(await fe2.check('md5sum /tmp/p', 120000));
      await fe2.check('dd if=/tmp/p of=/dev/vda bs=1M conv=fsync 2>/dev/null; echo 3 > /proc/sys/vm/drop_caches', 120000);
      const got = md5Of(await fe2.check('dd if=/dev/vda bs=1M count=16 2>/dev/null | md5sum', 120000));
      assert(got === want, `read back ${got}, wrote ${want}`);
      const used = Number((await fe2.check(`cat /sys/kernel/debug/${poolNodeName('qemu-virtio', shmem.base)}/io_tlb_used`)).trim());
      assert(used > 0, 'pool unused');
      const code = await fe2.shutdown(15000);
      assert(code === 0, `QEMU exit code ${code}`);
    });

    let fe3: StandaloneFrontend | undefined;
    await test(riscv ? '2 harts (SBI HSM); virtio-rng and virtio-console through the pool'
      : 'PSCI over SMC (CPUs at EL2, as under a monitor), 2 CPUs; virtio-rng and virtio-console through the pool', async () => {
      // Linux gives a secondary CPU 5 s of guest time to come up: under -icount, host load cannot starve it past that.
      // (riscv64 harts start through SBI HSM, with no such deadline; with 2 harts under -icount shift=0
      // QEMU 7.2 stopped after "Run /init": plain TCG there.)
      fe3 = await bootStandalone({
        platform, artifacts, conduit: riscv ? undefined : 'smc', cpus: 2, icount: riscv ? undefined : 'shift=0', timeoutMs: 120000, logFile: join(work, 'console-smc.log'),
        qemuArgs: [
          '-device', 'virtio-rng-device,iommu_platform=on',
          '-chardev', 'null,id=hvc', '-device', 'virtio-serial-device,iommu_platform=on', '-device', 'virtconsole,chardev=hvc',
        ],
      });
      try {
        assert((await fe3.check('nproc')).trim() === '2', 'secondary CPU did not come up');
        if (!riscv) assert(/started at EL2/.test(await fe3.check('dmesg')), 'not started at EL2');
        const rng = await fe3.check('cat /sys/class/misc/hw_random/rng_current; dd if=/dev/hwrng bs=1k count=64 2>/dev/null > /tmp/r; dd if=/tmp/r bs=1k count=32 2>/dev/null | md5sum; dd if=/tmp/r bs=1k skip=32 2>/dev/null | md5sum; gzip -c /tmp/r | wc -c');
        const [cur, a, b, gz] = rng.trim().split('\n');
        assert(/virtio_rng/.test(cur), `hwrng source: ${cur}`);
        assert(md5Of(a) !== md5Of(b), 'hwrng halves repeat');
        assert(Number(gz) > 60000, `hwrng output compresses to ${gz} bytes: not random`);
        await fe3.check('ls /dev/hvc0 && echo hello > /dev/hvc0');
        const used = Number((await fe3.check(`cat /sys/kernel/debug/${poolNodeName('qemu-virtio', defaultPool)}/io_tlb_used`)).trim());
        assert(used > 64, `console and rng rings and buffers should fill the pool: ${used} slabs`);
      } finally {
        const code = await fe3.shutdown(15000);
        assert(code === 0, `QEMU exit code ${code}`);
      }
    });
  } finally {
    if (fe && !fe.done) await fe.shutdown(5000);
    if (fe2 && !fe2.done) await fe2.shutdown(5000);
    if (failed === 0) rmSync(work, { recursive: true, force: true });
    else console.log(`  console log kept: ${join(work, 'console.log')}`);
  }
}

console.log('frontend (standalone QEMU, virtio-blk-device through a restricted DMA pool)');
(async () => {
  for (const arch of ARCHES) {
    await main(arch).catch((e: Error) => {
      failed++;
      console.log(`  FAIL ${arch}: ${e.message}`);
    });
  }
})().finally(() => {
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
});
