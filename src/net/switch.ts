// SPDX-License-Identifier: Apache-2.0
/**
 * A learning Ethernet bridge (IEEE 802.1D transparent bridging, without
 * spanning tree: the topology inside one backend has no loops) joining the
 * backend's network ports: every frontend's virtio-net device now, an
 * uplink to a NIC the backend VM owns later.
 *
 * Forwarding (per frame, {@link EthernetSwitch.forward}):
 * - the source MAC is learned for the ingress port (a MAC seen on another
 *   port moves); a frame whose source is multicast or all-zero, or another
 *   port's own address ({@link PortOptions.mac}), is dropped
 *   (`dropBadSource`), a frame shorter than an Ethernet header too
 *   (`dropRunt`);
 * - a unicast destination learned on a port, and younger than the ageing
 *   time, goes to that port only; learned on the ingress port itself, the
 *   frame is dropped (`dropSameSegment`: the destination has it already);
 * - a unicast destination not learned (or aged) that is a port's own
 *   address goes to that port only, as a static entry of 802.1Q's filtering
 *   database: while a frontend's device is reset and its address forgotten,
 *   frames for it are that port's to refuse (`dropEgress`), never flooded to
 *   the other frontends or out of the uplink (where a router or QEMU's user
 *   network would answer them: a TCP RST forged for a frontend);
 * - broadcast, multicast and other unknown unicast are flooded to every
 *   port but the ingress port;
 * - never back to the ingress port.
 *
 * Fairness against a frontend that floods: each ingress port has a token
 * bucket for the frames it floods ({@link SwitchOptions.floodRate} frames
 * per second of {@link Host.nowNs} time, {@link SwitchOptions.floodBurst}
 * at once); a flooded frame beyond it is dropped and counted
 * (`dropFloodLimit`) before it reaches any other port. Unicast between
 * learned ports is not limited. Each egress port bounds its own queue
 * ({@link SwitchPort.deliver} returns false when it is full, counted as
 * `dropEgress` of that port): one slow receiver drops only its own frames.
 *
 * The MAC table is bounded: at most {@link SwitchOptions.maxMacsPerPort}
 * addresses per port (a port spraying source addresses replaces its own
 * oldest entries, never another port's) and {@link SwitchOptions.maxMacs}
 * in all (when full, aged entries are swept; if none, the new address is
 * not learned and its frames are flooded, within the sender's bucket).
 *
 * Policy from the platform description: {@link EthernetSwitch.mayForward}
 * is the one place that decides whether a frame may go from one port to
 * another. It implements port isolation (an isolated port reaches only
 * non-isolated ports, e.g. only the uplink; {@link PortOptions.isolated}).
 * VLANs would go there too: a port's VLAN membership and its tagged or
 * untagged egress, the tag read (802.1Q, ethertype 0x8100 at offset 12) next
 * to the destination in `forward`, the MAC table keyed by (VLAN, MAC), and
 * the tag pushed or popped by the egress port. Anti-spoofing (a frontend
 * port that may send only from its configured MAC) belongs there as well.
 *
 * Offloads: a frame may carry a partial checksum or be a TCP GSO frame
 * ({@link FrameOffload}, checked by the sending device). Each port gets it
 * in a form it takes ({@link SwitchPort.offloads}): as it is, with its
 * checksum completed in a copy, or cut into segments (src/net/offload.ts).
 *
 * No allocation per frame: MACs are numbers (48 bits are exact in a
 * double), the table is typed arrays indexed through one Map (which
 * allocates only when an address is learned), counters are plain number
 * fields.
 */
import { NET_FDB_VALID, NET_FDB_WORDS, NetFdbWord, type Host } from '../host.ts';
import { GsoType } from '../devices/net-spec.ts';
import { completeChecksum, FrameOffload, PortOffload, Segmenter, sumOf, type SumFn } from './offload.ts';

