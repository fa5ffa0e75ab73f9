// Child process of the `headers` section (see bench/child.ts): times parseRateLimit and the event checks in a
// process that loads nothing but the ratewise build. In the bench's own process, with every section's modules loaded
// (node-redis among them, under tsx), the same calls measured 1.5 to 3 times as long.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as Diagnostics from '../../src/diagnostics.js';
import type * as Events from '../../src/events.js';
import type { RateLimitInfo } from '../../src/headers/index.js';
import { importRatewise } from '../build-imports.js';
import { probeInput, probeOutput } from '../child.js';
import { measureSync } from '../measure.js';

export interface HeaderParsingInput {
  readonly quick: boolean;
  /** Where the parent's `compileRatewise()` wrote the tsc build. */
  readonly build: string;
}

export interface HeaderParsingOutput {
  readonly rounds: number;
  /** Each case's mean ns per call in every round, in round order. */
  readonly cases: readonly {
    readonly headerSet: string;
    readonly input: string;
    readonly meansNs: readonly number[];
  }[];
  /** The events every call checks for listeners. */
  readonly checks: readonly string[];
  /** Those checks, ns per call: plain, and with diagnostics channels nobody subscribes to. */
  readonly checksNs: number;
  readonly checksWithChannelsNs: number;
}

/** The event checks every call makes, listened to or not: its attempt, its end, its answer's rate-limit fields. */
const CALL_CHECKS = ['attempt', 'settled', 'rateLimitInfo'] as const;

/** The instant the responses below "arrive": one second after their `Date`, so every reset lies ahead. */
const DATE = 'Thu, 26 Nov 2026 10:00:00 GMT';
const NOW = Date.parse(DATE) + 1_000;
const RESET_EPOCH_SECONDS = Date.parse(DATE) / 1_000 + 1_800;

/** A complete GitHub REST response head, as Node's `IncomingHttpHeaders` has it (lower-case names). */
const github: Readonly<Record<string, string>> = {
  server: 'github.com',
  date: DATE,
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'private, max-age=60, s-maxage=60',
  vary: 'Accept, Authorization, Cookie, X-GitHub-OTP,Accept-Encoding, Accept, X-Requested-With',
  etag: 'W/"7c1f0d5e3b2a4f6e8d9c0b1a2f3e4d5c6b7a8f9e0d1c2b3a4f5e6d7c8b9a0f1e"',
  'last-modified': 'Wed, 25 Nov 2026 18:42:11 GMT',
  'x-oauth-scopes': 'read:org, repo, workflow',
  'x-accepted-oauth-scopes': 'repo',
  'github-authentication-token-expiration': '2027-01-31 00:00:00 UTC',
  'x-github-media-type': 'github.v3; format=json',
  'x-github-api-version-selected': '2022-11-28',
  'x-ratelimit-limit': '5000',
  'x-ratelimit-remaining': '4987',
  'x-ratelimit-reset': String(RESET_EPOCH_SECONDS),
  'x-ratelimit-used': '13',
  'x-ratelimit-resource': 'core',
  'access-control-expose-headers':
    'ETag, Link, Location, Retry-After, X-GitHub-OTP, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Used, ' +
    'X-RateLimit-Resource, X-RateLimit-Reset, X-OAuth-Scopes, X-Accepted-OAuth-Scopes, X-Poll-Interval, ' +
    'X-GitHub-Media-Type, X-GitHub-SSO, X-GitHub-Request-Id, Deprecation, Sunset',
  'access-control-allow-origin': '*',
  'strict-transport-security': 'max-age=31536000; includeSubdomains; preload',
  'x-frame-options': 'deny',
  'x-content-type-options': 'nosniff',
  'x-xss-protection': '0',
  'referrer-policy': 'origin-when-cross-origin, strict-origin-when-cross-origin',
  'content-security-policy': "default-src 'none'",
  'content-encoding': 'gzip',
  'x-github-request-id': 'C8F2:3B5A1:1A2B3C4:1B2C3D4:6746A1B0',
};

/** An API speaking IETF draft-10 with two policies, the draft's own example, plus ordinary fields. */
const draft10: Readonly<Record<string, string>> = {
  date: DATE,
  'content-type': 'application/json',
  'content-length': '1432',
  'cache-control': 'no-store',
  server: 'envoy',
  vary: 'Accept-Encoding',
  etag: '"33a64df551425fcc55e4d42a148795d9f25f89d4"',
  'x-request-id': '5f0c7b9e-2d4a-4c1b-9e8f-3a6d2b1c0e7f',
  'strict-transport-security': 'max-age=63072000',
  'ratelimit-policy': '"permin";q=50;w=60,"perhr";q=1000;w=3600',
  ratelimit: '"permin";r=10;t=30',
};

