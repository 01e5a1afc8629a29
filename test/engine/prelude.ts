// SPDX-License-Identifier: Apache-2.0
/**
 * First module of every engine bundle, evaluated before the test file.
 * Both engines give the bundle `console.log` only (the host `qjs` prints
 * through it; the quickjs-emscripten run defines it): the other console
 * methods print the same way, with a level prefix, so a test's diagnostics
 * are not lost. Nothing else is added: a Node or Web global that a test
 * relies on must fail here as it would on the firmware.
 */
type LogFn = (...args: unknown[]) => void;
const c = (globalThis as unknown as { console?: Record<string, LogFn | undefined> }).console;
if (c && typeof c.log === 'function') {
  const log = c.log;
  for (const level of ['error', 'warn', 'info', 'debug'] as const) {
    if (typeof c[level] !== 'function') c[level] = (...args: unknown[]) => log(`[${level}]`, ...args);
  }
}
// The host qjs also defines print, scriptArgs and performance: remove them so
// that both engines offer the same globals, and none the firmware lacks. The
// firmware's engine is built without Atomics (CONFIG_ATOMICS off: no threads).
for (const name of ['print', 'scriptArgs', 'performance', 'Atomics']) {
  delete (globalThis as unknown as Record<string, unknown>)[name];
}
export {};
