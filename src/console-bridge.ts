// SPDX-License-Identifier: Apache-2.0
/**
 * The console bridge: one UART, several frontends each with its own
 * virtio console. Exactly one frontend's console is bridged to the UART at
 * a time: the UART's input goes to that console only, and that console's
 * output goes to the UART. What the other consoles print meanwhile is kept,
 * the last {@link CONSOLE_TAIL_BYTES} bytes of each, and written to the
 * UART when the user switches to it (`Ctrl-] <n>` in src/main.ts), so that
 * a prompt or a boot message printed while away is not lost.
 */
import type { ConsoleDevice } from './devices/console.ts';

/** Bytes of output kept for each console that is not bridged. */
export const CONSOLE_TAIL_BYTES = 16 * 1024;

/** One frontend's console as the bridge sees it. */
export interface BridgedConsole {
  /** the frontend's number, 1-based (its index in the platform's frontends + 1): `Ctrl-] <number>` selects it */
  number: number;
  /** the frontend VM's name (platform description), e.g. 'linux2' */
  frontend: string;
  /** the console device model's name, e.g. 'con2' */
  name: string;
  /** the device, which takes input bytes, and is told whether its output goes to the UART (the host's console plane writes it there only then) */
  device: Pick<ConsoleDevice, 'input'> & Partial<Pick<ConsoleDevice, 'setBridged'>>;
}

/** Options of {@link ConsoleBridge}. */
export interface ConsoleBridgeOptions {
  /** writes `bytes[start, end)` to the UART (the host's console) */
  write: (bytes: Uint8Array, start: number, end: number) => void;
  /** writes one line for a person (the switch notice) */
  writeLine: (line: string) => void;
}

/**
 * Routes the UART to one of `consoles` (in the order of the platform's
 * frontends; a frontend without a console has none). The first is bridged
 * at start.
 */
export class ConsoleBridge {
  private current = 0;
  private readonly tails: Uint8Array[];
  private readonly tailLength: number[];
  private readonly index = new Map<string, number>();
  /** the name {@link ConsoleBridge.output} was last called with, and its index in `consoles` */
  private lastName = '';
  private lastIndex: number | undefined = undefined;

  constructor(readonly consoles: BridgedConsole[], private readonly opts: ConsoleBridgeOptions) {
    this.tails = consoles.map(() => new Uint8Array(CONSOLE_TAIL_BYTES));
    this.tailLength = consoles.map(() => 0);
    consoles.forEach((c, i) => this.index.set(c.name, i));
    this.tellBridged();
  }

  /** Tells each console whether it is the bridged one. */
  private tellBridged(): void {
    this.consoles.forEach((c, i) => c.device.setBridged?.(i === this.current));
  }

  /** Number of the frontend whose console is bridged (0 when there is no console). */
  get bridged(): number {
    return this.consoles[this.current]?.number ?? 0;
  }

  /** UART input, `bytes[start, end)` (default: all of it): to the bridged console. Returns the bytes it took. */
  input(bytes: Uint8Array, start = 0, end = bytes.length): number {
    const c = this.consoles[this.current];
    return c && end > start ? c.device.input(bytes, start, end) : 0;
  }

  /**
   * Output of console device `name`, `bytes[start, end)` (default: all of
   * it): to the UART if bridged, else kept in that console's tail.
   */
  output(name: string, bytes: Uint8Array, start = 0, end = bytes.length): void {
    // the console of the last call again (the usual case: one console printing) without the map
    let i: number | undefined = this.lastIndex;
    if (name !== this.lastName) {
      i = this.index.get(name);
      this.lastName = name;
      this.lastIndex = i;
    }
    if (i === undefined || i === this.current) {
      this.opts.write(bytes, start, end);
      return;
    }
    const tail = this.tails[i];
    const n = end - start;
    if (n >= tail.length) {
      tail.set(bytes.subarray(end - tail.length, end));
      this.tailLength[i] = tail.length;
      return;
    }
    const keep = Math.min(this.tailLength[i], tail.length - n);
    tail.copyWithin(0, this.tailLength[i] - keep, this.tailLength[i]);
    tail.set(bytes.subarray(start, end), keep);
    this.tailLength[i] = keep + n;
  }

  /**
   * Bridges the console of frontend number `n`: writes a notice line, then what
   * its console printed while it was not bridged. Returns false (and writes
   * a line saying why) when there is no such console.
   */
  select(n: number): boolean {
    const i = this.consoles.findIndex((c) => c.number === n);
    const c = this.consoles[i];
    if (!c) {
      this.opts.writeLine(`baojs: no console for frontend ${n} (frontends with a console: ${this.consoles.map((o) => o.number).join(', ') || 'none'})`);
      return false;
    }
    this.current = i;
    this.tellBridged();
    this.opts.writeLine(`baojs: console bridged to frontend ${n} ${c.frontend} (${c.name}); ${this.hint()}`);
    const held = this.tailLength[i];
    this.tailLength[i] = 0;
    if (held) this.opts.write(this.tails[i], 0, held);
    return true;
  }

  /** How to switch, for a person: `Ctrl-] 1 linux (hvc0), Ctrl-] 2 linux2 (con2)`. */
  hint(): string {
    return `switch with ${this.consoles.map((c) => `Ctrl-] ${c.number} ${c.frontend} (${c.name})`).join(', ')}`;
  }
}
