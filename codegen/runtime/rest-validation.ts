// REST request validation with the one validator: bodies are never coerced, stripped or
// defaulted; path and query strings (and the text parts of a multipart body) are converted only
// where the schema asks for an integer, number, boolean or array and the text is exactly one
// (`12`, `-3`, `1.5`, `true`; one part for an array field: a one-item array), never `0x10` or ``.
// Responses are checked against their schema before they are sent.
import type { FastifySchemaCompiler, FastifySchemaValidationError, FastifySerializerCompiler } from 'fastify';
import type { TSchema } from 'typebox';
import { compileValidator } from './validator.js';
import { formatIssues, toIssues, type RawValidationError, type ValidationIssue } from './validation-issues.js';

/** The 400 error of a request part that failed its schema; its message names the fields ("body/name: must be string"). */
export class RequestValidationError extends Error {
  override readonly name = 'RequestValidationError';
  readonly statusCode = 400;
  readonly code = 'FST_ERR_VALIDATION';
  constructor(
    readonly validationContext: string,
    readonly validation: ValidationIssue[],
  ) {
    super(formatIssues(validation, validationContext));
  }
}

/** A response that does not match its declared schema: a server fault (500), never sent. */
export class ResponseSchemaError extends Error {
  override readonly name = 'ResponseSchemaError';
  constructor(
    readonly route: string,
    readonly status: string | undefined,
    explanation: string,
  ) {
    super(`response ${status ?? '?'} of ${route} does not match its schema: ${explanation}`);
  }
}

export const restValidatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart, contentType }) => {
  const validator = compileValidator(schema);
  const part = httpPart ?? 'body';
  // multipart text parts are strings, like query strings: converted only where the schema asks
  const textual = part === 'params' || part === 'querystring' || contentType === 'multipart/form-data';
  const coerce = textual ? coerceObject : (_schema: unknown, data: unknown) => data;
  return (data: unknown) => {
    const value = coerce(schema, data);
    if (validator.check(value)) return { value };
    return { error: new RequestValidationError(part, validator.issues(value)) };
  };
};

/** For validators other than ours that return raw errors: the same message shape. */
export function restSchemaErrorFormatter(errors: FastifySchemaValidationError[], dataVar: string): Error {
  return new RequestValidationError(dataVar, toIssues(errors as RawValidationError[]));
}

/** Serializes responses with JSON.stringify after checking them against their schema. */
export function strictSerializerCompiler(route: string): FastifySerializerCompiler<TSchema> {
  return ({ schema, httpStatus }) => {
    const validator = compileValidator(schema);
    return (data: unknown) => {
      if (!validator.check(data)) throw new ResponseSchemaError(route, httpStatus, validator.explain(data));
      return JSON.stringify(data);
    };
  };
}

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
};

const INTEGER = /^-?(0|[1-9][0-9]*)$/;
const NUMBER = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/;

function coerceObject(schema: unknown, data: unknown): unknown {
  const properties = (schema as JsonSchema).properties;
  if (!properties || data === null || typeof data !== 'object' || Array.isArray(data)) return data;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data)) {
    out[key] = Object.hasOwn(properties, key) ? coerceValue(properties[key], value) : value;
  }
  return out;
}

function typesOf(schema: JsonSchema): Set<string> {
  const types = new Set<string>(([] as string[]).concat(schema.type ?? []));
  for (const branch of [...(schema.anyOf ?? []), ...(schema.oneOf ?? [])]) {
    for (const t of ([] as string[]).concat(branch.type ?? [])) types.add(t);
  }
  return types;
}

function coerceValue(schema: JsonSchema, value: unknown): unknown {
  const types = typesOf(schema);
  if (types.has('array') && schema.items) {
    const list = Array.isArray(value) ? value : [value];
    return list.map((v) => coerceValue(schema.items!, v));
  }
  if (typeof value !== 'string' || types.has('string')) return value;
  if ((types.has('integer') || types.has('number')) && INTEGER.test(value) && Number.isSafeInteger(Number(value))) return Number(value);
  if (types.has('number') && NUMBER.test(value)) return Number(value);
  if (types.has('boolean') && (value === 'true' || value === 'false')) return value === 'true';
  return value;
}
