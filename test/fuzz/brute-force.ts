import pino from 'pino';
import { brokerFor, clientPool, startDeviceRegistry } from '../broker/support.ts';
import { newGroup, record, type GroupTally } from './tally.ts';

const VICTIM = { id: 'cm-victim0001', secret: 'victim-one-time-secret-xyz' };
const BYSTANDER = { id: 'cm-bystander02', secret: 'bystander-one-time-secret' };
const REFUSE_AFTER = 8;

/**
 * Password guessing against our broker (real sockets, its HTTP registry a small real server), with a
 * throttle tuned short so the run stays fast. Every guess must fail; once the source is refused even
 * the right secret is turned away without asking the registry, while other usernames still log in.
 */
export async function bruteForce(guesses: number): Promise<GroupTally> {
  const tally = newGroup('abuse: authentication brute force');
  const registry = await startDeviceRegistry({
    [VICTIM.id]: { secret: VICTIM.secret, region: 'eu' },
    [BYSTANDER.id]: { secret: BYSTANDER.secret, region: 'us' },
  });
  const broker = await brokerFor(registry, pino({ level: 'silent' }), {
    authThrottle: { slowAfter: 3, delayMs: 5, maxDelayMs: 20, refuseAfter: REFUSE_AFTER, refuseMs: 60_000 },
  });
  const pool = clientPool();
  try {
    const url = broker.mqttUrl!;
    const login = (who: { id: string; secret: string }): Promise<number> =>
      pool.connack(pool.open(url, { clientId: who.id, username: who.id, password: who.secret }));
    let askedAtLockout = 0;
    for (let i = 0; i < guesses; i++) {
      const code = await login({ id: VICTIM.id, secret: `guess-${i}-${'x'.repeat(i % 40)}` });
      if (i === REFUSE_AFTER - 1) askedAtLockout = registry.requests;
      record(tally, code === 0, code === 0 ? 'wrongly_accepted' : 'ok', () => `guess ${i} accepted`);
      await pool.endAll();
    }
    const right = await login(VICTIM);
    record(tally, right === 0, right === 0 ? 'wrongly_accepted' : 'ok', () => 'the right secret was accepted from a locked-out source');
    const hammered = registry.requests > askedAtLockout;
    record(tally, hammered, hammered ? 'wrongly_accepted' : 'ok', () => `the registry was asked ${registry.requests - askedAtLockout} times after the lockout`);
    const other = await login(BYSTANDER);
    record(tally, other === 0, other === 0 ? 'ok' : 'wrongly_refused', () => `another username from the same address got CONNACK ${other}`);
  } finally {
    await pool.endAll();
    await broker.close();
    await registry.close();
  }
  return tally;
}
