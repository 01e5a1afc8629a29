// SPDX-License-Identifier: Apache-2.0
/**
 * The storage suite, run on a platform by test/e2e/storage.test.ts
 * (qemu-aarch64-virt) and storage-riscv64.test.ts (qemu-riscv64-virt).
 * End to end: frontend disks on ranges of a physical disk the backend owns
 * (QEMU's virtio-blk-device on a raw image file, passed through to the
 * backend and driven by baojs), with Linux's own drivers and tools in the
 * frontend, on a temporary image (never the demo's).
 *
 * - Persistence: mkfs, write, sync, power off; boot again: fsck clean and
 *   the files intact.
 * - The two ranges (vdc in frontend 1, vdd in frontend 2, where it is
 *   /dev/vda) never see each other's data.
 * - A physical disk that fails requests (QEMU blkdebug rules): IOERR for
 *   the frontend requests that needed them, a log line, no hang.
 * - Crash consistency: the frontend appends numbered, checksummed records
 *   with an fsync each (`recappend`), printing each number once fsync
 *   returned; QEMU is killed with SIGKILL at a random moment; the next boot
 *   checks that every record printed as synced is there and intact and
 *   that the filesystem is clean, then starts the next run. Runs:
 *   BAOJS_CRASH_RUNS (default: the suite's), seed BAOJS_CRASH_SEED
 *   (default: from the clock; printed).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, ftruncateSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootSystem, type SystemSession } from '../../qemu/system.ts';
import { diskMinimumSize, type DiskRange, type Platform } from '../../src/config/platform.ts';
import { Prng } from '../sim/prng.ts';

/**
 * Registers and runs the storage suite on `platform` (its `pdisk0` passed
 * through, vdc and vdd on ranges of it); `defaultRuns` crash-consistency
 * runs unless BAOJS_CRASH_RUNS says otherwise.
 */
