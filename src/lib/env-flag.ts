// Whether an environment variable that switches something on is set: unset, empty, "0"
// and "false" (any case) are off, as users of LMC_DEBUG=0 or LMC_NO_CACHE=false expect.

export function envFlag(value: string | undefined): boolean {
  return value !== undefined && value !== "" && value !== "0" && value.toLowerCase() !== "false";
}
