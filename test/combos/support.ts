// Servers for the combination tests: real HTTP on 127.0.0.1 whose limits follow a test's fake clock, so that a
// pause ratewise waits out on that clock is a pause the server sees end.
import type { FakeClock } from '../support/fake-clock.js';
import { startScriptedServer, type ScriptedRequest, type TestServer } from '../support/servers.js';

export interface WindowedServerOptions {
  /** Requests accepted per window. */
  readonly limit: number;
  /** Window length, ms of the fake clock. */
  readonly windowMs: number;
}

/**
 * A fixed-window limiter on `clock`: `limit` requests per window, and a 429 with `Retry-After` (whole seconds until
 * the window turns) beyond; `seen` keeps every request.
 */
export async function windowedServer(
  clock: FakeClock,
  { limit, windowMs }: WindowedServerOptions,
): Promise<TestServer & { readonly seen: ScriptedRequest[] }> {
  const seen: ScriptedRequest[] = [];
  let window = -1;
  let count = 0;
  const server = await startScriptedServer((request) => {
    seen.push(request);
    const now = clock.now();
    const current = Math.floor(now / windowMs);
    if (current !== window) {
      window = current;
      count = 0;
    }
    count++;
    if (count > limit) {
      const resetMs = (current + 1) * windowMs - now;
      return { status: 429, headers: { 'retry-after': Math.max(1, Math.ceil(resetMs / 1000)) } };
    }
    return { body: `ok ${request.url}` };
  });
  return Object.assign(server, { seen });
}
