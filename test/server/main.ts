// Start the LM Studio-compatible test server by hand:
//
//   npx tsx test/server/main.ts [--port N] [--host H] [--fault SPEC] [--parallel N]
//                               [--token IDENTIFIER:PASSKEY] [--quiet]
//
// SPEC: none | refuse | hang | nothingLoaded | slow:MS | dieMidStream:N | flood:N | predictionError[:TITLE]
//       | noResult | stall:N | resultStats:JSON | badFrame:N:utf8|json|message|unknown|opcode
//
// Without --port it listens on LM Studio's default port, 1234, so that plain `lmc` finds
// it; when 1234 is taken it says so on stderr, with the `export LMC_HOST=…` line to use,
// and listens on a free port. --port 0 asks for a free port at once.
//
// Prints one line to stdout, the address for `lmc --host`, then serves until SIGINT/SIGTERM.

import { closeSharedEngine, startTestServer, type Fault, type TestServer, type TestServerOptions } from "./server.js";

/** The port LM Studio's server listens on by default, the first that lmc looks at. */
const LM_STUDIO_PORT = 1234;

function usage(message: string): never {
  process.stderr.write(
    `${message}\nusage: tsx test/server/main.ts [--port N] [--host H] [--fault SPEC] [--parallel N] ` +
      `[--token IDENTIFIER:PASSKEY] [--quiet]\n` +
      `SPEC: none | refuse | hang | nothingLoaded | slow:MS | dieMidStream:N | flood:N | predictionError[:TITLE]\n` +
      `      | noResult | stall:N | resultStats:JSON | badFrame:N:utf8|json|message|unknown|opcode\n`,
  );
  process.exit(2);
}

function parseInteger(flag: string, value: string | undefined, min: number): number {
  if (value === undefined || !/^\d+$/.test(value) || Number(value) < min) usage(`${flag} needs an integer >= ${min}`);
  return Number(value);
}

function parseFault(spec: string): Fault {
  const [name, ...rest] = spec.split(":");
  const arg = rest.length > 0 ? rest.join(":") : undefined;
  switch (name) {
    case "none":
      return { type: "none" };
    case "refuse":
      return { type: "refuse" };
    case "hang":
      return { type: "hang" };
    case "nothingLoaded":
      return { type: "nothingLoaded" };
    case "slow":
      return { type: "slow", delayMs: parseInteger("--fault slow:MS", arg ?? "200", 0) };
    case "dieMidStream":
      return { type: "dieMidStream", afterFragments: parseInteger("--fault dieMidStream:N", arg ?? "3", 0) };
    case "flood":
      return { type: "flood", fragments: parseInteger("--fault flood:N", arg ?? "20000", 0) };
    case "noResult":
      return { type: "noResult" };
    case "stall":
      return { type: "stall", afterFragments: parseInteger("--fault stall:N", arg ?? "0", 0) };
    case "resultStats": {
      // resultStats:JSON, the fields to replace, e.g. resultStats:{"stopReason":"newReason"}
      const stats: unknown = JSON.parse(arg ?? '{"stopReason":"newReason"}');
      if (typeof stats !== "object" || stats === null) usage("--fault resultStats:JSON needs a JSON object");
      return { type: "resultStats", stats: stats as Record<string, unknown> };
    }
    case "badFrame": {
      const [after, kind = "utf8"] = (arg ?? "0").split(":");
      if (!["utf8", "json", "message", "unknown", "opcode"].includes(kind)) usage("--fault badFrame:N:KIND needs KIND utf8, json, message, unknown or opcode");
      return { type: "badFrame", afterFragments: parseInteger("--fault badFrame:N", after, 0), kind: kind as Extract<Fault, { type: "badFrame" }>["kind"] };
    }
    case "predictionError":
      return arg === undefined ? { type: "predictionError" } : { type: "predictionError", title: arg };
    default:
      return usage(`unknown fault "${spec}"`);
  }
}

async function main(): Promise<void> {
  const options: TestServerOptions = {};
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const eq = arg.indexOf("=");
    const flag = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg;
    const value = () => (arg.startsWith("--") && eq > 0 ? arg.slice(eq + 1) : args[++i]);
    switch (flag) {
      case "--port":
        options.port = parseInteger("--port", value(), 0);
        break;
      case "--host": {
        const host = value();
        if (!host) usage("--host needs a value");
        options.host = host;
        break;
      }
      case "--fault": {
        const spec = value();
        if (!spec) usage("--fault needs a value");
        options.fault = parseFault(spec);
        break;
      }
      case "--parallel":
        options.parallel = parseInteger("--parallel", value(), 1);
        break;
      case "--token": {
        const token = value() ?? "";
        const colon = token.indexOf(":");
        if (colon <= 0) usage("--token needs IDENTIFIER:PASSKEY");
        options.requiredToken = { clientIdentifier: token.slice(0, colon), clientPasskey: token.slice(colon + 1) };
        break;
      }
      case "--quiet":
        options.quiet = true;
        break;
      case "-h":
      case "--help":
        process.stdout.write(
          "usage: tsx test/server/main.ts [--port N] [--host H] [--fault SPEC] [--parallel N] " + "[--token IDENTIFIER:PASSKEY] [--quiet]\n",
        );
        return;
      default:
        usage(`unknown argument "${arg}"`);
    }
  }

  const server = await start(options);
  process.stdout.write(`${server.url}\n`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    if (!options.quiet) process.stderr.write(`[lmc-test-server] ${signal}: shutting down\n`);
    try {
      await server.close();
      await closeSharedEngine();
    } finally {
      process.exit(0);
    }
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
}

/** On the port asked for; with none, on LM Studio's default port when it is free, else on a free one. */
async function start(options: TestServerOptions): Promise<TestServer> {
  if (options.port !== undefined) return startTestServer(options);
  try {
    const server = await startTestServer({ ...options, port: LM_STUDIO_PORT });
    if (!options.quiet) process.stderr.write(`[lmc-test-server] on LM Studio's default port: plain lmc finds it\n`);
    return server;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE") throw error;
  }
  const server = await startTestServer({ ...options, port: 0 });
  process.stderr.write(
    `[lmc-test-server] port ${LM_STUDIO_PORT} is taken (by LM Studio?), so plain lmc will not find this server; ` +
      `point lmc at it with:\n  export LMC_HOST=${server.url}\n`,
  );
  return server;
}

main().catch((error: unknown) => {
  process.stderr.write(`[lmc-test-server] failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
