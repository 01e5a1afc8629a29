// SPDX-License-Identifier: Apache-2.0
/**
 * The one interface between baojs's TypeScript and the world.
 *
 * The firmware implements it in C (`runtime/host.c`, exposed to JS as the
 * native ES module `host`, declared in `runtime/host.d.ts`); the tests
 * implement it with a simulated Bao (`test/sim/`). Nothing in `src/` reaches
 * the outside world any other way.
 *
 * Conventions: addresses are guest-physical addresses of the backend VM
 * (numbers, exact below 2^53); 64-bit register values travel as unsigned
 * 32-bit low/high halves, never BigInt; hot-path results are written into
 * caller-owned typed arrays so that no call allocates.
 */
import type { IoClient } from './dispatcher/client.ts';

/**
 * Bao hypercall ids (Bao `src/core/inc/hypercall.h`): the SMCCC function
 * number, called as `hvc #0` with x0 = {@link HYPERCALL_FID_BASE} | id.
 */
export const enum HypercallId {
  /** inter-VM notification on a shared-memory IPC object */
  IPC = 1,
  /** remote I/O: ASK, completions, NOTIFY ({@link RemioOp}) */
  REMIO = 2,
}

/** SMCCC function id of Bao's hypercall 0: fast call, SMC64, vendor-specific hypervisor service (SMCCC 1.4, 2.5). */
export const HYPERCALL_FID_BASE = 0xc6000000;

/** Remio hypercall operations (Bao `src/core/inc/remio.h`, `remio-abi.md`). */
export const enum RemioOp {
  WRITE = 0,
  READ = 1,
  ASK = 2,
  NOTIFY = 3,
}

/** Remio hypercall status codes as Bao returns them (signed, in x0 / a1). */
export const enum RemioStatus {
  /** success: request returned, completion accepted, notify sent */
  OK = 0,
  /** ASK: nothing pending, or ASK called with non-zero addr/value */
  EMPTY = 1,
  /** completion of a request that is not PROCESSING, or DM entry not bound */
  NOT_PROCESSING = -1,
  /** unknown hypercall number */
  UNKNOWN_HYPERCALL = -2,
  /** dm_id out of range, or unknown op */
  INVALID = -3,
}

/**
 * Layout of the `out` array of {@link Host.remio} after a successful ASK
 * (indices into a Uint32Array of at least {@link REMIO_OUT_WORDS} words).
 */
export const enum RemioOut {
  ADDR_LO = 0,
  ADDR_HI = 1,
  OP = 2,
  VALUE_LO = 3,
  VALUE_HI = 4,
  /** access width in bytes: 1, 2, 4 or 8 */
  WIDTH = 5,
  REQUEST_ID = 6,
  /** 0 or 1 in Bao: more requests pending for this DM */
  MORE = 7,
}

/** Number of words {@link Host.remio} writes into `out`. */
export const REMIO_OUT_WORDS = 8;

/**
 * Layout of one request record in the `reqs` array of {@link
 * Host.remioBatch} and {@link Host.remioComplete}: record `i` starts at word
 * `i * REMIO_REQ_WORDS` of a Uint32Array.
 */
export const enum RemioReq {
  ADDR_LO = 0,
  ADDR_HI = 1,
  /** the op ASK returned (0 WRITE, 1 READ); remioComplete echoes it */
  OP = 2,
  /**
   * remioBatch: for a WRITE the stored value, already masked to WIDTH (for
   * widths 1, 2 and 4; other widths as Bao reported it). remioComplete: for
   * a READ the value given to the frontend, which the caller must have
   * zero-extended to WIDTH (Bao stores all 64 bits); ignored for other ops
   * (0 is passed).
   */
  VALUE_LO = 3,
  VALUE_HI = 4,
  /** access width in bytes: 1, 2, 4 or 8 */
  WIDTH = 5,
  REQUEST_ID = 6,
  /**
   * remioBatch: in record 0 only (also when no request was taken), how the
   * batch ended: the status of the ASK that ended it (1 EMPTY, or an error),
   * or 0 when it stopped at the bound. remioComplete: in each record, the
   * completion's status. Signed: read it with `| 0`. remioServe: 1 in a
   * record the host completed before the call (a QueueNotify), else 0.
   */
  STATUS = 7,
}

/** Words per request record of {@link Host.remioBatch} / {@link Host.remioComplete}. */
export const REMIO_REQ_WORDS = 8;

/** Bits of what a batch handler of {@link Host.remioServe} returns. */
export const enum RemioServeResult {
  /** send NOTIFY for the device model once the batch is completed */
  NOTIFY = 1,
}

/**
 * Words of a device model's service state, one Uint32Array of {@link
 * REMIO_DIRECT_WORDS} per DM, shared by the dispatcher and the host's remio
 * loop ({@link Host.remioDirect}).
 */
export const enum RemioDirectWord {
  /** non-zero while JS serves the DM: an interrupt a device raises then is sent as NOTIFY when the service ends */
  IN_SERVICE = 0,
  /** set by JS during a service: send NOTIFY when it ends (whoever ends it clears this) */
  NOTIFY,
  /** requests the host answered through the client's methods (u32, wrapping; counted by the host, drained by the dispatcher) */
  REQUESTS,
  /** of them, READs */
  READS,
  /** of them, WRITEs */
  WRITES,
  /** NOTIFYs the host sent after such requests */
  NOTIFIES,
}

/** Words of a {@link RemioDirectWord} state array. */
export const REMIO_DIRECT_WORDS = 6;

/** Heap figures of the JS engine's allocator, bytes. */
export interface HeapStats {
  /** bytes of the heap region in all */
  total: number;
  /** bytes currently allocated */
  used: number;
  /** highest `used` since boot */
  highWater: number;
}

/**
 * Layout of the `out` array of {@link Host.perfCounters} (a Float64Array of
 * at least {@link PERF_OUT_WORDS} elements). Times are counter ticks of the
 * platform's clock (aarch64: the generic timer's CNTVCT_EL0 at
 * {@link PerfOut.CLOCK_HZ}; under QEMU `-icount shift=0` one ns of guest time
 * is one guest instruction). Per-kind blocks start at
 * {@link PerfOut.KINDS} + kind * {@link PERF_FIELDS} (kinds:
 * {@link PerfKind}, fields: {@link PerfField}).
 */
export const enum PerfOut {
  /** counter frequency, Hz */
  CLOCK_HZ = 0,
  /** absolute counter value at the firmware's first instruction (ticks since the counter's reset) */
  BOOT_TICKS = 1,
  /** absolute counter value when the first request was completed (0: none yet) */
  FIRST_SERVED_TICKS = 2,
  /** absolute counter value now */
  NOW_TICKS = 3,
  /** first per-kind block */
  KINDS = 4,
  /** service windows that served several requests (or none), then the requests they served */
  BATCHED_WINDOWS = 4 + 3 * 7,
  BATCHED_REQUESTS = 4 + 3 * 7 + 1,
  /**
   * every service window of the INTID (one request, several or none: a
   * passthrough device's completion interrupt serves no remio request),
   * then the ticks they took in all (IRQ handler's entry to the end of
   * the main loop's work for it, or its first NOTIFY)
   */
  WINDOWS = 4 + 3 * 7 + 2,
  WINDOW_TICKS = 4 + 3 * 7 + 3,
}

