// --host and LMC_HOST as a user writes them: every spelling of one server becomes
// one URL with its port written out, and a host without a port means LM Studio's 1234.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/errors.js";
import { normalizeHost } from "../../src/command-line/host-address.js";

describe("normalizeHost", () => {
  it.each([
    ["ws://127.0.0.1:1234", "ws://127.0.0.1:1234"],
    ["ws://127.0.0.1:1234/", "ws://127.0.0.1:1234"],
    ["http://localhost:1234", "ws://localhost:1234"],
    ["https://lm.example:8443/", "wss://lm.example:8443"],
    ["localhost:1234", "ws://localhost:1234"],
    ["1234", "ws://127.0.0.1:1234"],
    [" [::1]:1234 ", "ws://[::1]:1234"],
    // No port: LM Studio's, not the web's 80.
    ["127.0.0.1", "ws://127.0.0.1:1234"],
    ["localhost", "ws://localhost:1234"],
    ["ws://lm.example", "ws://lm.example:1234"],
    ["http://lm.example/", "ws://lm.example:1234"],
    ["[::1]", "ws://[::1]:1234"],
    ["ws://[::1]", "ws://[::1]:1234"],
    ["LocalHost", "ws://localhost:1234"],
    // TLS without a port: a proxy in front of LM Studio, on the web's 443.
    ["wss://lm.example", "wss://lm.example:443"],
    ["https://lm.example", "wss://lm.example:443"],
    // A port equal to the scheme's default is still the port written.
    ["ws://lm.example:80", "ws://lm.example:80"],
    ["http://lm.example:80", "ws://lm.example:80"],
    ["[::1]:80", "ws://[::1]:80"],
    ["wss://lm.example:443", "wss://lm.example:443"],
    ["ws://lm.example:443", "ws://lm.example:443"],
    ["wss://lm.example:80", "wss://lm.example:80"],
  ])("%s → %s", (input, expected) => expect(normalizeHost(input)).toBe(expected));

  it.each([
    ["ftp://x:1", /must be a ws:\/\//],
    ["ws://u:p@h:1", /just scheme, host and port/],
    ["ws://h:1/llm", /just scheme, host and port/],
    ["ws://h:1?x=1", /just scheme, host and port/],
    ["ws://h:99999", /not a valid address/],
    ["", /not a valid address/],
    ["ws://h:0", /port 0 is no port to connect to/],
    ["0", /port 0 is no port to connect to/],
    ["::1", /an IPv6 address goes in brackets, like \[::1\]:1234/],
    ["ws://::1:1234", /an IPv6 address goes in brackets/],
  ])("refuses %j", (input, message) => {
    expect(() => normalizeHost(input)).toThrow(UsageError);
    expect(() => normalizeHost(input)).toThrow(message);
  });

  it("takes __proto__ as a host name like any other", () => expect(normalizeHost("__proto__")).toBe("ws://__proto__:1234"));

  it("names where the address came from", () => {
    expect(() => normalizeHost("ftp://x", "LMC_HOST")).toThrow(/^LMC_HOST must be/);
  });
});

describe("normalizeHost, property-based", () => {
  const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$/);
  const topLabel = fc.stringMatching(/^[a-z]([a-z0-9-]{0,8}[a-z0-9])?$/);
  const hostname = fc.oneof(
    // A name's last label has a letter: URL reads "a.0" as a broken IPv4 address.
    fc.tuple(fc.array(label, { maxLength: 2 }), topLabel).map(([labels, top]) => [...labels, top].join(".")),
    fc.ipV4(),
    fc.ipV6().map((address) => `[${address}]`),
  );
  const scheme = fc.constantFrom("", "ws://", "http://", "wss://", "https://", "WS://", "Https://");
  const address = fc
    .record({
      scheme,
      hostname,
      port: fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
      slash: fc.boolean(),
      space: fc.constantFrom("", " ", "\t"),
    })
    // A bare number is a port on 127.0.0.1, not a host name.
    .filter((parts) => !(parts.scheme === "" && parts.port === undefined && /^\d+$/.test(parts.hostname)));
  const written = ({ scheme, hostname, port, slash, space }: { scheme: string; hostname: string; port?: number; slash: boolean; space: string }) =>
    `${space}${scheme}${hostname}${port === undefined ? "" : `:${port}`}${slash && scheme ? "/" : ""}${space}`;

  it("gives a ws(s) URL with an explicit port: the one written, else 1234 (443 for TLS)", () => {
    fc.assert(
      fc.property(address, (parts) => {
        const url = normalizeHost(written(parts));
        const tls = /^(wss|https):/i.test(parts.scheme);
        expect(url).toMatch(tls ? /^wss:\/\/.+:\d+$/ : /^ws:\/\/.+:\d+$/);
        expect(new URL(url).hostname).toBe(new URL(`ws://${parts.hostname}`).hostname);
        expect(url.endsWith(`:${parts.port ?? (tls ? 443 : 1234)}`)).toBe(true);
      }),
    );
  });

  it("is idempotent, so a host given twice in any spelling counts once", () => {
    fc.assert(
      fc.property(address, (parts) => {
        const url = normalizeHost(written(parts));
        expect(normalizeHost(url)).toBe(url);
      }),
    );
  });

  it("never throws anything but a UsageError, whatever the text", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 40 }), (text) => {
        try {
          expect(normalizeHost(text)).toMatch(/^wss?:\/\/.+:\d+$/);
        } catch (error) {
          expect(error).toBeInstanceOf(UsageError);
        }
      }),
    );
  });
});
