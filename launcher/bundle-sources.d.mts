/** A bundle of one entry point (launcher/bundle-sources.mjs). */
export interface SourceBundle {
  readonly file: string;
  /** Deletes the bundle's file; idempotent. */
  remove(): void;
}

export function bundleSources(entry: string, name: string): Promise<SourceBundle>;