/** One port of the switch: what the switch needs from a network device. */
export interface SwitchPort {
  /** for logs and counters, e.g. 'net0' */
  readonly name: string;
  /**
   * Takes frame bytes `frame[0..len)` for transmission out of this port
   * (towards its frontend or the wire). The view is valid only during the
   * call: the port copies what it keeps. `off` is the frame's offload
   * (src/net/offload.ts), null or inactive for a plain frame; only what
   * {@link SwitchPort.offloads} allows comes here. Returns false if the
   * port dropped the frame (its queue is full, it is down, the frame is too
   * big for it).
   */
  deliver(frame: Uint8Array, len: number, off: FrameOffload | null): boolean;
  /**
   * Optional: what the port takes as it is now ({@link PortOffload} bits;
   * absent: none). The switch completes the checksum of, or cuts, every
   * frame whose offload needs more (see src/net/offload.ts).
   */
  readonly offloads?: number;
  /**
   * Optional: the end of a burst of {@link SwitchPort.deliver} calls (the
   * ingress device finished a batch): the port moves what it queued and
   * sends one notification for all of it.
   */
  flush?(): void;
  /**
   * Optional: brings the port's counters, and its switch counters, up to
   * date with frames a host plane forwarded for it ({@link
   * EthernetSwitch.useHostTable}); called before they are read.
   */
  syncCounters?(): void;
}

/** How a port is attached. */
export interface PortOptions {
  /** an isolated port reaches only non-isolated ports (default false) */
  isolated?: boolean;
  /**
   * the port's own unicast address, a MAC number ({@link parseMac}): a
   * frontend card's configured MAC. Frames to it go to this port only,
   * learned or not; frames from it on any other port are dropped
   * (`dropBadSource`). Default: none (the uplink, whose stations are learned).
   */
  mac?: number;
}

/**
 * Counters of one port, from the switch's side: `rx` is what the switch
 * received from the port (the frontend's transmitted frames), `tx` what it
 * handed to the port. Drops are counted at the port whose frame or queue
 * caused them.
 */
export interface PortCounters {
  rxFrames: number;
  rxBytes: number;
  txFrames: number;
  txBytes: number;
  /** frames from this port flooded (broadcast, multicast, unknown unicast) */
  floods: number;
  /** frames from this port dropped: its flood bucket was empty */
  dropFloodLimit: number;
  /** frames from this port dropped: shorter than the 14-byte Ethernet header */
  dropRunt: number;
  /** frames from this port dropped: multicast or all-zero source MAC */
  dropBadSource: number;
  /** frames from this port dropped: the destination was learned on this port */
  dropSameSegment: number;
  /** frames from this port dropped: policy ({@link EthernetSwitch.mayForward}) forbids the only destination */
  dropPolicy: number;
  /** frames for this port that it refused ({@link SwitchPort.deliver} returned false) */
  dropEgress: number;
  /** source MACs learned on this port (new entries and moves) */
  learned: number;
}

/** Options of {@link EthernetSwitch}. */
export interface SwitchOptions {
  /** a learned MAC not seen for this long is forgotten, ms (default 300,000: 802.1D's default) */
  ageingMs?: number;
  /** flooded frames each ingress port may send per second (default 1000) */
  floodRate?: number;
  /** flooded frames each ingress port may send at once, the bucket's depth (default 64) */
  floodBurst?: number;
  /** MAC table entries in all (default 1024) */
  maxMacs?: number;
  /** MAC table entries per port (default 64) */
  maxMacsPerPort?: number;
  /** most ports (default 32) */
  maxPorts?: number;
}

/** Bytes of an Ethernet header: destination, source, ethertype (IEEE 802.3 clause 3). */
export const ETH_HLEN = 14;
/** Bytes of an IEEE 802.1Q tag, and the ethertype (TPID) that announces it at offset 12. */
export const VLAN_HLEN = 4;
export const ETH_P_8021Q = 0x8100;
/** 2^8, 2^32 and 2^40, to make a number of six MAC bytes. */
const B1 = 0x100;
const B4 = 0x100000000;
const B5 = 0x10000000000;

/** The 48-bit MAC at `frame[off..off+6)` as a number (byte 0 most significant). */
export function macAt(frame: Uint8Array, off: number): number {
  // two integer halves, one multiplication: cheaper than six in an interpreter
  return ((frame[off] << 8) | frame[off + 1]) * B4 + (((frame[off + 2] << 24) | (frame[off + 3] << 16) | (frame[off + 4] << 8) | frame[off + 5]) >>> 0);
}

/**
 * Parses 'xx:xx:xx:xx:xx:xx' (hex, either case) into a number.
 * @returns the MAC, or -1 if the text is not one
 */
