// SPDX-License-Identifier: Apache-2.0
/**
 * What Node (or a browser) gives a script and QuickJS does not: names a test
 * or the code under test may reach for, and the hint printed when one of
 * them is missing inside the engine. Pure JS: bundled into the engine runs.
 */

/** Globals of Node or the Web platform that neither QuickJS nor the firmware define. */
export const HOST_ONLY_GLOBALS: readonly string[] = [
  'process', 'Buffer', 'require', 'module', 'exports', '__dirname', '__filename', 'global',
  'setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval', 'clearImmediate',
  'queueMicrotask', 'structuredClone', 'TextEncoder', 'TextDecoder', 'performance', 'URL',
  'URLSearchParams', 'fetch', 'crypto', 'atob', 'btoa', 'AbortController', 'Event', 'EventTarget',
  'MessageChannel', 'WebAssembly', 'navigator', 'window', 'self',
];

/** Standard built-ins that Node has and the firmware's QuickJS build lacks. */
export const MISSING_BUILTINS: Readonly<Record<string, string>> = {
  Intl: 'QuickJS has no ECMA-402 (Intl)',
  Atomics: 'the firmware builds QuickJS without CONFIG_ATOMICS (no threads)',
};

/**
 * A one-line explanation for an error raised inside QuickJS, when it comes
 * from something Node has and the engine lacks; '' otherwise.
 * @param message the error's message, e.g. `'process' is not defined`
 */
export function quickjsHint(message: string): string {
  if (/^stack overflow$|Maximum call stack/.test(message)) {
    return 'the engine runs with the firmware\'s JS stack (about 200 JS call levels on aarch64): ' +
      'recursion this deep would overflow on the firmware too (BAOJS_ENGINE_STACK_KIB changes the limit here)';
  }
  const m = /^'?([A-Za-z_$][\w$]*)'? is not defined/.exec(message);
  if (!m) return '';
  if (HOST_ONLY_GLOBALS.includes(m[1])) {
    return `${m[1]} is a Node/Web global that QuickJS on the firmware does not have: ` +
      'code under src/ reaches the outside world only through Host, and tests must stay pure JS';
  }
  const why = MISSING_BUILTINS[m[1]];
  return why ? `${m[1]} is not available on the firmware: ${why}` : '';
}

/** The hint for a `null` exception: how QuickJS reports running out of memory while throwing. */
export const NULL_THROW_HINT =
  'a null exception from QuickJS means it ran out of memory and could not even allocate ' +
  'the error object (the heap limit was reached)';
