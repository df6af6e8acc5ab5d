/** A bundle of one entry point (launcher/bundle-sources.mjs). */
export interface SourceBundle {
  readonly file: string;
  /** Deletes the bundle's file; idempotent. */
  remove(): void;
}

/** Null when esbuild is not installed. */
export function bundleSources(entry: string, name: string): Promise<SourceBundle | null>;
