import { describe, expect, it } from 'vitest';
import { DEFAULT_REQUESTS, MAX_REQUESTS, parseCli, USAGE } from '../../scripts/demo/cli.js';

const CWD = '/home/someone/project';

describe('parseCli', () => {
  it('runs 200 requests against express, reporting to demo-report.html in the cwd, by default', () => {
    expect(parseCli([], CWD)).toEqual({
      kind: 'run',
      options: { requests: DEFAULT_REQUESTS, server: 'express', report: `${CWD}/demo-report.html` },
    });
    expect(DEFAULT_REQUESTS).toBe(200);
  });

  it('reads every flag, in either --flag value or --flag=value form', () => {
    expect(parseCli(['--requests', '40', '--server=fastify', '--report', 'out/r.html'], CWD)).toEqual({
      kind: 'run',
      options: { requests: 40, server: 'fastify', report: `${CWD}/out/r.html` },
    });
    expect(parseCli(['--server', 'no-headers', '--report', '/tmp/x.html'], CWD)).toMatchObject({
      options: { server: 'no-headers', report: '/tmp/x.html' },
    });
  });

  it('answers --help and -h with the usage, which names every flag', () => {
    expect(parseCli(['--help'], CWD)).toEqual({ kind: 'help', text: USAGE });
    expect(parseCli(['--requests', '5', '-h'], CWD)).toEqual({ kind: 'help', text: USAGE });
    for (const flag of ['--requests', '--server', '--report', '--help', 'express', 'fastify', 'no-headers']) {
      expect(USAGE).toContain(flag);
    }
  });

  it.each([
    [['--request', '5'], "Unknown option '--request'"],
    [['--verbose'], "Unknown option '--verbose'"],
    [['extra'], "Unexpected argument 'extra'"],
    [['--requests'], "Option '--requests <value>' argument missing"],
  ])('names the problem with %j', (argv, message) => {
    expect(parseCli(argv, CWD)).toEqual({ kind: 'error', message });
  });

  it.each(['0', '-1', 'abc', '1.5', '1e3', '', String(MAX_REQUESTS + 1)])('rejects --requests %j', (value) => {
    const decision = parseCli([`--requests=${value}`], CWD);
    expect(decision).toEqual({
      kind: 'error',
      message: `--requests must be a whole number from 1 to ${MAX_REQUESTS}, got ${JSON.stringify(value)}`,
    });
  });

  it('rejects an unknown server, listing the known ones', () => {
    expect(parseCli(['--server', 'koa'], CWD)).toEqual({
      kind: 'error',
      message: '--server must be one of express, fastify, no-headers, got "koa"',
    });
  });

  it('rejects an empty report path', () => {
    expect(parseCli(['--report='], CWD)).toEqual({ kind: 'error', message: '--report needs a file path' });
  });
});
