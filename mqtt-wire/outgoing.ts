import type { IPublishPacket } from 'mqtt-packet';
import { MAX_PACKET_ID, V5_DEFAULTS } from './codes.ts';
import type { MqttError } from './errors.ts';

export type Done = (error?: MqttError) => void;

export interface Outgoing {
  packet: IPublishPacket;
  done: Done | undefined;
  /** Written to some connection at least once: only then is sending it again a redelivery (DUP). */
  sent: boolean;
  /** The connection it was last written on (0: none yet). */
  on: number;
}

/**
 * A client's QoS 1 publishes from hand-over to PUBACK, across connections, in the order handed
 * over (a Map keeps it), and the packet identifiers they and the SUBSCRIBEs use. Also the send
 * quota: at most the server's Receive Maximum of them unacknowledged on one connection
 * [MQTT-3.3.4-7] (3.1.1 has no such limit: 65,535, the number of identifiers).
 */
export class OutgoingPublishes {
  private readonly entries = new Map<number, Outgoing>();
  private lastId = 0;
  private quota: number = V5_DEFAULTS.receiveMaximum;
  /** Entries written on the current connection and not yet acknowledged. */
  private inFlight = 0;

  get size(): number {
    return this.entries.size;
  }

  /** Something waits for this connection and the quota has room. */
  get sendable(): boolean {
    return this.entries.size > this.inFlight && this.inFlight < this.quota;
  }

  /** A new connection: nothing is on it yet; its server's Receive Maximum (v5 §3.2.2.3.3). */
  reset(quota: number): void {
    this.inFlight = 0;
    this.quota = quota;
  }

  add(entry: Outgoing): void {
    this.entries.set(entry.packet.messageId!, entry);
  }

  /** Only one waiting and room for it: the caller may send it at once without breaking the order. */
  onlyOneWaiting(): boolean {
    return this.entries.size - 1 === this.inFlight && this.inFlight < this.quota;
  }

  /** The entries not yet on `connection`, oldest first, while the quota lasts. */
  *due(connection: number): Generator<Outgoing> {
    for (const entry of this.entries.values()) {
      if (this.inFlight >= this.quota) return;
      if (entry.on !== connection) yield entry;
    }
  }

  markSent(entry: Outgoing, connection: number): void {
    entry.sent = true;
    entry.on = connection;
    this.inFlight++;
  }

  /** Removes the entry the server acknowledged (or that could not be sent); undefined for an unknown id. */
  take(messageId: number, connection: number): Outgoing | undefined {
    const entry = this.entries.get(messageId);
    if (entry === undefined) return undefined;
    this.entries.delete(messageId);
    if (entry.on === connection && entry.sent) this.inFlight--;
    return entry;
  }

  /** 1..65535, skipping ids in use here or by `alsoInUse`; 0 when every one is taken. */
  nextId(alsoInUse: ReadonlyMap<number, unknown> | null): number {
    if (this.entries.size + (alsoInUse?.size ?? 0) >= MAX_PACKET_ID) return 0;
    do this.lastId = (this.lastId % MAX_PACKET_ID) + 1;
    while (this.entries.has(this.lastId) || alsoInUse?.has(this.lastId));
    return this.lastId;
  }
}