export function parseMac(text: string): number {
  if (typeof text !== 'string' || !/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(text)) return -1;
  let v = 0;
  for (let i = 0; i < 6; i++) v = v * B1 + parseInt(text.slice(3 * i, 3 * i + 2), 16);
  return v;
}

/** 'xx:xx:xx:xx:xx:xx' (lower case) of a MAC number. */
export function formatMac(mac: number): string {
  let s = '';
  for (let i = 5; i >= 0; i--) {
    const b = Math.floor(mac / 2 ** (8 * i)) % 256;
    s += (b < 16 ? '0' : '') + b.toString(16) + (i ? ':' : '');
  }
  return s;
}

/** Whether MAC number `mac` is a group (multicast or broadcast) address: the I/G bit, bit 0 of the first byte. */
export function isGroupMac(mac: number): boolean {
  return Math.floor(mac / B5) % 2 === 1;
}

/** The learning switch of one backend. */
export class EthernetSwitch {
  private readonly ports: SwitchPort[] = [];
  private readonly portCounters: PortCounters[] = [];
  private readonly isolated: Uint8Array;
  /** flood tokens per port, and when they were last refilled (ns) */
  private readonly tokens: Float64Array;
  private readonly refilledNs: Float64Array;
  /** ports given frames since the last flush, and a mark per port */
  private readonly dirty: Int32Array;
  private dirtyCount = 0;
  private readonly dirtyMark: Uint8Array;
  /** each port's own address ({@link PortOptions.mac}) → the port's id: static entries, never learned, aged or moved */
  private readonly ownerOf = new Map<number, number>();
  /** entries per port */
  private readonly macsOfPort: Int32Array;

  // the MAC table: slot arrays, a free list and a Map from MAC to slot
  private readonly slotOf = new Map<number, number>();
  private readonly slotMac: Float64Array;
  private readonly slotPort: Int32Array;
  /** when each slot's address was last seen as a source: ms of {@link Host.nowNs} modulo 2^32 (shared with a host plane) */
  private readonly slotSeenMs: Uint32Array;
  /** the host's copy of the table ({@link EthernetSwitch.useHostTable}), entries of {@link NetFdbWord}; null: none */
  private fdb: Uint32Array | null = null;
  private fdbMask = 0;
  private readonly freeSlots: Int32Array;
  private freeCount: number;

  private readonly ageMs: number;
  private readonly floodRate: number;
  private readonly floodBurst: number;
  private readonly maxMacsPerPort: number;
  private readonly maxPorts: number;
  private flushing = false;
  /** completing a checksum: a copy of the frame (grows to the longest frame seen) */
  private csumBuf = new Uint8Array(0);
  /** the checksums' sums: the host's accelerator (Host.inetSum) or the TypeScript one */
  private readonly sum: SumFn;
  /** cutting a GSO frame: the segmenter, the port being given its segments and how many it took */
  private readonly segmenter: Segmenter;
  private segTo = 0;
  private segTook = 0;

  /**
   * @param host {@link Host.nowNs} (ageing and the flood buckets) and, if it has one, {@link Host.inetSum} (checksums the switch completes)
   * @throws RangeError for an option that is not a positive number
   */
  constructor(private readonly host: Pick<Host, 'nowNs'> & Partial<Pick<Host, 'inetSum'>>, options: SwitchOptions = {}) {
    const inetSum = host.inetSum;
    this.sum = inetSum ? (buf, start, end) => inetSum.call(host, buf, start, end) : sumOf;
    this.segmenter = new Segmenter(this.sum);
    const num = (v: number | undefined, d: number, what: string, integer: boolean): number => {
      const x = v ?? d;
      if (!(x > 0) || !Number.isFinite(x) || (integer && !Number.isInteger(x))) throw new RangeError(`switch: ${what} must be a positive ${integer ? 'integer' : 'number'}: ${x}`);
      return x;
    };
    this.ageMs = num(options.ageingMs, 300_000, 'ageingMs', false);
    this.floodRate = num(options.floodRate, 1000, 'floodRate', false);
    this.floodBurst = num(options.floodBurst, 64, 'floodBurst', false);
    const maxMacs = num(options.maxMacs, 1024, 'maxMacs', true);
    this.maxMacsPerPort = num(options.maxMacsPerPort, 64, 'maxMacsPerPort', true);
    this.maxPorts = num(options.maxPorts, 32, 'maxPorts', true);
    this.isolated = new Uint8Array(this.maxPorts);
    this.tokens = new Float64Array(this.maxPorts);
    this.refilledNs = new Float64Array(this.maxPorts);
    this.dirty = new Int32Array(this.maxPorts);
    this.dirtyMark = new Uint8Array(this.maxPorts);
    this.macsOfPort = new Int32Array(this.maxPorts);
    this.slotMac = new Float64Array(maxMacs);
    this.slotPort = new Int32Array(maxMacs);
    this.slotSeenMs = new Uint32Array(maxMacs);
    this.freeSlots = new Int32Array(maxMacs);
    for (let i = 0; i < maxMacs; i++) this.freeSlots[i] = maxMacs - 1 - i;
    this.freeCount = maxMacs;
  }

