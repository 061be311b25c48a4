/** Content shapes of the messages nbferry sends and consumes. */
import type { JsonObject, JsonValue } from './message.js';

export interface ExecuteRequestContent {
  code: string;
  silent: boolean;
  store_history: boolean;
  user_expressions: Record<string, string>;
  allow_stdin: boolean;
  stop_on_error: boolean;
}

export interface ErrorContent {
  ename: string;
  evalue: string;
  traceback: string[];
}

export type UserExpressionResult =
  | { status: 'ok'; data: Record<string, JsonValue>; metadata: JsonObject }
  | ({ status: 'error' } & ErrorContent);

export type ExecuteReplyContent =
  | {
      status: 'ok';
      execution_count: number;
      user_expressions?: Record<string, UserExpressionResult>;
      payload?: JsonObject[];
    }
  | ({ status: 'error'; execution_count: number | null } & ErrorContent)
  | { status: 'aborted'; execution_count?: number | null };

export interface StreamContent {
  name: 'stdout' | 'stderr';
  text: string;
}

export interface DisplayDataContent {
  data: Record<string, JsonValue>;
  metadata: JsonObject;
  transient?: JsonObject;
}

export interface ExecuteResultContent extends DisplayDataContent {
  execution_count: number;
}

export type ExecutionState = 'starting' | 'idle' | 'busy' | 'restarting' | 'dead';

export interface StatusContent {
  execution_state: ExecutionState;
}

export interface CommOpenContent {
  comm_id: string;
  target_name: string;
  data: JsonObject;
}

export interface CommMsgContent {
  comm_id: string;
  data: JsonObject;
}

export interface InputRequestContent {
  prompt: string;
  password: boolean;
}

export interface KernelInfoReplyContent {
  status: 'ok' | 'error';
  protocol_version: string;
  implementation: string;
  implementation_version: string;
  language_info: { name: string; version: string; [key: string]: JsonValue };
  banner: string;
  supported_features?: string[];
}
