import { type BrewStatistic, brewStatisticSchema } from '../../schema/transfers.ts';
import type { StoreClient } from './connect.ts';

const PAGE = 5_000;

/**
 * Brews per recipe and UTC day (device time), read a page at a time: only the time and the body are
 * selected, and only the recipe of the body is kept, so no device id or body leaves this function.
 */
export async function brewStatistics(client: StoreClient): Promise<BrewStatistic[]> {
  const counts = new Map<string, number>();
  let cursor: { deviceId: string; id: string } | undefined;
  for (;;) {
    const rows = await client.event.findMany({
      where: { kind: 'brew' },
      select: { deviceId: true, id: true, deviceTs: true, body: true },
      // The primary key's order: a page is read straight off it.
      orderBy: [{ id: 'asc' }, { deviceId: 'asc' }],
      take: PAGE,
      ...(cursor ? { cursor: { id_deviceId: cursor }, skip: 1 } : {}),
    });
    for (const row of rows) {
      const recipe = recipeOf(row.body);
      if (recipe === null) continue;
      const key = `${row.deviceTs.toISOString().slice(0, 10)} ${recipe}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    if (rows.length < PAGE) break;
    const last = rows[rows.length - 1]!;
    cursor = { deviceId: last.deviceId, id: last.id };
  }
  return [...counts]
    .map(([key, brews]) => {
      const [day, recipe] = key.split(' ');
      return brewStatisticSchema.parse({ day, recipe, brews });
    })
    .sort((a, b) => a.day.localeCompare(b.day) || a.recipe.localeCompare(b.recipe));
}

function recipeOf(body: string): string | null {
  try {
    const recipe = (JSON.parse(body) as { recipe?: unknown }).recipe;
    return typeof recipe === 'string' ? recipe : null;
  } catch {
    return null;
  }
}
