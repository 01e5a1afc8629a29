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

/**
 * A one-line explanation for an error raised inside QuickJS, when it comes
 * from a Node or Web API that the engine lacks; '' otherwise.
 * @param message the error's message, e.g. `'process' is not defined`
 */
export function quickjsHint(message: string): string {
  const m = /^'?([A-Za-z_$][\w$]*)'? is not defined/.exec(message);
  if (m && HOST_ONLY_GLOBALS.includes(m[1])) {
    return `${m[1]} is a Node/Web global that QuickJS (and the firmware) do not have: ` +
      'code under src/ reaches the outside world only through Host, and tests must stay pure JS';
  }
  return '';
}
