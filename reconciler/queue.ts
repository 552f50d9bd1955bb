/**
 * The reconciler's work queue, controller-runtime style: a key (a table id) is due at a time;
 * `take` hands out the keys that are due, the one due earliest first, never one that is being
 * processed; `done` says what to do with it next. The queue holds each key's consecutive
 * failures and backs it off exponentially (capped, with jitter) until it succeeds: the status
 * file only reports what the queue decided.
 *
 *   add(key)            due now (its input changed). While it is processed: once more right
 *                       after, whatever the pass itself asks for.
 *   done(key, next)     done: due again after the resync interval, failures forgotten;
 *                       requeue with afterMs: at that time (0 after an action), failures kept;
 *                       requeue without: a failure, due after the backoff for the count so far;
 *                       terminal: a failure not retried as such: due after the resync interval
 *                       (only to notice an input that changed where nothing watches it).
 *   wait(signal)        sleeps until the earliest due time, or until something is added or done.
 *
 * Time comes from a Clock, so tests run the loop on a fake one without sleeping.
 */

/** What the loop needs of time: injectable, so tests move it by hand. */
export interface Clock {
  now(): number;
  /** Resolves after ms, or as soon as the signal aborts (never rejects). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      // setTimeout takes at most 2^31-1 ms; the loop wakes again and recomputes.
      const timer = setTimeout(done, Math.min(Math.max(0, ms), 2 ** 31 - 1));
      signal?.addEventListener("abort", done, { once: true });
    }),
};

/** Per-item exponential backoff, capped, with a little jitter so tables don't retry in lockstep. */
export function backoffDelay(failures: number, baseMs: number, maxMs: number, random = Math.random): number {
  const raw = Math.min(maxMs, baseMs * 2 ** Math.max(0, failures - 1));
  return Math.round(raw * (0.9 + 0.2 * random()));
}

/** What a pass says the loop should do with its table next (reconciler/pass.ts returns it). */
export type Next =
  /** In sync: look again after the resync interval (nothing else notices drift), or afterMs (the table's pollInterval). */
  | { kind: "done"; afterMs?: number }
  /** At afterMs (0: at once, to observe an action's result), or, without it, after the backoff: a failure retrying may fix. */
  | { kind: "requeue"; afterMs?: number }
  /** A failure retrying the same input can't fix: reported, not retried until the input changes. `again`: the one remembered from before, not a new failure. */
  | { kind: "terminal"; reason: string; again?: boolean };

export interface QueueOptions {
  clock: Clock;
  resyncMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  random?: () => number;
}

/** When a key is due next, what the queue decided after `done`. */
export interface Scheduled {
  dueAt: number;
  /** Consecutive failures so far (0 once in sync). */
  failures: number;
  /** Set when the key was put off: a retry after a failure, or a wait (standby); not after an action, a success or a terminal failure. */
  retryAt?: number;
}

export class WorkQueue {
  private readonly dueAt = new Map<string, number>();
  /** Keys the queue schedules (added and not removed). */
  private readonly known = new Set<string>();
  /** When each key was last scheduled: between keys due at the same time, the one waiting longest goes first. */
  private readonly order = new Map<string, number>();
  private seq = 0;
  private readonly failures = new Map<string, number>();
  private readonly processing = new Set<string>();
  /** Added while being processed: due again at once when done. */
  private readonly dirty = new Set<string>();
  private wakeUp = new AbortController();

  constructor(private readonly opts: QueueOptions) {}

  get clock(): Clock {
    return this.opts.clock;
  }

  has(key: string): boolean {
    return this.dueAt.has(key) || this.processing.has(key);
  }

  /** Due now (or, while processed, again right after). */
  add(key: string): void {
    const now = this.opts.clock.now();
    const was = this.dueAt.get(key);
    if (this.processing.has(key)) this.dirty.add(key);
    else this.schedule(key, was === undefined ? now : Math.min(was, now));
    this.wake();
  }

  /** Due after ms, unless it is due earlier already. */
  addAfter(key: string, ms: number): void {
    if (this.processing.has(key)) return;
    const at = this.opts.clock.now() + ms;
    const was = this.dueAt.get(key);
    this.schedule(key, was === undefined ? at : Math.min(was, at));
    this.wake();
  }

  /** Forgets the key altogether (its table is no longer declared). A pass in flight finishes; nothing is scheduled after it. */
  remove(key: string): void {
    this.dueAt.delete(key);
    this.known.delete(key);
    this.order.delete(key);
    this.failures.delete(key);
    this.dirty.delete(key);
  }

  /** When the key is due (ms since the epoch on the queue's clock; Infinity while processed). */
  due(key: string): number | undefined {
    return this.processing.has(key) ? Number.POSITIVE_INFINITY : this.dueAt.get(key);
  }

