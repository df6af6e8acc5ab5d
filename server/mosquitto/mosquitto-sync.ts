import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { deviceIdSchema } from '../../schema/ids.ts';
import type { MosquittoConfig } from '../config.ts';
import type { BrokerCredentials } from '../devices/broker-credentials.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { replaceOwnerOnlyFile } from '../owner-only-files.ts';
import type { DirectoryEntry } from '../store/types.ts';
import { renderAclFile } from './acl-file.ts';
import { withFileLock } from './file-lock.ts';
import { mosquittoHash, mosquittoHashMatches, parsePasswordFile, renderPasswordFile, writableUsername } from './password-file.ts';

export interface MosquittoSyncDeps {
  config: MosquittoConfig;
  /** The server's service accounts: config.mqtt's and config.mosquitto.serviceAccounts. */
  services: readonly { username: string; password: string }[];
  shareGroup?: string | undefined;
  /** The registry's entries, read under the file lock when the files are reconciled. */
  listDevices(): Promise<DirectoryEntry[]>;
  /** False for a revoked entry: its device must not keep a password line. */
  canLogIn(entry: DirectoryEntry): boolean;
  metrics: Pick<Metrics, 'mosquittoSync'>;
  logger: Logger;
}

export interface MosquittoSync extends BrokerCredentials {
  /**
   * Writes the ACL file, puts the service accounts into the password file, drops the lines of
   * devices the registry no longer lets log in (erased while this process was down), then reloads.
   * Never rejects: a failure is logged and counted, and the next change writes the files again.
   */
  reconcile(): Promise<void>;
  /** Resolves once every queued change is written. */
  settle(): Promise<void>;
}

/** Changes waiting for the next write, and whoever waits for them. */
interface Batch {
  adds: Map<string, string>;
  removes: Set<string>;
  reconcile: boolean;
  waiters: (() => void)[];
}

const emptyBatch = (): Batch => ({ adds: new Map(), removes: new Set(), reconcile: false, waiters: [] });

/**
 * Keeps Mosquitto's password file and ACL file in step with the registry. Changes queue up and are
 * written together, one read-modify-write of the whole file at a time under a lock file (so several
 * server processes of a plane can share it), then Mosquitto is told to reload. A line whose name
 * could be a device id is brewtel's: it goes when the registry does not let that device log in.
 * Other lines (names no device id can take, such as svc-… or anything with a capital letter) are
 * kept as they are, so an operator's own accounts survive.
 */
