// REST request bodies made from the example world's data: the fields the body schema declares,
// checked against that schema (so a body is typed because it was validated, not because it was cast).
import { compileValidator, type Validator } from '#runtime/v1';
import { CreateCommentRequest, CreatePostRequest } from '@makapix/contract/openapi/schemas';
import type { JsonObject } from '../examples/catalog.js';

const createPost = compileValidator<CreatePostRequest>(CreatePostRequest);
const createComment = compileValidator<CreateCommentRequest>(CreateCommentRequest);

/** The fields of `from` that an object schema declares. */
export function pickDeclared(from: JsonObject, schema: { properties: object }): JsonObject {
  const out: JsonObject = {};
  for (const k of Object.keys(schema.properties)) if (from[k] !== undefined) out[k] = from[k];
  return out;
}

function checked<T>(validator: Validator<T>, body: unknown, what: string): T {
  if (validator.check(body)) return body;
  throw new Error(`the example data does not make a valid ${what} body: ${validator.explain(body)}`);
}

/** A createPost body from an example post (a PostSummary or PostNotification) plus `extra`. */
export function createPostBody(from: JsonObject, extra: JsonObject = {}): CreatePostRequest {
  return checked(createPost, { ...pickDeclared(from, CreatePostRequest), ...extra }, 'createPost');
}

/** A createComment body from an example comment plus `extra`. */
export function createCommentBody(from: JsonObject, extra: JsonObject = {}): CreateCommentRequest {
  return checked(createComment, { ...pickDeclared(from, CreateCommentRequest), ...extra }, 'createComment');
}
