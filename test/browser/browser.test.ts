// ratewise in a real browser: Debian's headless Chromium (driven by playwright-core, never a downloaded browser)
// loads the library as the package ships it, and paces and pauses against real servers on 127.0.0.1.
// Skipped where /usr/bin/chromium is missing (.ci/run installs it).
import { createServer, type Server } from 'node:http';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { rateLimit } from 'express-rate-limit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS, hasChromium } from '../support/chromium.js';
import { closeServer, listen } from '../../scripts/lib/loopback.js';
import { compileRatewise, type CompiledRatewise } from '../../bench/compiled.js';

const STRUCTURED_HEADERS = dirname(fileURLToPath(import.meta.resolve('structured-headers')));

interface PageResult {
  readonly statuses: number[];
  readonly paused: string[];
  readonly warnings: number;
}

/** The page: the library through an import map, and one function the test calls. */
const PAGE = `<!doctype html><meta charset="utf-8"><title>ratewise</title>
<script type="importmap">{ "imports": { "structured-headers": "/sh/index.js" } }</script>
<script type="module">
  import { createRatewise } from '/lib/index.js';
  window.burst = async (url, n) => {
    const rw = createRatewise();
    const paused = [];
    rw.on('paused', (e) => paused.push(e.reason));
    const statuses = await Promise.all(Array.from({ length: n }, (_, i) => rw.fetch(url + '?i=' + i).then(async (r) => { await r.text(); return r.status; })));
    await rw.close();
    return { statuses, paused };
  };
  window.ready = true;
</script>`;

describe.skipIf(!hasChromium)('ratewise in Chromium', () => {
  let compiled: CompiledRatewise;
  let app: Server;
  let other: Server;
  let origin = '';
  let otherOrigin = '';
  const refusedAt: number[] = [];
  let firstAnsweredAt = Infinity;
  let hidden = 0;

  beforeAll(async () => {
    compiled = compileRatewise();
    const site = express();
    site.get('/', (_req, res) => res.type('html').send(PAGE));
    site.use('/lib', express.static(compiled.dir));
    site.use('/sh', express.static(STRUCTURED_HEADERS));
    const limiter = rateLimit({ limit: 10, windowMs: 1000, standardHeaders: 'draft-8', legacyHeaders: false });
    site.use('/api', (req, res, next) => {
      res.on('finish', () => {
        if (res.statusCode === 429) refusedAt.push(Date.now());
        else firstAnsweredAt = Math.min(firstAnsweredAt, Date.now());
      });
      limiter(req, res, next);
    });
    site.get('/api', (_req, res) => res.json({ ok: true }));
    // Same origin, so the page can read Retry-After: the first request is refused for a second.
    let throttled = 0;
    site.get('/throttle', (_req, res) => {
      if (throttled++ === 0) res.status(429).set('retry-after', '1').send('slow down');
      else res.json({ ok: true });
    });
    app = createServer(site);
    origin = `http://127.0.0.1:${String(await listen(app))}`;
    // Another origin that throttles with Retry-After but does not expose it to scripts: the browser hides it.
    other = createServer((_req, res) => {
      const first = hidden++ === 0;
      res.writeHead(first ? 429 : 200, { 'access-control-allow-origin': '*', 'retry-after': '1' });
      res.end(first ? 'slow down' : 'ok');
    });
    otherOrigin = `http://127.0.0.1:${String(await listen(other))}`;
  });

  afterAll(async () => {
    await closeServer(app);
    await closeServer(other);
    compiled.dispose();
  });

  async function inPage<T>(run: (page: import('playwright-core').Page) => Promise<T>): Promise<[T, string[]]> {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS] });
    try {
      const page = await browser.newPage();
      const warnings: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'warning') warnings.push(message.text());
      });
      await page.goto(`${origin}/`);
      await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
      return [await run(page), warnings];
    } finally {
      await browser.close();
    }
  }

  it(
    'paces a burst by the server headers: every call succeeds, none refused after the first answer',
    { timeout: 60_000 },
    async () => {
      const [result] = await inPage((page) =>
        page.evaluate(
          ([url, n]) => (window as unknown as { burst: (u: string, n: number) => Promise<PageResult> }).burst(url, n),
          [`${origin}/api`, 40] as const,
        ),
      );
      expect(result.statuses).toEqual(Array.from({ length: 40 }, () => 200));
      expect(refusedAt.filter((at) => at > firstAnsweredAt)).toEqual([]);
    },
  );

  it('pauses the whole budget on a 429 with Retry-After, then every call succeeds', { timeout: 60_000 }, async () => {
    const [result] = await inPage((page) =>
      page.evaluate(
        ([url, n]) => (window as unknown as { burst: (u: string, n: number) => Promise<PageResult> }).burst(url, n),
        [`${origin}/throttle`, 5] as const,
      ),
    );
    expect(result.statuses).toEqual([200, 200, 200, 200, 200]);
    expect(result.paused).toEqual(['retry-after']);
  });

  it(
    'warns once when a cross-origin 429 hides its headers, and backs off to success',
    { timeout: 60_000 },
    async () => {
      const [result, warnings] = await inPage((page) =>
        page.evaluate(
          ([url, n]) => (window as unknown as { burst: (u: string, n: number) => Promise<PageResult> }).burst(url, n),
          [`${otherOrigin}/x`, 1] as const,
        ),
      );
      expect(result.statuses).toEqual([200]);
      expect(result.paused).toEqual(['backoff']);
      expect(warnings.filter((w) => w.includes('Access-Control-Expose-Headers'))).toHaveLength(1);
    },
  );
});