export function runStorageSuite(platform: Platform, defaultRuns: number): void {
  const test = suite(`storage ${platform.name}`);
  const dir = mkdtempSync(join(tmpdir(), 'baojs-storage-'));
  const image = join(dir, 'pdisk0.img');
  const range = (name: string): DiskRange => platform.devices.find((d) => d.name === name)!.backing as DiskRange;
  const RUNS = Number(process.env.BAOJS_CRASH_RUNS) || defaultRuns;
  const SEED = Number(process.env.BAOJS_CRASH_SEED) || (Date.now() % 1_000_000);

  /** A fresh image: zeroes, the size the platform needs, an ext4 filesystem (with its journal) on vdc's range. */
  function freshImage(): void {
    const fd = openSync(image, 'w');
    ftruncateSync(fd, diskMinimumSize(platform, 'pdisk0'));
    closeSync(fd);
    const vdc = range('vdc');
    // mke2fs writes inside the range only: a filesystem of the range's size at its offset
    // (in /sbin, which a user's PATH may not hold)
    const mkfs = ['/usr/sbin/mkfs.ext4', '/sbin/mkfs.ext4'].find((f) => existsSync(f)) ?? 'mkfs.ext4';
    const r = spawnSync(mkfs, ['-F', '-q', '-E', `offset=${vdc.offset}`, image, `${vdc.size / 1024}k`], { encoding: 'utf8' });
    assert.is(r.status, 0, `mkfs.ext4: ${r.stderr ?? r.error}`);
  }

  /** Boots the system on the test image; `firstFrontendOnly` leaves frontend 2 (vdd's) off. */
  async function boot(label: string, firstFrontendOnly = false): Promise<SystemSession> {
    return bootSystem({
      platform: platform.name,
      timeoutMs: 600_000,
      firstFrontendOnly,
      disks: { pdisk0: image },
      log: (line) => { if (!line.startsWith('[system] qemu')) console.log(`${label} ${line}`); },
    });
  }

  test.after(() => rmSync(dir, { recursive: true, force: true }));

  test('persistence: files written and synced are there after a power off and a new boot; fsck clean', async () => {
    freshImage();
    let sys = await boot('[storage 1/2]');
    try {
      await sys.check('mount -t ext4 /dev/vdc /mnt && mkdir /mnt/d && dd if=/dev/urandom of=/mnt/d/a bs=64k count=64 2>/dev/null && echo kept > /mnt/d/b && md5sum /mnt/d/a /mnt/d/b > /mnt/sums && sync && umount /mnt', 240_000);
      // vdd (frontend 2's /dev/vda): a pattern on the raw device, at both ends of the range
      await sys.onFrontend(2, () => sys.check('dd if=/dev/urandom of=/tmp/p bs=4k count=256 2>/dev/null && dd if=/tmp/p of=/dev/vda bs=4k 2>/dev/null && dd if=/tmp/p of=/dev/vda bs=4k seek=$(( $(cat /sys/block/vda/size) / 8 - 256 )) 2>/dev/null && sync', 120_000));
      sys.send('poweroff -f\n');
      await sys.close(60_000);
    } finally {
      sys.kill();
    }
    sys = await boot('[storage 2/2]');
    try {
      const fsck = await sys.check('e2fsck -fn /dev/vdc 2>&1', 240_000);
      assert.match(fsck, /Pass 5: Checking group summary information/);
      assert.not.match(fsck, /Fix\?|UNEXPECTED|error/i);
      const sums = await sys.check('mount -t ext4 /dev/vdc /mnt && cd /mnt && md5sum -c sums && cat d/b && cd / && umount /mnt', 240_000);
      assert.match(sums, /d\/a: OK/);
      assert.match(sums, /kept/);
      // vdd's pattern is on vdd, and nowhere near vdc's filesystem (fsck above was clean)
      const both = await sys.onFrontend(2, () => sys.check('dd if=/dev/vda bs=4k count=256 2>/dev/null | md5sum; dd if=/dev/vda bs=4k skip=$(( $(cat /sys/block/vda/size) / 8 - 256 )) 2>/dev/null | md5sum', 120_000));
      const [a, b] = both.trim().split('\n').map((l) => l.split(' ')[0]);
      assert.is(a, b, 'vdd holds the same pattern at both ends of its range');
      assert.not.equal(a, 'd41d8cd98f00b204e9800998ecf8427e');
    } finally {
      sys.send('poweroff -f\n');
      await sys.close(60_000);
    }
    // on the image: vdd's pattern starts at vdd's offset, and vdc's range ends before it
    const fd = openSync(image, 'r');
    const head = Buffer.alloc(4096);
    readSync(fd, head, 0, 4096, range('vdd').offset);
    closeSync(fd);
    assert.ok(head.some((x) => x !== 0), 'vdd\'s first block is at its range offset on the physical disk');
  });

  test('a physical disk that fails a request: IOERR for the frontend request that needed it, a log line, the rest keeps working', async () => {
    freshImage();
    const vdd = range('vdd');
    // QEMU's blkdebug fails reads of vdd's sector 8 and writes of its sector 16 (sectors of the physical disk)
    const rules = join(dir, 'faults.conf');
    const at = (s: number): number => vdd.offset / 512 + s;
    writeFileSync(rules, `[inject-error]\nevent = "read_aio"\nerrno = "5"\nsector = "${at(8)}"\nonce = "off"\n\n[inject-error]\nevent = "write_aio"\nerrno = "5"\nsector = "${at(16)}"\nonce = "off"\n`);
    const sys = await bootSystem({ platform: platform.name, timeoutMs: 600_000, disks: { pdisk0: image }, diskFaults: { pdisk0: rules }, log: () => {} });
    try {
      // vdd is frontend 2's /dev/vda
      await sys.onFrontend(2, async () => {
        const bad = await sys.run('dd if=/dev/vda of=/dev/null bs=4k count=1 skip=1 iflag=direct 2>&1', 60_000);
        assert.is.not(bad.status, 0, `a read of the failing sector failed in the frontend: ${bad.output}`);
        assert.match(bad.output, /I\/O error/i);
        assert.match(sys.output, /vdd: read at head \d+: the disk answered IOERR/);
        const badWrite = await sys.run('dd if=/dev/zero of=/dev/vda bs=4k count=1 seek=2 oflag=direct 2>&1', 60_000);
        assert.is.not(badWrite.status, 0, `a write of the failing sector failed: ${badWrite.output}`);
        assert.match(sys.output, /vdd: write at head \d+: the disk answered IOERR/);
        // the sectors around it are served
        await sys.check('dd if=/dev/vda of=/dev/null bs=4k count=1 skip=3 iflag=direct 2>&1 && dd if=/dev/urandom of=/tmp/x bs=4k count=4 2>/dev/null && dd if=/tmp/x of=/dev/vda bs=4k seek=8 oflag=direct 2>/dev/null && dd if=/dev/vda bs=4k skip=8 count=4 iflag=direct 2>/dev/null | cmp - /tmp/x', 60_000);
      });
      // the other range (frontend 1's vdc) and the other devices are served
      await sys.check('mount -t ext4 /dev/vdc /mnt && echo ok > /mnt/f && sync && cat /mnt/f && umount /mnt', 120_000);
    } finally {
      sys.send('poweroff -f\n');
      await sys.close(30_000);
    }
  });

  /**
   * Earlier runs' logs checked again after every later crash, at most: an
   * older log is deleted once KEEP_LOGS later crashes have found it intact
   * (the logs of a 200-run check would fill vdc's 64 MiB).
   */
  const KEEP_LOGS = 8;

  test(`crash consistency: ${RUNS} runs killed with SIGKILL at a random moment, seed ${SEED}`, async () => {
    console.log(`[storage] crash consistency: ${RUNS} runs, seed ${SEED} (BAOJS_CRASH_SEED=${SEED} repeats them)`);
    const rng = new Prng(SEED);
    freshImage();
    /** records each earlier run printed as synced, by file */
    const promised: { file: string; synced: number }[] = [];
    let lost = 0;
    let syncedInAll = 0;
    for (let run = 0; run <= RUNS; run++) {
      const sys = await boot(`[crash ${run}/${RUNS}]`, true);
      try {
        if (run > 0) {
          // the journal is replayed by the mount; then every earlier run's records
          await sys.check('mount -t ext4 /dev/vdc /mnt', 240_000);
          for (const p of promised) {
            const out = await sys.check(`recappend check /mnt/${p.file}`, 120_000);
            const n = Number(/records (\d+)/.exec(out)![1]);
            if (n < p.synced) lost += p.synced - n;
            assert.ok(n >= p.synced, `seed ${SEED} run ${run}: ${p.file} has ${n} intact records, ${p.synced} were synced`);
          }
          await sys.check('umount /mnt', 60_000);
          const fsck = await sys.run('e2fsck -fn /dev/vdc 2>&1', 240_000);
          assert.is(fsck.status, 0, `seed ${SEED} run ${run}: e2fsck -fn after the crash:\n${fsck.output}`);
        }
        if (run === RUNS) {
          sys.send('poweroff -f\n');
          await sys.close(60_000);
          break;
        }
        await sys.check('mount -t ext4 /dev/vdc /mnt', 240_000);
        while (promised.length > KEEP_LOGS) await sys.check(`rm /mnt/${promised.shift()!.file}`, 60_000);
        const file = `log.${run}`;
        const killAfter = 1 + rng.below(200);
        const extraMs = rng.below(300);
        sys.send(`recappend append /mnt/${file} 0 1000000\n`);
        const m = await sys.waitFor(new RegExp(`synced ${killAfter}\\b|(append: [^\\r\\n]*)`), 300_000);
        if (m[1]) throw new Error(`seed ${SEED} run ${run}: recappend stopped before record ${killAfter}: ${m[1]}`);
        await new Promise((r) => setTimeout(r, extraMs));
        sys.kill();
        await sys.exited;
        let synced = 0;
        for (const m of sys.output.matchAll(/synced (\d+)/g)) synced = Math.max(synced, Number(m[1]) + 1);
        promised.push({ file, synced });
        syncedInAll += synced;
        console.log(`[storage] run ${run}: killed after record ${synced - 1} was synced (${file})`);
      } finally {
        sys.kill();
      }
    }
    console.log(`[storage] crash consistency: ${RUNS} runs, ${syncedInAll} synced records checked, ${lost} lost (seed ${SEED})`);
    assert.is(lost, 0);
  });

  test.run();
}
