// `npm run demo`: the same burst of requests against a rate-limited API on 127.0.0.1, first the way many clients
// do it (fire everything, retry on 429), then through ratewise with nothing tuned by hand.
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import express from 'express';
import { rateLimit } from 'express-rate-limit';
import { createRatewise, parseRateLimit } from '../src/index.js';

const REQUESTS = 300;
const LIMIT = 50;
const WINDOW_MS = 2_000;

interface Tally {
  accepted: number;
  rejected: number;
}

async function startApi(tally: Tally): Promise<{ url: string; server: Server }> {
  const app = express();
  app.use((_req, res, next) => {
    res.on('finish', () => {
      if (res.statusCode === 429) tally.rejected++;
      else tally.accepted++;
    });
    next();
  });
  app.use(rateLimit({ limit: LIMIT, windowMs: WINDOW_MS, standardHeaders: 'draft-8', legacyHeaders: false }));
  app.get('/items/:id', (req, res) => {
    res.json({ id: req.params.id });
  });
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`, server };
}

/** What many clients do: send everything at once, and on a 429 wait what the server says, then try again. */
async function naiveGet(url: string): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(url);
    if (res.status !== 429 || attempt >= 20) return res;
    await res.body?.cancel();
    const seconds = Number(res.headers.get('retry-after') ?? '1');
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000 * Math.random()));
  }
}

interface RunResult {
  readonly name: string;
  readonly ok: number;
  readonly sent: number;
  readonly rejected: number;
  readonly wallMs: number;
}

async function run(name: string, get: (url: string) => Promise<Response>): Promise<RunResult> {
  const tally: Tally = { accepted: 0, rejected: 0 };
  const { url, server } = await startApi(tally);
  const started = performance.now();
  let done = 0;
  const progress = setInterval(() => {
    process.stdout.write(
      `\r  ${name}: ${String(done)}/${String(REQUESTS)} done, ${String(tally.rejected)} × 429 so far`,
    );
  }, 250);
  const statuses = await Promise.all(
    Array.from({ length: REQUESTS }, async (_, i) => {
      const res = await get(`${url}/items/${String(i)}`);
      await res.text();
      done++;
      return res.status;
    }),
  );
  clearInterval(progress);
  const wallMs = performance.now() - started;
  const lead = process.stdout.isTTY ? '\r' : '';
  process.stdout.write(
    `${lead}  ${name}: ${String(done)}/${String(REQUESTS)} done in ${(wallMs / 1000).toFixed(1)} s\n`,
  );
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  const ok = statuses.filter((s) => s === 200).length;
  return { name, ok, sent: tally.accepted + tally.rejected, rejected: tally.rejected, wallMs };
}

function table(results: readonly RunResult[]): string {
  const allowedPerSecond = LIMIT / (WINDOW_MS / 1000);
  const rows = results.map((r) => [
    r.name,
    String(r.ok),
    String(r.sent),
    String(r.rejected),
    `${(r.wallMs / 1000).toFixed(1)} s`,
    `${((100 * r.ok) / (r.wallMs / 1000) / allowedPerSecond).toFixed(0)} %`,
  ]);
  const head = ['client', 'succeeded', 'requests sent', '429s received', 'wall time', 'goodput vs allowed rate'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

console.log('ratewise demo: what a server says about its limits');
const now = Date.parse('2026-11-27T12:00:00Z');
const samples: readonly [string, Record<string, string>][] = [
  [
    'GitHub',
    {
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': '4987',
      'x-ratelimit-reset': String(now / 1000 + 1800),
      'x-ratelimit-resource': 'core',
    },
  ],
  ['IETF draft 10', { 'ratelimit-policy': '"permin";q=50;w=60', ratelimit: '"permin";r=0;t=12', 'retry-after': '12' }],
  [
    'OpenAI',
    {
      'x-ratelimit-limit-requests': '60',
      'x-ratelimit-remaining-requests': '59',
      'x-ratelimit-reset-requests': '1s',
      'x-ratelimit-remaining-tokens': '149984',
      'x-ratelimit-reset-tokens': '6m0s',
    },
  ],
];
for (const [name, headers] of samples) {
  const info = parseRateLimit(headers, { now, status: headers['retry-after'] ? 429 : 200 });
  const inS = (at: number | undefined): string => (at === undefined ? '-' : `in ${String((at - now) / 1000)} s`);
  console.log(
    `  ${name.padEnd(14)} limit ${String(info.limit)}, remaining ${String(info.remaining)}, reset ${inS(info.resetAt)}, retry ${inS(info.retryAt)}`,
  );
}

console.log(
  `\n${String(REQUESTS)} requests at once against an API that allows ${String(LIMIT)} per ${String(WINDOW_MS / 1000)} s (express-rate-limit, IETF draft-8 headers):`,
);
const naive = await run('plain fetch + retry on 429', naiveGet);
const rw = createRatewise();
const smart = await run('ratewise', (url) => rw.fetch(url));
await rw.close();
console.log(`\n${table([naive, smart])}`);
