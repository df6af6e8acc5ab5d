/**
 * `work` for every item, in order, at most `limit` of them running at once: each next item starts
 * as one finishes, not in rounds that wait for their slowest. Rejects with the first failure (items
 * already running go on).
 */
export async function eachAtMost<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