  /**
   * Adds a port. Returns its id, which the port's device gives to
   * {@link EthernetSwitch.forward} with every frame it sends.
   * @throws RangeError when {@link SwitchOptions.maxPorts} ports are attached, or `options.mac` is not a unicast MAC or is another port's
   */
  attach(port: SwitchPort, options: PortOptions = {}): number {
    const id = this.ports.length;
    if (id >= this.maxPorts) throw new RangeError(`switch: ${this.maxPorts} ports attached, no room for ${port.name}`);
    const mac = options.mac;
    if (mac !== undefined) {
      if (!Number.isInteger(mac) || mac <= 0 || mac >= 2 ** 48 || isGroupMac(mac)) throw new RangeError(`switch: ${port.name}: ${mac} is not a unicast MAC`);
      const owner = this.ownerOf.get(mac);
      if (owner !== undefined) throw new RangeError(`switch: ${port.name}: MAC ${formatMac(mac)} is ${this.ports[owner].name}'s already`);
      this.ownerOf.set(mac, id);
    }
    this.ports.push(port);
    this.portCounters.push({
      rxFrames: 0, rxBytes: 0, txFrames: 0, txBytes: 0, floods: 0, dropFloodLimit: 0, dropRunt: 0,
      dropBadSource: 0, dropSameSegment: 0, dropPolicy: 0, dropEgress: 0, learned: 0,
    });
    this.isolated[id] = options.isolated ? 1 : 0;
    this.tokens[id] = this.floodBurst;
    this.refilledNs[id] = this.host.nowNs();
    return id;
  }

  /** Number of ports attached. */
  get portCount(): number {
    return this.ports.length;
  }

  /** The port with id `id`. @throws RangeError for an unknown id */
  port(id: number): SwitchPort {
    if (!(id >= 0 && id < this.ports.length)) throw new RangeError(`switch: no port ${id}`);
    return this.ports[id];
  }

  /** The live counters of port `id` (read them; the switch updates them). @throws RangeError for an unknown id */
  counters(id: number): PortCounters {
    if (!(id >= 0 && id < this.ports.length)) throw new RangeError(`switch: no port ${id}`);
    this.ports[id].syncCounters?.();
    return this.portCounters[id];
  }

  /** MAC table entries now (aged ones included until they are swept or looked up). */
  get macCount(): number {
    return this.slotOf.size;
  }

  /**
   * The port a MAC is learned on (ids as {@link EthernetSwitch.attach}),
   * or -1 if it is unknown or aged out.
   * @param mac a MAC number ({@link parseMac}, {@link macAt})
   */
  lookup(mac: number): number {
    return this.find(mac, msOf(this.host.nowNs()));
  }

  /** {@link EthernetSwitch.lookup} at time `nowMs` (ms modulo 2^32). */
  private find(mac: number, nowMs: number): number {
    const slot = this.slotOf.get(mac);
    if (slot === undefined) return -1;
    if (((nowMs - this.slotSeenMs[slot]) >>> 0) > this.ageMs) {
      this.forget(mac, slot);
      return -1;
    }
    return this.slotPort[slot];
  }

  /**
   * The policy hook: whether a frame may go from port `from` to port `to`
   * (`from !== to`). Port isolation: two isolated ports never talk. VLAN
   * membership would be checked here (see the file's comment).
   */
  mayForward(from: number, to: number): boolean {
    return (this.isolated[from] & this.isolated[to]) === 0;
  }