interface ParseCase {
  readonly name: string;
  readonly headers: Readonly<Record<string, string>>;
  /** What a correct parse returns, checked once before timing so a broken parser is never benchmarked. */
  readonly expected: Pick<RateLimitInfo, 'limit' | 'remaining' | 'resetAt'>;
}

const parseCases: readonly ParseCase[] = [
  {
    name: 'GitHub X-RateLimit-* (27 fields)',
    headers: github,
    expected: { limit: 5_000, remaining: 4_987, resetAt: RESET_EPOCH_SECONDS * 1_000 + 1_000 },
  },
  {
    name: 'IETF draft-10, two policies (11 fields)',
    headers: draft10,
    expected: { limit: 50, remaining: 10, resetAt: NOW + 30_000 },
  },
];

const inputs = [
  { label: 'record', wrap: (headers: Readonly<Record<string, string>>) => headers },
  { label: 'Headers', wrap: (headers: Readonly<Record<string, string>>) => new Headers(headers) },
] as const;

async function measure({ quick, build }: HeaderParsingInput): Promise<HeaderParsingOutput> {
  // The parser and the emitter as the published build emits them (see bench/compiled.ts), like the engine sections.
  const { parseRateLimit } = await importRatewise(build);
  const events = (await import(pathToFileURL(join(build, 'events.js')).href)) as typeof Events;
  const diagnostics = (await import(pathToFileURL(join(build, 'diagnostics.js')).href)) as typeof Diagnostics;
  const cases = parseCases.flatMap(({ name, headers, expected }) =>
    inputs.map(({ label, wrap }) => {
      const input = wrap(headers);
      const fn = () => parseRateLimit(input, { now: NOW, status: 200 });
      const { limit, remaining, resetAt } = fn();
      if (limit !== expected.limit || remaining !== expected.remaining || resetAt !== expected.resetAt) {
        throw new Error(
          `${name} (${label}): parsed ${JSON.stringify({ limit, remaining, resetAt })}, expected ${JSON.stringify(expected)}`,
        );
      }
      return { name: `${name}, ${label}`, headerSet: name, input: label, fn };
    }),
  );
  // Rounds of every case in turn, the median of each case's round means reported: a burst of load on a shared
  // machine lands in a few rounds, not in the figure. Nine short rounds rather than five long ones (the same time in
  // all): on the shared 2-core machine one case's round means spread up to 2 × within a run, and the median of nine
  // needs five slowed rounds to move where the median of five needed three.
  const rounds = quick ? 3 : 9;
  const perRound = quick ? { timeMs: 100, warmupMs: 30, batch: 20 } : { timeMs: 220, warmupMs: 60, batch: 100 };
  const means: number[][] = cases.map(() => []);
  for (let round = 0; round < rounds; round++) {
    const measurements = await measureSync(cases, perRound);
    measurements.forEach((m, index) => means[index]!.push(m.meanNs));
  }

  const channelOf = diagnostics.diagnosticsChannels();
  if (channelOf === undefined) throw new Error('no diagnostics channels: process.getBuiltinModule is missing');
  const emitters = [
    new events.Emitter<Events.RatewiseEvents>(),
    new events.Emitter<Events.RatewiseEvents>(undefined, channelOf),
  ];
  const [plain, withChannels] = await measureSync(
    emitters.map((emitter, index) => ({
      name: index === 0 ? 'event checks' : 'event checks, diagnostics channels',
      fn: () => {
        let heard = 0;
        for (const name of CALL_CHECKS) if (emitter.hasListeners(name)) heard++;
        return heard;
      },
    })),
    quick ? { timeMs: 150, warmupMs: 50, batch: 100 } : { timeMs: 1_500, warmupMs: 300, batch: 1_000 },
  );
  return {
    rounds,
    cases: cases.map((c, index) => ({ headerSet: c.headerSet, input: c.input, meansNs: means[index]! })),
    checks: CALL_CHECKS,
    checksNs: plain!.meanNs,
    checksWithChannelsNs: withChannels!.meanNs,
  };
}

probeOutput(await measure(probeInput() as HeaderParsingInput));
