import { PrismaBetterSQLite3 } from '@prisma/adapter-better-sqlite3';

/**
 * The adapter factory the Prisma CLI uses for SQLite. The schema engine replays each migration into
 * the shadow database with one `executeRaw`, but better-sqlite3 prepares a single statement only, so
 * `migrate diff --from-migrations` fails (P3006, "External error") on any migration with two
 * statements. Argument-less raw statements on the shadow database therefore run as a script.
 */
export class PrismaBetterSQLite3ForCli extends PrismaBetterSQLite3 {
  constructor(url: string) {
    super({ url: url === ':memory:' ? url : url.replace(/^file:/, '') });
  }

  override async connectToShadowDb(): ReturnType<PrismaBetterSQLite3['connectToShadowDb']> {
    const adapter = await super.connectToShadowDb();
    const executeRaw = adapter.executeRaw.bind(adapter);
    adapter.executeRaw = async (query) => {
      if (query.args.length > 0) return executeRaw(query);
      await adapter.executeScript(query.sql);
      return 0;
    };
    return adapter;
  }
}
