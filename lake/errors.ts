/**
 * One error model for all of Lakeform. Every failure is a LakeformError with a stable code
 * (lake/errorCodes.json, shared with the Python job server), a human message, structured details
 * and a cause. The code alone decides the HTTP status, the CLI exit code, the status reason and
 * whether retrying the same input can help: nothing else picks them.
 */
import codesFile from "./errorCodes.json";

export type ErrorCode = keyof typeof codesFile.codes;

export interface ErrorCodeInfo {
  http: number;
  exit: number;
  reason: string;
  retryable: boolean;
}

export const ERROR_CODES: Readonly<Record<ErrorCode, ErrorCodeInfo>> = codesFile.codes;

export const isErrorCode = (code: unknown): code is ErrorCode => typeof code === "string" && Object.hasOwn(ERROR_CODES, code);

export class LakeformError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "LakeformError";
  }

  get info(): ErrorCodeInfo {
    return ERROR_CODES[this.code];
  }
  get httpStatus(): number {
    return this.info.http;
  }
  get exitCode(): number {
    return this.info.exit;
  }
  get reason(): string {
    return this.info.reason;
  }
  /** False when the same input will fail the same way (a bad CSV, a refused schema change). */
  get retryable(): boolean {
    return this.info.retryable;
  }

  toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return Object.keys(this.details).length > 0 ? { code: this.code, message: this.message, details: this.details } : { code: this.code, message: this.message };
  }
}

/**
 * Any thrown value as a LakeformError, the one converter every layer calls: ours (and every
 * subclass: JobError, SourceError, ArgsError…) as they are, unknown failures as `fallback`
 * (INTERNAL), keeping the cause. An edge with failure kinds of its own (the API's framework and
 * schema errors) maps those first and hands the rest to this.
 */
export function asLakeformError(err: unknown, fallback: ErrorCode = "INTERNAL"): LakeformError {
  if (err instanceof LakeformError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new LakeformError(fallback, message, {}, { cause: err });
}

const CONNECTION_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENOTFOUND", "EAI_AGAIN", "UND_ERR_SOCKET", "UND_ERR_CONNECT_TIMEOUT"]);

/**
 * True when a failure means the other end could not be reached or went away mid-request
 * (refused, reset, timed out), as opposed to an answer that reports an error: the first is a
 * service being down (…_UNAVAILABLE), the second is the service's own verdict.
 */
export function isConnectionFailure(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && CONNECTION_CODES.has(code)) return true;
    const name = (e as { name?: unknown }).name;
    if (name === "TimeoutError" || name === "AbortError") return true;
  }
  return false;
}
