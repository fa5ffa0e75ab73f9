import { describe, expect, it } from 'vitest';
import { DEFAULT_TIMEOUT_MS, INSPECT_USAGE, MAX_TIMEOUT_MS, parseCli, USAGE } from '../../src/cli/args.js';

const URL_TEXT = 'https://api.example/items?page=2';

describe('parseCli', () => {
  it('inspects with GET, no header, text output and the default timeout unless told otherwise', () => {
    expect(parseCli(['inspect', URL_TEXT])).toEqual({
      kind: 'inspect',
      options: { url: new URL(URL_TEXT), method: 'GET', headers: [], json: false, timeoutMs: DEFAULT_TIMEOUT_MS },
    });
  });

  it('reads -X, repeated -H, --origin, --timeout and --json, before or after the URL', () => {
    const decision = parseCli([
      'inspect',
      '-X',
      'post',
      '-H',
      'Accept: application/json',
      URL_TEXT,
      '--header=X-Trace:  abc ',
      '--origin',
      'https://app.example/page',
      '--timeout=500',
      '--json',
    ]);
    expect(decision).toEqual({
      kind: 'inspect',
      options: {
        url: new URL(URL_TEXT),
        method: 'POST',
        headers: [
          ['Accept', 'application/json'],
          ['X-Trace', 'abc'],
        ],
        json: true,
        timeoutMs: 500,
        origin: 'https://app.example',
      },
    });
  });

  it('keeps a header whose value is empty, and a value holding colons', () => {
    expect(parseCli(['inspect', URL_TEXT, '-H', 'X-Empty:', '-H', 'X-Time: 12:00:01'])).toMatchObject({
      options: {
        headers: [
          ['X-Empty', ''],
          ['X-Time', '12:00:01'],
        ],
      },
    });
  });

  it('answers --help with the commands, and inspect --help with every option and the exit codes', () => {
    expect(parseCli(['--help'])).toEqual({ kind: 'help', text: USAGE });
    expect(parseCli(['help'])).toEqual({ kind: 'help', text: USAGE });
    expect(parseCli(['inspect', '--help'])).toEqual({ kind: 'help', text: INSPECT_USAGE });
    expect(parseCli(['inspect', URL_TEXT, '-h'])).toEqual({ kind: 'help', text: INSPECT_USAGE });
    for (const text of ['-X, --method', '-H, --header', '--origin', '--timeout', '--json', '--help', 'Exit codes']) {
      expect(INSPECT_USAGE).toContain(text);
    }
  });

  it.each([
    [[], 'Missing command: try `ratewise inspect <url>`'],
    [['fetch', URL_TEXT], "Unknown command 'fetch': try `inspect`"],
    [['inspect'], 'inspect needs a URL: `ratewise inspect <url>`'],
    [['inspect', URL_TEXT, 'https://other.example'], 'inspect takes one URL, got 2 arguments'],
    [['inspect', URL_TEXT, '--verbose'], "Unknown option '--verbose'"],
    [['inspect', URL_TEXT, '-X'], "Option '-X, --method <value>' argument missing"],
    [['inspect', 'api.example/items'], 'The URL could not be read: give an absolute http:// or https:// URL'],
    [['inspect', 'ftp://files.example/x'], 'The URL must be http:// or https://, got ftp:'],
    [['inspect', URL_TEXT, '-X', 'GET /'], '--method must be an HTTP method such as GET or POST'],
    [['inspect', URL_TEXT, '-X', 'connect'], '--method CONNECT cannot be sent by fetch'],
    [['inspect', URL_TEXT, '-H', 'no colon here'], "-H expects 'name: value', got a header without a name and a colon"],
    [['inspect', URL_TEXT, '-H', ': value'], "-H expects 'name: value', got a header without a name and a colon"],
    [['inspect', URL_TEXT, '-H', 'Bad Name: v'], "-H expects 'name: value', got a name that is not an HTTP field name"],
    [['inspect', URL_TEXT, '--origin', 'app.example'], '--origin must be an origin such as https://app.example'],
    [
      ['inspect', URL_TEXT, '--origin', 'https://u:p@app.example'],
      '--origin must be an origin such as https://app.example',
    ],
    [
      ['inspect', URL_TEXT, '--origin', 'https://a.example', '-H', 'origin: https://b.example'],
      'Give the Origin once: with --origin, or with -H, not both',
    ],
  ])('names the problem with %j', (argv, message) => {
    expect(parseCli(argv)).toEqual({ kind: 'error', message });
  });

  it.each(['0', '-1', 'abc', '1.5', '1e3', '', String(MAX_TIMEOUT_MS + 1)])('rejects --timeout %j', (value) => {
    expect(parseCli(['inspect', URL_TEXT, `--timeout=${value}`])).toEqual({
      kind: 'error',
      message: `--timeout must be a whole number of milliseconds from 1 to ${MAX_TIMEOUT_MS}, got ${JSON.stringify(value)}`,
    });
  });

  it('never repeats a header value or a URL in its messages: either may hold a credential', () => {
    const secret = 'sk-live-0123456789';
    const cases = [
      ['inspect', `ftp://user:${secret}@files.example/`],
      ['inspect', `notaurl?token=${secret}`],
      ['inspect', URL_TEXT, '-H', `Authorization Bearer ${secret}`],
      ['inspect', URL_TEXT, '-H', `X-Key: ${secret}\r\nX-Other: 1`],
      ['inspect', URL_TEXT, '--origin', `https://u:${secret}@app.example`],
      ['inspect', URL_TEXT, `--api-key=${secret}`],
    ];
    for (const argv of cases) {
      const decision = parseCli(argv);
      expect(decision.kind).toBe('error');
      expect(JSON.stringify(decision)).not.toContain(secret);
    }
  });
});
