// SPDX-License-Identifier: Apache-2.0
/**
 * `npm start`: builds what is missing, then boots the baojs firmware on
 * QEMU's aarch64 `virt` machine (Bao's qemu-aarch64-virt platform) and
 * shows its console. The command's exit status is the firmware's verdict
 * (its `baojs: exit <N>` line before PSCI SYSTEM_OFF).
 *
 * Environment: QEMU (the QEMU program), BAOJS_PLATFORM (platform name),
 * BAOJS_TIMEOUT_S (wall-clock limit, default 120).
 */
import { buildFirmware } from '../scripts/build.ts';
import { bareFirmwareArgs, runQemu } from './qemu.ts';
import { loadPlatform } from '../scripts/gen-platform.ts';

async function start(): Promise<number> {
  const platform = process.env.BAOJS_PLATFORM ?? 'qemu-aarch64-virt';
  const { elf } = await buildFirmware({ platform });
  const args = bareFirmwareArgs(elf, (await loadPlatform(platform)).machine);
  console.log(`[run] qemu-system-aarch64 ${args.join(' ')}`);
  const r = await runQemu({ args, timeoutMs: (Number(process.env.BAOJS_TIMEOUT_S) || 120) * 1000, echo: true, interactive: true });
  if (r.timedOut) {
    console.error(`[run] QEMU did not finish within its time limit and was stopped`);
    return 124;
  }
  if (r.firmwareExit === null) {
    console.error(`[run] the firmware ended without a verdict (QEMU status ${r.qemuStatus})`);
    return 1;
  }
  return r.firmwareExit;
}

start().then((code) => process.exit(code), (e: Error) => {
  console.error(`[run] ${e.message}`);
  process.exit(1);
});