/** Request kinds of {@link Host.perfCounters}. */
export const enum PerfKind {
  /** a register read */
  READ = 0,
  /** a register write other than QueueNotify */
  WRITE = 1,
  /** a write to QueueNotify (the window includes processing the queue) */
  NOTIFY = 2,
}

/**
 * Fields of a per-kind block of {@link Host.perfCounters}: the number of
 * service windows (from the IRQ handler's entry for the device model's
 * interrupt — or, when it came while the backend was still serving an
 * earlier window, from that window's end — to the return of the JS call
 * the main loop made for it, or to
 * the start of its first NOTIFY hypercall: after that QEMU runs the
 * frontend's vCPU, and icount time is global) that served exactly one
 * request of the kind, then sums over them, in ticks.
 */
export const enum PerfField {
  COUNT = 0,
  /** IRQ entry to the return of the hypercall that completed the request */
  TO_COMPLETION = 1,
  /** IRQ entry to the end of the main loop's work for the interrupt (data plane, JS call), or to the start of the first NOTIFY */
  TOTAL = 2,
  /** in C: IRQ handler, main loop, the block data plane, entering and leaving JS */
  C = 3,
  /** in the JS call, hypercalls excluded (includes the host binding's argument conversion) */
  JS = 4,
  /** in remio hypercalls: trap, hypervisor, return */
  HYPERCALL = 5,
  /** number of remio hypercalls (a count, not ticks) */
  HYPERCALLS = 6,
}

/** Fields per kind in {@link Host.perfCounters}. */
export const PERF_FIELDS = 7;
/** Elements {@link Host.perfCounters} writes. */
export const PERF_OUT_WORDS = 4 + 3 * 7 + 4;

/**
 * Words of the state array shared with a host's virtio-blk data plane
 * ({@link Host.dataPlane}; C: `enum dp_word` in the generated `abi.h`,
 * scripts/gen-abi.ts). JS writes the layout and control words; the host writes the
 * indices and counters while it serves; InterruptStatus is shared.
 */
export const enum DataPlaneWord {
  /** {@link DataPlaneCtrl} bits, written by JS */
  CTRL = 0,
  /** the transport's InterruptStatus (virtio 1.2 4.2.2), JS and host */
  INT_STATUS,
  /** guest-physical address of the virtio-mmio window, low/high halves */
  WINDOW_LO, WINDOW_HI,
  /** guest-physical address of the shared region's first byte, low/high halves */
  SHMEM_LO, SHMEM_HI,
  /** Queue Size of queue 0 */
  Q_NUM,
  /** QueueNumMax of queue 0 (bound of an indirect table) */
  Q_NUM_MAX,
  /** descriptor table, available ring, used ring: byte offsets in the shared region */
  Q_DESC, Q_AVAIL, Q_USED,
  /** {@link DataPlaneQueueFlag} bits */
  Q_FLAGS,
  /** next avail index to consume; next used index to produce (u16) */
  Q_LAST_AVAIL, Q_USED_IDX,
  /** used index at the last notification decision, and whether it is set (event idx) */
  Q_SIGNALLED_USED, Q_SIGNALLED_VALID,
  /** 1 if chains were pushed since the last notification decision */
  Q_PUSHED,
  /** counters kept by the host (u32, wrapping; bytes as low/high halves) */
  N_INT_STATUS_READS, N_INT_ACKS, N_KICKS, N_CHAINS, N_READS, N_WRITES,
  N_BYTES_READ_LO, N_BYTES_READ_HI, N_BYTES_WRITTEN_LO, N_BYTES_WRITTEN_HI,
  N_USED_NOTIFICATIONS, N_HANDBACKS, N_ERRORS,
  /** the device's reset generation: JS adds 1 at each device reset; the host stamps each request it places on a physical disk with it */
  GENERATION,
  /** a frontend disk on a physical disk ({@link Host.diskPlane}): byte offset of its range on the physical disk, low/high halves */
  RANGE_BASE_LO, RANGE_BASE_HI,
  /** bytes of the range, low/high halves */
  RANGE_SIZE_LO, RANGE_SIZE_HI,
  /** requests the host placed on the physical disk and has not answered or handed to JS yet */
  N_IN_FLIGHT,
  /** requests the host placed on the physical disk */
  N_DISK_REQUESTS,
  /** answers of such requests the host handed to JS (a status other than OK, the queue taken back meanwhile) */
  N_DISK_HANDED,
  /** answers of such requests dropped because the device was reset while they were in flight */
  N_DISK_STALE,
}

/** Words of the data plane's state array. */
export const DATA_PLANE_WORDS = 39;

/**
 * Words of one virtqueue's state shared with the host's C virtqueue
 * ({@link Host.vqAttach}; C: `enum vq_word` in the generated `abi.h`,
 * runtime/virtqueue.h). The same words, in the same order, are the Q_NUM …
 * Q_PUSHED block of {@link DataPlaneWord}, so the block data plane runs the
 * same queue code over its state array.
 */
export const enum QueueWord {
  /** Queue Size (QueueNum) */
  NUM = 0,
  /** QueueNumMax (bound of an indirect table) */
  NUM_MAX,
  /** descriptor table, available ring, used ring: byte offsets in the shared region */
  DESC, AVAIL, USED,
  /** {@link DataPlaneQueueFlag} bits (EVENT_IDX, INDIRECT) */
  FLAGS,
  /** next avail index to consume; next used index to produce (u16) */
  LAST_AVAIL, USED_IDX,
  /** used index at the last notification decision, and whether it is set (event idx) */
  SIGNALLED_USED, SIGNALLED_VALID,
  /** 1 if chains were pushed since the last notification decision */
  PUSHED,
}

/** Words of one virtqueue's state ({@link QueueWord}). */
export const QUEUE_WORDS = 11;

/**
 * Words of one chain record that {@link Host.vqPop} writes into a queue's
 * `chains` array (record `i` at word `i * QUEUE_CHAIN_WORDS`; C: `enum
 * vq_chain_word` in the generated `abi.h`).
 */
export const enum QueueChainWord {
  /** head descriptor index: the id for the used ring */
  HEAD = 0,
  /** index of the chain's first buffer in segAddr/segLen/segWritable */
  FIRST_SEG,
  /** number of buffers */
  COUNT,
  /** index (within the chain) of the first device-writable buffer; COUNT if none */
  FIRST_WRITABLE,
  /** bytes in device-readable buffers */
  READABLE,
  /** bytes in device-writable buffers */
  WRITABLE,
}

/** Words per chain record of {@link Host.vqPop}. */
export const QUEUE_CHAIN_WORDS = 6;

