// SPDX-License-Identifier: Apache-2.0
/**
 * Echoed characters on a booted system's console, for `npm run bench` and
 * `npm run profile`: characters typed on the backend's console (the UART)
 * travel to the frontend's hvc0 and come back through its tty's echo.
 */
import type { ConsoleSession } from '../qemu/frontend/session.ts';

/**
 * Runs `body` with a shell comment line open in the frontend (what is typed
 * is echoed, never run), then ends the line.
 */
export async function onCommentLine<T>(s: ConsoleSession, body: () => Promise<T>): Promise<T> {
  s.cursor = s.output.length;
  s.send('#Q');
  await s.waitFor('#Q', 30_000);
  try {
    return await body();
  } finally {
    s.send('\n');
  }
}

/** Types `n` characters on the backend's console, each after the previous one's echo came back (inside {@link onCommentLine}). */
export async function typeEchoed(s: ConsoleSession, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const c = String.fromCharCode(0x61 + (i % 26));
    s.send(c);
    await s.waitFor(c, 30_000);
  }
}
