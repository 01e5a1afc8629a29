// SPDX-License-Identifier: Apache-2.0
/**
 * Scatter-gather helpers over a {@link DescriptorChain}: copy bytes out of
 * the device-readable part or into the device-writable part of a chain
 * without caring how the driver split it into buffers (virtio 1.2 section
 * 2.7.4, message framing: a device must not assume a layout).
 *
 * Every buffer is bounds-checked against guest memory when it is touched;
 * a buffer outside the region throws {@link GuestMemoryError}.
 */
import type { GuestMemory } from './memory.ts';
import type { DescriptorChain } from './queue.ts';

/**
 * Copies device-readable bytes of `chain`, starting `skip` bytes into the
 * readable part, into `dst`. Returns the bytes copied (less than
 * `dst.length` if the readable part is shorter).
 * @throws GuestMemoryError if a buffer it touches lies outside `mem`
 */
export function readFromChain(mem: GuestMemory, chain: DescriptorChain, skip: number, dst: Uint8Array): number {
  let done = 0;
  const want = dst.length;
  for (let i = 0; i < chain.firstWritable && done < want; i++) {
    const len = chain.len[i];
    if (skip >= len) {
      skip -= len;
      continue;
    }
    const n = Math.min(len - skip, want - done);
    const off = mem.offset(chain.addr[i] + skip, n);
    dst.set(mem.u8.subarray(off, off + n), done);
    done += n;
    skip = 0;
  }
  return done;
}

/**
 * Copies `src` into the device-writable part of `chain`, starting `skip`
 * bytes into it. Returns the bytes copied (less than `src.length` if the
 * writable part is shorter).
 * @throws GuestMemoryError if a buffer it touches lies outside `mem`
 */
export function writeToChain(mem: GuestMemory, chain: DescriptorChain, skip: number, src: Uint8Array): number {
  let done = 0;
  const want = src.length;
  for (let i = chain.firstWritable; i < chain.count && done < want; i++) {
    const len = chain.len[i];
    if (skip >= len) {
      skip -= len;
      continue;
    }
    const n = Math.min(len - skip, want - done);
    const off = mem.offset(chain.addr[i] + skip, n);
    mem.u8.set(src.subarray(done, done + n), off);
    done += n;
    skip = 0;
  }
  return done;
}