/**
 * Added to {@link Host.vqPop}'s count when the avail ring was empty after
 * the chains it took, with VIRTIO_F_RING_EVENT_IDX avail_event published
 * and the ring looked at once more (virtio 1.2 2.7.10): the driver
 * notifies for the next chain it makes available, so a device that serves
 * all it is given need not ask again before the next QueueNotify.
 */
export const VQ_POP_DRAINED = 0x10000;

/** Bits of {@link DataPlaneWord.CTRL}. */
export const enum DataPlaneCtrl {
  /** the host answers 4-byte InterruptStatus reads and InterruptACK writes */
  IRQ_REGS = 1,
  /** the host serves QueueNotify of queue 0 (it clears this bit when it hands the queue back) */
  QUEUE = 2,
}

/** Bits of {@link DataPlaneWord.Q_FLAGS}. */
export const enum DataPlaneQueueFlag {
  EVENT_IDX = 1,
  INDIRECT = 2,
  READ_ONLY = 4,
  /** writes must be durable before they are answered (virtio-blk writethrough, 5.2.5): the host hands writes back */
  WRITETHROUGH = 8,
}

/**
 * Words of a driver-side virtqueue's state (`DriverQueue` in
 * src/drivers/virtio-mmio.ts; C: `enum dq_word` in the generated `abi.h`,
 * runtime/drvqueue.h). The TypeScript queue keeps its state here, so that a
 * host's C copy of the same algorithm ({@link Host.diskPlane}) can add and
 * reap chains between two calls into JS. Offsets are bytes in the DMA
 * region; indices are u16.
 */
export const enum DriverQueueWord {
  /** Queue Size */
  NUM = 0,
  /** descriptor table, available ring, used ring: byte offsets in the DMA region */
  DESC, AVAIL, USED,
  /** the indirect tables (one of INDIRECT_ENTRIES descriptors per head): byte offset; 0 entries: none */
  INDIRECT, INDIRECT_ENTRIES,
  /** guest-physical address of the DMA region's first byte, low/high halves */
  DMA_LO, DMA_HI,
  /** 1 if VIRTIO_F_RING_EVENT_IDX was negotiated */
  EVENT_IDX,
  /** first free descriptor; free descriptors */
  FREE_HEAD, NUM_FREE,
  /** avail.idx including chains added since the last kick; avail.idx as published by the last kick */
  AVAIL_IDX, PUBLISHED_IDX,
  /** next used ring index to read */
  LAST_USED,
  /** chains added and not yet returned */
  IN_FLIGHT,
  /** QueueNotify writes made */
  KICKS,
}

/** Words of a driver-side virtqueue's state ({@link DriverQueueWord}). */
export const DRIVER_QUEUE_WORDS = 16;

/**
 * Words of the state a host's disk plane shares with a virtio-blk driver
 * ({@link Host.diskPlane}; C: `enum pt_word` in the generated `abi.h`,
 * runtime/diskplane.h).
 */
export const enum DiskPlaneWord {
  /** 1: the host may place frontend requests on the disk and reap its completions (JS clears it when it gives up on the device) */
  CTRL = 0,
  /** guest-physical base of the disk's virtio-mmio window, low/high halves */
  MMIO_LO, MMIO_HI,
  /** the disk's interrupt */
  INTID,
  /** the host's header slots (16 bytes per head) and status bytes (1 per head): byte offsets in the DMA region */
  HEADERS, STATUSES,
  /** most data buffers per request; most bytes per data buffer (a multiple of 512) */
  MAX_SEGMENTS, SEGMENT_BYTES,
  /** 1 while JS holds requests waiting for room in the disk's queue: the host places none ahead of them and calls JS when room frees */
  BACKLOG,
  /** InterruptStatus bits the host read and acknowledged for JS (JS clears them) */
  ISR,
  /** event records waiting for JS ({@link DiskEventWord}) */
  EVENTS,
  /** non-zero: the host found the used ring broken (a {@link DiskBroken} reason) and stopped reaping */
  BROKEN,
  /** the used index and in-flight count when it was found broken (for the log) */
  BROKEN_IDX, BROKEN_ARG,
  /** counters: interrupts the host took, chains it reaped, answers it completed itself, calls into JS it needed */
  N_INTERRUPTS, N_REAPED, N_ANSWERED, N_JS_CALLS,
  /**
   * times the host found returned chains before it took an interrupt for
   * them (on its way, or lost): it looks at the used ring before it sleeps
   * while chains are in flight, and at least every 10 ms of guest time, so
   * that a lost interrupt stalls nothing
   */
  N_POLLED,
}

/** Words of a disk plane's state ({@link DiskPlaneWord}). */
export const DISK_PLANE_WORDS = 19;

/** Why a host's disk plane stopped reaping ({@link DiskPlaneWord.BROKEN}). */
export const enum DiskBroken {
  /** used.idx moved past the chains in flight (BROKEN_IDX: used.idx, BROKEN_ARG: chains in flight) */
  USED_IDX = 1,
  /** a used entry names a descriptor that heads no chain in flight (BROKEN_IDX: the entry, BROKEN_ARG: the id) */
  USED_ID = 2,
}

/**
 * Words of the record a host's disk plane keeps per head for a request it
 * placed on the disk (`reqs` of {@link Host.diskPlane}); the chain's token
 * is -(head + 1).
 */
export const enum DiskReqWord {
  /** the frontend's DM id + 1 (0: no request of the host's under this head) */
  DM = 0,
  /** the frontend chain's head */
  FE_HEAD,
  /** bytes written into the frontend chain on success (data + status) */
  WRITTEN,
  /** byte offset of the frontend's status byte in its shared region */
  STATUS_OFF,
  /** the frontend device's GENERATION when placed */
  GENERATION,
  /** BlkType (IN or OUT) */
  TYPE,
}

/** Words per record of {@link DiskReqWord}. */
export const DISK_REQ_WORDS = 6;

/**
 * Words of an event record a host's disk plane leaves for JS (`events` of
 * {@link Host.diskPlane}), in used-ring order: a chain JS placed (TOKEN its
 * token, LEN the used length) or, with TOKEN 0xffffffff, a request the
 * host placed whose answer JS must give (the {@link DiskReqWord} fields and
 * the disk's STATUS byte).
 */
export const enum DiskEventWord {
  TOKEN = 0,
  LEN,
  DM, FE_HEAD, WRITTEN, STATUS_OFF, GENERATION, TYPE,
  STATUS,
}

/** Words per record of {@link DiskEventWord}. */
export const DISK_EVENT_WORDS = 9;

/** {@link DiskEventWord.TOKEN} of a request the host placed. */
export const DISK_EVENT_HOST = 0xffffffff;

/**
 * Words of one virtio-net port's state shared with a host's network plane
 * ({@link Host.netPort}; C: `enum np_word` in the generated `abi.h`,
 * runtime/netplane.h). JS writes CTRL, PORT and MAX_FRAME; the host writes
 * the counters.
 */
