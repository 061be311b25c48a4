import { describe, expect, it } from 'vitest';
import { compareEnvironments } from './compatibility.js';

describe('compareEnvironments', () => {
  const checkpoint = { python: '3.11.7', platform: 'linux-x86_64', packages: { numpy: '2.4.6', pandas: '3.1.1' } };
  it('accepts patch-level Python differences and identical packages', () => {
    expect(compareEnvironments(checkpoint, { ...checkpoint, python: '3.11.9' })).toEqual([]);
  });
  it('lists a different Python minor, package versions and missing packages', () => {
    expect(
      compareEnvironments(checkpoint, { python: '3.12.1', platform: 'linux-x86_64', packages: { numpy: '1.26.4' } }),
    ).toEqual([
      { what: 'python', checkpoint: '3.11.7', target: '3.12.1' },
      { what: 'numpy', checkpoint: '2.4.6', target: '1.26.4' },
      { what: 'pandas', checkpoint: '3.1.1', target: 'not installed' },
    ]);
  });
});
