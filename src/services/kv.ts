// SPDX-License-Identifier: Apache-2.0
/**
 * A small key-value store over vsock, one command per line (ASCII, '\n'
 * ends a line):
 *
 * | request | answer |
 * |---|---|
 * | `SET <key> <value>` | `OK` (`ERR full` when the store is full) |
 * | `GET <key>` | `VALUE <value>` or `NONE` |
 * | `DEL <key>` | `OK` or `NONE` |
 * | `COUNT` | `COUNT <n>` |
 *
 * Keys are one word; values the rest of the line. Lines are at most
 * {@link KV_MAX_LINE} bytes (a longer line gets `ERR line too long` and the
 * connection closes); the store holds at most {@link KV_MAX_KEYS} keys. The
 * store is shared by every frontend and lives as long as the backend.
 */
import type { VsockConnection, VsockHub } from '../devices/vsock-socket.ts';

/** The store's port. */
export const KV_PORT = 5000;
/** Longest request line, bytes. */
export const KV_MAX_LINE = 1024;
/** Most keys the store holds. */
export const KV_MAX_KEYS = 1024;

/** Answers one request line (without its '\n'). */
export function kvAnswer(store: Map<string, string>, line: string): string {
  const m = /^(\S+)(?: (\S+)(?: (.*))?)?$/.exec(line);
  const cmd = m?.[1];
  const key = m?.[2];
  if (cmd === 'SET' && key !== undefined) {
    if (!store.has(key) && store.size >= KV_MAX_KEYS) return 'ERR full';
    store.set(key, m![3] ?? '');
    return 'OK';
  }
  if (cmd === 'GET' && key !== undefined && m![3] === undefined) {
    const v = store.get(key);
    return v === undefined ? 'NONE' : `VALUE ${v}`;
  }
  if (cmd === 'DEL' && key !== undefined && m![3] === undefined) return store.delete(key) ? 'OK' : 'NONE';
  if (cmd === 'COUNT' && key === undefined) return `COUNT ${store.size}`;
  return 'ERR unknown command';
}

/**
 * Serves the store on `port` of every frontend's vsock device; returns the store.
 * @throws RangeError when the port is already listened on
 */
export function serveKv(hub: VsockHub, port = KV_PORT): Map<string, string> {
  const store = new Map<string, string>();
  hub.listen(port, (conn: VsockConnection) => {
    const buf = new Uint8Array(KV_MAX_LINE);
    const line = new Uint8Array(KV_MAX_LINE);
    let len = 0;
    // bytes read but not yet looked at: buf[pos..end)
    let pos = 0;
    let end = 0;
    const pump = (): void => {
      while (conn.state === 'connected') {
        if (pos === end) {
          pos = 0;
          end = conn.read(buf);
          if (end === 0) return;
        }
        while (pos < end) {
          // room for the longest answer first, so that no answer is cut short
          if (conn.writableBytes < KV_MAX_LINE + 16) return;
          const b = buf[pos++];
          if (b === 0x0a) {
            let text = '';
            for (let j = 0; j < len; j++) text += String.fromCharCode(line[j]);
            len = 0;
            conn.write(ascii(kvAnswer(store, text.replace(/\r$/, '')) + '\n'));
          } else if (len === KV_MAX_LINE) {
            conn.write(ascii('ERR line too long\n'));
            conn.close();
            return;
          } else {
            line[len++] = b;
          }
        }
      }
    };
    conn.onReadable = pump;
    conn.onWritable = pump;
    conn.onEnd = () => {
      pump();
      conn.close();
    };
  });
  return store;
}

function ascii(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}
