/**
 * `s3://bucket/prefix` and the client for it. Credentials, region and endpoint come from the AWS
 * configuration chain (AWS_ACCESS_KEY_ID, AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL, ~/.aws);
 * an S3-compatible server (an IP address or localhost) gets path-style addressing without a flag.
 */
import { isIP } from 'node:net';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { StoreError } from '@nbferry/store';

export interface S3Location {
  bucket: string;
  /** Key prefix without leading or trailing slash ('' for the bucket's root). */
  prefix: string;
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function parseS3Url(url: string): S3Location {
  const match = /^s3:\/\/([^/]*)\/?(.*)$/i.exec(url);
  const bucket = match?.[1] ?? '';
  if (!match || !BUCKET.test(bucket)) {
    throw new StoreError(`store ${url}: not an s3://bucket/prefix URL (bucket names are 3 to 63 lower-case letters, digits, dots and hyphens)`, 'STORE_URL_INVALID');
  }
  const prefix = match[2]!.replace(/\/+$/, '');
  if (prefix !== '' && prefix.split('/').some((part) => part === '' || part === '.' || part === '..')) {
    throw new StoreError(`store ${url}: the prefix has an empty, "." or ".." component`, 'STORE_URL_INVALID');
  }
  return { bucket, prefix };
}

export interface ClientOptions {
  /** Endpoint URL (default: the configuration chain: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, profile). */
  endpoint?: string;
  /** Default: true when the endpoint's host is an IP address or localhost. */
  forcePathStyle?: boolean;
  region?: string;
  /**
   * A request (sent, and its reply's headers back) that takes longer fails with a TimeoutError,
   * which the SDK retries and nbferry then reports as STORE_UNAVAILABLE (default 120 s: a stalled
   * store is not waited for forever; an 8 MiB chunk needs at least ~70 KB/s).
   */
  requestTimeoutMs?: number;
  /** Connecting to the endpoint (default 10 s). */
  connectTimeoutMs?: number;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 120_000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/** Is `host` an IP address or localhost (where virtual-host addressing cannot resolve)? */
export function isLocalOrIp(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  return isIP(bare) !== 0 || bare === 'localhost' || bare.endsWith('.localhost');
}

export async function createClient(options: ClientOptions = {}): Promise<S3Client> {
  const config: S3ClientConfig = {
    requestHandler: {
      requestTimeout: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      connectionTimeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      throwOnRequestTimeout: true,
    },
  };
  if (options.endpoint) config.endpoint = options.endpoint;
  if (options.region) config.region = options.region;
  let client = new S3Client(config);
  // A region is required to sign; S3-compatible servers accept any, so fall back to us-east-1.
  const region = await client.config.region().catch(() => undefined);
  const endpoint = options.endpoint ?? (await endpointOf(client));
  const pathStyle = options.forcePathStyle ?? (endpoint !== undefined && isLocalOrIp(new URL(endpoint).hostname));
  if (!region || pathStyle) {
    client.destroy();
    client = new S3Client({ ...config, region: region ?? 'us-east-1', forcePathStyle: pathStyle });
  }
  return client;
}

async function endpointOf(client: S3Client): Promise<string | undefined> {
  const fromEnv = process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
  if (fromEnv) return fromEnv;
  try {
    const resolved = await client.config.endpoint?.();
    return resolved ? `${resolved.protocol}//${resolved.hostname}${resolved.port ? `:${resolved.port}` : ''}` : undefined;
  } catch {
    return undefined;
  }
}
