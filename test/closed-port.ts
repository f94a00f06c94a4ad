// A loopback port where nothing listens: one the kernel just handed out and took
// back, rather than a fixed one (9, 1234) that something on this machine may use.

import { createServer } from "node:net";

export async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}
