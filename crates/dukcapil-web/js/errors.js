// Error classes shared by the wasm glue (which throws them) and the package entry (which
// exports them). One module, so `instanceof` works whichever side created the error.

class DukcapilError extends Error {
  constructor(name, code, message, messageId, cause) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = name;
    this.code = code;
    this.messageId = messageId;
  }
}

export class NikError extends DukcapilError {
  constructor(code, message, messageId, cause) {
    super('NikError', code, message, messageId, cause);
  }
}

export class SelfieError extends DukcapilError {
  constructor(code, message, messageId, cause, metrics) {
    super('SelfieError', code, message, messageId, cause);
    // The quality gate's measures, when the gate refused the photo.
    this.metrics = metrics || null;
  }
}

export class FaceMatchError extends DukcapilError {
  constructor(code, message, messageId, details) {
    const d = details || {};
    super('FaceMatchError', code, message, messageId, d.cause);
    this.status = typeof d.status === 'number' ? d.status : null;
    this.requestId = typeof d.requestId === 'string' ? d.requestId : null;
    this.transactionId = typeof d.transactionId === 'string' ? d.transactionId : null;
    this.retryable = d.retryable === true;
    this.receipt = typeof d.receipt === 'string' ? d.receipt : null;
    // For developers: where the request went, and why an answer was not the proxy's.
    this.url = typeof d.url === 'string' ? d.url : null;
    this.reason = typeof d.reason === 'string' ? d.reason : null;
    this.bodyExcerpt = typeof d.bodyExcerpt === 'string' ? d.bodyExcerpt : null;
  }
}

// Called from Rust: kind 0 = NikError, 1 = SelfieError, 2 = FaceMatchError.
export function makeError(kind, code, message, messageId, details) {
  if (kind === 0) return new NikError(code, message, messageId, details && details.cause);
  if (kind === 1) return new SelfieError(code, message, messageId, details && details.cause, details && details.metrics);
  return new FaceMatchError(code, message, messageId, details);
}
