/**
 * A plain MQTT connection for the simulator bench (ceiling run, seeding), on the simulator's own
 * lean link, so the bench process loads no second MQTT client whose memory would count as baseline.
 */
import { MqttLink } from '../firmware-sim/mqtt-link.ts';

export async function openBenchLink(url: string, clientId: string): Promise<{ link: MqttLink; close(): Promise<void> }> {
  let settle: (error?: Error) => void = () => {};
  const ready = new Promise<void>((resolve, reject) => {
    settle = (error) => (error ? reject(error) : resolve());
  });
  const link = new MqttLink(
    { url, clientId, username: clientId, password: 'bench', keepaliveS: 60, connectTimeoutMs: 10_000, will: { topic: `coffee/v1/${clientId}/state`, payload: 'offline', retain: false } },
    { connect: () => settle(), close: () => settle(new Error(`${clientId}: connection closed`)), error: (error) => settle(error), message: () => {} },
  );
  link.open();
  await ready;
  return { link, close: () => new Promise<void>((resolve) => link.end(false, resolve)) };
}
