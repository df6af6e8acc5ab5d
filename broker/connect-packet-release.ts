import type { Aedes, Client, ConnectPacket } from 'aedes';

/** What mqtt-packet's parser reads from its settings after a CONNECT; nothing else of the packet. */
interface ParserSettings {
  // Always set by the parser; optional only in the typings of a CONNECT one builds.
  readonly protocolVersion: number | undefined;
  readonly bridgeMode?: true;
}

// One frozen object per combination, shared by every client: the parser only reads it.
const SHARED_SETTINGS = new Map<string, ParserSettings>();

function settingsFor(packet: ConnectPacket & { bridgeMode?: boolean }): ParserSettings {
  const bridgeMode = packet.bridgeMode === true;
  const key = `${packet.protocolVersion}:${bridgeMode}`;
  const known = SHARED_SETTINGS.get(key);
  if (known !== undefined) return known;
  const settings: ParserSettings = Object.freeze(
    bridgeMode ? { protocolVersion: packet.protocolVersion, bridgeMode: true } : { protocolVersion: packet.protocolVersion },
  );
  SHARED_SETTINGS.set(key, settings);
  return settings;
}

/**
 * mqtt-packet 9's parser, once it has parsed a CONNECT, keeps that packet as its `settings` (it
 * reads the protocol version and the bridge flag from it to parse every later packet), and aedes
 * keeps the parser for as long as the connection lasts. Every connected client thus held its whole
 * CONNECT, username and **password Buffer** included, for hours: a device secret in the heap (in any
 * heap snapshot or core dump) and about 0.5 KB per client. Here the parser's settings are replaced,
 * as soon as aedes starts handling the CONNECT (preConnect, before authentication and before any
 * packet behind it in the same read is parsed), by a shared object holding only those two fields.
 * The CONNECT itself then lives only as long as aedes' connect steps (the authenticate hook still
 * gets username and password) and is collected after CONNACK; the will is kept by aedes separately.
 */
export function releaseConnectPackets(broker: Aedes): void {
  const preConnect = broker.preConnect;
  broker.preConnect = (client: Client, packet: ConnectPacket, callback) => {
    const parser: unknown = Reflect.get(client, '_parser');
    if (typeof parser === 'object' && parser !== null && Reflect.get(parser, 'settings') === packet) Reflect.set(parser, 'settings', settingsFor(packet));
    Reflect.apply(preConnect, broker, [client, packet, callback]);
  };
}
