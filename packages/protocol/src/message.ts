/**
 * Jupyter messaging protocol (v5.3+) types and message construction. Pure data: no I/O.
 * https://jupyter-client.readthedocs.io/en/latest/messaging.html
 */
import { randomUUID } from 'node:crypto';

export type Channel = 'shell' | 'control' | 'iopub' | 'stdin';

export const PROTOCOL_VERSION = '5.3';

export interface MessageHeader {
  msg_id: string;
  msg_type: string;
  session: string;
  username: string;
  date: string;
  version: string;
  /** JEP 91: route a shell request to a kernel subshell. */
  subshell_id?: string | null;
}

export type JsonObject = { [key: string]: JsonValue };
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;

/** A decoded message. `parent_header` is `{}` when the message has no parent. */
export interface JupyterMessage<Content = JsonObject> {
  header: MessageHeader;
  parent_header: MessageHeader | Record<string, never>;
  metadata: JsonObject;
  content: Content;
  buffers: Uint8Array[];
  /** ZeroMQ routing identities that preceded the delimiter (empty for client-sent messages). */
  identities?: Uint8Array[];
}

export interface CreateMessageOptions {
  session: string;
  username?: string;
  parent?: MessageHeader;
  metadata?: JsonObject;
  buffers?: Uint8Array[];
  subshellId?: string;
  msgId?: string;
}

export function createMessage<Content extends object>(
  msgType: string,
  content: Content,
  options: CreateMessageOptions,
): JupyterMessage<Content> {
  const header: MessageHeader = {
    msg_id: options.msgId ?? randomUUID(),
    msg_type: msgType,
    session: options.session,
    username: options.username ?? 'nbferry',
    date: new Date().toISOString(),
    version: PROTOCOL_VERSION,
  };
  if (options.subshellId !== undefined) header.subshell_id = options.subshellId;
  return {
    header,
    parent_header: options.parent ?? {},
    metadata: options.metadata ?? {},
    content,
    buffers: options.buffers ?? [],
  };
}

/** The msg_id of a message's parent, or undefined for unparented messages (status: starting, iopub_welcome). */
export function parentMsgId(msg: JupyterMessage<unknown>): string | undefined {
  const parent = msg.parent_header as Partial<MessageHeader>;
  return typeof parent.msg_id === 'string' && parent.msg_id !== '' ? parent.msg_id : undefined;
}
