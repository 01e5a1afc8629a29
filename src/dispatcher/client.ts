// SPDX-License-Identifier: Apache-2.0
/**
 * I/O clients: what the dispatcher routes a remio request to.
 *
 * The Linux Bao I/O dispatcher (`drivers/virt/bao/io-dispatcher/io_client.c`
 * in the series) routes each request by address range to an I/O client; a
 * default client takes what no range claims. Same here, without threads:
 * a client is called synchronously from the dispatcher's service loop.
 */

/**
 * A handler for a guest-physical address range of one device model.
 *
 * Values are 64-bit as unsigned 32-bit halves; the dispatcher has already
 * masked a WRITE value to `width` and will zero-extend a READ value to
 * `width`, so a client may be sloppy above the width but need not be.
 */
export interface IoClient {
  /**
   * A frontend load of `width` bytes (1, 2, 4, 8) at absolute GPA `addr`.
   * Returns the value's low 32 bits (any number the dispatcher can store
   * into a u32: an int32 or a u32); for an 8-byte load, writes the high 32
   * bits into `hi[0]`, which is 0 on entry.
   */
  read(addr: number, width: number, hi: Uint32Array): number;
  /**
   * A frontend store of `width` bytes at `addr` of the value `lo` | `hi` << 32 (already masked).
   * Returns true if it deferred work to {@link IoClient.afterComplete}
   * (anything else: none).
   */
  write(addr: number, width: number, lo: number, hi: number): boolean | void;
  /**
   * Optional: called once the store whose {@link IoClient.write} returned
   * true was completed (the frontend vCPU is running again), once for a
   * run of such stores in one batch; runs the work the store deferred, e.g.
   * processing the queue a QueueNotify named. Not called after loads: a
   * read defers no work.
   */
  afterComplete?(): void;
  /**
   * Optional: a 4-byte store of `value` to the QueueNotify register of the
   * virtio-mmio window this client serves, which the host recognised and
   * completed already (the frontend vCPU is running again): what {@link
   * IoClient.write} and then {@link IoClient.afterComplete} would do for
   * it, in one call. Only the host's remio loop calls it
   * ({@link Host.remioDirect}); the batch handler calls write and
   * afterComplete.
   */
  queueNotified?(value: number): void;
  /**
   * Optional: a JS exception escaped read/write/afterComplete, or the
   * host's watchdog stopped a call into this client's device model (then
   * `error` is a {@link WatchdogStop}). The client should reset itself and
   * report (virtio: DEVICE_NEEDS_RESET).
   */
  fault?(error: unknown): void;
}

/**
 * What {@link IoClient.fault} gets when the host's watchdog stopped a call
 * while the dispatcher was serving the client's device model
 * ({@link Host.onWatchdog}): the client's state may be half-changed.
 */
export class WatchdogStop extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WatchdogStop';
  }
}

/** A client with an address range, as registered with the dispatcher. */
export interface IoRange {
  /** first GPA of the range */
  base: number;
  /** size of the range, bytes */
  size: number;
  client: IoClient;
}
