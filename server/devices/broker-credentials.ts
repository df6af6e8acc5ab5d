/**
 * A broker that keeps its own copy of device credentials (Mosquitto's password file) hears of every
 * device that may log in and every one that may not any more. Both resolve once the change is
 * written (or its failure logged and counted) and never reject: the registry stays the source of
 * truth, and a provisioning or an erasure is never undone by a broker's file.
 */
export interface BrokerCredentials {
  added(devices: readonly { deviceId: string; secret: string }[]): Promise<void>;
  removed(deviceIds: readonly string[]): Promise<void>;
}
