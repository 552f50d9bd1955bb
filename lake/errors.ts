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

/**
 * The HTTP status of an error code (lake/errorCodes.json): the one reading of the table that both
 * the API's answers (LakeformError.httpStatus) and the job server's (the contract's errorCodes,
 * lake/jobServerContract.ts) go through.
 */
export function httpStatusOf(code: ErrorCode): number {
  return ERROR_CODES[code].http;
}

/** Every code with its HTTP status, in the table's order: what the job server is given. */
export const httpStatuses = (): Record<ErrorCode, number> => Object.fromEntries((Object.keys(ERROR_CODES) as ErrorCode[]).map((c) => [c, httpStatusOf(c)])) as Record<ErrorCode, number>;

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
    return httpStatusOf(this.code);
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
 * What an edge knows of a failure that isn't a LakeformError (the API's framework and schema
 * errors): its code and message, or undefined when it isn't one of its kinds.
 */
export type FailureKind = (err: unknown) => { code: ErrorCode; message: string; details?: Record<string, unknown> } | undefined;

/**
 * Any thrown value as a LakeformError, the one converter every layer calls: ours (and every
 * subclass: JobError, SourceError, ArgsError…) as they are; a failure an edge's `kind` knows by
 * its code; the rest as `fallback` (INTERNAL). The cause is kept.
 */
export function asLakeformError(err: unknown, fallback: ErrorCode = "INTERNAL", kind?: FailureKind): LakeformError {
  if (err instanceof LakeformError) return err;
  const known = kind?.(err);
  if (known) return new LakeformError(known.code, known.message, known.details ?? {}, { cause: err });
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
