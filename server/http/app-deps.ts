import type { CommandSender } from '../commands/command-sender.ts';
import type { ConsentService } from '../consent/consent-service.ts';
import type { ServerConfig } from '../config.ts';
import type { LiveFeed } from '../dashboard/live-feed.ts';
import type { BrokerCredentials } from '../devices/broker-credentials.ts';
import type { SecretHasher } from '../devices/credentials.ts';
import type { DirectoryCache } from '../devices/directory-cache.ts';
import type { DeviceStates } from '../ingest/device-states.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { PrivacyDeps } from '../privacy/privacy-deps.ts';
import type { Stores } from '../store/types.ts';
import type { FaultRatesInput } from '../../schema/fault-rates.ts';
import type { TokenGrant } from './auth.ts';

/** What the fleet control API may do to a fleet: the server never sees the simulator itself. */
export interface FleetControl {
  machines(): ReadonlyArray<{ deviceId: string; region: string }>;
  stats(): { connected: number; published: number; injected: Record<string, number> };
  /** Throws for an id not in the fleet. */
  injectFaults(rates: FaultRatesInput, deviceIds?: readonly string[]): void;
  /** Customers `factor` times as often as the machines' usage profiles say; throws for an id not in the fleet. */
  setBrewRate(factor: number, deviceIds?: readonly string[]): void;
}

/** Everything the HTTP routes use, passed in explicitly. */
export interface AppDeps {
  config: ServerConfig;
  stores: Stores;
  directory: DirectoryCache;
  /** Hashes and checks device secrets under the server-held key (never in a store). */
  deviceSecrets: SecretHasher;
  /** Told of provisioned devices while their secret is at hand (Mosquitto's password file); absent for our broker. */
  brokerCredentials?: BrokerCredentials | undefined;
  consent: ConsentService;
  metrics: Metrics;
  deviceStates: DeviceStates;
  grants: readonly TokenGrant[];
  /** Owners, erasure, audit logs, retention: the privacy operations. */
  privacy: PrivacyDeps;
  /** Sends commands to devices and waits for their answers; absent in an app built without MQTT (HTTP-only tests). */
  commands?: CommandSender;
  /** What the dashboard tells its users about the deployment, set once known (see RunningServer.advertiseMqtt). */
  advertised?: { readonly mqttUrl: string | null };
  /** Rows ingest committed, for the dashboard's live stream and region panels. */
  liveFeed: LiveFeed;
  /** The simulated fleet running in this process, when there is one (npm start, the harness): the fleet control API drives it. */
  fleetControl(): FleetControl | null;
  mqttConnected(): boolean;
  /** False while ingest's writes to the region's store fail (a store can answer a ping yet refuse writes). */
  storeWritable(region: string): boolean;
}
