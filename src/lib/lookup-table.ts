// Tables that are looked up by a key the user typed (an --option KEY, a JSON Lines
// field, a --context-overflow word) have no prototype: "__proto__", "constructor"
// or "toString" is then simply not in them, as any other unknown key, instead of
// finding a member of Object.prototype. Frozen, so nothing can add one later.

export function lookupTable<T>(entries: Readonly<Record<string, T>>): Readonly<Record<string, T>> {
  return Object.freeze(Object.assign(Object.create(null) as Record<string, T>, entries));
}
