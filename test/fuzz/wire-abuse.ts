import type mqtt from 'mqtt';
import { eventOf } from '../server/app/helpers.ts';
import { readRegionStore } from '../support/sqlite-stores.ts';
import { connectPacket, openRaw, publishPacket } from './raw-mqtt.ts';
import { newGroup, record, type GroupTally, type Verdict } from './tally.ts';
import type { WireDevice, WireWorld } from './wire-world.ts';

/**
 * Hostile clients over real sockets against the running stack. Each case states what a correct
 * broker and server do; the verdict compares that with what happened.
 */
/** A valid brew event of `deviceId` (consented on every device of the wire world), as text. */
function brew(deviceId: string): { id: string; text: string } {
  const event = eventOf('brew', deviceId);
  return { id: event.id, text: JSON.stringify(event) };
}

const closedSoon = (client: mqtt.MqttClient): Promise<boolean> =>
  new Promise((resolve) => {
    if (!client.connected) return resolve(true);
    client.once('close', () => resolve(true));
  });

/** Granted QoS per filter; mqtt.js rejects a SUBACK holding 0x80 but keeps the packet. */
async function granted(client: mqtt.MqttClient, filter: string): Promise<number> {
  try {
    return (await client.subscribeAsync(filter, { qos: 1 }))[0]?.qos ?? -1;
  } catch (error) {
    return (error as { packet?: { granted?: number[] } }).packet?.granted?.[0] ?? -1;
  }
}

export async function abuseOverWire(world: WireWorld): Promise<GroupTally[]> {
  const [alice, bob] = world.devices;
  const forbiddenIds: string[] = [];
  const expectedStored: string[] = [];
  const storedCheck = newGroup('abuse: nothing forbidden stored');
  const groups = [
    await wildcardSubscriptions(world, alice, bob),
    await impersonation(world, alice, bob, forbiddenIds),
    await oversizedAndHostilePayloads(world, alice, forbiddenIds),
    await malformedUtf8(world, alice, forbiddenIds),
    await slowClients(world, alice, bob, expectedStored),
  ];
  // Liveness: after all of it, an ordinary event still goes through.
  const last = brew(bob.id);
  const { client } = await world.connect(bob.id, bob.secret);
  const before = world.handled();
  await client.publishAsync(`coffee/v1/${bob.id}/evt/brew`, last.text, { qos: 1 });
  await world.handledReaches(before + 1);
  await client.endAsync(true);
  expectedStored.push(last.id);
  const onDisk = new Set(world.regions.flatMap((r) => readRegionStore(world.dataDir, r).events.map((e) => e.id)));
  for (const id of forbiddenIds) record(storedCheck, onDisk.has(id), onDisk.has(id) ? 'wrongly_accepted' : 'ok', () => `forbidden event ${id} is stored`);
  for (const id of expectedStored)
    record(storedCheck, onDisk.has(id), onDisk.has(id) ? 'ok' : 'wrongly_refused', () => `event ${id} from a slow but valid client is missing`);
  return [...groups, storedCheck];
}

async function wildcardSubscriptions(world: WireWorld, alice: WireDevice, bob: WireDevice): Promise<GroupTally> {
  const tally = newGroup('abuse: device wildcard subscriptions');
  const { client } = await world.connect(alice.id, alice.secret);
  const denied = [
    '#',
    '+/#',
    '+',
    'coffee/#',
    'coffee/v1/#',
    'coffee/v1/+/evt/+',
    'coffee/v1/+/consent',
    'coffee/v1/+/cmd/#',
    `coffee/v1/${alice.id}/#`,
    `coffee/v1/${alice.id}/+`,
    `coffee/v1/${alice.id}/evt/+`,
    `coffee/v1/${bob.id}/cmd/#`,
    `coffee/v1/${bob.id}/consent`,
    '$SYS/#',
    `$share/g/coffee/v1/${alice.id}/cmd/#`,
  ];
  const allowed = [`coffee/v1/${alice.id}/consent`, `coffee/v1/${alice.id}/cmd/#`, `coffee/v1/${alice.id}/cmd/reboot`];
  for (const filter of denied) {
    const qos = await granted(client, filter);
    record(tally, qos !== 128, qos === 128 ? 'ok' : 'wrongly_accepted', () => `device granted QoS ${qos} on ${filter}`);
  }
  for (const filter of allowed) {
    const qos = await granted(client, filter);
    record(tally, qos === 1, qos === 1 ? 'ok' : 'wrongly_refused', () => `device refused its own ${filter} (${qos})`);
  }
  await client.endAsync(true);
  return tally;
}