  failuresOf(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  get inFlight(): number {
    return this.processing.size;
  }

  /** Keys due now and not being processed: the work waiting for a free slot. */
  get depth(): number {
    const now = this.opts.clock.now();
    let n = 0;
    for (const at of this.dueAt.values()) if (at <= now) n++;
    return n;
  }

  /** Up to `max` keys that are due, the earliest due first; each is processed until `done`. */
  take(max: number): string[] {
    const now = this.opts.clock.now();
    const ready = [...this.dueAt.entries()]
      .filter(([, at]) => at <= now)
      .sort(([a, x], [b, y]) => x - y || (this.order.get(a) ?? 0) - (this.order.get(b) ?? 0))
      .slice(0, Math.max(0, max))
      .map(([k]) => k);
    for (const k of ready) {
      this.dueAt.delete(k);
      this.processing.add(k);
    }
    return ready;
  }

  /**
   * Marks the key as one being processed outside `take` (a `runOnce` pass), so an `add`
   * meanwhile is kept for after it.
   */
  begin(key: string): void {
    this.dueAt.delete(key);
    this.processing.add(key);
  }

  /** The key's pass is over: schedules it by what the pass said. */
  done(key: string, next: Next): Scheduled {
    const now = this.opts.clock.now();
    this.processing.delete(key);
    let failures = this.failuresOf(key);
    let delay: number;
    let retry = false;
    switch (next.kind) {
      case "done":
        failures = 0;
        delay = next.afterMs ?? this.opts.resyncMs;
        break;
      case "requeue":
        if (next.afterMs === undefined) {
          failures++;
          delay = backoffDelay(failures, this.opts.backoffBaseMs, this.opts.backoffMaxMs, this.opts.random);
        } else delay = next.afterMs;
        retry = delay > 0;
        break;
      case "terminal":
        if (!next.again) failures++;
        delay = this.opts.resyncMs;
        break;
    }
    this.failures.set(key, failures);
    // An add while the pass ran (its input changed) wins over what the pass asked for.
    const dueAt = this.dirty.delete(key) ? now : now + delay;
    if (this.known.has(key)) this.schedule(key, dueAt);
    this.wake();
    return { dueAt, failures, retryAt: retry ? now + delay : undefined };
  }

  /** A pass that crashed (a bug, not a lake problem): looked at again after the longest backoff. */
  crashed(key: string): void {
    this.processing.delete(key);
    if (this.known.has(key)) this.schedule(key, this.dirty.delete(key) ? this.opts.clock.now() : this.opts.clock.now() + this.opts.backoffMaxMs);
    this.wake();
  }

  /** Ms until the earliest key not being processed is due (0 when one is due now), or undefined when none is queued. */
  nextDueIn(): number | undefined {
    let min = Number.POSITIVE_INFINITY;
    for (const at of this.dueAt.values()) min = Math.min(min, at);
    return min === Number.POSITIVE_INFINITY ? undefined : Math.max(0, min - this.opts.clock.now());
  }

  /**
   * Sleeps until the earliest due time (with `untilDue`; without, a due key is of no use: no
   * slot is free to run it) or `capMs`, whichever is sooner, until a key is added or done (`wake`),
   * or until the signal aborts.
   */
  async wait(signal: AbortSignal, opts: { capMs?: number; untilDue?: boolean } = {}): Promise<void> {
    const due = opts.untilDue === false ? undefined : this.nextDueIn();
    const ms = Math.min(due ?? Number.POSITIVE_INFINITY, opts.capMs ?? Number.POSITIVE_INFINITY);
    if (ms <= 0 || signal.aborted) return;
    const both = AbortSignal.any([this.wakeUp.signal, signal]);
    await this.opts.clock.sleep(ms === Number.POSITIVE_INFINITY ? 2 ** 31 - 1 : ms, both);
  }

  /** Wakes a `wait` in progress: something to look at. */
  wake(): void {
    this.wakeUp.abort();
    this.wakeUp = new AbortController();
  }

  private schedule(key: string, at: number): void {
    this.known.add(key);
    if (this.dueAt.get(key) !== at) this.order.set(key, this.seq++);
    this.dueAt.set(key, at);
  }
}

/**
 * At most `n` holders at once, the others waiting their turn in order: the writes (and
 * maintenance) a reconciler carries out at once, whatever number of passes only observe.
 */
export class Slots {
  private held = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly n: number) {
    if (!(n >= 1)) throw new Error(`Slots needs at least one slot, got ${n}`);
  }

  /** Resolves once a slot is free, with the function that frees it again (once). */
  async take(): Promise<() => void> {
    if (this.held < this.n) this.held++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    let freed = false;
    return () => {
      if (freed) return;
      freed = true;
      const next = this.waiting.shift();
      // The slot passes to the next in line as it is: held stays the same.
      if (next) next();
      else this.held--;
    };
  }
}
