/**
 * A plain MQTT connection for the simulator bench (ceiling run, seeding), on the simulator's own
 * lean client (mqtt-wire), so the bench process loads no second MQTT client whose memory would count
 * as baseline.
 */
import { MqttClient } from '../mqtt-wire/client.ts';

export async function openBenchLink(url: string, clientId: string): Promise<{ link: MqttClient; close(): Promise<void> }> {
  let settle: (error?: Error) => void = () => {};
  const ready = new Promise<void>((resolve, reject) => {
    settle = (error) => (error ? reject(error) : resolve());
  });
  const link = new MqttClient(
    {
      url,
      clientId,
      username: clientId,
      password: 'bench',
      keepaliveS: 60,
      connectTimeoutMs: 10_000,
      will: { topic: `coffee/v1/${clientId}/state`, payload: 'offline', retain: false },
    },
    { connect: () => settle(), close: () => settle(new Error(`${clientId}: connection closed`)), error: (error) => settle(error), message: () => {} },
  );
  link.open();
  await ready;
  return { link, close: () => new Promise<void>((resolve) => link.end(false, resolve)) };
}