export const enum NetPortWord {
  /** {@link NetPortCtrl} bits, written by JS whenever what they say changes */
  CTRL = 0,
  /** the port's id in the switch */
  PORT,
  /** longest frame the port sends or takes, bytes: MTU + 14 + 4 (an 802.1Q tag; an untagged frame is at most 4 bytes shorter) */
  MAX_FRAME,
  /** frames the host took from the port's transmitq and forwarded, and their bytes (low/high halves; header excluded) */
  N_TX_FRAMES, N_TX_BYTES_LO, N_TX_BYTES_HI,
  /** frames the host wrote into the port's receiveq, and their bytes (low/high halves; header excluded) */
  N_RX_FRAMES, N_RX_BYTES_LO, N_RX_BYTES_HI,
  /** QueueNotify writes of transmitq and of receiveq the host answered without JS */
  N_TX_KICKS, N_RX_KICKS,
  /** transmitq QueueNotify writes the host handed to JS, stopped at a chain it does not forward */
  N_HANDBACKS,
  /** used buffer notifications the host sent the port's frontend */
  N_USED_NOTIFICATIONS,
  /** receive chains the host filled (N_RX_FRAMES and more: a frame may fill several with MRG_RXBUF) */
  N_RX_CHAINS,
}

/**
 * The console escape byte (Ctrl-]): the byte after it on the UART is a
 * command to baojs (src/main.ts), never input for a frontend; the host's
 * console plane hands every read that holds or follows one to JS.
 */
export const CONSOLE_ESCAPE_BYTE = 0x1d;

/**
 * Words of one virtio-console's state shared with the host's console plane
 * ({@link Host.consolePort}; C: `enum cp_word` in the generated `abi.h`,
 * runtime/consoleplane.h). JS writes CTRL; the host writes the counters.
 */
export const enum ConsolePortWord {
  /** {@link ConsolePortCtrl} bits, written by JS whenever what they say changes */
  CTRL = 0,
  /** transmit chains the host wrote to the UART and returned, and their device-readable bytes (low/high halves) */
  N_TX_CHAINS, N_TX_BYTES_LO, N_TX_BYTES_HI,
  /** QueueNotify writes of transmitq the host answered without JS */
  N_TX_KICKS,
  /** transmitq QueueNotify writes the host handed to JS, stopped at a chain it does not serve */
  N_HANDBACKS,
  /** used buffer notifications the host sent the frontend */
  N_USED_NOTIFICATIONS,
  /** receive chains the host filled with typed bytes, and those bytes (low/high halves) */
  N_RX_CHAINS, N_RX_BYTES_LO, N_RX_BYTES_HI,
}

/** Words of a console plane's state ({@link ConsolePortWord}). */
export const CONSOLE_PORT_WORDS = 10;

/** Bits of {@link ConsolePortWord.CTRL}. */
export const enum ConsolePortCtrl {
  /**
   * the host may serve QueueNotify of transmitq: the device is live, its
   * transmitq enabled, served by the host's C virtqueue and idle in JS,
   * and the console's output goes to the UART (the one bridged to it)
   */
  TX = 1,
  /**
   * the host may put typed bytes into receiveq's buffers itself: the device
   * is live, its receiveq enabled, served by the host's C virtqueue and
   * idle in JS, no input waits in its FIFO, and the console is the one
   * bridged to the UART
   */
  RX = 2,
}

/** Words of a network port's state ({@link NetPortWord}). */
export const NET_PORT_WORDS = 14;

/** Bits of {@link NetPortWord.CTRL}. */
export const enum NetPortCtrl {
  /** the host may serve QueueNotify of transmitq (the device is live, transmitq enabled and served by the host's C virtqueue) */
  TX = 1,
  /** the host may fill receiveq (the device is live, receiveq enabled and host-served, and JS holds no frame, chain or popped batch for it) */
  RX = 2,
  /** the port is isolated ({@link EthernetSwitch.mayForward}: two isolated ports never talk) */
  ISOLATED = 4,
  /** VIRTIO_NET_F_MRG_RXBUF negotiated: a frame may fill several receive chains (num_buffers), else exactly one */
  MRG_RXBUF = 8,
  /**
   * What the driver negotiated to send: partial checksums (VIRTIO_NET_F_CSUM),
   * TCP/IPv4 and TCP/IPv6 GSO frames (HOST_TSO4/6, with CSUM); the
   * {@link PortOffload} bits of the device's transmit side, shifted left by 4
   */
  TX_CSUM = 16,
  TX_TSO4 = 32,
  TX_TSO6 = 64,
  /** What the driver takes: GUEST_CSUM, GUEST_TSO4/6 (with GUEST_CSUM); the receive side's {@link PortOffload} bits shifted left by 7 */
  RX_CSUM = 128,
  RX_TSO4 = 256,
  RX_TSO6 = 512,
}

/**
 * Words of one entry of a host's copy of the switch's MAC table
 * ({@link Host.netSwitch}): an open-addressing hash table with linear probing that
 * JS writes and the host only reads (entry `i` at word `i * NET_FDB_WORDS`;
 * C: `enum np_fdb_word`). An entry with MAC_HI's {@link NET_FDB_VALID} bit
 * clear is empty and ends a probe.
 */
export const enum NetFdbWord {
  /** the MAC's last four bytes, byte 2 most significant */
  MAC_LO = 0,
  /** the MAC's first two bytes (byte 0 in bits 15..8), and NET_FDB_VALID */
  MAC_HI,
  /** the port it was learned on */
  PORT,
  /** its slot in the switch's table: the index of its last-seen time in the `seen` array */
  SLOT,
}

/** Words per entry of {@link NetFdbWord}. */
export const NET_FDB_WORDS = 4;

/** {@link NetFdbWord.MAC_HI} bit of an entry in use. */
export const NET_FDB_VALID = 0x10000;

/**
 * Words of a transport's register shadow ({@link Host.regShadow}; C:
 * `enum rs_word` in the generated `abi.h`, scripts/gen-abi.ts). The transport writes
 * every word but N_READS after each change of a register it lets the host
 * answer; the host answers a READ from it only while CTRL.VALID is set: a
 * 4-byte aligned read of a control register whose READABLE bit is set
 * (value: REGS + offset / 4), or a config read of 1, 2, 4 or 8 bytes aligned
 * to its width inside the first CONFIG_LEN bytes of the device's config.
 */
export const enum RegShadowWord {
  /** {@link RegShadowCtrl} bits, written by JS */
  CTRL = 0,
  /** reads the host answered from the shadow (u32, wrapping), written by the host only */
  N_READS,
  /** bytes of the configuration space the host may answer */
  CONFIG_LEN,
  /** bit i: the control register at offset 4 * i may be answered (offsets 0x000-0x07c) */
  READABLE_LO,
  /** bit i: the control register at offset 0x080 + 4 * i may be answered */
  READABLE_HI,
  /** the first of {@link REG_SHADOW_CONTROL_REGS} register values: offset `off` at REGS + off / 4 */
  REGS,
}

/** Control registers in the shadow: offsets 0x000 to 0x0fc (virtio 1.2 4.2.2). */
export const REG_SHADOW_CONTROL_REGS = 64;
/** Words of the register shadow. */
export const REG_SHADOW_WORDS = 5 + 64;

