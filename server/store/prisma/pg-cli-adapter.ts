import { randomUUID } from 'node:crypto';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { pgPoolConfig } from '../pg-config.ts';

/**
 * The adapter factory the Prisma CLI uses for PostgreSQL. adapter-pg 6.19 drops its shadow database
 * while its own pool still holds a connection to it, so `migrate diff --from-migrations` fails and
 * leaves the database behind; this one closes the pool first and drops with FORCE.
 */
export class PrismaPgForCli extends PrismaPg {
  readonly #config: pg.PoolConfig;

  constructor(url: string) {
    // Idle pooled connections would otherwise hold every CLI run open for pg's 10 s idle timeout.
    const config = pgPoolConfig(url, { allowExitOnIdle: true });
    super(config);
    this.#config = config;
  }

  override async connectToShadowDb(): ReturnType<PrismaPg['connect']> {
    const database = `prisma_shadow_${randomUUID().replaceAll('-', '')}`;
    await this.#admin(`CREATE DATABASE "${database}"`);
    const adapter = await new PrismaPg({ ...this.#config, database }).connect();
    const dispose = adapter.dispose.bind(adapter);
    adapter.dispose = async () => {
      await dispose();
      await this.#admin(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    };
    return adapter;
  }

  async #admin(sql: string): Promise<void> {
    const client = new pg.Client(this.#config);
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  }
}
