// SPDX-License-Identifier: Apache-2.0
/**
 * Numbers of the virtio network device (virtio 1.2 section 5.1), named as
 * the specification and Linux's `include/uapi/linux/virtio_net.h` name them.
 */

/** Queue indices without VIRTIO_NET_F_MQ or a control queue (5.1.2). */
export const enum NetQueue {
  RECEIVEQ = 0,
  TRANSMITQ = 1,
}

/** Feature bits (5.1.3). */
export const enum NetFeature {
  /** the device completes a partial checksum the driver leaves (NEEDS_CSUM on transmit) */
  CSUM = 0,
  /** the driver accepts received frames with a partial checksum */
  GUEST_CSUM = 1,
  /** the config's mtu is valid: the most the driver sends and the device delivers */
  MTU = 3,
  /** the config's mac is valid */
  MAC = 5,
  GUEST_TSO4 = 7,
  GUEST_TSO6 = 8,
  GUEST_UFO = 10,
  HOST_TSO4 = 11,
  HOST_TSO6 = 12,
  HOST_UFO = 14,
  /** the driver merges receive buffers: one frame may fill several chains (num_buffers) */
  MRG_RXBUF = 15,
  /** the config's status is valid */
  STATUS = 16,
  CTRL_VQ = 17,
  MQ = 22,
}

/** Byte offsets in `struct virtio_net_config` (5.1.4), little-endian. */
export const enum NetConfig {
  /** u8 mac[6] */
  mac = 0,
  /** le16 status (VIRTIO_NET_S_*) */
  status = 6,
  /** le16 max_virtqueue_pairs (valid with MQ; 1 here) */
  max_virtqueue_pairs = 8,
  /** le16 mtu (valid with MTU) */
  mtu = 10,
  /** the config space this device has: mac, status, max_virtqueue_pairs, mtu */
  SIZE = 12,
}

/** Bits of the config's status (5.1.4). */
export const enum NetStatus {
  LINK_UP = 1,
  ANNOUNCE = 2,
}

/**
 * Byte offsets in `struct virtio_net_hdr` (5.1.6): u8 flags, u8 gso_type,
 * le16 hdr_len, le16 gso_size, le16 csum_start, le16 csum_offset,
 * le16 num_buffers. With VIRTIO_F_VERSION_1 the header is always 12 bytes,
 * num_buffers included, with or without MRG_RXBUF.
 */
export const enum NetHdr {
  flags = 0,
  gso_type = 1,
  hdr_len = 2,
  gso_size = 4,
  csum_start = 6,
  csum_offset = 8,
  num_buffers = 10,
  SIZE = 12,
}

/** virtio_net_hdr flags (5.1.6). */
export const enum NetHdrFlag {
  NEEDS_CSUM = 1,
  DATA_VALID = 2,
  RSC_INFO = 4,
}

/** virtio_net_hdr gso_type values (5.1.6). */
export const enum GsoType {
  NONE = 0,
  TCPV4 = 1,
  UDP = 3,
  TCPV6 = 4,
  /** bit: the TCP segment has CWR set (VIRTIO_NET_F_HOST_ECN), not offered */
  ECN = 0x80,
}

/** Smallest MTU a port may have (IPv4's 68, RFC 791) and largest (the config's le16). */
export const NET_MTU_MIN = 68;
export const NET_MTU_MAX = 65535;
/** The MTU when the platform description gives none (Ethernet's). */
export const NET_MTU_DEFAULT = 1500;
