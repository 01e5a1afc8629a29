// SPDX-License-Identifier: Apache-2.0
/**
 * The native ES module `host` that the firmware provides (runtime/host.c).
 * Its namespace object is the firmware's implementation of the Host
 * interface in src/host.ts: every export is a member of Host, with the same
 * type. test/native/host-binding.test.ts checks the C export table against it.
 */
declare module 'host' {
  const host: import('../src/host.ts').Host;
  export = host;
}