/** Bits of {@link RegShadowWord.CTRL}. */
export const enum RegShadowCtrl {
  /** the shadow is current: the host may answer from it */
  VALID = 1,
}

/** What the platform offers as an entropy source. */
export type EntropyQuality =
  /** a hardware random number generator (e.g. Armv8.5 RNDR, a TRNG) */
  | 'hardware'
  /** timer jitter and counters only: not suitable for cryptographic keys */
  | 'weak';

export interface Host {
  /** Engine name and version, e.g. `quickjs 2025-04-26` (Node tests: `node <version>`). */
  readonly engineVersion: string;
  /** Instruction set of the platform, e.g. `aarch64`. */
  readonly arch: string;
  /**
   * True when a hypervisor (Bao, the test monitor) runs below the firmware,
   * i.e. the firmware was entered at EL1; false when it owns the machine
   * (entered at EL2 on bare QEMU), where no remio hypercall can be made.
   */
  readonly underHypervisor: boolean;

  /** Writes `text` (UTF-8) to the platform console as is; no newline added. */
  write(text: string): void;
  /**
   * Optional: writes `bytes[start, end)` (default: all of it) to the
   * platform console as they are (a frontend console's output: UTF-8
   * sequences split between two calls reach the terminal whole), without
   * making a string or a view of them.
   * @throws RangeError for a range outside `bytes`
   */
  writeBytes?(bytes: Uint8Array, start?: number, end?: number): void;

  /** Monotonic time since the firmware's first instruction, ns (generic timer CNTVCT_EL0). */
  nowNs(): number;

  /**
   * Calls `callback` once after `ms` milliseconds, from the main loop (never
   * in interrupt context). Returns an id for {@link Host.clearTimer}.
   */
  setTimeout(callback: () => void, ms: number): number;
  /** Calls `callback` every `ms` milliseconds from the main loop. */
  setInterval(callback: () => void, ms: number): number;
  /** Cancels a timer made by setTimeout or setInterval; unknown ids are ignored. */
  clearTimer(id: number): void;

  /**
   * INTID that {@link Host.onIrq} reports when bytes typed on the platform
   * console (the UART) are waiting for {@link Host.consoleRead}.
   */
  readonly consoleIntid: number;
  /**
   * Moves up to `buf.length` bytes typed on the platform console into `buf`;
   * returns the count. A count below `buf.length` means none was left: a
   * byte typed after the call reports {@link Host.consoleIntid} again.
   */
  consoleRead(buf: Uint8Array): number;

  /**
   * Enables interrupt `intid` (GIC INTID: SGI 0-15, PPI 16-31, SPI 32-1019)
   * and routes it to the backend's CPU (GICv3: GICD_IROUTER; GICv2:
   * GICD_ITARGETSR). The INTID of a device passed through to the backend
   * (`backend.passthrough[].intid` of the platform description) is
   * accepted, and is how its driver unmasks it again: a virtio-mmio
   * device's interrupt is level-triggered and stays high until the driver
   * writes InterruptACK (virtio 1.2 section 4.2.2), so the host disables
   * it at the GIC each time it fires, before ending it ({@link Host.onIrq});
   * the driver calls `irqEnable(intid)` after it has read InterruptStatus
   * and written InterruptACK. If the device raised its line again meanwhile,
   * the interrupt is taken again at once. Calling it for an enabled INTID
   * is harmless. Source: Arm IHI 0069 (GICv3) 12.9.14 GICD_IROUTER,
   * 12.9.10 GICD_ICENABLER; firmware/irq.c.
   * @throws RangeError for an INTID the platform cannot deliver (the
   *   UART's and the timer's are the host's own)
   */
  irqEnable(intid: number): void;
  /**
   * Sets the function the main loop calls for each interrupt that fired,
   * after the C handler acknowledged it. One handler; a later call
   * replaces it. For a passthrough device's INTID the interrupt is
   * disabled at the GIC when the handler runs, and stays so until the
   * handler (or later code) calls {@link Host.irqEnable}: acknowledge the
   * device first (InterruptACK), then enable, or the device's held line
   * interrupts the backend again at once.
   */
  onIrq(handler: (intid: number) => void): void;
  /**
   * Optional: the host acknowledges the virtio-mmio device at guest-physical
   * `mmio` (a passthrough device's window) in its interrupt handler itself:
   * on each interrupt `intid` it reads InterruptStatus, writes the bits to
   * InterruptACK (virtio 1.2 4.2.2: the level line drops) and ORs them into
   * `isr[0]` before the {@link Host.onIrq} handler runs, and it never masks
   * the line at the GIC, so the driver needs no {@link Host.irqEnable}
   * (two GIC distributor accesses, each trapped by the hypervisor, saved per
   * interrupt). The driver takes and clears `isr[0]`. Returns true.
   * Source: firmware/irq.c, runtime/host.c.
   * Registering the same device again (a new driver for it) replaces `isr`.
   * @throws RangeError for a window or INTID that is not a passthrough device's or is another registered device's
   */
  passthroughIsr?(intid: number, mmio: number, isr: Uint32Array): boolean;

  /**
   * An ArrayBuffer over the memory region `name` of the platform description
   * (shared-memory regions, backing stores, the self-test region): no copy,
   * never freed.
   * @throws RangeError for a name the platform description does not have.
   */
  region(name: string): ArrayBuffer;
  /** Guest-physical base address of region `name`. @throws RangeError as {@link Host.region}. */
  regionBase(name: string): number;

  /**
   * Sets the function the main loop calls after the watchdog stopped a call
   * into JS (an IRQ handler, a timer callback or a promise job that ran
   * longer than the budget, {@link Host.setWatchdogMs}). The stop is
   * uncatchable: no `catch` or `finally` of the stopped call ran. Before
   * calling `handler` the host has completed every request taken with
   * {@link Host.remioBatch} and not yet completed (a READ answered 0, a
   * WRITE completed without effect), so no frontend vCPU stays parked;
   * `handler` makes the JS state consistent again (the dispatcher fails the
   * devices it was serving). It runs with a fresh budget; a stop inside it
   * does not call it again. One handler; a later call replaces it.
   * @throws TypeError if `handler` is not a function
   */
  onWatchdog(handler: () => void): void;
  /**
   * Sets the watchdog's budget for one call into JS, in ms of guest time
   * (default 10,000: the firmware's CALL_BUDGET_MS), for tests that must
   * not wait that long. Returns the previous budget.
   * @throws RangeError for a budget outside 10..60,000 ms
   */
  setWatchdogMs(ms: number): number;

  /**
   * MMIO load of `width` bytes (1, 2, 4, 8) at guest-physical `addr`, which
   * must lie inside a device region of the platform description (the UART,
   * the register window of each `backend.passthrough` device). Returns the
   * low 32 bits (unsigned); for width 8 the high half goes to `hi[0]` if given.
   * @throws RangeError outside the device regions or for a bad width/alignment.
   */
  mmioRead(addr: number, width: number, hi?: Uint32Array): number;
  /** MMIO store of `width` bytes; `hi` is the upper half for width 8. @throws RangeError as mmioRead. */
  mmioWrite(addr: number, width: number, lo: number, hi?: number): void;