async function impersonation(world: WireWorld, alice: WireDevice, bob: WireDevice, forbidden: string[]): Promise<GroupTally> {
  const tally = newGroup('abuse: acting as another device');
  const logins: [string, string, string, string][] = [
    ['client id of another device', alice.id, alice.secret, bob.id],
    ['username of another device with own secret', bob.id, alice.secret, bob.id],
    ['service account name', 'svc-ingest', alice.secret, 'svc-ingest'],
    ['empty password', alice.id, '', alice.id],
  ];
  for (const [what, username, password, clientId] of logins) {
    const { client, code } = await world.connect(username, password, clientId);
    record(tally, code === 0, code === 0 ? 'wrongly_accepted' : 'ok', () => `${what}: CONNACK ${code}`);
    await client.endAsync(true);
  }
  for (const topic of [`coffee/v1/${bob.id}/evt/brew`, `coffee/v1/${bob.id}/state`, `coffee/v1/${bob.id}/consent`, `coffee/v1/${alice.id}/consent`]) {
    const { client } = await world.connect(alice.id, alice.secret);
    const event = brew(bob.id);
    forbidden.push(event.id);
    client.publish(topic, event.text, { qos: 1 });
    const cut = await closedSoon(client);
    record(tally, !cut, cut ? 'ok' : 'wrongly_accepted', () => `publish to ${topic} left the connection open`);
    await client.endAsync(true);
  }
  // The envelope names another device on the sender's own topic: the server refuses it.
  const { client } = await world.connect(alice.id, alice.secret);
  const event = brew(bob.id);
  forbidden.push(event.id);
  const before = world.refusedBy('device_mismatch');
  const handled = world.handled();
  await client.publishAsync(`coffee/v1/${alice.id}/evt/brew`, event.text, { qos: 1 });
  await world.handledReaches(handled + 1);
  const refused = world.refusedBy('device_mismatch') === before + 1;
  record(tally, !refused, refused ? 'ok' : 'wrong_reason', () => 'envelope of another device not refused as device_mismatch');
  await client.endAsync(true);
  return tally;
}

async function oversizedAndHostilePayloads(world: WireWorld, alice: WireDevice, forbidden: string[]): Promise<GroupTally> {
  const tally = newGroup('abuse: oversized, nested, huge numbers');
  {
    const { client } = await world.connect(alice.id, alice.secret);
    const event = brew(alice.id);
    forbidden.push(event.id);
    client.publish(`coffee/v1/${alice.id}/evt/brew`, event.text.replace('"seq":1', `"seq":1,"pad":"${'x'.repeat(300 * 1024)}"`), { qos: 1 });
    const cut = await closedSoon(client);
    record(tally, !cut, cut ? 'ok' : 'wrongly_accepted', () => 'a 300 KiB packet left the connection open');
    await client.endAsync(true);
  }
  const hostile: [string, (text: string) => string, string[]][] = [
    ['100,000 nested arrays', (t) => t.replace('"body":', `"deep":${'['.repeat(100_000)}${']'.repeat(100_000)},"body":`), ['schema_invalid', 'malformed_json']],
    [
      '30,000 nested objects',
      (t) => t.replace('"body":', `"deep":${'{"a":'.repeat(30_000)}1${'}'.repeat(30_000)},"body":`),
      ['schema_invalid', 'malformed_json'],
    ],
    ['dose 1e400', (t) => t.replace('"doseG":18', '"doseG":1e400'), ['schema_invalid']],
    ['400-digit sequence number', (t) => t.replace('"seq":1', `"seq":${'9'.repeat(400)}`), ['schema_invalid']],
    ['negative zero and exponent forms', (t) => t.replace('"seq":1', '"seq":-0.0e-0').replace('"waterTempC":92.5', '"waterTempC":9.25e1'), ['stored']],
  ];
  const { client } = await world.connect(alice.id, alice.secret);
  for (const [what, change, expected] of hostile) {
    const event = brew(alice.id);
    const reasons = new Map(expected.map((r) => [r, world.refusedBy(r)]));
    const handled = world.handled();
    await client.publishAsync(`coffee/v1/${alice.id}/evt/brew`, change(event.text), { qos: 1 });
    await world.handledReaches(handled + 1);
    if (expected[0] === 'stored') {
      const stored = readRegionStore(world.dataDir, alice.region).events.some((e) => e.id === event.id);
      record(tally, stored, stored ? 'ok' : 'wrongly_refused', () => `${what} refused`);
      continue;
    }
    forbidden.push(event.id);
    const refusedAsExpected = expected.some((r) => world.refusedBy(r) === reasons.get(r)! + 1);
    record(tally, false, refusedAsExpected ? 'ok' : 'wrong_reason', () => `${what}: not refused as ${expected.join(' or ')}`);
  }
  await client.endAsync(true);
  return tally;
}

