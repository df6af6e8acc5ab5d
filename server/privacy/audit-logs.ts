import type { Logger } from 'pino';
import type { RegionId } from '../../schema/regions.ts';
import type { ServerConfig } from '../config.ts';
import type { ConsentRow, Stores } from '../store/types.ts';
import { fileCheckpointSink, storeCheckpointSink } from './audit-checkpoints.ts';
import { loadAuditKey } from './audit-key.ts';
import { AuditLog } from './audit-log.ts';

export interface AuditLogsOptions {
  key: Buffer;
  /** The folder of the signed chain-head files. */
  checkpointDir: string;
}

/**
 * One chain per region store (personal-data actions there) and one in the directory (logins). Each
 * chain's head is checkpointed in a signed file and in other databases: a region's in the directory,
 * the directory's in every region store.
 */
export class AuditLogs {
  readonly directory: AuditLog;
  readonly #regions = new Map<string, AuditLog>();

  constructor(stores: Stores, logger: Logger, options: AuditLogsOptions) {
    const log = logger.child({ component: 'audit' });
    const file = fileCheckpointSink(options.checkpointDir);
    const inRegions = [...stores.regions].map(([region, store]) => storeCheckpointSink(region, store));
    this.directory = new AuditLog('directory', stores.directory, log, { key: options.key, sinks: [file, ...inRegions] });
    const inDirectory = storeCheckpointSink('directory', stores.directory);
    for (const [region, store] of stores.regions) this.#regions.set(region, new AuditLog(region, store, log, { key: options.key, sinks: [file, inDirectory] }));
  }

  /** With the configured (or generated, `<dataDir>/audit.key`) key and checkpoint folder. */
  static open(config: Pick<ServerConfig, 'privacy' | 'dataDir'>, stores: Stores, logger: Logger): AuditLogs {
    return new AuditLogs(stores, logger, {
      key: loadAuditKey(config.privacy.auditKey, config.dataDir),
      checkpointDir: config.privacy.auditCheckpointDir ?? config.dataDir,
    });
  }

  /** Every log's appends and checkpoint writes done: call before closing the stores. */
  async settle(): Promise<void> {
    await Promise.all([this.directory, ...this.#regions.values()].map((log) => log.settle()));
  }

  region(region: RegionId): AuditLog {
    const log = this.#regions.get(region);
    if (!log) throw new Error(`no audit log for region ${region}`);
    return log;
  }

  /** A region's log, or the directory's for the name `directory`; undefined for anything else. */
  named(name: string): AuditLog | undefined {
    return name === 'directory' ? this.directory : this.#regions.get(name);
  }
}

/** The consent service's audit hook: every ledger append, with who, channel and version. */
export function auditConsent(logs: AuditLogs): (rows: readonly ConsentRow[], region: RegionId) => Promise<unknown> {
  return (rows, region) =>
    logs.region(region).appendMany(
      rows.map((row) => ({
        actor: row.actor,
        action: 'consent.change',
        target: row.deviceId,
        detail: { version: row.version, channel: row.channel, ...row.categories },
      })),
    );
}
