// The embed API of Rapport: what `rapport.js` defines as `window.rapport`. Calls made before
// the WebAssembly is ready are queued and replayed in order. Invalid calls print one console
// warning and are dropped; nothing is ever thrown into the page.

/** A property value: events carry flat objects of these, at most 8 KB serialized. */
type RapportPropValue = string | number | boolean | null;

/** An event's properties: keys of 1-64 characters, values flat. */
type RapportProps = { [key: string]: RapportPropValue };

/** A batch body as `data-format` shapes it (`rapport`, `segment` or `posthog`). */
type RapportBatchBody = { [key: string]: unknown };

interface RapportIdentifyOptions {
  /** HMAC-SHA256(site secret, id), or of `"<expires>.<id>"` when `expires` is given; from your server. */
  hash: string;
  /** Unix seconds after which the identity is no longer accepted. */
  expires?: number;
}

interface RapportTransport {
  /** Request headers added to every batch (names are HTTP tokens, values strings). `null` removes them. */
  headers?: { [name: string]: string } | null;
  /** Sees each batch body before it is sent; returns it, reshaped or not, or `null` to veto it. */
  beforeSend?: ((body: RapportBatchBody) => RapportBatchBody | null) | null;
}

interface RapportConfigureOptions {
  transport: RapportTransport;
}

interface RapportExperimentOptions {
  /** One weight ≥ 0 per variant; equal weights when left out. */
  weights?: number[];
}

interface Rapport {
  /** A custom event. `name`: 1-64 characters of a-z, 0-9, `_`, `.` and `-`. */
  track(name: string, props?: RapportProps | null): void;
  /** A page view for the current URL (single-page apps that do not use `history`). */
  page(): void;
  /** The signed-in shopper, with the hash from your server; `null` when they sign out. */
  identify(userId: string, options: RapportIdentifyOptions): void;
  identify(userId: null): void;
  /** With `data-consent="required"`: `true` starts tracking, `false` stops it and clears its keys. */
  consent(given: boolean): void;
  /** Stops tracking and clears every `rapport:` key, on this page and later ones. */
  optOut(): void;
  /** The visitor id, for your server's order webhook; `''` while tracking is off. */
  visitor(): string;
  /**
   * Removes Rapport from this page: every listener, its timer, the history patches, the
   * observers and any prompt or panel. Events not yet sent stay stored for the next page.
   */
  destroy(): void;
  /** Request headers and a hook for every batch. */
  configure(options: RapportConfigureOptions): void;
  /**
   * The visitor's variant of a page experiment, stable per visitor. `id`: 1-48 characters of
   * a-z, 0-9, `_`, `.` and `-`; `variants`: 1-10 distinct names. Resolves with the first
   * variant when no decision comes within `data-experiment-timeout` or tracking is off.
   */
  experiment<V extends string>(id: string, variants: readonly V[], options?: RapportExperimentOptions): Promise<V>;
}

interface Window {
  rapport: Rapport;
}

declare var rapport: Rapport;
