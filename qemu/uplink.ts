// SPDX-License-Identifier: Apache-2.0
/**
 * The network card passed through to the backend on QEMU (a
 * `backend.passthrough` device of kind `virtio-net`): a
 * `virtio-net-device` on a user-mode (slirp) network that reaches nothing
 * but the host's loopback, and only through the forwards a run asks for.
 *
 * The netdev is always `restrict=on` (the card's frames never leave QEMU
 * except through the forwards) on 10.0.2.0/24 (slirp's gateway 10.0.2.2,
 * its DNS 10.0.2.3, the first address its DHCP hands out 10.0.2.15):
 * - `hostfwd`: a TCP port on the host's 127.0.0.1 (never another address)
 *   connects to a port of 10.0.2.15 behind the uplink (a frontend's
 *   service);
 * - `guestfwd`: a connection from behind the uplink to 10.0.2.100:<port>
 *   reaches a TCP port on the host's 127.0.0.1 (a host-side server); with
 *   restrict=on this is the only way out.
 */

/** The address slirp's DHCP gives first: what a hostfwd connects to. */
export const UPLINK_GUEST_ADDR = '10.0.2.15';
/** The address a guestfwd listens on, behind the uplink. */
export const UPLINK_SERVICE_ADDR = '10.0.2.100';
/** The user network's prefix. */
export const UPLINK_NET = '10.0.2.0/24';
/** The card's MAC on the shipped system (QEMU's `mac=`; read back by the driver from the config space). */
export const UPLINK_MAC = '52:54:00:0a:00:01';

/** One TCP forward of the uplink's user network. */
export interface UplinkForward {
  /** TCP port on the host's 127.0.0.1 */
  hostPort: number;
  /** TCP port behind the uplink: of 10.0.2.15 (hostfwd) or of 10.0.2.100 (guestfwd) */
  guestPort: number;
}

/**
 * A guestfwd served by a command on the host, started for each connection
 * with the connection as its stdin and stdout (QEMU's `cmd:` form). The
 * `tcp:` form of {@link UplinkForward} connects to the host's port once,
 * when QEMU starts; a command that connects to a server on 127.0.0.1 each
 * time (a relay) gives every connection from behind the uplink its own.
 */
export interface UplinkCommandForward {
  /** TCP port of 10.0.2.100 behind the uplink */
  guestPort: number;
  /** the host command (run by QEMU through /bin/sh) */
  command: string;
}

/** The forwards of a run (tests pick free host ports). */
export interface UplinkOptions {
  /** 127.0.0.1:hostPort on the host → 10.0.2.15:guestPort behind the uplink */
  hostfwd?: UplinkForward[];
  /** 10.0.2.100:guestPort behind the uplink → 127.0.0.1:hostPort on the host, or a host command per connection */
  guestfwd?: (UplinkForward | UplinkCommandForward)[];
  /** the card's MAC (default {@link UPLINK_MAC}) */
  mac?: string;
}

/** Checks a TCP port number. @throws RangeError naming `what` */
function port(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 1 || v > 65535) throw new RangeError(`${what}: ${v} is not a TCP port (1..65535)`);
  return v;
}

/**
 * The QEMU arguments of passthrough network card `name`: `-netdev
 * user,id=<name>,restrict=on,net=10.0.2.0/24[,hostfwd=…][,guestfwd=…]
 * (a command's commas doubled, as QEMU's option syntax wants)
 * -device virtio-net-device,netdev=<name>,mac=<mac>`. Place them where the
 * device's transport needs them (qemu/disks.ts `diskQemuArgs`).
 * @throws RangeError for a port outside 1..65535 or a MAC that is not
 *   'xx:xx:xx:xx:xx:xx'
 */
export function uplinkQemuArgs(name: string, opts: UplinkOptions = {}): string[] {
  const mac = opts.mac ?? UPLINK_MAC;
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(mac)) throw new RangeError(`uplink ${name}: MAC ${mac} is not xx:xx:xx:xx:xx:xx`);
  const netdev = [`user`, `id=${name}`, 'restrict=on', `net=${UPLINK_NET}`];
  for (const f of opts.hostfwd ?? []) {
    netdev.push(`hostfwd=tcp:127.0.0.1:${port(f.hostPort, `${name} hostfwd hostPort`)}-${UPLINK_GUEST_ADDR}:${port(f.guestPort, `${name} hostfwd guestPort`)}`);
  }
  for (const f of opts.guestfwd ?? []) {
    const at = `guestfwd=tcp:${UPLINK_SERVICE_ADDR}:${port(f.guestPort, `${name} guestfwd guestPort`)}`;
    // QEMU's option syntax: a comma inside a value is written twice
    if ('command' in f) netdev.push(`${at}-cmd:${f.command.replaceAll(',', ',,')}`);
    else netdev.push(`${at}-tcp:127.0.0.1:${port(f.hostPort, `${name} guestfwd hostPort`)}`);
  }
  return ['-netdev', netdev.join(','), '-device', `virtio-net-device,netdev=${name},mac=${mac}`];
}
