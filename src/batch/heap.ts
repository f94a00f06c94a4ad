// Batch mode is lmc's one long run, and V8 sizes its heap for speed: after each full
// collection it lets the old generation grow to up to about four times the live data
// before the next. In a batch, the SDK's per-message objects often outlive a young
// collection or two and are promoted (about 1 MB every 30 ms when items are fast), so
// a long batch's heap climbs to that limit: 130 MB of RSS for 100,000 items against
// 100 MB for 1,000, with the live data the same 12 MB throughout. Growing by 30 %
// instead keeps a long batch where a short one is, at no measurable cost in speed
// (npm run bench:batch).

export const HEAP_GROWING_PERCENT = 30;

/**
 * The Node versions whose V8 was checked to know the flag. V8 reports an unknown
 * flag on stderr, a stray line amid lmc's own, so other versions keep V8's default.
 */
const CHECKED_NODE_MAJORS = new Set([20, 21, 22, 23, 24, 25, 26]);

/** The V8 flags that keep the heap near the live data; undefined when this Node was not checked. */
export function heapFlags(nodeVersion: string): string | undefined {
  if (!CHECKED_NODE_MAJORS.has(Number(nodeVersion.split(".")[0]))) return undefined;
  return `--heap-growing-percent=${HEAP_GROWING_PERCENT}`;
}
