import { connect } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TcpBroker } from '../../broker/broker.ts';
import { brokerFor, startDeviceRegistry, type DeviceRegistry } from './support.ts';

const logger = pino({ level: 'silent' });

/**
 * A refused login is closed after its CONNACK [MQTT-3.2.2-5], and the device must still read that
 * CONNACK. A device that sent more behind its CONNECT (a pipelined PUBLISH, a full send buffer)
 * leaves bytes the broker never read; closing a socket with unread bytes resets it, and a reset that
 * reaches the device before it read the CONNACK discards it: the device sees a dropped connection
 * instead of the reason. Here each device goes on sending PUBLISHes behind its CONNECT and reads nothing for 300 ms.
 */
describe('a refused login with bytes still unread', () => {
  let registry: DeviceRegistry;
  let broker: TcpBroker;
  beforeAll(async () => {
    registry = await startDeviceRegistry({ 'cm-refused-1': { secret: 'right', region: 'eu' } });
    // The throttle would slow the repeated wrong logins down; it is not what this test is about.
    const lenient = { slowAfter: 1_000, refuseAfter: 1_000, addressSlowAfter: 1_000, addressRefuseAfter: 1_000 };
    broker = await brokerFor(registry, logger, { authThrottle: lenient });
  });
  afterAll(async () => {
    await broker?.close();
    await registry?.close();
  });

  const attempt = (protocolVersion: 4 | 5): Promise<number | 'no connack'> =>
    new Promise((resolve) => {
      const socket = connect(broker.tcpPort, '127.0.0.1');
      const parser = mqttPacket.parser({ protocolVersion });
      let code: number | 'no connack' = 'no connack';
      parser.on('packet', (packet) => {
        if (packet.cmd === 'connack') code = (protocolVersion === 5 ? packet.reasonCode : packet.returnCode) ?? -1;
      });
      socket.on('data', (chunk) => parser.parse(chunk));
      socket.on('error', () => undefined);
      socket.on('close', () => resolve(code));
      socket.on('connect', () => {
        const login = mqttPacket.generate(
          {
            cmd: 'connect',
            protocolId: 'MQTT',
            protocolVersion,
            clean: true,
            clientId: 'cm-refused-1',
            keepalive: 30,
            username: 'cm-refused-1',
            password: Buffer.from('wrong'),
          },
          { protocolVersion },
        );
        const publish = mqttPacket.generate(
          { cmd: 'publish', topic: 'coffee/v1/cm-refused-1/evt/brew', payload: Buffer.alloc(32 * 1024), qos: 0, retain: false, dup: false },
          { protocolVersion },
        );
        // A device busy sending reads nothing for a while, and goes on sending after its CONNECT.
        socket.pause();
        socket.write(login);
        const sending = setInterval(() => socket.writable && socket.write(publish), 5);
        socket.once('close', () => clearInterval(sending));
        setTimeout(() => {
          clearInterval(sending);
          socket.resume();
        }, 300);
      });
    });

  it.each([4, 5] as const)('MQTT %s: the device reads its CONNACK every time', async (protocolVersion) => {
    const codes = [];
    for (let i = 0; i < 5; i++) codes.push(await attempt(protocolVersion));
    expect(codes).toEqual(Array.from({ length: 5 }, () => (protocolVersion === 5 ? 0x86 : 4)));
  });
});