  /**
   * The remio hypercall ({@link HypercallId.REMIO}; `hvc #0` with x0 = 0xC6000002 on aarch64).
   * `addr` is an absolute guest-physical address; `valueLo`/`valueHi` the
   * 64-bit value. Returns Bao's signed status ({@link RemioStatus}); on a
   * successful ASK writes the request into `out` ({@link RemioOut} layout).
   * Source: Bao `src/core/remio.c`, `remio-abi.md`.
   */
  remio(dmId: number, addr: number, op: number, valueLo: number, valueHi: number,
    requestId: number, out: Uint32Array): number;

  /**
   * Takes the requests pending for device model `dmId` in one call: issues
   * remio ASK until Bao answers +1 (EMPTY), another non-zero status, or
   * `maxRequests` requests were taken (then it asks no more), and writes
   * request `i` into record `i` of `reqs` ({@link RemioReq} layout,
   * {@link REMIO_REQ_WORDS} words each; a WRITE's value masked to its width).
   * How the batch ended goes into the STATUS word of record 0: the ending
   * ASK status (1 EMPTY, or an error), or 0 at the bound. Returns the number of requests taken
   * (0..maxRequests, at most the records `reqs` holds), or Bao's negative
   * status when the first ASK failed. Every request taken must be completed
   * with {@link Host.remioComplete} (the frontend vCPU waits until then);
   * after a watchdog stop the host completes those left open itself
   * ({@link Host.onWatchdog}).
   * Source: Bao `src/core/remio.c`, `remio-abi.md`.
   * @throws RangeError when `reqs` holds no record, or with no hypervisor
   */
  remioBatch(dmId: number, reqs: Uint32Array, maxRequests: number): number;

  /**
   * Completes records `0..count-1` of `reqs` as taken by {@link
   * Host.remioBatch}, in order: one remio hypercall each with the record's
   * ADDR, OP and REQUEST_ID, and for a READ its VALUE halves (which the
   * caller zero-extends to WIDTH), 0 for any other op. Writes each
   * completion's signed status into the record's STATUS word; returns how
   * many were non-zero (0: all accepted).
   * Source: Bao `src/core/remio.c`, `remio-abi.md`.
   * @throws RangeError when `reqs` holds fewer than `count` records, or with no hypervisor
   */
  remioComplete(dmId: number, reqs: Uint32Array, count: number): number;

  /**
   * Optional: serves device model `dmId` (backend interrupt `intid`) with
   * the host's own remio loop (firmware: runtime/remio.c), which keeps the
   * ASK loop and the completions out of JS. On the DM's interrupt the host
   * takes its requests with ASK until EMPTY, answers those it can itself
   * ({@link Host.dataPlane}, {@link Host.regShadow}), writes every other
   * one, in order, into a record of `reqs` ({@link RemioReq} layout, a
   * WRITE's value masked to its width) and calls `handler(count)` once per
   * batch of up to the records `reqs` holds. The handler answers records
   * `0..count-1` in order, writing each READ's value (zero-extended to
   * WIDTH) into its VALUE words, and returns {@link RemioServeResult} bits.
   * The host then completes every record (a WRITE to a virtio-mmio
   * window's QueueNotify may have been completed before the call: it
   * returns nothing) and sends NOTIFY if asked. For a DM served so, the
   * host calls no {@link Host.onIrq} handler for `intid`. After a watchdog
   * stop of the handler the host completes the batch itself ({@link
   * Host.onWatchdog}). Hosts without one (the simulated host) leave it
   * out: the dispatcher then takes requests with {@link Host.remioBatch}.
   * Source: runtime/remio.h; Bao `src/core/remio.c`, `remio-abi.md`.
   * @throws RangeError for a `reqs` without a whole record, a DM or
   *   interrupt registered twice, or too many DMs; TypeError if `handler`
   *   is not a function
   */
  remioServe?(dmId: number, intid: number, reqs: Uint32Array, handler: (count: number) => number): boolean;

  /**
   * Optional, with {@link Host.remioServe}: the host's remio loop answers
   * each aligned 4-byte access to `[base, base + size)` of device model
   * `dmId` that is first in its batch (nothing overtakes a request waiting
   * for JS) by calling the client itself, with `client` as `this` and each
   * method looked up at the call (as the batch handler does):
   * `read(addr, 4, hi)`, whose value's low 32 bits go to the frontend, or
   * `write(addr, 4, value, 0)` and, if that returns true,
   * `afterComplete()` — what the dispatcher's batch handler does for such
   * a request, in one JS call instead of the handler's loop and the
   * client's call; for a WRITE to a virtio-mmio window's QueueNotify
   * (a DM with a {@link Host.dataPlane} state) `queueNotified(value)`
   * instead if the client has it ({@link IoClient.queueNotified}). A
   * WRITE to a virtio-mmio window's QueueNotify is completed before the
   * call (the frontend's vCPU runs on meanwhile),
   * every other request after its calls. Around the calls the host sets
   * `state[IN_SERVICE]`; after them it sends NOTIFY if `state[NOTIFY]` is
   * set (and clears it); it counts in `state` ({@link RemioDirectWord}).
   * An exception from a call goes to `fault(error)` and the request is
   * answered 0 / dropped; after a watchdog stop the host goes on as for a
   * batch ({@link Host.onWatchdog}). Other requests of the range (other
   * widths, unaligned, behind a waiting one) still reach the batch
   * handler. Source: runtime/remio.c.
   * @throws RangeError for a DM not served by remioServe or given a range
   *   already, an empty range, or a `state` shorter than {@link
   *   REMIO_DIRECT_WORDS}; TypeError if `client.read`, `client.write` or
   *   `fault` is not a function
   */
  remioDirect?(dmId: number, base: number, size: number, client: IoClient, state: Uint32Array, fault: (error: unknown) => void): boolean;
  /**
   * Optional, with {@link Host.remioServe}: device model `dmId`'s
   * interrupt as a host function of no arguments, what the dispatcher
   * hands its devices ({@link Dispatcher.interruptFor}) in place of a JS
   * closure doing the same: while `state[IN_SERVICE]` is set, set
   * `state[NOTIFY]` (the NOTIFY goes when the service ends); otherwise send
   * NOTIFY now and count it in `state[NOTIFIES]` (the host counts and logs
   * a failed one). `state` is the DM's {@link RemioDirectWord} array.
   * Source: runtime/host.c (host_raise).
   * @throws RangeError for a DM not served by remioServe or a `state`
   *   shorter than {@link REMIO_DIRECT_WORDS}
   */
  remioRaiser?(dmId: number, state: Uint32Array): () => void;

