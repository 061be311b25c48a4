/**
 * Names that become paths inside a store: checkpoint ids (LATEST, directory names) and blob file
 * names. Whatever a manifest, LATEST or a caller says, a name is one plain path component, so no
 * `..`, no separator and no absolute path can lead a reader or a writer out of the store.
 */
import { UnsafeStoreEntryError } from './errors.js';

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

export function isSafeName(name: unknown): name is string {
  return typeof name === 'string' && SAFE_NAME.test(name) && !name.includes('..');
}

/** Throws UnsafeStoreEntryError unless `name` is a single safe path component. */
export function assertSafeName(name: unknown, what: string, where: string): string {
  if (!isSafeName(name)) throw new UnsafeStoreEntryError(where, `${what} ${JSON.stringify(name)} is not a plain file name`);
  return name;
}
