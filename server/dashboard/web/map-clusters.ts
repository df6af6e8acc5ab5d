/** A machine placed on the map, in map coordinates. */
export interface Placed<T> {
  item: T;
  x: number;
  y: number;
}

export interface Cluster<T> {
  /** Stable across renders: the first member's key. */
  key: string;
  x: number;
  y: number;
  members: Placed<T>[];
}

/**
 * Groups machines whose markers would overlap: a machine joins the first group whose centre lies
 * within `radius` of it (the centre is the mean of the members), else starts its own. Machines of
 * one city often share a coarse fix exactly, so without groups their markers lie on one pixel and a
 * click hits whichever was drawn last. Input order decides ties, so the caller sorts it.
 */
export function clusterPoints<T>(points: readonly Placed<T>[], radius: number, keyOf: (item: T) => string): Cluster<T>[] {
  const clusters: Cluster<T>[] = [];
  for (const point of points) {
    const near = clusters.find((c) => Math.hypot(c.x - point.x, c.y - point.y) <= radius);
    if (!near) {
      clusters.push({ key: keyOf(point.item), x: point.x, y: point.y, members: [point] });
      continue;
    }
    near.members.push(point);
    near.x += (point.x - near.x) / near.members.length;
    near.y += (point.y - near.y) / near.members.length;
  }
  return clusters;
}

/**
 * Where the members of a spread group go around its centre: one ring of up to 8, further rings
 * outwards for more, each `step` apart, so every member gets a marker of its own to point at.
 */
export function spreadOffsets(count: number, step: number): [number, number][] {
  const offsets: [number, number][] = [];
  for (let ring = 1, placed = 0; placed < count; ring++) {
    const onRing = Math.min(count - placed, 8 * ring);
    for (let i = 0; i < onRing; i++) {
      const angle = -Math.PI / 2 + (i * 2 * Math.PI) / onRing;
      offsets.push([Math.cos(angle) * step * ring * 1.6, Math.sin(angle) * step * ring * 1.6]);
    }
    placed += onRing;
  }
  return offsets;
}
