import * as http from "node:http";
import type { AddressInfo } from "node:net";

/** A loopback port free a moment ago: bound once on 127.0.0.1, then closed (nothing listens on it now). */
export async function unusedPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}
