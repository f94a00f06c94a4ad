// LM Studio API tokens (LM_API_TOKEN), in the format LM Studio issues and SDK 2.x
// reads: sk-lm-IDENTIFIER:PASSKEY. A token is only ever read from the
// environment (a flag would show it in `ps`), and never printed.

import { UsageError } from "../errors.js";

export interface Credentials {
  clientIdentifier: string;
  clientPasskey: string;
}

const tokenFormat = /^sk-lm-([a-zA-Z0-9]{8}):([a-zA-Z0-9]{20})$/;

/** The credentials in LM_API_TOKEN, or undefined when it is unset or empty. */
export function parseApiToken(token: string | undefined): Credentials | undefined {
  if (token === undefined || token === "") return undefined;
  const match = tokenFormat.exec(token.trim());
  const [, clientIdentifier, clientPasskey] = match ?? [];
  if (clientIdentifier === undefined || clientPasskey === undefined) {
    throw new UsageError("LM_API_TOKEN does not look like an LM Studio API token (sk-lm-xxxxxxxx:xxxxxxxxxxxxxxxxxxxx)");
  }
  return { clientIdentifier, clientPasskey };
}
