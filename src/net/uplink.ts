// SPDX-License-Identifier: Apache-2.0
/**
 * The switch's uplink: a port of the {@link EthernetSwitch} over a network
 * card the backend VM drives ({@link VirtioNetDriver}, a NIC passed through
 * by the hypervisor). Frames the switch hands to the port go out on the
 * card's transmit queue; frames the card receives enter the switch as the
 * port's own, and the switch is flushed once per interrupt, so the
 * frontends' receive queues see one notification per burst from the wire.
 *
 * The port takes no offload ({@link SwitchPort.offloads} absent): the
 * switch completes the partial checksums of frames for the wire and cuts
 * GSO frames into MTU-sized segments before they come here, and frames
 * from the wire carry complete checksums (the driver negotiates no
 * GUEST_CSUM).
 *
 * The uplink never blocks the switch: a frame it cannot send (no free
 * transmit buffer, link down, card given up) is refused, and the switch
 * counts it as the port's `dropEgress`; the driver's counters say why.
 */
import type { VirtioNetDriver } from '../drivers/virtio-net.ts';
import type { EthernetSwitch, PortOptions, SwitchPort } from './switch.ts';

/** A {@link SwitchPort} over a network card driver. */
export class UplinkPort implements SwitchPort {
  readonly name: string;
  /** the port's id on the switch */
  readonly id: number;

  /**
   * Attaches the port to `netSwitch` and takes over the driver's
   * `onFrame` and `onBurst`.
   * @throws RangeError when the switch has no room for another port
   */
  constructor(readonly driver: VirtioNetDriver, readonly netSwitch: EthernetSwitch, options: PortOptions = {}) {
    this.name = driver.name;
    this.id = netSwitch.attach(this, options);
    const id = this.id;
    driver.onFrame = (frame, len) => {
      netSwitch.forward(id, frame, len);
    };
    driver.onBurst = () => netSwitch.flush();
  }

  /** Sends the frame on the card (copied); false when the card drops it. */
  deliver(frame: Uint8Array, len: number): boolean {
    return this.driver.send(frame, len);
  }

  /** Publishes the frames delivered since the last flush (one QueueNotify). */
  flush(): void {
    this.driver.flush();
  }

  /**
   * One line of counters for a person (console `Ctrl-] s`): the card's
   * frames and drops (driver counters) and the port's from the switch's side.
   */
  statsLine(): string {
    const c = this.driver.counters;
    const s = this.netSwitch.counters(this.id);
    const state = this.driver.failed ? 'failed' : this.driver.linkUp ? 'link up' : 'link down';
    return `${this.name}: uplink ${state}; wire rx ${c.rxFrames} frames ${c.rxBytes} bytes, tx ${c.txFrames} frames ${c.txBytes} bytes; ` +
      `dropped rx runt ${c.rxRunt} bad header ${c.rxBadHeader}, tx no buffer ${c.txNoBuffer} bad length ${c.txBadLength} down ${c.txDown}; ` +
      `interrupts ${c.interrupts}, kicks ${c.kicks}; ` +
      `switch port ${this.id}: in ${s.rxFrames} (floods ${s.floods}, flood limit ${s.dropFloodLimit}), out ${s.txFrames}, egress drops ${s.dropEgress}`;
  }
}
