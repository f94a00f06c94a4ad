import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/errors.js";
import { authenticationError } from "../../src/lmstudio/sdk-errors.js";
import { parseApiToken } from "../../src/lmstudio/api-token.js";

const token = "sk-lm-Ab3dEf7h:0123456789abcdefghij";

describe("parseApiToken", () => {
  it("splits a token into the client identifier and passkey", () => {
    expect(parseApiToken(token)).toEqual({ clientIdentifier: "Ab3dEf7h", clientPasskey: "0123456789abcdefghij" });
  });
  it.each([undefined, ""])("%j is no token", (value) => expect(parseApiToken(value)).toBeUndefined());
  it.each(["sk-lm-short:0123456789abcdefghij", "Ab3dEf7h:0123456789abcdefghij", "sk-lm-Ab3dEf7h", "sk-lm-Ab3dEf7h:secret!secret!secret!x"])(
    "refuses %j without repeating it",
    (value) => {
      expect(() => parseApiToken(value)).toThrow(UsageError);
      try {
        parseApiToken(value);
      } catch (error) {
        expect((error as Error).message).not.toContain(value.split(":")[1] ?? value);
      }
    },
  );
});

describe("authenticationError", () => {
  const refused = new Error("Failed to authenticate: Invalid client identifier or passkey");
  it("names a refused token", () => {
    const error = authenticationError(refused, "ws://h:1", true)!;
    expect(error.exitCode).toBe(6);
    expect(error.message).toBe("LM Studio at ws://h:1 refused the API token in LM_API_TOKEN (Invalid client identifier or passkey)");
  });
  it("says a token is needed when none was sent", () => {
    expect(authenticationError(refused, "ws://h:1", false)!.message).toMatch(/requires an API token .*set LM_API_TOKEN/);
  });
  it("leaves other errors alone", () => {
    expect(authenticationError(new Error("connect ECONNREFUSED"), "ws://h:1", true)).toBeUndefined();
  });
});
