import { readFileSync } from 'node:fs';

/**
 * A V8 heap snapshot (.heapsnapshot, the JSON that `v8.writeHeapSnapshot`, `--heapsnapshot-signal`
 * and the inspector's HeapProfiler write) as a graph one can walk: nodes by index, their outgoing
 * edges and, built on first use, their retainers. The format is V8's own: flat integer arrays whose
 * field layout the snapshot's `meta` describes, and every name an index into `strings`.
 */
export interface HeapGraph {
  readonly nodeCount: number;
  /** V8's node type: 'object', 'closure', 'string', 'code', 'hidden', 'native', … */
  type(node: number): string;
  /** The constructor's name for an object, the function's for a closure, the text for a string. */
  name(node: number): string;
  selfSize(node: number): number;
  edges(node: number): Iterable<HeapEdge>;
  /** Edges pointing at `node`, from every node. */
  retainers(node: number): readonly HeapEdge[];
  /** The value of property `name` of `node`, when it is an object's own named property. */
  property(node: number, name: string): number | undefined;
}

export interface HeapEdge {
  /** 'property', 'element', 'context', 'internal', 'hidden', 'shortcut', 'weak'. */
  type: string;
  /** The property name, or the element index as text. */
  name: string;
  from: number;
  to: number;
}

interface SnapshotJson {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

export function readHeapSnapshot(file: string): HeapGraph {
  return parseHeapSnapshot(readFileSync(file, 'utf8'));
}

export function parseHeapSnapshot(text: string): HeapGraph {
  const json = JSON.parse(text) as SnapshotJson;
  const { meta } = json.snapshot;
  const nodeFields = meta.node_fields.length;
  const edgeFields = meta.edge_fields.length;
  const nTypeAt = meta.node_fields.indexOf('type');
  const nNameAt = meta.node_fields.indexOf('name');
  const nSizeAt = meta.node_fields.indexOf('self_size');
  const nEdgesAt = meta.node_fields.indexOf('edge_count');
  const eTypeAt = meta.edge_fields.indexOf('type');
  const eNameAt = meta.edge_fields.indexOf('name_or_index');
  const eToAt = meta.edge_fields.indexOf('to_node');
  const nodeTypes = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const nodes = Int32Array.from(json.nodes);
  const edges = Int32Array.from(json.edges);
  const { strings } = json;
  const nodeCount = nodes.length / nodeFields;
  // Edges are stored node after node; the first edge of each node is the running sum of the counts.
  const firstEdge = new Int32Array(nodeCount + 1);
  for (let i = 0; i < nodeCount; i++) firstEdge[i + 1] = firstEdge[i]! + nodes[i * nodeFields + nEdgesAt]!;

  const edgeAt = (from: number, e: number): HeapEdge => {
    const base = e * edgeFields;
    const type = edgeTypes[edges[base + eTypeAt]!]!;
    const raw = edges[base + eNameAt]!;
    const name = type === 'element' || type === 'hidden' ? String(raw) : strings[raw]!;
    return { type, name, from, to: edges[base + eToAt]! / nodeFields };
  };

  let retainerIndex: HeapEdge[][] | null = null;
  const graph: HeapGraph = {
    nodeCount,
    type: (node) => nodeTypes[nodes[node * nodeFields + nTypeAt]!]!,
    name: (node) => strings[nodes[node * nodeFields + nNameAt]!]!,
    selfSize: (node) => nodes[node * nodeFields + nSizeAt]!,
    *edges(node) {
      for (let e = firstEdge[node]!; e < firstEdge[node + 1]!; e++) yield edgeAt(node, e);
    },
    retainers(node) {
      if (retainerIndex === null) {
        const index: HeapEdge[][] = Array.from({ length: nodeCount }, () => []);
        for (let from = 0; from < nodeCount; from++)
          for (let e = firstEdge[from]!; e < firstEdge[from + 1]!; e++) {
            const edge = edgeAt(from, e);
            index[edge.to]!.push(edge);
          }
        retainerIndex = index;
      }
      return retainerIndex[node]!;
    },
    property(node, name) {
      for (const edge of graph.edges(node)) if (edge.type === 'property' && edge.name === name) return edge.to;
      return undefined;
    },
  };
  return graph;
}

/**
 * The nodes only `anchors` keep alive: reachable from them, and not from the snapshot's root once
 * they are taken out (weak edges, WeakMap tables' included, followed by neither walk; a WeakMap
 * value hangs off its key by an internal edge). With every connection's objects as anchors this is
 * what all the connections hold between them, shared state (the broker, its stores) left out.
 */
export function retainedBy(graph: HeapGraph, anchors: Iterable<number>): Set<number> {
  const isAnchor = new Uint8Array(graph.nodeCount);
  for (const node of anchors) isAnchor[node] = 1;
  const walk = (from: number[], visited: Uint8Array): void => {
    const stack = from.slice();
    for (const node of stack) visited[node] = 1;
    while (stack.length > 0) {
      const node = stack.pop()!;
      for (const edge of graph.edges(node)) {
        if (edge.type === 'weak' || visited[edge.to] === 1 || isAnchor[edge.to] === 1) continue;
        visited[edge.to] = 1;
        stack.push(edge.to);
      }
    }
  };
  // Node 0 is the synthetic root in every V8 snapshot.
  const fromRoot = new Uint8Array(graph.nodeCount);
  walk([0], fromRoot);
  const fromAnchors = new Uint8Array(graph.nodeCount);
  walk([...new Set(anchors)], fromAnchors);
  const owned = new Set<number>();
  for (let node = 0; node < graph.nodeCount; node++) if (fromAnchors[node] === 1 && fromRoot[node] === 0) owned.add(node);
  return owned;
}
