import { type HeapGraph, readHeapSnapshot, retainedBy } from './heap-graph.ts';

/**
 * Where the live heap of a .heapsnapshot goes: self size and count by node type and constructor (or
 * closure) name, largest first.
 *
 * - `--per NAME` (e.g. `--per Client`) divides each figure by the number of objects of that
 *   constructor: with one aedes Client per connection, bytes and objects per connection.
 * - `--connections` counts only what the broker's connections alone keep alive: everything
 *   reachable from the aedes Client objects, their sockets and the sockets' TCP handles, and no
 *   longer reachable from the root once those are taken out (tools/heap-graph.ts, retainedBy). What
 *   the broker shares between clients (its maps, the stores, the code) is left out; what is kept per
 *   client in a WeakMap keyed by the client is in.
 *
 *   npx tsx tools/heap-summary.ts FILE.heapsnapshot [--connections] [--per Client] [--top 40]
 */
const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};
const file = args.find((a, i) => !a.startsWith('--') && !['--per', '--top'].includes(args[i - 1] ?? ''));
if (file === undefined) {
  console.error('usage: tools/heap-summary.ts FILE.heapsnapshot [--connections] [--per CONSTRUCTOR] [--top N]');
  process.exit(2);
}
const per = option('--per');
const top = Number(option('--top') ?? 40);

const heap = readHeapSnapshot(file);
const only = args.includes('--connections') ? retainedBy(heap, connectionAnchors(heap)) : null;
const groups = new Map<string, { count: number; bytes: number }>();
let total = 0;
let perCount = 0;
for (let node = 0; node < heap.nodeCount; node++) {
  const type = heap.type(node);
  const name = heap.name(node);
  if (type === 'object' && name === per) perCount++;
  if (only !== null && !only.has(node)) continue;
  const key = `${type}\t${type.includes('string') ? '(text)' : name}`;
  const group = groups.get(key) ?? { count: 0, bytes: 0 };
  group.count++;
  group.bytes += heap.selfSize(node);
  groups.set(key, group);
  total += heap.selfSize(node);
}

const divisor = perCount > 0 ? perCount : 1;
const scope = only === null ? 'live heap' : 'held by the connections alone';
console.log(
  `${scope}: ${(total / 1e6).toFixed(2)} MB in ${only?.size ?? heap.nodeCount} nodes${per ? `; ${perCount} ${per} objects, ${(total / divisor).toFixed(0)} bytes each` : ''}`,
);
console.log(['bytes', 'count', ...(per ? [`bytes/${per}`, `count/${per}`] : []), 'type', 'name'].join('\t'));
for (const [key, { count, bytes }] of [...groups.entries()].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, top)) {
  const cells = [String(bytes), String(count)];
  if (per) cells.push((bytes / divisor).toFixed(0), (count / divisor).toFixed(2));
  console.log([...cells, key].join('\t'));
}

/** aedes Clients (the objects with a packet parser), their connections and those connections' handles. */
function connectionAnchors(graph: HeapGraph): number[] {
  const anchors: number[] = [];
  for (let node = 0; node < graph.nodeCount; node++) {
    if (graph.type(node) !== 'object' || graph.name(node) !== 'Client' || graph.property(node, '_parser') === undefined) continue;
    anchors.push(node);
    const conn = graph.property(node, 'conn');
    if (conn === undefined) continue;
    anchors.push(conn);
    const handle = graph.property(conn, '_handle');
    if (handle === undefined) continue;
    anchors.push(handle);
    // The native side of the handle (Node / TCPSocketWrap), which the root holds by a global handle.
    for (const edge of graph.retainers(handle)) if (graph.type(edge.from) === 'synthetic' || graph.type(edge.from) === 'native') anchors.push(edge.from);
  }
  return anchors;
}