  /**
   * Optional: attaches a virtqueue to the host's C virtqueue
   * (runtime/virtqueue.h), which then does the queue mechanics of a
   * TypeScript device: {@link Host.vqPop} gathers and validates chains,
   * {@link Host.vqPush} returns them and decides on the notification.
   * `state` ({@link QUEUE_WORDS} words, {@link QueueWord} layout) holds the
   * layout the transport checked and the indices, and is the queue's state
   * from then on; `shmem` is the shared region (a {@link Host.region}
   * buffer) whose first byte is guest-physical `shmemBase`, of which the
   * first `shmemSize` bytes may hold rings and tables; `chains` receives
   * chain records ({@link QueueChainWord}), `segAddr`/`segLen`/`segWritable`
   * their buffers (guest-physical address, bytes, 1 if device-writable),
   * `used` takes (head, len) pairs for vqPush. All kept alive. Returns the
   * queue's handle. Hosts without one (the simulated host) leave it out:
   * `SplitQueue` then walks the rings itself.
   * Source: runtime/virtqueue.h; virtio 1.2 2.7.
   * @throws RangeError for arrays without a whole record, misaligned
   *   arrays, a size outside the region, or too many queues
   */
  vqAttach?(state: Uint32Array, shmem: ArrayBuffer, shmemBase: number, shmemSize: number, chains: Uint32Array,
    segAddr: Float64Array, segLen: Uint32Array, segWritable: Uint8Array, used: Uint32Array): number;
  /**
   * Takes up to `max` available chains of queue `handle` (as many as the
   * chain and buffer arrays hold), each checked as `SplitQueue.pop` checks
   * it, into the attached arrays, consuming them. Returns the number taken
   * (0: none available; with VIRTIO_F_RING_EVENT_IDX avail_event is
   * published and the ring looked at once more), plus {@link
   * VQ_POP_DRAINED} if it took some and the ring was empty after them (as
   * for 0), or -1 when the next chain
   * is one the caller's reference must take itself (malformed, longer than
   * the arrays, an avail index too far ahead): nothing of it is consumed.
   * @throws RangeError for an unknown handle
   */
  vqPop?(handle: number, max: number): number;
  /**
   * Returns the first `count` (head, len) pairs of queue `handle`'s `used`
   * array to the driver through the used ring (every byte written into the
   * buffers before used.idx, stored with release), then decides on a used
   * buffer notification for everything pushed since the last decision
   * (virtio 1.2 2.7.7, 2.7.10). Returns 1 if the driver wants one, else 0.
   * @throws RangeError for an unknown handle, a count past the `used`
   *   array, or state words that are not an enabled queue's layout
   */
  vqPush?(handle: number, count: number): number;

  /**
   * Optional: hands the hot path of a virtio-blk device served by DM `dmId`
   * (backend interrupt `intid`) to the host, as Linux's vhost does for a
   * userspace device model. `state` ({@link DATA_PLANE_WORDS} words,
   * {@link DataPlaneWord} layout, WINDOW and SHMEM filled in) stays shared:
   * while its CTRL bits allow, the host takes the DM's requests itself and
   * answers InterruptStatus reads, InterruptACK writes and QueueNotify of
   * queue 0 for well-formed IN/OUT requests with every buffer in `shmem`
   * and every sector in `disk`, without calling JS. Any other request, and
   * a QueueNotify whose chain it does not serve (a malformed chain, a bad
   * buffer, another type), reaches JS through {@link Host.remioBatch} as
   * usual; in that case the host first clears CTRL.QUEUE, leaving the queue
   * at that chain. Hosts without one (the simulated host) leave it out.
   * `shmem` and `disk` must be buffers of {@link Host.region}; with `disk`
   * null (any other virtio device) the host answers the interrupt
   * registers only.
   * Source: runtime/dataplane.h; virtio 1.2 2.7, 4.2.2, 5.2.6.
   * @throws RangeError for a short state array, a buffer that is not a
   *   region, or a DM or interrupt registered twice
   */
  dataPlane?(dmId: number, intid: number, state: Uint32Array, shmem: ArrayBuffer, disk: ArrayBuffer | null): boolean;

  /**
   * Optional: lets the host answer register reads of DM `dmId`'s virtio-mmio
   * window that have no side effect, without calling JS, from `shadow`
   * ({@link REG_SHADOW_WORDS} words, {@link RegShadowWord} layout), which the
   * transport keeps current, and from `config`, the device's configuration
   * space, read live. Every other request (writes, other reads, any read
   * while CTRL.VALID is clear) reaches JS through {@link Host.remioBatch} as
   * usual, in order. The firmware needs the DM's {@link Host.dataPlane}
   * registered first (its request loop answers the reads); the simulated
   * host serves them before it calls the IRQ handler.
   * Source: runtime/regshadow.h; virtio 1.2 4.2.2.
   * @throws RangeError for a short shadow, a DM without a data plane (firmware), or a DM registered twice
   */
  regShadow?(dmId: number, shadow: Uint32Array, config: Uint8Array): boolean;

  /**
   * Optional: the hot path of a physical virtio-blk disk driven by baojs
   * (`VirtioBlkDriver`), in the host: a *disk plane*. The driver's queue 0
   * keeps its state in `queue` ({@link DRIVER_QUEUE_WORDS} words, {@link
   * DriverQueueWord}) and `next`, `chainCount`, `writable`, `tokens` (one
   * element per descriptor), over rings in `dma` (the DMA region, a {@link
   * Host.region} buffer); `state` ({@link DISK_PLANE_WORDS} words, {@link
   * DiskPlaneWord}) says where the host's header and status slots are and
   * what the disk takes; `reqs` ({@link DISK_REQ_WORDS} words per
   * descriptor) and `events` ({@link DISK_EVENT_WORDS} words per descriptor)
   * as described there. All stay shared and alive.
   *
   * While CTRL is 1 the host, with the same algorithm as `DriverQueue`:
   *  - places well-formed IN/OUT requests of frontend disks linked with
   *    {@link Host.diskRange} straight on the disk (the frontend's buffers
   *    as data buffers, zero copy) when they need no split and the queue
   *    has room, and notifies the disk once per QueueNotify; anything else
   *    stays in the frontend's queue for JS, untouched;
   *  - on the disk's interrupt reads and acknowledges InterruptStatus
   *    (into ISR), reaps the used ring, answers its own requests that
   *    succeeded while their frontend queue is the host's (status byte,
   *    used ring, one used buffer notification per frontend per interrupt),
   *    and leaves everything else as event records. It calls the {@link
   *    Host.onIrq} handler only when there is something for JS (events,
   *    ISR bits other than the used buffer bit, a broken ring, a backlog
   *    that now has room); otherwise it unmasks the interrupt itself.
   * Returns the disk's handle. Hosts without one leave it out: the driver
   * then does all of it in TypeScript.
   * Source: runtime/diskplane.h, runtime/drvqueue.h; virtio 1.2 2.7, 4.2.2, 5.2.6.
   * @throws RangeError for short or misaligned arrays, a buffer that is not
   *   a region, an interrupt that is not a passthrough device's, or a disk
   *   registered twice
   */
  diskPlane?(state: Uint32Array, queue: Uint32Array, dma: ArrayBuffer, next: Uint16Array, chainCount: Uint16Array,
    writable: Float64Array, tokens: Float64Array, reqs: Uint32Array, events: Uint32Array): number;
  /**
   * Optional: links the data plane of DM `dmId` (a virtio-blk device
   * registered with {@link Host.dataPlane} and a null disk) to the disk
   * plane `disk` ({@link Host.diskPlane}): its queue 0 is then served by
   * placing requests on that disk, in the range that the state words
   * RANGE_BASE and RANGE_SIZE give ({@link DataPlaneWord}).
   * @throws RangeError for an unknown DM or disk, or a DM linked already
   */
  diskRange?(dmId: number, disk: number): boolean;

