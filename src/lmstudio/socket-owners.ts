// Who owns the socket listening on a local port: on Linux, the kernel's tables of TCP
// sockets (/proc/net/tcp and tcp6) give each one's owner, so that discovery can tell
// the user's own LM Studio (or root's) from another user's listener on the same port.
// Any local user may listen on a free port; the API token and the prompt must not go
// to one just because it answered first.

import { readFile } from "node:fs/promises";
import { endianness } from "node:os";

/** The kernel's TCP tables, as read; a table that could not be read is undefined. */
export interface TcpTables {
  tcp?: string;
  tcp6?: string;
}

/** The "st" column's value for a listening socket (TCP_LISTEN). */
const LISTEN = "0A";

/** The tables, or undefined where there are none to read (not Linux, no /proc). */
export async function readTcpTables(): Promise<TcpTables | undefined> {
  const read = (file: string) => readFile(file, "latin1").catch(() => undefined);
  const [tcp, tcp6] = await Promise.all([read("/proc/net/tcp"), read("/proc/net/tcp6")]);
  return tcp === undefined && tcp6 === undefined ? undefined : { tcp, tcp6 };
}

/**
 * The uids owning the sockets listening on `port` that a connection to `hostname`
 * (127.0.0.1 or ::1) may reach: those bound to that address or to the wildcard
 * address of its family (a v6 wildcard accepts IPv4 too, unless it is v6-only, which
 * the table does not say: counted, to be safe). For any other name, every listener on
 * the port. `littleEndian`: how the kernel printed the addresses (this machine's order).
 */
export function listenerOwners(tables: TcpTables, port: number, hostname: string, littleEndian = endianness() === "LE"): number[] {
  const owners: number[] = [];
  for (const [table, v6] of [
    [tables.tcp, false],
    [tables.tcp6, true],
  ] as const) {
    for (const line of table?.split("\n").slice(1) ?? []) {
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid …
      const fields = line.trim().split(/\s+/);
      if (fields.length < 8 || fields[3] !== LISTEN) continue;
      const [addressHex, portHex] = fields[1]!.split(":");
      if (addressHex === undefined || portHex === undefined || parseInt(portHex, 16) !== port) continue;
      const address = addressBytes(addressHex, littleEndian);
      if (reaches(hostname, address, v6)) owners.push(Number(fields[7]));
    }
  }
  return owners;
}

/** The address's bytes in network order: the kernel prints each 32-bit word as a number in host order. */
function addressBytes(hex: string, littleEndian: boolean): Buffer {
  const bytes = Buffer.from(hex, "hex");
  if (littleEndian) for (let word = 0; word + 4 <= bytes.length; word += 4) bytes.subarray(word, word + 4).reverse();
  return bytes;
}

/** Whether a socket bound to `address` accepts a connection to `hostname`. */
function reaches(hostname: string, address: Buffer, v6: boolean): boolean {
  const ipv4 = v6 ? mappedIpv4(address) : address;
  const isWildcard = address.every((byte) => byte === 0) || (ipv4 !== undefined && ipv4.every((byte) => byte === 0));
  switch (hostname.replace(/^\[(.*)\]$/, "$1")) {
    case "127.0.0.1":
      return isWildcard || (ipv4 !== undefined && ipv4.equals(Buffer.from([127, 0, 0, 1])));
    case "::1":
      return v6 && (isWildcard || address.equals(Buffer.from([...new Array<number>(15).fill(0), 1])));
    default:
      return true;
  }
}

/** The IPv4 address in an IPv4-mapped IPv6 address (::ffff:a.b.c.d), else undefined. */
function mappedIpv4(address: Buffer): Buffer | undefined {
  const prefix = Buffer.from([...new Array<number>(10).fill(0), 0xff, 0xff]);
  return address.length === 16 && address.subarray(0, 12).equals(prefix) ? address.subarray(12) : undefined;
}
