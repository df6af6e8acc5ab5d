/**
 * Topic aliases of one network connection (v5 §3.3.2.3.4): mappings never outlive it
 * [MQTT-3.3.2-7], so each connection starts with empty ones.
 *
 * Outgoing: the first `maximum` distinct topics get aliases 1..maximum (0 is never an alias
 * [MQTT-3.3.2-8], none above the server's Topic Alias Maximum [MQTT-3.3.2-9]); a topic's first
 * PUBLISH carries name and alias, later ones the alias alone with an empty topic. A device publishes
 * to a handful of topics, so first come first served keeps every one of them aliased.
 */
export class OutgoingAliases {
  private readonly aliases = new Map<string, number>();
  constructor(private readonly maximum: number) {}

  /** The alias to send and whether the topic name must go with it (its first use), or null: no alias. */
  lookup(topic: string): { alias: number; known: boolean } | null {
    const alias = this.aliases.get(topic);
    if (alias !== undefined) return { alias, known: true };
    if (this.aliases.size >= this.maximum) return null;
    const next = this.aliases.size + 1;
    this.aliases.set(topic, next);
    return { alias: next, known: false };
  }

  /** Takes back the alias just assigned to `topic`, when its first PUBLISH could not be sent. */
  forget(topic: string): void {
    this.aliases.delete(topic);
  }
}

/**
 * Incoming: the server may use aliases 1..the Topic Alias Maximum we announced in CONNECT
 * [MQTT-3.3.2-10]; one outside that range, or an empty topic with an alias never set, is a
 * Protocol Error (v5 §3.3.2.3.4; DISCONNECT 0x94 Topic Alias invalid).
 */
export class IncomingAliases {
  private readonly topics = new Map<number, string>();
  constructor(private readonly maximum: number) {}

  /** The topic the PUBLISH is for, or null when its alias is invalid. */
  resolve(topic: string, alias: number | undefined): string | null {
    if (alias === undefined) return topic.length > 0 ? topic : null;
    if (alias === 0 || alias > this.maximum) return null;
    if (topic.length > 0) {
      this.topics.set(alias, topic);
      return topic;
    }
    return this.topics.get(alias) ?? null;
  }
}
