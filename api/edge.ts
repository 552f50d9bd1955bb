/**
 * Gates a request passes before its route's work: Spark-backed reads a few at once (429 past a
 * short queue), a body only of the media types its route takes (415) and not declared longer than
 * it allows (413, before a byte is read), and a signal for a caller that went away.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import { LakeformError } from "../lake/errors";
import { EdgeError } from "./errors";

/**
 * Spark-backed reads (describe, history, rows, changes): the job server is one Spark driver, so
 * only a few run at once and a few more wait their turn; past that a read is refused at once,
 * 429 with Retry-After, rather than queued without bound. A caller that goes away while
 * waiting gives up its place.
 */
export class SparkReads {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    readonly concurrency: number,
    readonly queue: number,
  ) {}

  async run<T>(signal: AbortSignal, work: () => Promise<T>): Promise<T> {
    if (this.running < this.concurrency) this.running++;
    else {
      if (this.waiting.length >= this.queue) {
        throw new EdgeError("TOO_MANY_REQUESTS", `the job server is busy: ${this.concurrency} Spark-backed reads run and ${this.queue} wait; try again shortly`, { "retry-after": "2" }, { running: this.concurrency, waiting: this.queue });
      }
      // A place is handed over by the read that finishes (running stays as it is).
      await new Promise<void>((resolve, reject) => {
        const go = () => {
          signal.removeEventListener("abort", gone);
          resolve();
        };
        const gone = () => {
          this.waiting.splice(this.waiting.indexOf(go), 1);
          reject(new LakeformError("BAD_REQUEST", "the caller went away while its read waited for the job server"));
        };
        this.waiting.push(go);
        signal.addEventListener("abort", gone, { once: true });
      });
    }
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}

/** Aborts when the HTTP client goes away before its answer is written (the response closes unfinished). */
export function clientGone(reply: FastifyReply): AbortSignal {
  const gone = new AbortController();
  reply.raw.once("close", () => {
    if (!reply.raw.writableFinished) gone.abort();
  });
  return gone.signal;
}

const mediaType = (req: FastifyRequest) => (req.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();

/** A route's body must be one of these media types (or absent, where the body is optional). */
export function requireMediaType(types: readonly string[], optional = false) {
  return async (req: FastifyRequest) => {
    const type = mediaType(req);
    const hasBody = Number(req.headers["content-length"] ?? 0) > 0 || req.headers["transfer-encoding"] !== undefined;
    if (optional && !type && !hasBody) return;
    if (!types.includes(type)) throw new LakeformError("UNSUPPORTED_MEDIA_TYPE", `this route takes ${types.join(" or ")}${optional ? " (or no body)" : ""}, not ${type || "no Content-Type"}`);
  };
}

/** A body whose declared length is over the route's limit is refused before a byte of it is read. */
export function refuseDeclaredLength(maxBytes: number) {
  return async (req: FastifyRequest) => {
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > maxBytes) throw new LakeformError("PAYLOAD_TOO_LARGE", `the body takes ${declared} bytes; this route takes up to ${maxBytes} (lakeform:api.csvLimitBytes)`, { limit: maxBytes });
  };
}
