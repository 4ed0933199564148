// The four artwork formats the vault keeps (NativeFormat in spec/components/identifiers.yaml): their
// extension (the format's name), content type, the names clients use for them, and how they are
// spelled in messages.
import { NativeFormatValues, type NativeFormat } from '@makapix/contract/components/identifiers';

export type { NativeFormat };

export const NATIVE_FORMATS: readonly NativeFormat[] = NativeFormatValues;

/** The Content-Type the vault serves a file with. */
export const CONTENT_TYPES: Record<NativeFormat, string> = {
  png: 'image/png',
  gif: 'image/gif',
  webp: 'image/webp',
  bmp: 'image/bmp',
};

/** How messages name the format. */
export const FORMAT_LABELS: Record<NativeFormat, string> = { png: 'PNG', gif: 'GIF', webp: 'WebP', bmp: 'BMP' };

/** File-name extensions and part content types that stand for each format (what a client may truthfully declare). */
export const DECLARED_AS: Record<NativeFormat, { extensions: readonly string[]; contentTypes: readonly string[] }> = {
  png: { extensions: ['png'], contentTypes: ['image/png'] },
  gif: { extensions: ['gif'], contentTypes: ['image/gif'] },
  webp: { extensions: ['webp'], contentTypes: ['image/webp'] },
  bmp: { extensions: ['bmp', 'dib'], contentTypes: ['image/bmp', 'image/x-bmp', 'image/x-ms-bmp'] },
};

export function isNativeFormat(value: string): value is NativeFormat {
  return (NATIVE_FORMATS as readonly string[]).includes(value);
}
