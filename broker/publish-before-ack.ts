import type { Aedes, Client, PublishPacket } from 'aedes';

type Done = (error?: Error | null) => void;

/**
 * aedes 1.2 answers a QoS 1 PUBLISH with PUBACK first and only then hands the message to the emitter
 * and the subscribers' session queues, so a node that dies in between has acknowledged a message
 * nobody will get (the chaos suite lost one per broker SIGKILL with Redis persistence). Here an
 * admitted QoS 1 message from a client is published from the end of the authorizePublish hook, before
 * aedes writes the PUBACK, and aedes' own publish of that same packet afterwards is skipped.
 */
export function publishBeforeAck(broker: Aedes): void {
  const originalPublish: unknown = Reflect.get(broker, 'publish');
  if (typeof originalPublish !== 'function') throw new Error('aedes has no publish');
  // aedes' typings know only publish(packet, done); the broker itself also passes the sending client.
  const publish = (packet: PublishPacket, client: Client | null, done: Done): void => {
    Reflect.apply(originalPublish, broker, [packet, client, done]);
  };
  const alreadyPublished = new WeakSet<PublishPacket>();

  Reflect.set(broker, 'publish', (packet: PublishPacket, client: Client | Done | null, done?: Done): void => {
    if (typeof client === 'function') return publish(packet, null, client);
    if (alreadyPublished.delete(packet)) return done?.(null);
    publish(packet, client, done ?? (() => undefined));
  });

  const authorize = broker.authorizePublish;
  broker.authorizePublish = (client, packet, done) => {
    authorize(client, packet, (error) => {
      if (error || !client || packet.qos !== 1) return done(error);
      publish(packet, client, (publishError) => {
        if (publishError) return done(publishError);
        alreadyPublished.add(packet);
        done(null);
      });
    });
  };
}
