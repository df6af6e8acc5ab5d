import type { AedesOptions, AuthenticateError, Client, PublishPacket } from 'aedes';
import type { Logger } from 'pino';
import { deviceIdSchema } from '../schema/ids.ts';
import { mayPublish, maySubscribe, type AclSubject } from './acl-policy.ts';
import { CONNACK, type Authenticator } from './authenticate.ts';
import { describeIdentity, type Identity } from './identity.ts';

/**
 * Adapts the authenticator and the pure topic policy to aedes 1.x's callback hooks. aedes ignores a
 * promise returned by a hook, so async work is bridged to the callback explicitly and every path
 * calls it exactly once. Log lines name the client and topic, never a password or payload.
 */
export interface HookCounters {
  authFailures: number;
  denials: number;
  messagesOut: number;
}

type Hooks = Required<Pick<AedesOptions, 'authenticate' | 'authorizePublish' | 'authorizeSubscribe' | 'authorizeForward'>>;

export function createAedesHooks(authenticator: Authenticator, counters: HookCounters, logger: Logger): Hooks {
  const identities = new WeakMap<Client, Identity>();

  const refuse = (code: number, reason: string): AuthenticateError => Object.assign(new Error(reason), { returnCode: code }) as AuthenticateError;

  return {
    authenticate(client, username, password, done) {
      authenticator.authenticate({ clientId: client.id, username, password }).then(
        (outcome) => {
          if (outcome.ok) {
            identities.set(client, outcome.identity);
            logger.debug({ clientId: client.id, principal: describeIdentity(outcome.identity) }, 'client authenticated');
            done(null, true);
            return;
          }
          counters.authFailures++;
          logger.warn({ clientId: client.id, username, code: outcome.code, reason: outcome.reason }, 'connection refused');
          done(refuse(outcome.code, outcome.reason), false);
        },
        (error: unknown) => {
          counters.authFailures++;
          logger.error({ clientId: client.id, username, err: error }, 'authentication failed unexpectedly');
          done(refuse(CONNACK.serverUnavailable, 'authentication failed'), false);
        },
      );
    },

    // A refused publish closes the connection (aedes' behaviour, allowed by MQTT-3.3.5-2). The other
    // allowed answer, acknowledging and dropping, would tell a QoS 1 publisher its message was
    // accepted and lose it silently; a closed connection makes the fault visible on the device.
    authorizePublish(client, packet, done) {
      const subject = client ? identities.get(client) : orphanWillOwner(packet);
      if (subject && mayPublish(subject, packet.topic)) {
        done(null);
        return;
      }
      counters.denials++;
      logger.warn({ clientId: client?.id ?? willClientId(packet), topic: packet.topic }, 'publish denied');
      done(new Error('publish denied'));
    },

    authorizeSubscribe(client, subscription, done) {
      const identity = identities.get(client);
      if (identity && maySubscribe(identity, subscription.topic)) {
        done(null, subscription);
        return;
      }
      counters.denials++;
      logger.warn({ clientId: client.id, topic: subscription.topic }, 'subscription denied');
      // A null subscription makes aedes grant 0x80 (failure) for this filter in the SUBACK.
      done(null, null);
    },

    // Called once per delivery to a client, which makes it the cheapest place to count them.
    authorizeForward(_client, packet) {
      counters.messagesOut++;
      return packet;
    },
  };
}

/**
 * aedes publishes a will with no client when its owner's broker died; the will then carries the
 * owner's client id, which for a device is its device id, so the device rules still apply to it.
 */
function orphanWillOwner(packet: PublishPacket): AclSubject | undefined {
  const deviceId = deviceIdSchema.safeParse(willClientId(packet));
  return deviceId.success ? { kind: 'device', deviceId: deviceId.data } : undefined;
}

const willClientId = (packet: PublishPacket): string | undefined => (packet as PublishPacket & { clientId?: string }).clientId;