export function createMosquittoSync(deps: MosquittoSyncDeps): MosquittoSync {
  const { config, logger, metrics } = deps;
  let queued = emptyBatch();
  let writing: Promise<void> | null = null;

  const enqueue = (change: (batch: Batch) => void): Promise<void> =>
    new Promise((resolve) => {
      change(queued);
      queued.waiters.push(resolve);
      writing ??= drain();
    });

  const drain = async (): Promise<void> => {
    while (queued.waiters.length > 0) {
      const batch = queued;
      queued = emptyBatch();
      if (await write(batch)) await reload();
      for (const resolve of batch.waiters) resolve();
    }
    writing = null;
  };

  const write = async (batch: Batch): Promise<boolean> => {
    try {
      if (batch.reconcile)
        await replaceOwnerOnlyFile(config.aclFile, renderAclFile({ services: deps.services.map((s) => s.username), shareGroup: deps.shareGroup }));
      await withFileLock(config.passwordFile, config.lockTimeoutMs, async () => {
        const accounts = parsePasswordFile(await readOrEmpty(config.passwordFile));
        for (const [user, hash] of batch.adds) accounts.set(user, hash);
        for (const user of batch.removes) accounts.delete(user);
        if (batch.reconcile) await reconcileAccounts(accounts, batch);
        await replaceOwnerOnlyFile(config.passwordFile, renderPasswordFile(accounts));
      });
      metrics.mosquittoSync.inc({ step: 'write', outcome: 'ok' });
      return true;
    } catch (err) {
      metrics.mosquittoSync.inc({ step: 'write', outcome: 'failed' });
      logger.error(
        { err, code: 'mosquitto_write_failed', devicesAdded: batch.adds.size, devicesRemoved: batch.removes.size },
        "could not write Mosquitto's files",
      );
      return false;
    }
  };

  /** Inside the lock: a device provisioned by another process has its directory entry before its line. */
  const reconcileAccounts = async (accounts: Map<string, string>, batch: Batch): Promise<void> => {
    for (const { username, password } of deps.services) {
      const current = accounts.get(username);
      if (current === undefined || !(await mosquittoHashMatches(password, current))) accounts.set(username, await mosquittoHash(password, config.iterations));
    }
    const allowed = new Set((await deps.listDevices()).filter((e) => deps.canLogIn(e)).map((e) => e.deviceId));
    let dropped = 0;
    for (const user of [...accounts.keys()]) {
      if (deviceIdSchema.safeParse(user).success && !allowed.has(user) && !batch.adds.has(user)) {
        accounts.delete(user);
        dropped++;
      }
    }
    const missing = [...allowed].filter((id) => !accounts.has(id)).length;
    if (dropped > 0) logger.info({ devices: dropped }, 'dropped Mosquitto password lines of devices the registry no longer lets log in');
    // Their secrets were shown once and are kept only as keyed hashes: no line can be made for them.
    if (missing > 0)
      logger.warn(
        { devices: missing, code: 'mosquitto_devices_without_line' },
        'devices in the registry have no Mosquitto password line (provisioned without this sync)',
      );
  };

  const reload = async (): Promise<void> => {
    if (!config.pidFile) return;
    try {
      const text = await readOrEmpty(config.pidFile);
      if (text === '') {
        // Not running (yet): Mosquitto reads both files when it starts.
        metrics.mosquittoSync.inc({ step: 'reload', outcome: 'not_running' });
        logger.info({ pidFile: config.pidFile }, 'Mosquitto is not running: its files are read when it starts');
        return;
      }
      const pid = Number(text.trim());
      if (!Number.isSafeInteger(pid) || pid <= 1) throw new Error(`no pid in ${config.pidFile}`);
      // Mosquitto reloads its configuration, password_file and acl_file on SIGHUP, and disconnects
      // clients whose account is gone.
      process.kill(pid, 'SIGHUP');
      metrics.mosquittoSync.inc({ step: 'reload', outcome: 'ok' });
    } catch (err) {
      metrics.mosquittoSync.inc({ step: 'reload', outcome: 'failed' });
      logger.error({ err, code: 'mosquitto_reload_failed' }, 'could not tell Mosquitto to reload its files');
    }
  };

  return {
    async added(devices) {
      let hashed: (readonly [string, string])[];
      try {
        hashed = await Promise.all(
          devices.filter((d) => writableUsername(d.deviceId)).map(async (d) => [d.deviceId, await mosquittoHash(d.secret, config.iterations)] as const),
        );
      } catch (err) {
        metrics.mosquittoSync.inc({ step: 'write', outcome: 'failed' });
        logger.error({ err, code: 'mosquitto_write_failed', devicesAdded: devices.length }, 'could not hash Mosquitto password lines');
        return;
      }
      return enqueue((batch) => {
        for (const [id, hash] of hashed) {
          batch.adds.set(id, hash);
          batch.removes.delete(id);
        }
      });
    },
    removed(deviceIds) {
      return enqueue((batch) => {
        for (const id of deviceIds) {
          batch.removes.add(id);
          batch.adds.delete(id);
        }
      });
    },
    reconcile: () =>
      enqueue((batch) => {
        batch.reconcile = true;
      }),
    settle: async () => {
      while (writing) await writing;
    },
  };
}

async function readOrEmpty(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw error;
  }
}
