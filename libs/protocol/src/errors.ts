/**
 * Typed protocol errors. Every decode failure is one of these subclasses with
 * a stable string `code`; callers switch on `code` (or `instanceof`), never on
 * the message text.
 */
export type ProtocolErrorCode =
  | 'ERR_TRUNCATED'
  | 'ERR_BAD_MAGIC'
  | 'ERR_UNSUPPORTED_VERSION'
  | 'ERR_UNKNOWN_KIND'
  | 'ERR_INVALID_FIELD'
  | 'ERR_PAYLOAD_TOO_LARGE'
  | 'ERR_TRAILING_BYTES'
  | 'ERR_INVALID_ID'
  | 'ERR_INVALID_SUBJECT'
  | 'ERR_INVALID_MESSAGE';

export class ProtocolError extends Error {
  readonly code: ProtocolErrorCode;
  constructor(code: ProtocolErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Fewer bytes than the header or the declared payload length needs. */
export class TruncatedError extends ProtocolError {
  constructor(needed: number, got: number) {
    super('ERR_TRUNCATED', `envelope truncated: needs ${needed} bytes, got ${got}`);
  }
}

/** The first two bytes are not the envelope magic. */
export class BadMagicError extends ProtocolError {
  constructor(found: number) {
    super('ERR_BAD_MAGIC', `not a vidchat envelope (magic 0x${found.toString(16).padStart(4, '0')})`);
  }
}

/** A version this build does not understand. */
export class UnsupportedVersionError extends ProtocolError {
  readonly version: number;
  constructor(version: number) {
    super('ERR_UNSUPPORTED_VERSION', `unsupported envelope version ${version}`);
    this.version = version;
  }
}

/** A kind byte this version does not define. */
export class UnknownKindError extends ProtocolError {
  constructor(kind: number) {
    super('ERR_UNKNOWN_KIND', `unknown envelope kind ${kind}`);
  }
}

/** A header field out of its documented range (size, rate, codec, ...). */
export class InvalidFieldError extends ProtocolError {
  readonly field: string;
  constructor(field: string, detail: string) {
    super('ERR_INVALID_FIELD', `invalid ${field}: ${detail}`);
    this.field = field;
  }
}

/** A payload longer than the named limit for its kind. */
export class PayloadTooLargeError extends ProtocolError {
  readonly limit: number;
  constructor(length: number, limit: number) {
    super('ERR_PAYLOAD_TOO_LARGE', `payload of ${length} bytes exceeds the limit of ${limit}`);
    this.limit = limit;
  }
}

/** Bytes after the declared payload: the envelope was glued to something else. */
export class TrailingBytesError extends ProtocolError {
  constructor(extra: number) {
    super('ERR_TRAILING_BYTES', `${extra} unexpected bytes after the payload`);
  }
}

/** A room or source id outside `[A-Za-z0-9][A-Za-z0-9_-]{0,63}`. */
export class InvalidIdError extends ProtocolError {
  constructor(what: string, value: unknown) {
    const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 80)) : typeof value;
    super(
      'ERR_INVALID_ID',
      `invalid ${what} id ${shown}: use 1-64 characters A-Z a-z 0-9 _ -, starting with a letter or digit`,
    );
  }
}

/** A subject that is not part of the vidchat subject tree. */
export class InvalidSubjectError extends ProtocolError {
  constructor(subject: string) {
    super('ERR_INVALID_SUBJECT', `not a vidchat subject: ${JSON.stringify(subject.slice(0, 200))}`);
  }
}

/** A JSON message (presence, levels, WebSocket control) that fails its schema. */
export class InvalidMessageError extends ProtocolError {
  constructor(detail: string, options?: { cause?: unknown }) {
    super('ERR_INVALID_MESSAGE', detail, options);
  }
}
