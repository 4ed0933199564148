// A subscription the broker refused (SUBACK reason code >= 0x80) or that could not be sent.
import { ErrorWithSubackPacket, ReasonCodes } from 'mqtt';

export class SubscribeError extends Error {
  override readonly name = 'SubscribeError';
  constructor(
    readonly filter: string,
    /** The SUBACK reason code (e.g. 0x87 not authorized), or undefined when no SUBACK came. */
    readonly reasonCode: number | undefined,
    detail?: string,
  ) {
    super(
      reasonCode === undefined
        ? `subscribe to "${filter}" failed: ${detail ?? 'unknown error'}`
        : `subscribe to "${filter}" was refused by the broker: reason 0x${reasonCode.toString(16).padStart(2, '0')} (${ReasonCodes[reasonCode as keyof typeof ReasonCodes] ?? 'Unspecified error'})`,
    );
  }

  static from(filter: string, err: unknown): SubscribeError {
    if (err instanceof ErrorWithSubackPacket) {
      const code = err.packet?.granted?.find((c) => typeof c === 'number' && c >= 0x80);
      if (typeof code === 'number') return new SubscribeError(filter, code);
    }
    const code = (err as { code?: unknown } | null)?.code;
    if (typeof code === 'number' && code >= 0x80) return new SubscribeError(filter, code);
    return new SubscribeError(filter, undefined, err instanceof Error ? err.message : String(err));
  }
}
