import { expect, it } from "vitest";
import { HostPool, MAX_FAILURES_IN_A_ROW } from "../../src/batch/host-pool.js";

const pool = () => new HostPool(["a", "b"], 2, (url) => ({ url }));

it("hands out the live host with the fewest in flight, up to the limit per host", async () => {
  const hosts = pool();
  const taken = [await hosts.acquire(), await hosts.acquire(), await hosts.acquire(), await hosts.acquire()];
  expect(taken.map((h) => h.url)).toEqual(["a", "b", "a", "b"]);
  let fifth: string | undefined;
  const waiting = hosts.acquire().then((h) => (fifth = h.url));
  await Promise.resolve();
  expect(fifth).toBeUndefined(); // every host is full
  hosts.release(taken[1]!);
  await waiting;
  expect(fifth).toBe("b");
});

it("leaves a failed host out, and avoids the host an item failed on", async () => {
  const hosts = pool();
  const [a] = [await hosts.acquire()];
  expect(hosts.fail(a, "gone")).toBe(true);
  expect(hosts.fail(a, "gone again")).toBe(false);
  hosts.release(a);
  expect((await hosts.acquire()).url).toBe("b");
  const b = hosts.hosts[1]!;
  await expect(hosts.acquire(b)).rejects.toThrow(/no LM Studio host is left to serve \(a: gone; b: already tried\)/);
});

it("wakes a waiter with an error when the last host fails", async () => {
  const hosts = new HostPool(["a"], 1, () => ({}));
  const a = await hosts.acquire();
  const waiting = hosts.acquire();
  hosts.fail(a, "gone");
  await expect(waiting).rejects.toThrow(/no LM Studio host is left/);
});

it("takes a host out after MAX_FAILURES_IN_A_ROW failed items, a success in between resets the count", async () => {
  const hosts = pool();
  const a = hosts.hosts[0]!;
  expect(hosts.itemFailed(a, "crash")).toBe(false);
  hosts.succeeded(a);
  for (let i = 1; i < MAX_FAILURES_IN_A_ROW; i++) expect(hosts.itemFailed(a, "crash")).toBe(false);
  expect(hosts.itemFailed(a, "crash")).toBe(true);
  expect(a.failure).toBe(`${MAX_FAILURES_IN_A_ROW} items in a row failed there, the last with: crash`);
  expect((await hosts.acquire()).url).toBe("b");
});

it("never takes out the last host serving for failed items: they may be the items' fault", () => {
  const hosts = new HostPool(["a"], 1, () => ({}));
  for (let i = 0; i < 10; i++) expect(hosts.itemFailed(hosts.hosts[0]!, "bad prompt")).toBe(false);
  expect(hosts.hosts[0]!.failure).toBeUndefined();
});
