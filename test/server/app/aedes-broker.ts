import { createServer, type AddressInfo } from 'node:net';
import { Aedes } from 'aedes';

/**
 * A plain in-process aedes (the real engine, no auth) on an ephemeral port: the broker that the
 * server's tests talk to while the project's own broker is tested on its own.
 */
export async function startAedes(): Promise<{ url: string; close(): Promise<void> }> {
  const broker = await Aedes.createBroker();
  const server = createServer(broker.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    async close() {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
