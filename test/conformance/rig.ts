import { afterAll, afterEach, beforeAll } from 'vitest';
import { INGEST, startFixture, type Fixture } from './fixture.ts';
import { paho, startClients, type PahoSpec, type Running } from './third-party.ts';

type Who = { id: string; secret: string };

export interface ConformanceRig {
  /** Our broker for this suite; started in beforeAll, closed in afterAll. */
  readonly fixture: Fixture;
  /** The third-party client processes; every one still running is killed after each test. */
  readonly clients: ReturnType<typeof startClients>;
  /** Paho logged in as a device with its secret. */
  device(who: Who, spec?: Partial<PahoSpec>): Running;
  /** Paho logged in as the ingest service account under this client id. */
  ingest(clientId: string, spec?: Partial<PahoSpec>): Running;
}

/** The setup every conformance suite on our plain TCP listener shares; call it inside `describe`. */
export function useConformanceRig(): ConformanceRig {
  let started: Fixture | undefined;
  const clients = startClients();
  beforeAll(async () => {
    started = await startFixture();
  });
  afterEach(() => clients.killAll());
  afterAll(async () => {
    await started?.close();
  });
  const fixture = (): Fixture => {
    if (!started) throw new Error('the conformance fixture is used before beforeAll started it');
    return started;
  };
  return {
    get fixture() {
      return fixture();
    },
    clients,
    device: (who, spec = {}) =>
      paho(clients, { host: fixture().host, port: fixture().port, clientId: who.id, username: who.id, password: who.secret, ...spec }),
    ingest: (clientId, spec = {}) =>
      paho(clients, { host: fixture().host, port: fixture().port, clientId, username: INGEST.username, password: INGEST.password, ...spec }),
  };
}
