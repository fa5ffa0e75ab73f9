// What the `redis` section's HTTP server saw: a server on 127.0.0.1 that answers `200 ok` at once and records when
// each request arrived, and the checks of those arrival times against a token bucket.
import { createServer } from 'node:http';
import { performance } from 'node:perf_hooks';
import { closeServer, HOST, listen } from '../../scripts/lib/loopback.js';

export interface CountingServer {
  /** Such as `http://127.0.0.1:41234`. */
  readonly origin: string;
  /** The budget pattern of this server: `127.0.0.1:41234`. */
  readonly host: string;
  /** performance.now() at the arrival of each request head since the last call, ascending; clears the record. */
  take(): number[];
  close(): Promise<void>;
}

export async function startCountingServer(): Promise<CountingServer> {
  let arrivals: number[] = [];
  const server = createServer((_req, res) => {
    arrivals.push(performance.now());
    res.end('ok');
  });
  const port = await listen(server);
  return {
    origin: `http://${HOST}:${port}`,
    host: `${HOST}:${port}`,
    take: () => {
      const taken = arrivals;
      arrivals = [];
      return taken;
    },
    close: () => closeServer(server),
  };
}

/** A token bucket: `burst` at once, refilled at `ratePerSecond`. */
export interface Bucket {
  readonly ratePerSecond: number;
  readonly burst: number;
}

/** How arrivals (ms, ascending) measure up to a bucket. */
export interface Admissions {
  readonly admitted: number;
  /** From the first arrival to the last, in ms. */
  readonly spanMs: number;
  /** What the bucket allows over that span: `burst + rate × span`. */
  readonly allowed: number;
  /** `max(0, admitted − allowed) ÷ allowed`. */
  readonly overspend: number;
  /**
   * The most requests ever beyond the bound, at any arrival: `n − (burst + rate × time since the first arrival)` at
   * the n-th. Negative when every arrival kept within it.
   */
  readonly peakExcess: number;
  /** The most arrivals in any window of `windowMs` starting at an arrival, and what the bucket allows in one. */
  readonly worstWindow: number;
  readonly allowedPerWindow: number;
  /** `admitted ÷ allowed`. */
  readonly goodput: number;
}

export function admissions(times: readonly number[], { ratePerSecond, burst }: Bucket, windowMs: number): Admissions {
  const first = times[0] ?? 0;
  const spanMs = (times.at(-1) ?? first) - first;
  const allowed = burst + (ratePerSecond * spanMs) / 1_000;
  let peakExcess = -burst;
  let worstWindow = 0;
  let end = 0;
  for (let start = 0; start < times.length; start++) {
    peakExcess = Math.max(peakExcess, start + 1 - (burst + (ratePerSecond * (times[start]! - first)) / 1_000));
    while (end < times.length && times[end]! < times[start]! + windowMs) end++;
    worstWindow = Math.max(worstWindow, end - start);
  }
  return {
    admitted: times.length,
    spanMs,
    allowed,
    overspend: Math.max(0, times.length - allowed) / allowed,
    peakExcess,
    worstWindow,
    allowedPerWindow: burst + (ratePerSecond * windowMs) / 1_000,
    goodput: times.length / allowed,
  };
}
