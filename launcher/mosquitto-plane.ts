import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { MosquittoConfigInput } from '../server/config.ts';
import { startComponents } from '../server/components.ts';
import type { ChildCommand, ChildCommandOptions } from './child-command.ts';
import type { ExternalBroker, LauncherConfig } from './config.ts';
import { loopbackFor, startMosquitto, type MosquittoProcess } from './mosquitto-process.ts';

/** What a plane's server is told about its Mosquitto: where ingest logs in, and the files it keeps. */
export interface MosquittoPlaneSettings {
  externalBroker: ExternalBroker;
  mosquitto: MosquittoConfigInput;
}

export interface MosquittoPlaneLayout {
  region: string;
  host: string;
  /** The devices' listener: the plane's MQTT port. */
  mqttPort: number;
  /** The service listener, on an address only the plane's server reaches. */
  servicePort: number;
}

/** Loopback when the plane listens on every address: the service listener must not face the devices' network. */
export const serviceHost = loopbackFor;

/**
 * A plane whose broker is Mosquitto: two components, started in order and stopped in reverse, so
 * the server lets ingest commit what it holds while its broker is still there. First Mosquitto (its
 * folder `<dataDir>/mosquitto/`, empty files), then the plane's server (`startServer`, given where
 * ingest logs in and Mosquitto's files), which writes the ingest account and the ACL at start, adds
 * every device it provisions and removes every device it erases, and SIGHUPs Mosquitto each time.
 * Ingest takes events through `$share/plane-REGION/…`, so more server processes can join the plane.
 */
export async function startMosquittoPlane(
  config: LauncherConfig,
  plane: MosquittoPlaneLayout,
  dataDir: string,
  logger: Logger,
  startServer: (settings: MosquittoPlaneSettings) => Promise<ChildCommand>,
  options: ChildCommandOptions = {},
): Promise<ChildCommand> {
  let broker: MosquittoProcess | undefined;
  let server: ChildCommand | undefined;
  let stopping = false;
  const started = await startComponents(
    [
      {
        name: `mosquitto ${plane.region}`,
        async start() {
          const running = await startMosquitto({
            binary: config.mosquittoBin,
            dir: join(dataDir, 'mosquitto'),
            devices: { host: plane.host, port: plane.mqttPort },
            service: { host: serviceHost(plane.host), port: plane.servicePort },
            name: `mosquitto ${plane.region}`,
            logger,
            ...(options.launchVia === undefined ? {} : { launchVia: options.launchVia }),
          });
          broker = running;
          void running.exited.then((code) => {
            if (!stopping) logger.error({ region: plane.region, code }, "a plane's Mosquitto exited; its devices cannot connect");
          });
          return async () => {
            stopping = true;
            await running.stop();
          };
        },
      },
      {
        name: `plane ${plane.region}`,
        async start() {
          const files = broker!;
          const child = await startServer({
            externalBroker: {
              url: files.serviceUrl,
              deviceUrl: files.deviceUrl,
              username: 'svc-ingest',
              password: randomBytes(24).toString('base64url'),
              shareGroup: `plane-${plane.region}`,
            },
            mosquitto: { passwordFile: files.passwordFile, aclFile: files.aclFile, pidFile: files.pidFile },
          });
          server = child;
          return async () => {
            await child.stop();
          };
        },
      },
    ],
    logger,
  );
  const child = server!;
  return {
    name: child.name,
    ready: child.ready,
    exited: child.exited,
    async stop() {
      await started.stop();
      return child.exited;
    },
  };
}
