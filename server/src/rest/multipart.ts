// multipart/form-data bodies (createPost's upload): @fastify/multipart puts text parts on the body
// as strings and file parts as Buffers ('keyValues'), which the generated route then validates
// against the operation's multipart schema (codegen/runtime/fastify.ts). Routes that do not declare
// multipart refuse it before parsing. A file over the byte limit is refused while it streams in, and
// the name and content type each file part declared are kept for the handler (partDeclaration).
import fastifyMultipart, { type MultipartFile } from '@fastify/multipart';
import type { FastifyInstance } from 'fastify';
import { restError } from '@makapix/contract/openapi/routes';

export interface PartDeclaration {
  /** The filename of the part's Content-Disposition ('' when none). */
  filename: string;
  /** The part's Content-Type, lower-case, without parameters ('' when none). */
  contentType: string;
}

const declarations = new WeakMap<Uint8Array, PartDeclaration>();

/** What the client declared about a file part it sent (its bytes as found on the body), if it came through multipart. */
export function partDeclaration(bytes: Uint8Array): PartDeclaration | undefined {
  return declarations.get(bytes);
}

export interface MultipartLimits {
  /** Largest file part, bytes. */
  maxFileBytes: number;
}

export async function registerMultipart(app: FastifyInstance, limits: MultipartLimits): Promise<void> {
  await app.register(fastifyMultipart, {
    attachFieldsToBody: 'keyValues',
    limits: {
      fileSize: limits.maxFileBytes,
      files: 1,
      fields: 40,
      fieldSize: 16 * 1024,
      parts: 48,
      headerPairs: 100,
    },
    async onFile(part: MultipartFile) {
      let bytes: Buffer;
      try {
        bytes = await part.toBuffer();
      } catch (err) {
        if ((err as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE') {
          throw restError('createPost', 400, 'invalid_request', `${part.fieldname}: more than the limit of ${limits.maxFileBytes} bytes`);
        }
        throw err;
      }
      declarations.set(bytes, {
        filename: part.filename ?? '',
        contentType: (part.mimetype ?? '').split(';')[0]!.trim().toLowerCase(),
      });
      (part as MultipartFile & { value: unknown }).value = bytes;
    },
  });
}
