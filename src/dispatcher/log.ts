// SPDX-License-Identifier: Apache-2.0
/**
 * Logging for the dispatcher, the transport and the devices.
 *
 * A hostile frontend can cause a log line per trapped access, so every
 * source that logs frontend mistakes does it through a {@link RateLimitedLog}
 * with a budget; the line that exhausts it says so.
 */

/** Where log lines go: one line, no trailing newline. */
export type LogSink = (line: string) => void;

/**
 * A log with a budget of lines. `budget` lines pass; then one line says that
 * further messages are suppressed; {@link RateLimitedLog.refill} (e.g. at a
 * device reset) allows `budget` more. The count of suppressed lines is kept.
 */
export class RateLimitedLog {
  private left: number;
  /** lines dropped since the start */
  suppressed = 0;

  /**
   * @param sink where lines go
   * @param prefix put before every line, e.g. 'vda: '
   * @param budget lines allowed between refills
   */
  constructor(private readonly sink: LogSink, private readonly prefix: string, private readonly budget = 64) {
    this.left = budget;
  }

  /** Logs `message` if the budget allows. */
  log(message: string): void {
    if (this.left > 0) {
      this.left--;
      this.sink(this.prefix + message);
      if (this.left === 0) this.sink(this.prefix + 'further messages suppressed until reset');
    } else {
      this.suppressed++;
    }
  }

  /** Allows `budget` more lines. */
  refill(): void {
    this.left = this.budget;
  }
}

/** A message for an unknown thrown value (Error or not), without a stack. */
export function describeError(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}
