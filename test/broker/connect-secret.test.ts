import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import type mqttPacket from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TcpBroker } from '../../broker/broker.ts';
import { type HeapGraph, readHeapSnapshot } from '../../tools/heap-graph.ts';
import { brokerFor, captureLogs, type RawClient, rawClient, startDeviceRegistry, type DeviceRegistry } from './support.ts';

const V4 = { id: 'cm-secret0004', secret: 'v4-device-secret-kept-nowhere' };
const V5 = { id: 'cm-secret0005', secret: 'v5-device-secret-kept-nowhere' };

/**
 * A connected device's CONNECT, password Buffer included, must not stay in the broker's heap: the
 * secret is only needed while the login is checked. Checked on the live heap itself (a V8 snapshot,
 * which collects garbage first): no object left that is a CONNECT packet or holds a Buffer under
 * `password`. The test's own clients speak MQTT by hand and keep the secrets as strings only, so any
 * such object is the broker's.
 */
describe('a connected device leaves no CONNECT packet and no password Buffer in the heap', () => {
  let registry: DeviceRegistry;
  let broker: TcpBroker;
  let dir: string;
  const raws: RawClient[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'brewtel-heap-'));
    registry = await startDeviceRegistry({ [V4.id]: { secret: V4.secret, region: 'eu' }, [V5.id]: { secret: V5.secret, region: 'eu' } });
    broker = await brokerFor(registry, captureLogs().logger);
  });

  afterAll(async () => {
    for (const raw of raws) raw.socket.destroy();
    await broker?.close();
    await registry?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('after CONNACK and a publish, for MQTT 3.1.1 and MQTT 5', async () => {
    for (const [device, version] of [
      [V4, 4],
      [V5, 5],
    ] as const) {
      const raw = rawClient(broker.tcpPort, { clientId: device.id, username: device.id, password: device.secret, version });
      raws.push(raw);
      const connack = await raw.connack;
      expect(connack.returnCode ?? connack.reasonCode).toBe(0);
      // A QoS 1 publish answered: the login's steps are over, and the broker still parses this
      // client's packets with its protocol version (an MQTT 5 PUBLISH carries a properties field).
      raw.send({ cmd: 'publish', topic: `coffee/v1/${device.id}/evt/status`, payload: Buffer.from('{}'), qos: 1, retain: false, dup: false, messageId: 7 });
      await until(() => raw.packets.some((p) => p.cmd === 'puback'));
      expect((raw.packets.find((p) => p.cmd === 'puback') as mqttPacket.IPubackPacket).reasonCode ?? 0).toBe(0);
    }
    expect(broker.stats().connections).toBe(2);

    const heap = readHeapSnapshot(writeHeapSnapshot(join(dir, 'broker.heapsnapshot')));
    expect({ connectPackets: connectPackets(heap), passwordBuffers: passwordBuffers(heap) }).toEqual({ connectPackets: [], passwordBuffers: [] });
  });
});

/** Every object whose `cmd` is the string 'connect', by constructor name. */
function connectPackets(heap: HeapGraph): string[] {
  const found: string[] = [];
  for (let node = 0; node < heap.nodeCount; node++) {
    if (heap.type(node) !== 'object') continue;
    const cmd = heap.property(node, 'cmd');
    if (cmd !== undefined && heap.type(cmd) === 'string' && heap.name(cmd) === 'connect') found.push(heap.name(node));
  }
  return found;
}

/** Every Buffer (or other typed array) held under a property named `password`, with its holder's constructor. */
function passwordBuffers(heap: HeapGraph): string[] {
  const found: string[] = [];
  for (let node = 0; node < heap.nodeCount; node++) {
    if (heap.type(node) !== 'object') continue;
    const password = heap.property(node, 'password');
    if (password !== undefined && heap.type(password) === 'object' && /Buffer|Array$/.test(heap.name(password)))
      found.push(`${heap.name(node)}.password: ${heap.name(password)}`);
  }
  return found;
}

async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met within 5 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
