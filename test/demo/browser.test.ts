// The report in a real browser: Debian's headless Chromium, driven by playwright-core, never a downloaded browser.
// Skipped where /usr/bin/chromium is missing (.ci/run installs it). Element boxes only, no pixel comparison.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS, hasChromium } from '../support/chromium.js';
import { renderReport } from '../../scripts/demo/report.js';
import { fourRuns, STARTED_AT } from './support.js';

const VIEWPORT = { width: 1400, height: 1000 };

describe('the HTML report in Chromium', () => {
  it.skipIf(!hasChromium)(
    'shows every run’s timeline in a 1400 × 1000 window without scrolling, with its axis title, waits and quotas',
    { timeout: 60_000 },
    async () => {
      const { chromium } = await import('playwright-core');
      const dir = await mkdtemp(join(tmpdir(), 'ratewise-report-'));
      const file = join(dir, 'report.html');
      await writeFile(
        file,
        renderReport({
          server: 'no-headers',
          limit: { limit: 10, windowMs: 2_000 },
          requests: 20,
          runs: fourRuns(),
          generatedAt: STARTED_AT,
          nodeVersion: process.versions.node,
        }),
      );
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS] });
      try {
        const page = await browser.newPage({ viewport: VIEWPORT });
        const problems: string[] = [];
        page.on('console', (message) => {
          if (message.type() === 'error' || message.type() === 'warning') problems.push(message.text());
        });
        page.on('pageerror', (error) => problems.push(error.message));
        const fetched: string[] = [];
        await page.route('**/*', async (route) => {
          const url = route.request().url();
          if (url.startsWith('file:')) return route.continue();
          fetched.push(url);
          return route.abort();
        });

        await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });

        const seen = await page.evaluate(() => {
          /** The box of an element as laid out at the top of the page, or undefined when it draws nothing. */
          const box = (el: Element) => {
            const b = el.getBoundingClientRect();
            return b.width > 0 && b.height > 0
              ? { top: b.top + window.scrollY, left: b.left, bottom: b.bottom + window.scrollY, right: b.right }
              : undefined;
          };
          const boxes = (root: Element, selector: string) =>
            [...root.querySelectorAll(selector)].map(box).filter((b) => b !== undefined);
          const fill = (selector: string) => {
            const el = document.querySelector(selector);
            return el === null ? '' : getComputedStyle(el).fill;
          };
          return {
            page: { width: document.documentElement.scrollWidth, scrolledY: window.scrollY },
            panels: [...document.querySelectorAll('svg.timeline g.panel')].map((panel) => ({
              box: box(panel),
              title: panel.querySelector('.panel-title')?.textContent ?? '',
              yTitles: boxes(panel, 'text.y-title'),
              yTitleText: panel.querySelector('text.y-title')?.textContent ?? '',
              waits: boxes(panel, 'rect.wait'),
              quotas: boxes(panel, 'g.window path.quota'),
              quotaLabels: [...panel.querySelectorAll('text.quota-label')].map((t) => t.textContent),
              bars: boxes(panel, 'rect.bar'),
            })),
            fills: {
              ok: fill('rect.bar.ok:not(.retry)'),
              retry: fill('rect.bar.ok.retry'),
              rejected: fill('rect.bar.rejected'),
              wait: fill('rect.wait'),
            },
            tableRows: document.querySelectorAll('table tbody tr').length,
          };
        });

        const inViewport = (b: { top: number; left: number; bottom: number; right: number } | undefined) =>
          b !== undefined && b.top >= 0 && b.left >= 0 && b.bottom <= VIEWPORT.height && b.right <= VIEWPORT.width;

        expect(seen.page).toEqual({ width: VIEWPORT.width, scrolledY: 0 });
        expect(seen.panels.map((p) => p.title)).toEqual([
          'ky, retry: { limit: 10 }',
          'axios + axios-retry, retries: 10, on 429',
          'fetch + hand-written retry loop',
          'ratewise, rw.fetch, no options',
        ]);
        for (const panel of seen.panels) {
          expect(inViewport(panel.box), `${panel.title}: ${JSON.stringify(panel.box)}`).toBe(true);
          expect(panel.yTitleText).toBe('requests per 250 ms');
          expect(panel.yTitles).toHaveLength(1);
          expect(panel.yTitles.every(inViewport)).toBe(true);
          expect(panel.bars.length).toBeGreaterThan(0);
          expect(panel.quotas.length).toBeGreaterThan(0);
          expect(panel.quotas.every(inViewport)).toBe(true);
          expect(panel.quotaLabels.length).toBe(panel.quotas.length);
        }
        // The retrying runs wait out the server's window between their first burst and their retries.
        for (const panel of seen.panels.slice(0, 3)) {
          expect(panel.waits.length).toBeGreaterThan(0);
          expect(panel.waits.every(inViewport)).toBe(true);
          expect(panel.quotaLabels).toContain('quota 10: 10 used, by retries');
        }
        expect(new Set(Object.values(seen.fills)).size).toBe(4);
        expect(seen.tableRows).toBe(4);
        expect(problems).toEqual([]);
        expect(fetched).toEqual([]);
      } finally {
        await browser.close();
        await rm(dir, { recursive: true, force: true });
      }
    },
  );
});
