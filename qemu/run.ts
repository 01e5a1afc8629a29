// SPDX-License-Identifier: Apache-2.0
/**
 * `npm start`: builds what is missing (cached after the first time), then
 * boots the whole system on QEMU — the remio test monitor at EL2 (or a
 * user-built Bao with `BAO_IMAGE=`), the Linux frontend on CPU 0 and the
 * baojs backend on CPU 1 — and runs a short demo in the Linux shell, whose
 * console is /dev/hvc0 served by baojs. With a terminal on stdin it then
 * leaves the user at that shell; otherwise (CI) it powers off and exits
 * with the demo's verdict.
 *
 * `npm run start:bare` (`--bare`) boots the firmware alone, with no
 * hypervisor below: it runs its self-test and powers off with the verdict.
 *
 * `--arch riscv64` (or BAOJS_ARCH=riscv64; scripts/arch.ts) runs the same
 * on qemu-system-riscv64, on the monitor's HS-mode form (or under a Bao
 * built for qemu-riscv64-virt with BAO_IMAGE), with the riscv64 Linux
 * frontends and firmware. Steps that need a device the
 * platform does not have (the backend's own disk) are left out.
 *
 * Environment: QEMU (the QEMU program), BAO_IMAGE (a Bao image to boot
 * instead of the monitor), BAOJS_ARCH (aarch64 or riscv64), BAOJS_PLATFORM
 * (platform for `--bare`, default the architecture's),
 * BAOJS_TIMEOUT_S (wall-clock limit, default 600; 120 for `--bare`),
 * BAOJS_DISK (the image file of the backend's passthrough disk `pdisk0`,
 * instead of `<cache dir>/disks/qemu-aarch64-virt-pdisk0.img`; it must
 * exist and hold the description's disk ranges).
 */
import { selectedArch, SYSTEM_PLATFORM } from '../scripts/arch.ts';
import { buildFirmware } from '../scripts/build.ts';
import { loadPlatform } from '../scripts/gen-platform.ts';
import { preflight } from '../scripts/preflight.ts';
import { bareFirmwareArgs, qemuProgram, runQemu } from './qemu.ts';
import { bootSystem, CONSOLE_ESCAPE, type SystemSession } from './system.ts';

/** Boots the firmware alone; resolves with its verdict. */
async function startBare(): Promise<number> {
  const platform = process.env.BAOJS_PLATFORM ?? SYSTEM_PLATFORM[selectedArch()];
  const machine = (await loadPlatform(platform)).machine;
  preflight(process.env, { bare: true, arch: machine.arch });
  const { elf } = await buildFirmware({ platform });
  const args = bareFirmwareArgs(elf, machine);
  console.log(`[run] ${qemuProgram(undefined, machine.arch)} ${args.join(' ')}`);
  const r = await runQemu({ args, arch: machine.arch, timeoutMs: (Number(process.env.BAOJS_TIMEOUT_S) || 120) * 1000, echo: true, interactive: true });
  if (r.startError) {
    console.error(`[run] ${r.startError}`);
    return 1;
  }
  if (r.timedOut) {
    console.error('[run] QEMU did not finish within its time limit and was stopped');
    return 124;
  }
  if (r.firmwareExit === null) {
    console.error(`[run] the firmware ended without a verdict (QEMU status ${r.qemuStatus})`);
    return 1;
  }
  return r.firmwareExit;
}

/** Copies console text to stdout while `on`; scripted commands print their own transcript instead. */
class ConsoleEcho {
  on = true;
  readonly write = (text: string): void => {
    if (this.on) process.stdout.write(text);
  };
}

