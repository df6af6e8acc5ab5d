/**
 * The destination of the planes lab's one transfer rule (the deployment-wide `global` view), run on
 * a host of its own by residency-in-transit.test.ts: a small real HTTP server that takes every POST
 * and prints `{ path, body }` as one JSON line, so the test can read what arrived. Listens on the
 * address and port given as arguments; stops on SIGINT or SIGTERM.
 */
import { createServer } from 'node:http';

const [host, port] = process.argv.slice(2);
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    console.log(JSON.stringify({ path: req.url ?? '', body: Buffer.concat(chunks).toString('utf8') }));
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
});
server.listen(Number(port), host, () => console.log('listening'));
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => server.close());