  /**
   * One frame sent by port `ingress`: learns its source, then hands it to
   * the destination port or floods it (see the file's comment). The frame
   * is `frame[0..len)`; the switch keeps no reference to it and never
   * writes it. `off`: its offload, checked by the ingress device
   * ({@link checkOffload}); a port that cannot take it gets the frame with
   * its checksum completed, or cut into segments (each counted as a frame
   * the port took). Call {@link EthernetSwitch.flush} after a burst.
   * @returns the number of ports that took the frame
   * @throws RangeError for an unknown port id
   */
  forward(ingress: number, frame: Uint8Array, len: number, off: FrameOffload | null = null): number {
    if (!(ingress >= 0 && ingress < this.ports.length)) throw new RangeError(`switch: no port ${ingress}`);
    const c = this.portCounters[ingress];
    c.rxFrames++;
    c.rxBytes += len;
    if (len < ETH_HLEN || len > frame.length) {
      c.dropRunt++;
      return 0;
    }
    const src = macAt(frame, 6);
    if (src === 0 || (frame[6] & 1) !== 0) {
      c.dropBadSource++;
      return 0;
    }
    const srcOwner = this.ownerOf.get(src);
    if (srcOwner !== undefined && srcOwner !== ingress) {
      c.dropBadSource++;
      return 0;
    }
    const now = this.host.nowNs();
    const nowMs = msOf(now);
    this.learn(src, ingress, nowMs);
    // the I/G bit of the destination: group addresses are flooded
    if ((frame[0] & 1) === 0) {
      const dst = macAt(frame, 0);
      let to = this.find(dst, nowMs);
      if (to < 0) to = this.ownerOf.get(dst) ?? -1;
      if (to === ingress) {
        c.dropSameSegment++;
        return 0;
      }
      if (to >= 0) {
        if (!this.mayForward(ingress, to)) {
          c.dropPolicy++;
          return 0;
        }
        return this.give(to, frame, len, off);
      }
    }
    // flood: within the ingress port's bucket
    let t = this.tokens[ingress] + ((now - this.refilledNs[ingress]) * this.floodRate) / 1e9;
    if (t > this.floodBurst) t = this.floodBurst;
    this.refilledNs[ingress] = now;
    if (t < 1) {
      this.tokens[ingress] = t;
      c.dropFloodLimit++;
      return 0;
    }
    this.tokens[ingress] = t - 1;
    c.floods++;
    let n = 0;
    const ports = this.ports.length;
    for (let p = 0; p < ports; p++) {
      if (p !== ingress && this.mayForward(ingress, p)) n += this.give(p, frame, len, off);
    }
    return n;
  }

  /**
   * The end of a burst: every port given frames since the last flush gets
   * {@link SwitchPort.flush} once (fills its receive buffers, one
   * notification). A flush that runs into a port's own burst is not
   * nested: the outer loop picks the port up.
   */
  flush(): void {
    if (this.flushing) return;
    this.flushing = true;
    try {
      for (let i = 0; i < this.dirtyCount; i++) {
        const p = this.dirty[i];
        this.dirtyMark[p] = 0;
        this.ports[p].flush?.();
      }
    } finally {
      this.dirtyCount = 0;
      this.flushing = false;
    }
  }

  /** Forgets every entry learned on port `id` (its device was reset, its link went down). */
  forgetPort(id: number): void {
    for (const [mac, slot] of this.slotOf) if (this.slotPort[slot] === id) this.forget(mac, slot);
  }

  /** Removes every aged entry; returns how many. */
  sweep(): number {
    const nowMs = msOf(this.host.nowNs());
    let n = 0;
    for (const [mac, slot] of this.slotOf) {
      if (((nowMs - this.slotSeenMs[slot]) >>> 0) > this.ageMs) {
        this.forget(mac, slot);
        n++;
      }
    }
    return n;
  }

  /**
   * Lets a host's network plane forward frames between ports ({@link
   * Host.netSwitch}, {@link Host.netPort}): from now on the switch keeps a
   * copy of its MAC table where the host reads it (an open-addressing
   * table of twice the table's slots, rounded up to a power of 2; {@link
   * NetFdbWord}), and shares the last-seen times, which the host refreshes
   * for the sources of the frames it forwards. Learning, moves, ageing,
   * flooding and every drop stay here: the host forwards only between
   * addresses this table holds, and hands every other frame to the port's
   * device, which brings it here. Call before any frame is forwarded.
   * @returns whether the host took the table
   */
  useHostTable(host: Host): boolean {
    if (!host.netSwitch || this.fdb !== null) return false;
    let entries = 1;
    while (entries < 2 * this.slotMac.length) entries *= 2;
    const fdb = new Uint32Array(entries * NET_FDB_WORDS);
    if (!host.netSwitch(fdb, this.slotSeenMs, Math.floor(this.ageMs))) return false;
    this.fdb = fdb;
    this.fdbMask = entries - 1;
    for (const [mac, slot] of this.slotOf) this.fdbInsert(mac, this.slotPort[slot], slot);
    return true;
  }

