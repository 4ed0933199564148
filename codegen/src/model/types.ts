import type { Loc } from '../load/spec-set.js';

/** The intermediate model: what the emitters need, nothing of the YAML layout. */

export interface NamedSchema {
  name: string;
  loc: Loc;
  /** Output module, e.g. 'components/identifiers', 'asyncapi/schemas', 'openapi/schemas'. */
  module: string;
}

export interface Example {
  name: string;
  summary?: string;
  value: unknown;
  loc: Loc; // where the example value is written
}

export interface MessageModel {
  name: string;
  loc: Loc;
  summary?: string;
  payload: Loc; // the payload schema (may be a $ref)
  examples: Example[];
  /** Discriminator property and value, when the payload has a `const` property that tells it apart. */
  tag?: { property: string; value: string | boolean };
}

export interface ChannelParam {
  name: string;
  kind: 'string' | 'integer';
  schema?: Loc;
  enum?: string[];
}

export interface ChannelModel {
  id: string;
  loc: Loc;
  address: string;
  params: ChannelParam[];
  messages: MessageModel[];
  qos: 0 | 1 | 2;
  retain: boolean;
}

export interface OperationModel {
  id: string;
  loc: Loc;
  action: 'send' | 'receive';
  channel: string;
  messages: string[];
  reply?: { channel: string; messages: string[] };
  /** `x-error-codes`: the error codes the operation's handler may answer, each with when (the pipeline's own codes aside). */
  errorCodes?: { code: string; when: string }[];
  qos: 0 | 1 | 2;
  retain: boolean;
  summary?: string;
}

export interface RestParam {
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  schema: Loc;
  description?: string;
}

export interface RestResponse {
  status: number;
  description?: string;
  schema?: Loc;
  examples: Example[];
  headers: string[];
}

export interface RestOperation {
  operationId: string;
  loc: Loc;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  summary?: string;
  /** 'device-token': the operation names the `deviceToken` security scheme (a player's own bearer token). */
  security: 'bearer' | 'optional-bearer' | 'device-token' | 'none';
  params: RestParam[];
  body?: {
    schema: Loc;
    required: boolean;
    examples: Example[];
    /** The `multipart/form-data` alternative of the body, when the operation also takes one (file uploads). */
    multipart?: { schema: Loc; examples: Example[] };
  };
  responses: RestResponse[];
  /**
   * `x-handwritten-route: true`: documented (and linted) like every operation, but left out of the
   * generated route table, Handlers and client; the server registers it itself (e.g. it answers bytes
   * under a configurable path).
   */
  handwritten: boolean;
}

/** A protocol number the AsyncAPI document states under its root `x-limits` (e.g. maxPayloadBytes). */
export interface LimitModel {
  name: string;
  value: number;
  description?: string;
  loc: Loc;
}

export interface Model {
  schemas: NamedSchema[];
  channels: ChannelModel[];
  messages: MessageModel[];
  operations: OperationModel[];
  rest: RestOperation[];
  limits: LimitModel[];
  sources: { asyncapi: string; openapi: string; components: string[] };
}
