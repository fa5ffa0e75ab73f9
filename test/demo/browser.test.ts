// The report in a real browser: Debian's headless Chromium, driven by playwright-core, never a downloaded browser.
// Skipped where /usr/bin/chromium is missing (.ci/run installs it).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS, hasChromium } from '../support/chromium.js';
import { renderReport } from '../../scripts/demo/report.js';
import { plainRun, ratewiseRun, STARTED_AT } from './support.js';

describe('the HTML report in Chromium', () => {
  it.skipIf(!hasChromium)('renders the timeline of both runs, offline', { timeout: 60_000 }, async () => {
    const { chromium } = await import('playwright-core');
    const dir = await mkdtemp(join(tmpdir(), 'ratewise-report-'));
    const file = join(dir, 'report.html');
    await writeFile(
      file,
      renderReport({
        server: 'no-headers',
        limit: { limit: 50, windowMs: 2_000 },
        requests: 20,
        runs: [plainRun(), ratewiseRun()],
        generatedAt: STARTED_AT,
        nodeVersion: process.versions.node,
      }),
    );
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS] });
    try {
      const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
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

      const chart = await page.evaluate(() => {
        const svg = document.querySelector<SVGSVGElement>('svg.timeline');
        const box = svg?.getBoundingClientRect();
        const drawn = (selector: string): number =>
          [...document.querySelectorAll<SVGGraphicsElement>(selector)].filter((el) => {
            const b = el.getBBox();
            return b.width > 0 && b.height > 0;
          }).length;
        const rejected = document.querySelector('rect.bar.rejected');
        return {
          width: box?.width ?? 0,
          height: box?.height ?? 0,
          panels: document.querySelectorAll('svg.timeline g.panel').length,
          okBars: drawn('rect.bar.ok'),
          rejectedBars: drawn('rect.bar.rejected'),
          pauses: drawn('rect.pause'),
          limitLines: document.querySelectorAll('line.limit').length,
          rejectedFill: rejected === null ? '' : getComputedStyle(rejected).fill,
          okFill: getComputedStyle(document.querySelector('rect.bar.ok')!).fill,
          tableRows: document.querySelectorAll('table tbody tr').length,
        };
      });

      expect(chart.width).toBeGreaterThan(800);
      expect(chart.height).toBeGreaterThan(300);
      expect(chart.panels).toBe(2);
      expect(chart.okBars).toBeGreaterThan(0);
      expect(chart.rejectedBars).toBeGreaterThan(0);
      expect(chart.pauses).toBe(1);
      expect(chart.limitLines).toBe(2);
      expect(chart.rejectedFill).not.toBe(chart.okFill);
      expect(chart.tableRows).toBe(2);
      expect(problems).toEqual([]);
      expect(fetched).toEqual([]);
    } finally {
      await browser.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