  /**
   * Counts frames a host plane forwarded for port `id` ({@link
   * SwitchPort.syncCounters}): `fromFrames`/`fromBytes` it took from the
   * port, `toFrames`/`toBytes` it gave the port.
   */
  hostForwarded(id: number, fromFrames: number, fromBytes: number, toFrames: number, toBytes: number): void {
    const c = this.portCounters[id];
    c.rxFrames += fromFrames;
    c.rxBytes += fromBytes;
    c.txFrames += toFrames;
    c.txBytes += toBytes;
  }

  /** Whether a host has the table ({@link EthernetSwitch.useHostTable}). */
  get hostTable(): boolean {
    return this.fdb !== null;
  }

  /** Whether port `id` is isolated ({@link PortOptions.isolated}). */
  isIsolated(id: number): boolean {
    return this.isolated[id] === 1;
  }

  /** Word index of `mac`'s entry in the host's table (it must be there). */
  private fdbFind(mac: number): number {
    const fdb = this.fdb!;
    const hi = Math.floor(mac / B4);
    const lo = mac % B4;
    const want = (hi | NET_FDB_VALID) >>> 0;
    for (let i = fdbHash(hi, lo, this.fdbMask); ; i = (i + 1) & this.fdbMask) {
      const w = i * NET_FDB_WORDS;
      if (fdb[w + NetFdbWord.MAC_HI] === want && fdb[w + NetFdbWord.MAC_LO] === lo) return w;
      if ((fdb[w + NetFdbWord.MAC_HI] & NET_FDB_VALID) === 0) throw new Error(`switch: ${formatMac(mac)} missing from the host's table`);
    }
  }

  /** Adds `mac` (not there yet) to the host's table: the first empty entry of its probe. */
  private fdbInsert(mac: number, port: number, slot: number): void {
    const fdb = this.fdb!;
    const hi = Math.floor(mac / B4);
    const lo = mac % B4;
    let i = fdbHash(hi, lo, this.fdbMask);
    while ((fdb[i * NET_FDB_WORDS + NetFdbWord.MAC_HI] & NET_FDB_VALID) !== 0) i = (i + 1) & this.fdbMask;
    const w = i * NET_FDB_WORDS;
    // the entry's fields before its valid bit (the host reads between two calls into JS only, but keep the order anyway)
    fdb[w + NetFdbWord.MAC_LO] = lo;
    fdb[w + NetFdbWord.PORT] = port;
    fdb[w + NetFdbWord.SLOT] = slot;
    fdb[w + NetFdbWord.MAC_HI] = hi | NET_FDB_VALID;
  }

