export * from './message.js';
export type * from './content.js';
export { NbferryError, ProtocolError, UnsupportedSignatureSchemeError } from './errors.js';
export { WireCodec, toBuffer, isSignatureScheme, SIGNATURE_SCHEMES, type SignatureScheme } from './wire.js';
export { packMsgpack, unpackMsgpack } from './msgpack.js';
export { parseNotebook, NotebookFormatError, type Notebook, type NotebookCell } from './notebook.js';
export { REDACTED, redactSecrets, redactUrl } from './redact.js';
