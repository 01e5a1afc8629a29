// SPDX-License-Identifier: Apache-2.0
/**
 * The native ES module `host` that the firmware provides (runtime/host.c).
 * Its namespace object is the firmware's implementation of the Host
 * interface in src/host.ts: every export is a member of Host, with the same
 * type. test/native/host-binding.test.ts checks the C export table against it.
 *
 * Interrupts of devices passed through to the backend (level-triggered
 * virtio-mmio lines held until InterruptACK) are disabled at the GIC by the
 * firmware's IRQ handler before the main loop calls `onIrq`; the driver
 * enables them again with `irqEnable` once it has acknowledged the device
 * (see Host.irqEnable, Host.onIrq; firmware/irq.c).
 */
declare module 'host' {
  const host: import('../src/host.ts').Host;
  export = host;
}
