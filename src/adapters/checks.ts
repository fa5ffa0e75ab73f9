// What the adapters' own entry points check of their arguments at once: a mistake there would otherwise surface at
// the first request, as a TypeError from deep inside that names nothing, and for `installRatewise` in every fetch of
// the process.

import { kindOf } from '../http/seam.js';

/** Throws a `TypeError` naming `entry` unless `rw` looks like a ratewise client (what `createRatewise` returns). */
export function checkClient(rw: unknown, entry: string): void {
  const request = typeof rw === 'object' && rw !== null ? (rw as { request?: unknown }).request : undefined;
  if (typeof request !== 'function') {
    throw new TypeError(
      `Expected \`rw\` of ${entry} to be a ratewise client (what createRatewise returns), got ${kindOf(rw)}`,
    );
  }
}
