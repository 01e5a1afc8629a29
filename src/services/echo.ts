// SPDX-License-Identifier: Apache-2.0
/**
 * A vsock echo service: every byte a frontend sends on the port comes back.
 * It reads only as much as its send buffer can take, so a frontend that
 * sends but never reads stops itself (its credit runs out) and the backend
 * holds at most one receive and one send buffer per connection.
 */
import type { VsockConnection, VsockHub } from '../devices/vsock-socket.ts';

/** The echo service's port (the classic echo port, RFC 862). */
export const ECHO_PORT = 7;

/**
 * Serves echo on `port` of every frontend's vsock device.
 * @throws RangeError when the port is already listened on
 */
export function serveEcho(hub: VsockHub, port = ECHO_PORT): void {
  const buf = new Uint8Array(4096);
  hub.listen(port, (conn: VsockConnection) => {
    const pump = (): void => {
      for (;;) {
        const room = Math.min(buf.length, conn.writableBytes);
        if (room === 0) return;
        const n = conn.read(buf.subarray(0, room));
        if (n === 0) return;
        conn.write(buf.subarray(0, n));
      }
    };
    conn.onReadable = pump;
    conn.onWritable = pump;
    conn.onEnd = () => {
      pump();
      conn.close();
    };
  });
}
