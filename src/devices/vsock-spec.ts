// SPDX-License-Identifier: Apache-2.0
/**
 * Numbers of the virtio socket device (virtio 1.2 section 5.10), named as
 * the specification and Linux's `include/uapi/linux/virtio_vsock.h` name
 * them.
 */

/** Queue indices (5.10.2). */
export const enum VsockQueue {
  RX = 0,
  TX = 1,
  EVENT = 2,
}

/** Feature bits (5.10.3). */
export const enum VsockFeature {
  /** stream sockets (assumed when no type bit is negotiated) */
  STREAM = 0,
  SEQPACKET = 1,
}

/** Byte offsets in `struct virtio_vsock_config` (5.10.4): le64 guest_cid. */
export const enum VsockConfig {
  guest_cid = 0,
  SIZE = 8,
}

/**
 * Byte offsets in `struct virtio_vsock_hdr` (5.10.6), packed, little-endian:
 * le64 src_cid, le64 dst_cid, le32 src_port, le32 dst_port, le32 len,
 * le16 type, le16 op, le32 flags, le32 buf_alloc, le32 fwd_cnt.
 */
export const enum VsockHdr {
  src_cid = 0,
  dst_cid = 8,
  src_port = 16,
  dst_port = 20,
  len = 24,
  type = 28,
  op = 30,
  flags = 32,
  buf_alloc = 36,
  fwd_cnt = 40,
  SIZE = 44,
}

/** Socket types (`hdr.type`, 5.10.6). */
export const enum VsockType {
  STREAM = 1,
  SEQPACKET = 2,
}

/** Operations (`hdr.op`, 5.10.6). */
export const enum VsockOp {
  INVALID = 0,
  REQUEST = 1,
  RESPONSE = 2,
  RST = 3,
  SHUTDOWN = 4,
  RW = 5,
  CREDIT_UPDATE = 6,
  CREDIT_REQUEST = 7,
}

/** `hdr.flags` of a SHUTDOWN (5.10.6.5): the sender will receive / send no more. */
export const enum VsockShutdown {
  RCV = 1,
  SEND = 2,
}

/** Well-known CIDs (Linux `include/uapi/linux/vm_sockets.h`): the host, i.e. the backend. */
export const VMADDR_CID_HOST = 2;

/** The first CID a guest may have (0, 1 and 2 are reserved, 5.10.4). */
export const VSOCK_MIN_GUEST_CID = 3;