async function malformedUtf8(world: WireWorld, alice: WireDevice, forbidden: string[]): Promise<GroupTally> {
  const tally = newGroup('abuse: malformed UTF-8 topics');
  const invalid: [string, Buffer][] = [
    ['0xff in the kind', Buffer.from([0xff])],
    ['overlong "/"', Buffer.from([0xc0, 0xaf])],
    ['UTF-16 surrogate', Buffer.from([0xed, 0xa0, 0x80])],
    ['NUL', Buffer.from([0x00])],
    ['lone continuation byte', Buffer.from([0x80])],
  ];
  for (const [what, bad] of invalid) {
    const raw = await openRaw(world.mqttUrl);
    await raw.write(connectPacket(alice.id, alice.id, alice.secret));
    const connack = await raw.next('connack');
    const event = brew(alice.id);
    forbidden.push(event.id);
    const topic = Buffer.concat([Buffer.from(`coffee/v1/${alice.id}/evt/br`), bad, Buffer.from('ew')]);
    await raw.write(publishPacket(topic, Buffer.from(event.text), 1));
    // MQTT-1.5.3-1: the broker closes the connection. Whether it does or not, nothing may be stored
    // (checked on disk at the end through `forbidden`).
    const cut = (await raw.next('puback')) === null;
    const verdict: Verdict = connack === null ? 'crash' : 'ok';
    record(tally, !cut, verdict, () => `${what}: no CONNACK for a valid login`);
    raw.destroy();
  }
  return tally;
}

async function slowClients(world: WireWorld, alice: WireDevice, bob: WireDevice, expectedStored: string[]): Promise<GroupTally> {
  const tally = newGroup('abuse: slow clients');
  const handled = world.handled();
  // Half a CONNECT that never completes, held open while others work.
  const stalled = await openRaw(world.mqttUrl);
  await stalled.write(connectPacket(bob.id, bob.id, bob.secret).subarray(0, 7));
  // A whole session dribbled one byte at a time.
  const slow = await openRaw(world.mqttUrl);
  const event = brew(alice.id);
  const bytes = Buffer.concat([
    connectPacket(alice.id, alice.id, alice.secret),
    publishPacket(Buffer.from(`coffee/v1/${alice.id}/evt/brew`), Buffer.from(event.text), 7),
  ]);
  const dribbling = (async () => {
    for (let i = 0; i < bytes.length; i++) {
      await slow.write(bytes.subarray(i, i + 1));
      if (i % 8 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    }
  })();
  // Meanwhile an ordinary device is served.
  const other = brew(bob.id);
  const { client } = await world.connect(bob.id, bob.secret);
  const served = await client.publishAsync(`coffee/v1/${bob.id}/evt/brew`, other.text, { qos: 1 }).then(
    () => true,
    () => false,
  );
  await client.endAsync(true);
  if (served) expectedStored.push(other.id);
  record(tally, served, served ? 'ok' : 'wrongly_refused', () => 'an ordinary device was not served while others stalled');
  await dribbling;
  const puback = await slow.next('puback');
  record(tally, puback !== null, puback ? 'ok' : 'wrongly_refused', () => 'a byte-by-byte client got no PUBACK');
  if (puback) {
    // The broker acknowledges before it hands a message on; the server's count says when it is done.
    await world.handledReaches(handled + 2);
    expectedStored.push(event.id);
  }
  slow.destroy();
  stalled.destroy();
  return tally;
}
