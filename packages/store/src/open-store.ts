/**
 * Where a store is, from what a user typed: a path or `file://` URL is a LocalStore; `s3://bucket/
 * prefix` is an object store, loaded from @nbferry/store-s3 by a dynamic import (so nbferry without
 * it never loads the AWS SDK); any other scheme is refused (never a local directory named `s3:`).
 */
import { fileURLToPath } from 'node:url';
import { StoreError } from './errors.js';
import { LocalStore, type StoreOptions } from './local-store.js';
import type { CheckpointStore } from './store-api.js';

/** The package that provides `s3://` stores. */
export const S3_STORE_PACKAGE = '@nbferry/store-s3';

/** A URL scheme nbferry has no store for. */
export class UnsupportedStoreUrlError extends StoreError {
  override name = 'UnsupportedStoreUrlError';
  constructor(readonly location: string, scheme: string) {
    super(
      `store ${location}: nbferry has no store for "${scheme}:" URLs. Give a directory (a path or file:// URL) or an object store (s3://bucket/prefix); ` +
        `a directory whose name contains ":" is written ./${location}`,
      'STORE_URL_UNSUPPORTED',
    );
  }
}

/** The package a store URL needs is not installed. */
export class StoreBackendMissingError extends StoreError {
  override name = 'StoreBackendMissingError';
  constructor(readonly location: string, readonly packageName: string, cause: unknown) {
    super(`store ${location} needs the optional package ${packageName}, which is not installed: npm install ${packageName}`, 'STORE_BACKEND_MISSING', { cause });
  }
}

/** Options of object stores (passed through to the backend; see @nbferry/store-s3). */
export interface RemoteStoreOptions {
  /** Path-style addressing (`endpoint/bucket/key`); default: when the endpoint host is an IP address or localhost. */
  forcePathStyle?: boolean;
  /** Endpoint URL; default: the AWS configuration chain (AWS_ENDPOINT_URL, profiles). */
  endpoint?: string;
  /** Chunks moved at once (default 4). */
  concurrency?: number;
}

export type OpenStoreOptions = StoreOptions & RemoteStoreOptions & {
  /** Loads a backend package (tests: a missing one). Default: `import(name)`. */
  importBackend?: (name: string) => Promise<unknown>;
};

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/;

/** The URL scheme of `location` (lower case), or undefined for a plain path. */
export function storeScheme(location: string): string | undefined {
  return SCHEME.exec(location)?.[1]?.toLowerCase();
}

export async function openStore(location: string, options: OpenStoreOptions = {}): Promise<CheckpointStore> {
  const { importBackend, forcePathStyle, endpoint, concurrency, ...storeOptions } = options;
  const scheme = storeScheme(location);
  if (scheme === undefined) return new LocalStore(location, storeOptions);
  if (scheme === 'file') return new LocalStore(fileURLToPath(location), storeOptions);
  if (scheme !== 's3') throw new UnsupportedStoreUrlError(location, scheme);
  let backend: { S3Store?: { fromUrl(url: string, options: OpenStoreOptions): Promise<CheckpointStore> } };
  try {
    // A variable specifier: the core neither bundles nor type-checks against the optional package.
    const name: string = S3_STORE_PACKAGE;
    backend = (await (importBackend ?? ((n: string) => import(n)))(name)) as typeof backend;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') throw new StoreBackendMissingError(location, S3_STORE_PACKAGE, error);
    throw error;
  }
  if (!backend.S3Store) throw new StoreBackendMissingError(location, S3_STORE_PACKAGE, new Error(`${S3_STORE_PACKAGE} has no S3Store export`));
  return backend.S3Store.fromUrl(location, { ...storeOptions, forcePathStyle, endpoint, concurrency });
}
