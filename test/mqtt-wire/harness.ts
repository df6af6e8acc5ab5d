import { MqttClient } from '../../mqtt-wire/client.ts';
import type { MqttClientOptions, PublishOptions } from '../../mqtt-wire/client-options.ts';
import type { MqttError } from '../../mqtt-wire/errors.ts';
import type { Connack, Disconnect, IncomingPublish } from '../../mqtt-wire/packets.ts';
import { waitUntil } from '../support/wait.ts';

/** A client of mqtt-wire with everything it reports recorded, for tests to wait on and inspect. */
export interface Recorded {
  client: MqttClient;
  connacks: Connack[];
  /** Incoming messages; the payload copied (the client hands over a view). */
  messages: IncomingPublish[];
  errors: Array<Error & Partial<Pick<MqttError, 'code' | 'reasonCode' | 'serverReference' | 'reasonString'>>>;
  disconnects: Disconnect[];
  closes: number;
  connected(count?: number): Promise<void>;
  publish(topic: string, payload: string | Buffer, options?: PublishOptions): Promise<void>;
  subscribe(...filters: string[]): Promise<number[]>;
  end(force?: boolean): Promise<void>;
}

export const DEFAULTS = { keepaliveS: 30, connectTimeoutMs: 5_000 } as const;

export function recorded(
  options: Partial<MqttClientOptions> & Pick<MqttClientOptions, 'url' | 'clientId'>,
  onMessage?: (publish: IncomingPublish, client: MqttClient) => void,
): Recorded {
  const record: Recorded = {
    client: undefined as unknown as MqttClient,
    connacks: [],
    messages: [],
    errors: [],
    disconnects: [],
    closes: 0,
    connected: (count = 1) => waitUntil(`${options.clientId}: CONNACK #${count}`, () => record.connacks.length >= count, 10_000, 10),
    publish: (topic, payload, publishOptions = {}) =>
      new Promise<void>((resolve, reject) => {
        record.client.publish(topic, payload, publishOptions, (error?: MqttError) => (error ? reject(error) : resolve()));
      }),
    subscribe: (...filters) =>
      new Promise<number[]>((resolve, reject) => {
        record.client.subscribe(filters, (error, granted) => (error ? reject(error) : resolve(granted)));
      }),
    end: (force = false) => new Promise<void>((resolve) => record.client.end(force, resolve)),
  };
  record.client = new MqttClient(
    { ...DEFAULTS, ...options },
    {
      connect: (connack) => void record.connacks.push(connack),
      close: () => void record.closes++,
      error: (error) => void record.errors.push(error),
      message: (publish) => {
        record.messages.push({ ...publish, payload: Buffer.from(publish.payload) });
        onMessage?.(publish, record.client);
      },
      disconnect: (packet) => void record.disconnects.push(packet),
    },
  );
  record.client.open();
  return record;
}

/** Ends every client a test opened, whatever state it is in. */
export function pool(): { add(r: Recorded): Recorded; endAll(): Promise<void> } {
  const open: Recorded[] = [];
  return {
    add: (r) => {
      open.push(r);
      return r;
    },
    endAll: async () => void (await Promise.all(open.splice(0).map((r) => r.end(true)))),
  };
}
