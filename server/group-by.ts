/** `items` in groups of the same key: keys in the order they first appear, items in their order. */
export function groupBy<T, K>(items: readonly T[], keyOf: (item: T, index: number) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  items.forEach((item, index) => {
    const key = keyOf(item, index);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  });
  return groups;
}

/** The positions of `items` in groups of the same key, as groupBy orders them. */
export const indexesBy = <T, K>(items: readonly T[], keyOf: (item: T) => K): Map<K, number[]> =>
  groupBy(
    items.map((_, index) => index),
    (index) => keyOf(items[index]!),
  );
