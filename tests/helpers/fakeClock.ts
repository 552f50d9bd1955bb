/**
 * A clock for the loop's tests (reconciler/queue.ts's Clock): time moves only when the test says
 * so, and sleepers wake in order of their times as it passes. Nothing sleeps for real.
 */
import type { Clock } from "../../reconciler/queue";

/** Lets every promise chain that can run now run (the fakes answer with promises, never timers). */
export const settle = async (rounds = 3): Promise<void> => {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
};

export class FakeClock implements Clock {
  private t: number;
  private sleepers: { at: number; wake: () => void }[] = [];

  constructor(start = Date.parse("2026-12-01T09:00:00Z")) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const s = {
        at: this.t + Math.max(0, ms),
        wake: () => {
          this.sleepers = this.sleepers.filter((x) => x !== s);
          signal?.removeEventListener("abort", s.wake);
          resolve();
        },
      };
      signal?.addEventListener("abort", s.wake, { once: true });
      this.sleepers.push(s);
    });
  }

  /** How many are asleep (a loop waiting for work is one). */
  get sleeping(): number {
    return this.sleepers.length;
  }

  /** Moves time forward by ms, waking each sleeper at its time and letting what it starts run before moving on. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    await settle();
    for (;;) {
      const next = this.sleepers.filter((s) => s.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      this.t = Math.max(this.t, next.at);
      next.wake();
      await settle();
    }
    this.t = end;
    await settle();
  }

  /** Moves time to `at` (ms since the epoch), as `advance` does. */
  advanceTo(at: number): Promise<void> {
    return this.advance(Math.max(0, at - this.t));
  }
}
