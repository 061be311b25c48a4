import { describe, expect, it } from 'vitest';
import { StoreAccessDeniedError, StoreBucketMissingError, StoreFullError, StoreUnavailableError, storeFailure } from './errors.js';
import { createClient, isLocalOrIp, parseS3Url } from './location.js';

describe('s3:// URLs', () => {
  it('parses bucket and prefix, refusing malformed ones', () => {
    expect(parseS3Url('s3://my-bucket/team/analysis/')).toEqual({ bucket: 'my-bucket', prefix: 'team/analysis' });
    expect(parseS3Url('s3://my-bucket')).toEqual({ bucket: 'my-bucket', prefix: '' });
    for (const bad of ['s3://', 's3://UPPER/x', 's3://a/x', 's3://my-bucket/a//b', 's3://my-bucket/../x', 'http://my-bucket/x']) {
      expect(() => parseS3Url(bad), bad).toThrow(expect.objectContaining({ code: 'STORE_URL_INVALID' }));
    }
  });

  it('path-style addressing for IP and localhost endpoints only, forceable', async () => {
    expect(['127.0.0.1', '10.1.2.3', '[::1]', 'localhost', 'minio.localhost'].every(isLocalOrIp)).toBe(true);
    expect(['s3.amazonaws.com', 'storage.example.com'].some(isLocalOrIp)).toBe(false);
    const local = await createClient({ endpoint: 'http://127.0.0.1:8333' });
    const aws = await createClient({ endpoint: 'https://s3.eu-west-1.amazonaws.com', region: 'eu-west-1' });
    const forced = await createClient({ endpoint: 'https://storage.example.com', forcePathStyle: true });
    try {
      expect(local.config.forcePathStyle).toBe(true);
      expect(aws.config.forcePathStyle).toBeFalsy();
      expect(forced.config.forcePathStyle).toBe(true);
      expect(await aws.config.region()).toBe('eu-west-1');
    } finally {
      for (const c of [local, aws, forced]) c.destroy();
    }
  });
});

describe('SDK failures as typed errors', () => {
  const sdk = (name: string, status?: number, extra: object = {}) => Object.assign(new Error(`${name} happened`), { name, $metadata: { httpStatusCode: status }, ...extra });

  it('maps credentials, bucket, availability and quota failures to errors that say what to do', () => {
    expect(storeFailure(sdk('InvalidAccessKeyId', 403), 's3://b/p', 'b')).toBeInstanceOf(StoreAccessDeniedError);
    expect(storeFailure(sdk('Unknown', 403), 's3://b/p', 'b')).toBeInstanceOf(StoreAccessDeniedError);
    expect(storeFailure(sdk('NoSuchBucket', 404), 's3://b/p', 'b')).toBeInstanceOf(StoreBucketMissingError);
    expect(storeFailure(sdk('InternalError', 500), 's3://b/p', 'b')).toBeInstanceOf(StoreUnavailableError);
    expect(storeFailure(sdk('SlowDown', 503), 's3://b/p', 'b')).toBeInstanceOf(StoreUnavailableError);
    expect(storeFailure(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 's3://b/p', 'b')).toBeInstanceOf(StoreUnavailableError);
    expect(storeFailure(sdk('QuotaExceeded', 403), 's3://b/p', 'b')).toBeInstanceOf(StoreAccessDeniedError); // 403 first: AWS reports quota as access
    expect(storeFailure(sdk('EntityTooLarge', 400), 's3://b/p', 'b')).toBeInstanceOf(StoreFullError);
    const other = storeFailure(sdk('MalformedXML', 400), 's3://b/p', 'b');
    expect(other).toMatchObject({ code: 'STORE_REQUEST_FAILED' });
    expect(storeFailure(sdk('NoSuchBucket', 404), 's3://b/p', 'b').message).toMatch(/aws s3 mb s3:\/\/b/);
  });
});
