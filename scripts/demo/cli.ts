// The demo's command line: flags in, a decision out (run, help, or an error to print before exiting non-zero).
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { SERVER_KINDS, type ServerKind } from './server.js';

/** What to run. */
export interface DemoOptions {
  /** Calls in the burst. */
  readonly requests: number;
  readonly server: ServerKind;
  /** Absolute path of the HTML report. */
  readonly report: string;
}

export type CliDecision =
  | { readonly kind: 'run'; readonly options: DemoOptions }
  | { readonly kind: 'help'; readonly text: string }
  | { readonly kind: 'error'; readonly message: string };

/** Four windows' worth at the default limit: four clients one after another take about half a minute in all. */
export const DEFAULT_REQUESTS = 200;
export const MAX_REQUESTS = 5_000;
export const DEFAULT_REPORT = 'demo-report.html';

export const USAGE = `Usage: npm run demo -- [options]

Sends the same burst of requests to a rate-limited API on 127.0.0.1 through four clients, one after another, each
against a fresh server: ky with retry: { limit: 10 }, axios with axios-retry (retries: 10, retrying 429), fetch with
a hand-written retry loop, then ratewise with nothing tuned by hand. Prints the figures of each run and writes an
HTML report with a timeline of all four.

Options:
  --requests N         calls in the burst, all started at once (1 to ${MAX_REQUESTS}; default ${DEFAULT_REQUESTS})
  --server KIND        the API (default express):
                         express     express-rate-limit, IETF draft-8 RateLimit headers
                         fastify     @fastify/rate-limit, X-RateLimit-* headers
                         no-headers  node:http, a bare 429 with only Retry-After
  --report PATH        where to write the HTML report (default ./${DEFAULT_REPORT})
  -h, --help           show this help`;

function isServerKind(value: string): value is ServerKind {
  return (SERVER_KINDS as readonly string[]).includes(value);
}

/** Reads the demo's flags (`argv` without node and the script). Never throws. */
export function parseCli(argv: readonly string[], cwd: string): CliDecision {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        requests: { type: 'string' },
        server: { type: 'string' },
        report: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    // parseArgs may add advice meant for other programs ("Unexpected argument 'x'. This command does not take
    // positional arguments"); the first sentence is the useful part.
    const message = error instanceof Error ? error.message : String(error);
    return { kind: 'error', message: message.split('. ')[0]!.replace(/\.$/, '') };
  }
  if (values.help === true) return { kind: 'help', text: USAGE };

  let requests = DEFAULT_REQUESTS;
  if (values.requests !== undefined) {
    const text = values.requests.trim();
    requests = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(requests) || requests < 1 || requests > MAX_REQUESTS) {
      return {
        kind: 'error',
        message: `--requests must be a whole number from 1 to ${MAX_REQUESTS}, got ${JSON.stringify(values.requests)}`,
      };
    }
  }
  const server = values.server ?? 'express';
  if (!isServerKind(server)) {
    return {
      kind: 'error',
      message: `--server must be one of ${SERVER_KINDS.join(', ')}, got ${JSON.stringify(server)}`,
    };
  }
  const report = values.report ?? DEFAULT_REPORT;
  if (report.trim() === '') return { kind: 'error', message: '--report needs a file path' };
  return { kind: 'run', options: { requests, server, report: resolve(cwd, report) } };
}