  /**
   * Removes `mac` from the host's table by backward-shift deletion: each
   * later entry of the probe run that may move into the hole does, so
   * that no probe ever meets a hole before its key (no tombstones).
   */
  private fdbDelete(mac: number): void {
    const fdb = this.fdb!;
    const mask = this.fdbMask;
    let hole = this.fdbFind(mac) / NET_FDB_WORDS;
    for (let j = (hole + 1) & mask; ; j = (j + 1) & mask) {
      const w = j * NET_FDB_WORDS;
      const hiWord = fdb[w + NetFdbWord.MAC_HI];
      if ((hiWord & NET_FDB_VALID) === 0) break;
      const home = fdbHash(hiWord & 0xffff, fdb[w + NetFdbWord.MAC_LO], mask);
      // entry j may fill the hole if its home is not in (hole, j] (cyclically)
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        fdb.copyWithin(hole * NET_FDB_WORDS, w, w + NET_FDB_WORDS);
        hole = j;
      }
    }
    fdb.fill(0, hole * NET_FDB_WORDS, hole * NET_FDB_WORDS + NET_FDB_WORDS);
  }

  /** Hands a frame to port `to`, its offload completed or cut first where the port cannot take it. */
  private give(to: number, frame: Uint8Array, len: number, off: FrameOffload | null): number {
    const port = this.ports[to];
    if (off !== null && off.active) {
      const needs = off.needs;
      const takes = port.offloads ?? 0;
      if ((needs & ~takes) !== 0) {
        if (off.gsoType !== GsoType.NONE && (needs & ~takes & (PortOffload.TSO4 | PortOffload.TSO6)) !== 0) {
          this.segTo = to;
          this.segTook = 0;
          this.segmenter.segment(frame, len, off, this.emitSegment);
          return this.segTook > 0 ? 1 : 0;
        }
        if (this.csumBuf.length < len) this.csumBuf = new Uint8Array(len);
        const copy = this.csumBuf;
        copy.set(frame.subarray(0, len), 0);
        completeChecksum(copy, len, off, this.sum);
        return this.giveOne(to, copy, len, null);
      }
    }
    return this.giveOne(to, frame, len, off);
  }

  /** One segment of a cut frame, for port segTo. */
  private readonly emitSegment = (seg: Uint8Array, len: number): void => {
    this.segTook += this.giveOne(this.segTo, seg, len, null);
  };

  private giveOne(to: number, frame: Uint8Array, len: number, off: FrameOffload | null): number {
    const c = this.portCounters[to];
    if (!this.ports[to].deliver(frame, len, off)) {
      c.dropEgress++;
      return 0;
    }
    c.txFrames++;
    c.txBytes += len;
    if (this.dirtyMark[to] === 0) {
      this.dirtyMark[to] = 1;
      this.dirty[this.dirtyCount++] = to;
    }
    return 1;
  }

  private learn(mac: number, port: number, nowMs: number): void {
    const slot = this.slotOf.get(mac);
    if (slot !== undefined) {
      this.slotSeenMs[slot] = nowMs;
      const was = this.slotPort[slot];
      if (was !== port) {
        // the station moved (or another port claims its address): the newest frame wins
        this.macsOfPort[was]--;
        if (this.macsOfPort[port] >= this.maxMacsPerPort) this.evictOldest(port);
        this.slotPort[slot] = port;
        this.macsOfPort[port]++;
        this.portCounters[port].learned++;
        if (this.fdb !== null) this.fdb[this.fdbFind(mac) + NetFdbWord.PORT] = port;
      }
      return;
    }
    if (this.macsOfPort[port] >= this.maxMacsPerPort) this.evictOldest(port);
    if (this.freeCount === 0 && this.sweep() === 0) return;
    const s = this.freeSlots[--this.freeCount];
    this.slotMac[s] = mac;
    this.slotPort[s] = port;
    this.slotSeenMs[s] = nowMs;
    this.slotOf.set(mac, s);
    if (this.fdb !== null) this.fdbInsert(mac, port, s);
    this.macsOfPort[port]++;
    this.portCounters[port].learned++;
  }

  /** Removes port `port`'s least recently seen entry. */
  private evictOldest(port: number): void {
    let oldest = -1;
    let oldestAge = -1;
    const nowMs = msOf(this.host.nowNs());
    for (const slot of this.slotOf.values()) {
      const age = (nowMs - this.slotSeenMs[slot]) >>> 0;
      if (this.slotPort[slot] === port && age > oldestAge) {
        oldest = slot;
        oldestAge = age;
      }
    }
    if (oldest >= 0) this.forget(this.slotMac[oldest], oldest);
  }

  private forget(mac: number, slot: number): void {
    this.slotOf.delete(mac);
    if (this.fdb !== null) this.fdbDelete(mac);
    this.macsOfPort[this.slotPort[slot]]--;
    this.freeSlots[this.freeCount++] = slot;
  }
}

/** ms of a {@link Host.nowNs} time, modulo 2^32 (the switch's clock for ageing, shared with a host plane). */
function msOf(ns: number): number {
  return Math.floor(ns / 1e6) >>> 0;
}

/**
 * The home entry of a MAC in the host's table of `mask + 1` entries: its
 * first two bytes `hi`, last four `lo`. runtime/netplane.c `np_hash` is
 * the same arithmetic in C.
 */
export function fdbHash(hi: number, lo: number, mask: number): number {
  return (Math.imul((lo ^ Math.imul(hi, 0x85ebca6b)) >>> 0, 0x9e3779b1) >>> 16) & mask;
}
