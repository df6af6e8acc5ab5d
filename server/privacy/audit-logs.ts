import type { Logger } from 'pino';
import type { RegionId } from '../../schema/regions.ts';
import type { ConsentRow, Stores } from '../store/types.ts';
import { AuditLog } from './audit-log.ts';

/** One chain per region store (personal-data actions there) and one in the directory (logins). */
export class AuditLogs {
  readonly directory: AuditLog;
  readonly #regions = new Map<string, AuditLog>();

  constructor(stores: Stores, logger: Logger) {
    const log = logger.child({ component: 'audit' });
    this.directory = new AuditLog('directory', stores.directory, log);
    for (const [region, store] of stores.regions) this.#regions.set(region, new AuditLog(region, store, log));
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
export function auditConsent(logs: AuditLogs): (row: ConsentRow, region: RegionId) => Promise<unknown> {
  return (row, region) => logs.region(region).append({
    actor: row.actor,
    action: 'consent.change',
    target: row.deviceId,
    detail: { version: row.version, channel: row.channel, ...row.categories },
  });
}
