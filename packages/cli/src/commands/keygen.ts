/** nbferry keygen --out F: a new Ed25519 key for signed checkpoints (F, mode 0600, and F.pub). */
import { writeKeyFile, KEY_FILE_ENV } from '@nbferry/store';
import { EXIT } from '../exit-codes.js';
import { writeDocument } from '../output/documents.js';

export interface KeygenArgs {
  out: string;
  json: boolean;
}

export async function keygenCommand(args: KeygenArgs): Promise<number> {
  const written = await writeKeyFile(args.out);
  if (args.json) {
    writeDocument({ schema: 'nbferry/keygen@1', keyId: written.keyId, keyFile: written.path, publicKeyFile: written.publicKeyPath });
    return EXIT.ok;
  }
  process.stdout.write(
    `key ${written.keyId}\n` +
      `  private key ${written.path} (mode 0600: signs checkpoints; keep it secret)\n` +
      `  public key  ${written.publicKeyPath} (verifies only: give it to machines that restore)\n` +
      `Sign and verify with --key-file ${written.path}, or export ${KEY_FILE_ENV}=${written.path}; ` +
      `restorers use --key-file ${written.publicKeyPath}.\n`,
  );
  return EXIT.ok;
}
