// `ratewise inspect` as a user runs it: the CLI in a child process (through tsx, so no build is needed) against real
// rate-limited servers on 127.0.0.1. Exit codes, what is printed, and that no credential ever is.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, test, type TestContext } from 'vitest';
import type { Inspection } from '../../src/cli/inspect.js';
import { HOST } from '../../scripts/lib/loopback.js';
import { startFlaskLimiterServer } from '../support/flask-limiter.js';
import { startExpressServer, startFastifyServer, startScriptedServer, type TestServer } from '../support/servers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = 'src/cli/bin.ts';

/** Credentials every run sends, none of which may be printed. */
const SECRETS = [
  'sk_live_QUERY_0123',
  'hunter2-PASSWORD',
  'BEARER_TOKEN_456789',
  'COOKIE_SESSION_987',
  'XKEY_abcdef01',
];
const SECRET_ARGS = [
  '-H',
  `Authorization: Bearer ${SECRETS[2]!}`,
  '-H',
  `Cookie: theme=dark; session=${SECRETS[3]!}`,
  '-H',
  `X-Api-Key: ${SECRETS[4]!}`,
];
/** `origin` + a path whose URL carries a password and a secret query parameter. */
const secretUrl = (origin: string, path = '/items') => {
  const url = new URL(path, origin);
  url.username = 'me';
  url.password = SECRETS[1]!;
  url.searchParams.set('api_key', SECRETS[0]!);
  url.searchParams.set('page', '2');
  return url.href;
};

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI to its exit; its own exit is part of the test (no signal is needed to stop it). */
async function ratewise(args: readonly string[]): Promise<Run> {
  const child = spawn(process.execPath, ['--import', 'tsx', BIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, TZ: 'UTC' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), 25_000);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

function expectNoSecret(run: Run): void {
  for (const secret of SECRETS) {
    expect(run.stdout).not.toContain(secret);
    expect(run.stderr).not.toContain(secret);
  }
}

/** The server, closed when the test that started it ends (tests here run concurrently). */
async function track<T extends TestServer>(server: Promise<T>, context: TestContext): Promise<T> {
  const started = await server;
  context.onTestFinished(() => started.close());
  return started;
}

describe.concurrent('ratewise inspect against real servers', () => {
  test('express-rate-limit, draft-8: one request, the quota and the matching rate, no credential printed', async (context) => {
    const server = await track(
      startExpressServer({ limit: 3, windowMs: 60_000, standardHeaders: 'draft-8', legacyHeaders: false }),
      context,
    );
    const run = await ratewise(['inspect', secretUrl(server.url), ...SECRET_ARGS]);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    expect(server.hits().total).toBe(1);
    expect(run.stdout).toContain(`GET ${server.url}/items?api_key=[REDACTED]&page=2\n`);
    expect(run.stdout).toContain('  Authorization: [REDACTED]\n  Cookie: [REDACTED]\n  X-Api-Key: [REDACTED]\n');
    expect(run.stdout).toContain('HTTP 200 OK in ');
    expect(run.stdout).toMatch(
      /\n {2}limit 3 requests, remaining 2, window 60 s, reset \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(in 60 s\)\n/,
    );
    expect(run.stdout).toContain('  * IETF RateLimit and RateLimit-Policy (draft 08 and later) "3-in-1min"');
    expect(run.stdout).toContain('      ratelimit-policy: "3-in-1min"; q=3; w=60');
    expect(run.stdout).toContain(`      '${server.url.slice('http://'.length)}': { rate: '3/min' },`);
    expectNoSecret(run);
  });

  test('express-rate-limit over its limit: a 429 is an answer (exit 0), reported as rate limited', async (context) => {
    const server = await track(
      startExpressServer({ limit: 1, windowMs: 60_000, standardHeaders: 'draft-7', legacyHeaders: false }),
      context,
    );
    await (await fetch(server.url)).arrayBuffer();
    const run = await ratewise(['inspect', server.url, '-X', 'DELETE']);
    expect(run.code).toBe(0);
    expect(server.requests().map((r) => [r.method, r.status])).toEqual([
      ['GET', 200],
      ['DELETE', 429],
    ]);
    expect(run.stdout).toContain('HTTP 429 Too Many Requests in ');
    expect(run.stdout).toContain('rate limited: yes (HTTP 429)');
    expect(run.stdout).toContain('  * IETF RateLimit (draft 07) (selected: the most restrictive)');
    expect(run.stdout).toMatch(/\n {2}retry at .* \(in \d+ s\)\n/);
  });

  test('@fastify/rate-limit with --json: X-RateLimit-* fields, no window stated, so no rate', async (context) => {
    const server = await track(startFastifyServer({ max: 5, timeWindow: 60_000 }), context);
    const run = await ratewise(['inspect', secretUrl(server.url, '/orders'), '-X', 'post', '--json', ...SECRET_ARGS]);
    expect(run.code).toBe(0);
    expect(server.requests().map((r) => r.method)).toEqual(['POST']);
    const report = JSON.parse(run.stdout) as Inspection;
    expect(report.request.method).toBe('POST');
    expect(report.response.status).toBe(200);
    expect(report.rateLimit).toMatchObject({ isRateLimited: false, limit: 5, remaining: 4, resetInMs: 60_000 });
    expect(report.policies).toEqual([
      expect.objectContaining({
        source: 'x-ratelimit',
        limit: 5,
        remaining: 4,
        selected: true,
        fields: [
          { name: 'x-ratelimit-limit', value: '5' },
          { name: 'x-ratelimit-remaining', value: '4' },
          { name: 'x-ratelimit-reset', value: '60' },
        ],
      }),
    ]);
    expect(report.budget.rates).toEqual([]);
    expect(report.budget.notes).toEqual([
      'The server states no window: ratewise paces by its remaining and reset, no local rate needed.',
    ]);
    expectNoSecret(run);
  });

  test('@fastify/rate-limit with its draft spec: the draft 06 fields', async (context) => {
    const server = await track(startFastifyServer({ max: 5, timeWindow: 60_000, enableDraftSpec: true }), context);
    const run = await ratewise(['inspect', server.url, '--json']);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as Inspection;
    expect(report.policies.map((p) => [p.source, p.limit, p.remaining, p.fields.map((f) => f.name)])).toEqual([
      ['ietf-draft6', 5, 4, ['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset']],
    ]);
  });

  test('Flask-Limiter: an epoch-seconds reset, read by its size and said so; its Retry-After on a 200', async (context) => {
    const server = await track(startFlaskLimiterServer({ limit: '5 per 10 seconds' }), context);
    const run = await ratewise(['inspect', secretUrl(server.url), ...SECRET_ARGS]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('  * X-RateLimit-* (selected: the most restrictive)');
    expect(run.stdout).toMatch(
      /\n {4}limit 5 requests, remaining 4, window not stated, reset .* UTC \(in \d+(\.\d)? s\)\n/,
    );
    expect(run.stdout).toMatch(
      /\n {2}! x-ratelimit-reset: \d{10} has no unit of its own: read as epoch seconds by its size: a reset in /,
    );
    expect(run.stdout).toMatch(/\nOther fields read\n(?: {2}.*\n)* {2}retry-after: \d+\n/);
    expectNoSecret(run);
  });

  test('--origin sends the Origin and reports what a page at that origin may not read', async (context) => {
    const server = await track(
      startScriptedServer(({ headers }) => ({
        headers: {
          'access-control-allow-origin': String(headers.origin),
          'access-control-expose-headers': 'RateLimit',
          ratelimit: '"default";r=9;t=5',
          'ratelimit-policy': '"default";q=10;w=5',
        },
      })),
      context,
    );
    const run = await ratewise(['inspect', server.url, '--origin', 'https://app.example']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('  Origin: https://app.example\n');
    expect(run.stdout).toContain(
      '  ! Access-Control-Expose-Headers does not list ratelimit-policy: a script at https://app.example cannot read them',
    );
    expect(run.stdout).toContain(`{ rate: '10/5s' }`);
  });
});

describe.concurrent('ratewise exit codes', () => {
  test('1 when nothing listens at the address, with the reason, and no credential', async () => {
    const probe = createServer();
    probe.listen(0, HOST);
    await once(probe, 'listening');
    const { port } = probe.address() as { port: number };
    probe.close();
    await once(probe, 'close');
    const run = await ratewise(['inspect', secretUrl(`http://${HOST}:${port}`), ...SECRET_ARGS]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      `ratewise: Could not reach http://${HOST}:${port}/items?api_key=[REDACTED]&page=2: connect ECONNREFUSED ${HOST}:${port}\n`,
    );
    expectNoSecret(run);
  });

  test('1 when the server does not answer within --timeout', async (context) => {
    const server = await track(
      startScriptedServer(() => new Promise(() => undefined)),
      context,
    );
    const run = await ratewise(['inspect', server.url, '--timeout', '300', '--json']);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`ratewise: Could not reach ${server.url}/: no answer within 300 ms\n`);
    expect(JSON.parse(run.stdout)).toEqual({
      error: { kind: 'unreachable', message: `Could not reach ${server.url}/: no answer within 300 ms` },
    });
  });

  test('2 for bad usage, with the problem and where to find the usage, never the credential', async () => {
    const noUrl = await ratewise(['inspect']);
    expect(noUrl).toEqual({
      code: 2,
      stdout: '',
      stderr: 'ratewise: inspect needs a URL: `ratewise inspect <url>`\nRun `ratewise inspect --help` for usage.\n',
    });
    const badHeader = await ratewise(['inspect', 'https://api.example/', '-H', `Authorization Bearer ${SECRETS[2]!}`]);
    expect(badHeader.code).toBe(2);
    expect(badHeader.stderr).toContain("-H expects 'name: value'");
    expectNoSecret(badHeader);
  });

  test('2, not 1, for a request fetch refuses to send: a bad port, a header fetch sets itself', async (context) => {
    const server = await track(
      startScriptedServer(() => ({ body: 'ok' })),
      context,
    );
    const chunked = await ratewise(['inspect', server.url, '-H', 'Transfer-Encoding: chunked']);
    expect(chunked).toEqual({
      code: 2,
      stdout: '',
      stderr:
        'ratewise: -H Transfer-Encoding cannot be sent by fetch, which sets it itself or not at all\n' +
        'Run `ratewise inspect --help` for usage.\n',
    });
    expect(server.hits().total).toBe(0);
    const badPort = await ratewise(['inspect', `http://${HOST}:1/`]);
    expect(badPort.code).toBe(2);
    expect(badPort.stderr).toBe(
      "ratewise: The URL's port 1 is one fetch refuses to connect to (a bad port)\n" +
        'Run `ratewise inspect --help` for usage.\n',
    );
    const twice = await ratewise(['inspect', server.url, '--timeout', '100', '--timeout', '5000']);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain('ratewise: --timeout was given more than once: give it once\n');
  });

  test('0 for --help, which prints the usage', async () => {
    const run = await ratewise(['inspect', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: ratewise inspect <url> \[options\]\n/);
  });
});
