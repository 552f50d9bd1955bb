/**
 * The work queue on a fake clock: the key due earliest goes first (no key starves another by its
 * place in tables.yaml), failures back a key off exponentially until it succeeds, an action's
 * result is looked at at once, a terminal failure waits for the resync, and an add while a key
 * is processed wins over what its pass asked for.
 */
import { backoffDelay, WorkQueue, type Next } from "../../reconciler/queue";
import { FakeClock } from "../helpers/fakeClock";

const queue = (clock = new FakeClock()) => ({ clock, q: new WorkQueue({ clock, resyncMs: 60_000, backoffBaseMs: 1000, backoffMaxMs: 8000, random: () => 0.5 }) });

test("backoffDelay doubles from the base up to the cap, within ±10 % jitter", () => {
  expect([1, 2, 3, 4, 5, 10].map((f) => backoffDelay(f, 2000, 10_000, () => 0.5))).toEqual([2000, 4000, 8000, 10_000, 10_000, 10_000]);
  expect(backoffDelay(1, 2000, 10_000, () => 0)).toBe(1800);
  expect(backoffDelay(1, 2000, 10_000, () => 1)).toBe(2200);
});

test("keys due at once are handed out in the order they became due, one at a time each", () => {
  const { q } = queue();
  for (const k of ["a", "b", "c"]) q.add(k);
  expect(q.take(2)).toEqual(["a", "b"]);
  // a is still being processed: not handed out again, however often it is added.
  q.add("a");
  expect(q.take(5)).toEqual(["c"]);
});

test("a key requeued at once after its action goes behind the keys already waiting: no starvation by declaration order", () => {
  const { q } = queue();
  for (const k of ["a", "b", "c"]) q.add(k);
  const ran: string[] = [];
  // One slot; every pass carries out an action (requeue at once), so every key is always due.
  for (let i = 0; i < 9; i++) {
    const [k] = q.take(1);
    ran.push(k);
    q.done(k, { kind: "requeue", afterMs: 0 });
  }
  expect(ran).toEqual(["a", "b", "c", "a", "b", "c", "a", "b", "c"]);
});

test("the key due earliest runs first, whatever order the keys were added in", async () => {
  const { q, clock } = queue();
  for (const k of ["a", "b", "c"]) q.add(k);
  for (const k of q.take(3)) q.done(k, { kind: "requeue", afterMs: { a: 3000, b: 1000, c: 2000 }[k] });
  await clock.advance(5000);
  expect(q.take(3)).toEqual(["b", "c", "a"]);
});

test("failures back a key off (doubling, capped) and keep doing so through actions; success resets it", () => {
  const { q, clock } = queue();
  q.add("t");
  const step = (next: Next) => {
    q.take(1);
    return q.done("t", next);
  };
  const t0 = clock.now();
  expect([1, 2, 3, 4, 5].map(() => step({ kind: "requeue" })).map((s) => [s.failures, s.dueAt - t0])).toEqual([[1, 1000], [2, 2000], [3, 4000], [4, 8000], [5, 8000]]);
  // An action after failures: looked at again at once, the count kept (backoff resets only in sync).
  expect(step({ kind: "requeue", afterMs: 0 })).toEqual({ dueAt: t0, failures: 5, retryAt: undefined });
  expect(step({ kind: "requeue" }).failures).toBe(6);
  expect(step({ kind: "done" })).toEqual({ dueAt: t0 + 60_000, failures: 0, retryAt: undefined });
  expect(step({ kind: "requeue" })).toEqual({ dueAt: t0 + 1000, failures: 1, retryAt: t0 + 1000 });
});

test("a terminal failure counts once, is not retried with backoff but looked at on the resync; waiting on it again is no new failure", () => {
  const { q, clock } = queue();
  q.add("t");
  q.take(1);
  expect(q.done("t", { kind: "terminal", reason: "BadCsv" })).toEqual({ dueAt: clock.now() + 60_000, failures: 1, retryAt: undefined });
  q.add("t");
  q.take(1);
  expect(q.done("t", { kind: "terminal", reason: "BadCsv", again: true }).failures).toBe(1);
});

test("an add while the key is processed makes it due at once after, whatever its pass asked for; a removed key is not scheduled again", () => {
  const { q, clock } = queue();
  q.add("t");
  q.add("gone");
  q.take(2);
  q.add("t");
  expect(q.done("t", { kind: "done" }).dueAt).toBe(clock.now());
  q.remove("gone");
  q.done("gone", { kind: "done" });
  expect(q.due("gone")).toBeUndefined();
  expect(q.take(5)).toEqual(["t"]);
});

test("wait sleeps until the next key is due, or wakes at once when a key is added", async () => {
  const { q, clock } = queue();
  q.add("t");
  q.take(1);
  q.done("t", { kind: "requeue", afterMs: 5000 });
  let woke = false;
  const stop = new AbortController();
  void q.wait(stop.signal).then(() => (woke = true));
  await clock.advance(4999);
  expect(woke).toBe(false);
  await clock.advance(1);
  expect(woke).toBe(true);
  woke = false;
  q.take(1);
  void q.wait(stop.signal).then(() => (woke = true)); // nothing queued: sleeps until woken
  await clock.advance(3_600_000);
  expect(woke).toBe(false);
  q.add("t");
  await clock.advance(0);
  expect(woke).toBe(true);
});