  /**
   * Optional: the host's copy of the switch's MAC table for its network
   * plane ({@link Host.netPort}). `fdb` holds `fdb.length / NET_FDB_WORDS`
   * entries (a power of 2; {@link NetFdbWord}), which JS keeps equal to
   * the switch's table; `seen` the last time each table slot's address was
   * seen as a source, in ms of {@link Host.nowNs} modulo 2^32, written by
   * JS when it learns and by the host when it forwards a frame from that
   * address; an entry older than `ageMs` counts as unknown. Both stay
   * shared and alive. Returns true.
   * Source: runtime/netplane.h; IEEE 802.1D 7.9 (the filtering database).
   * @throws RangeError for a table that is not a power of 2 of entries, or a second call
   */
  netSwitch?(fdb: Uint32Array, seen: Uint32Array, ageMs: number): boolean;
  /**
   * Optional: a *console plane* for the virtio-console of DM `dmId`
   * (registered with {@link Host.dataPlane}, null disk): `state`
   * ({@link CONSOLE_PORT_WORDS} words, {@link ConsolePortWord}) and its
   * receiveq's and transmitq's state words (`rxq`, `txq`: the {@link
   * QueueWord} arrays of the queues' {@link Host.vqAttach}). While CTRL.TX is set and the data plane
   * answers the interrupt registers, the host answers a QueueNotify of
   * transmitq (queue 1) itself: the device-readable bytes of each
   * well-formed chain whose buffers all lie inside the shared region go to
   * the UART in chain order (what {@link Host.writeBytes} writes), the
   * chain returns with used length 0, and a used buffer notification
   * follows if the driver wants one. At any other chain it stops before it
   * and hands the QueueNotify to JS. While CTRL.RX is set, bytes typed on
   * the UART go into receiveq's buffers the same way (as
   * `ConsoleDevice.input` places them, without the FIFO) unless they hold a Ctrl-]
   * or follow one; whatever it does not place stays for {@link
   * Host.consoleRead}. The arrays stay shared and alive. Returns true.
   * Source: runtime/consoleplane.h; virtio 1.2 5.3.6.1.
   * @throws RangeError for a DM without a data plane or with a console plane already, or arrays too short
   */
  consolePort?(dmId: number, state: Uint32Array, rxq: Uint32Array, txq: Uint32Array): boolean;
  /**
   * Optional: a *network plane* for the virtio-net device of DM `dmId`
   * (registered with {@link Host.dataPlane}, null disk): switch port `state`
   * ({@link NET_PORT_WORDS} words, {@link NetPortWord}), its receiveq and
   * transmitq state words (`rxq`, `txq`: the {@link QueueWord} arrays of
   * the queues' {@link Host.vqAttach}). While CTRL.TX allows, the host
   * answers a QueueNotify of transmitq itself for every chain it can
   * forward whole: a well-formed frame (the checks of `NetDevice`) from a
   * source learned on this port to a unicast destination learned on
   * another port whose CTRL.RX is set, policy allowing, which takes the
   * frame's offload as it is ({@link NetPortCtrl} RX_*), and which fits
   * the destination's next receive chain (or chains, with MRG_RXBUF); it
   * copies the frame there (header with the offload and num_buffers),
   * returns the chains and sends each frontend one
   * used buffer notification where its driver wants one. It stops before
   * the first chain it does not forward and hands the QueueNotify to JS,
   * which serves that chain and the rest as without the host. While
   * CTRL.RX is set it also answers a QueueNotify of receiveq (nothing
   * waits for the buffers). Hosts without one leave it out.
   * Source: runtime/netplane.h; virtio 1.2 5.1.6.
   * @throws RangeError for short arrays, a DM without a data plane, a port registered twice, or no {@link Host.netSwitch}
   */
  netPort?(dmId: number, state: Uint32Array, rxq: Uint32Array, txq: Uint32Array): boolean;

  /**
   * Bao IPC shared-memory notification (hypercall 0x1): raises event `event`
   * of the caller's IPC entry `ipcId` in every other VM mapping it.
   * Returns 0, or -3 for a bad index.
   */
  ipcNotify(ipcId: number, event: number): number;

  /**
   * Optional: the Internet checksum's sum (RFC 1071) of `buf[start..end)`:
   * the 16-bit ones' complement sum of its big-endian words, an odd last
   * byte padded with zero, folded to 0..0xffff and not complemented. The
   * accelerator of `onesSum` (src/net/offload.ts), which the switch uses
   * for the checksums it completes. Source: runtime/inetsum.h.
   * @throws RangeError for a range outside `buf`
   */
  inetSum?(buf: Uint8Array, start: number, end: number): number;

  /**
   * Optional: copies `length` bytes from `src[srcOffset…]` to
   * `dst[dstOffset…]` (byte offsets within each view; overlapping ranges
   * copy as if through a buffer), without the view a copy between two
   * buffers needs in JS: the RAM disk's reads and writes use it. Offsets
   * and length are converted as ToUint32. Hosts without one (the simulated
   * host) leave it out. Source: runtime/host.c.
   * @throws RangeError for a range outside either view; TypeError if either is not a typed array
   */
  copy?(dst: Uint8Array, dstOffset: number, src: Uint8Array, srcOffset: number, length: number): void;

  /** Fills `buf` with entropy from the platform's best source; returns bytes written. */
  entropy(buf: Uint8Array): number;
  /** Which kind of source {@link Host.entropy} draws from. */
  readonly entropyQuality: EntropyQuality;

  /** Heap figures of the JS engine's allocator. */
  heapStats(): HeapStats;

  /**
   * Per-request cost counters of the device model served on interrupt
   * `intid`, and the boot timestamps, written into `out` in the
   * {@link PerfOut} layout (all zeros for an INTID not served yet; the
   * simulated host writes zeros). Returns the number of elements written.
   * Counted by the firmware around the IRQ handler, the main loop's call
   * into JS and each remio hypercall.
   * @throws RangeError when `out` is shorter than {@link PERF_OUT_WORDS}.
   */
  perfCounters(intid: number, out: Float64Array): number;

  /**
   * Ends the run: PSCI SYSTEM_OFF on the firmware (exit status `code` is
   * reported on the console first, since PSCI carries none); tests record it.
   */
  powerOff(code: number): void;
}