/** The demo: one step per shell command, each checked. */
const DEMO: Array<[string, string]> = [
  ['the devices baojs serves', 'ls -l /dev/vda /dev/vdb /dev/vdc /dev/hvc0 /dev/hwrng; cat /sys/class/misc/hw_random/rng_current; ip -4 addr show eth0'],
  ['make a filesystem on vda and write files', 'mke2fs -q /dev/vda && mount -t ext2 /dev/vda /mnt && dd if=/dev/urandom of=/mnt/data bs=64k count=64 2>/dev/null && echo "hello from baojs" > /mnt/hello.txt && md5sum /mnt/data /mnt/hello.txt | tee /tmp/sums && sync && umount /mnt'],
  ['check the filesystem', 'echo 3 > /proc/sys/vm/drop_caches && e2fsck -fn /dev/vda 2>&1'],
  ['remount and read back with checksums', 'mount -t ext2 /dev/vda /mnt && md5sum -c /tmp/sums && cat /mnt/hello.txt && umount /mnt'],
  ['vdc lasts: it is a range of pdisk0, the disk the backend owns (an image file in the cache directory, or BAOJS_DISK); count this run on it',
    'mount -t ext4 /dev/vdc /mnt 2>/dev/null || { mke2fs -q /dev/vdc >/dev/null && mount -t ext4 /dev/vdc /mnt && echo "a new filesystem on vdc"; }; ' +
    'n=$(( $(cat /mnt/runs 2>/dev/null | wc -l) + 1 )) && echo "run $n" >> /mnt/runs && sync && ' +
    'echo "this is run $n on this disk: what earlier runs wrote is still there:" && cat /mnt/runs && umount /mnt'],
  ['reach frontend 2 (linux2, on CPU 2) over the network: both NICs are ports of the Ethernet switch in baojs', 'ping -c 3 10.0.0.2'],
  ['read the entropy source', 'dd if=/dev/hwrng bs=16 count=2 2>/dev/null | od -An -tx1'],
  ['talk to the key-value store in baojs over AF_VSOCK (CID 2, port 5000)', 'vsockcat lines 5000 "SET greeting hello-from-the-frontend" "GET greeting"'],
  ['drive the GPIO controller in baojs (virtio-gpio, the example device of docs/writing-a-device.md): its lines, set led0, read button0',
    'gpioctl info /dev/gpiochip0 && gpioctl set /dev/gpiochip0 0 1 && gpioctl get /dev/gpiochip0 4'],
];

/** Boots the system and runs the demo; resolves with the exit status. */
async function startSystem(): Promise<number> {
  const arch = selectedArch();
  const p = await loadPlatform(SYSTEM_PLATFORM[arch]);
  preflight(process.env, { arch });
  if (process.env.BAOJS_DISK && !p.backend.passthrough?.length) throw new Error(`BAOJS_DISK: ${p.name} passes no disk through to the backend`);
  const timeoutMs = (Number(process.env.BAOJS_TIMEOUT_S) || 600) * 1000;
  const interactive = Boolean(process.stdin.isTTY);
  const echo = new ConsoleEcho();
  const disks = process.env.BAOJS_DISK ? { pdisk0: process.env.BAOJS_DISK } : {};
  const session: SystemSession = await bootSystem({ platform: p.name, timeoutMs: interactive ? 24 * 3600 * 1000 : timeoutMs, onOutput: echo.write, disks });
  echo.on = false;
  let failed = 0;
  // the step on vdc needs the backend's own disk (pdisk0), which only some platforms pass through
  const steps = DEMO.filter(([, cmd]) => p.backend.passthrough?.length || !cmd.includes('/dev/vdc'));
  for (const [what, cmd] of steps) {
    process.stdout.write(`\n[demo] ${what}\nlinux# ${cmd}\n`);
    const r = await session.run(cmd, 240_000);
    process.stdout.write(r.output);
    if (r.status !== 0) {
      failed++;
      process.stdout.write(`[demo] FAILED (exit status ${r.status})\n`);
    }
  }
  process.stdout.write('\n[demo] the backend\'s counters (Ctrl-] s on the console)\n');
  session.send(`${CONSOLE_ESCAPE}s`);
  const stats = await session.waitFor(/baojs: stats vda[^]*?baojs: stats heap:[^\n]*\n/, 30_000);
  process.stdout.write(stats[0].replace(/\r/g, ''));
  echo.on = true;
  process.stdout.write(`\n[demo] ${failed ? `${failed} step(s) failed` : 'all steps passed'}\n`);
  if (interactive) {
    process.stdout.write('[demo] You are at the Linux shell of frontend 1 on /dev/hvc0, served by baojs. Ctrl-] 2 switches to frontend 2\'s console (linux2, 10.0.0.2; its disk vdd is its /dev/vda), Ctrl-] 1 back; Ctrl-] s prints the backend\'s counters; `poweroff -f` in frontend 1 ends the run.\n');
    session.send('\n');
    process.stdin.setRawMode(true);
    process.stdin.on('data', (d) => session.send(d.toString('binary')));
    await session.exited;
    process.stdin.setRawMode(false);
    return failed ? 1 : 0;
  }
  process.stdout.write('[demo] On a terminal you would be left at frontend 1\'s shell; Ctrl-] 2 switches to frontend 2\'s console, Ctrl-] 1 back.\n');
  session.send('poweroff -f\n');
  await session.close(15_000);
  return failed ? 1 : 0;
}

const run = process.argv.includes('--bare') ? startBare : startSystem;
run().then((code) => process.exit(code), (e: Error) => {
  console.error(`[run] ${e.message}`);
  process.exit(1);
});
