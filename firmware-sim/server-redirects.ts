import { ReasonCode } from '../mqtt-wire/codes.ts';
import { isTransportUrl } from '../mqtt-wire/transport.ts';

/**
 * Redirects a machine follows in a row without getting connected; the next one is a refusal like
 * any other (counted, then the usual backoff). Enough for a directory that points to a plane that
 * points to one of its nodes; two brokers sending a machine back and forth stop there.
 */
export const MAX_REDIRECTS_IN_A_ROW = 3;

/**
 * Where a machine's next connection goes, following MQTT 5 server redirection (v5 §4.11): a CONNACK
 * 0x9C (Use another server) or 0x9D (Server moved) with a Server Reference (v5 §3.2.2.3.16) sends
 * it there at once, without backoff. 0x9C holds for that one attempt: once its connection ends, the
 * machine goes back to its own broker. 0x9D is permanent: the reference becomes the machine's broker
 * for as long as it runs (it is not written to any credentials file).
 *
 * A machine of a regional plane deployment (one with a directory) keeps the plane it reached instead
 * (`keepWhereConnected`): a 0x9C that ended in a connection makes that server its broker too, and a
 * directory answer moves it (`relocate`). So when its plane's broker restarts it comes back there
 * without anyone to ask, the directory included (docs/planes.md).
 *
 * The spec leaves the format of a reference open (a space separated list of references). Ours are
 * URLs the transport opener takes (`mqtt://host:port`, `mqtts://…`, `ws://…/mqtt`, `wss://…`); the
 * first such entry of the list is used, and a reference with none is not followed.
 */
export class ServerRedirects {
  private inARow = 0;
  private following: string | null = null;
  /** Where the attempt under way goes. */
  private target: string;

  constructor(
    private home: string,
    private readonly max = MAX_REDIRECTS_IN_A_ROW,
    private readonly keepWhereConnected = false,
  ) {
    this.target = home;
  }

  /** Where the machine goes from now on (and after every connection that ends), as its directory said. */
  relocate(url: string): void {
    this.home = url;
    this.target = url;
    this.following = null;
  }

  /** The machine's own broker now: where it goes once a redirect followed has ended. */
  get current(): string {
    return this.home;
  }

  /** A refused CONNECT: the URL to connect to at once, or null when this refusal is not a redirect to follow. */
  refused(reasonCode: number, serverReference: string | undefined): string | null {
    if (reasonCode !== ReasonCode.USE_ANOTHER_SERVER && reasonCode !== ReasonCode.SERVER_MOVED) return null;
    const url = serverReference?.split(' ').find(isTransportUrl);
    if (url === undefined || this.inARow >= this.max) {
      this.inARow = 0;
      return null;
    }
    this.inARow++;
    if (reasonCode === ReasonCode.SERVER_MOVED) this.home = url;
    this.following = url;
    return url;
  }

  connected(): void {
    this.inARow = 0;
    if (this.keepWhereConnected) this.home = this.target;
  }

  /** A connection or an attempt ended: where the next one goes. */
  closed(): string {
    const next = this.following ?? this.home;
    this.following = null;
    this.target = next;
    return next;
  }
}
