import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_TIMEOUT_MS, INSPECT_USAGE, MAX_TIMEOUT_MS, parseCli, USAGE } from '../../src/cli/args.js';
import { startScriptedServer, type TestServer } from '../support/servers.js';

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

  it.each([
    [['inspect', URL_TEXT, '--timeout', '100', '--timeout=200'], '--timeout'],
    [['inspect', '--timeout=100', URL_TEXT, '--timeout=100'], '--timeout'],
    [['inspect', URL_TEXT, '-X', 'GET', '--method', 'POST'], '-X/--method'],
    [['inspect', URL_TEXT, '-XPOST', '-X', 'POST'], '-X/--method'],
    [['inspect', URL_TEXT, '--origin', 'https://a.example', '--origin=https://b.example'], '--origin'],
  ])('refuses a single-valued option given twice, %j, naming it (the value is not a guess)', (argv, name) => {
    expect(parseCli(argv)).toEqual({ kind: 'error', message: `${name} was given more than once: give it once` });
  });

  it('takes -H as often as given, and --json twice as --json', () => {
    expect(parseCli(['inspect', URL_TEXT, '-H', 'A: 1', '-H', 'A: 2', '--json', '--json'])).toMatchObject({
      kind: 'inspect',
      options: {
        headers: [
          ['A', '1'],
          ['A', '2'],
        ],
        json: true,
      },
    });
  });

  it.each([
    ['Transfer-Encoding: chunked', '-H Transfer-Encoding cannot be sent by fetch, which sets it itself or not at all'],
    ['keep-alive: timeout=5', '-H keep-alive cannot be sent by fetch, which sets it itself or not at all'],
    ['Upgrade: websocket', '-H Upgrade cannot be sent by fetch, which sets it itself or not at all'],
    ['Expect: 100-continue', '-H Expect cannot be sent by fetch, which sets it itself or not at all'],
    ['Connection: upgrade', '-H Connection can only be close or keep-alive: fetch manages the connection'],
    [
      'X-Note: a\x01b',
      '-H X-Note: the value holds a control character or a character past U+00FF, which fetch cannot send',
    ],
    [
      'X-Price: 5 €',
      '-H X-Price: the value holds a control character or a character past U+00FF, which fetch cannot send',
    ],
  ])('refuses -H %j, which fetch would refuse to send, as a usage error', (header, message) => {
    expect(parseCli(['inspect', URL_TEXT, '-H', header])).toEqual({ kind: 'error', message });
  });

  it('sends the headers fetch accepts: Connection close or keep-alive, a tab, Latin-1 text', () => {
    const headers = ['Connection: Close', 'X-A: a\tb', 'X-City: Zürich', 'TE: trailers'];
    expect(parseCli(['inspect', URL_TEXT, ...headers.flatMap((h) => ['-H', h])])).toMatchObject({ kind: 'inspect' });
  });

  it.each(['1', '22', '6000', '10080'])('refuses a URL on port %s, which fetch refuses to connect to', (port) => {
    expect(parseCli(['inspect', `http://127.0.0.1:${port}/items`])).toEqual({
      kind: 'error',
      message: `The URL's port ${port} is one fetch refuses to connect to (a bad port)`,
    });
  });

  it('takes the ports around them, and a default port written out', () => {
    for (const url of ['http://127.0.0.1:2/', 'https://api.example:443/', 'http://api.example:80/', 'http://h:8080/']) {
      expect(parseCli(['inspect', url])).toMatchObject({ kind: 'inspect' });
    }
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

describe("what parseCli refuses as a usage error, Node's fetch refuses to send", () => {
  const open: TestServer[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((server) => server.close()));
  });

  it('refuses those headers and ports itself, and sends the ones parseCli accepts', async () => {
    const server = await startScriptedServer(() => ({ body: 'ok' }));
    open.push(server);
    const send = (url: string, header?: string) => {
      const headers: [string, string][] = [];
      if (header !== undefined) {
        const colon = header.indexOf(':');
        headers.push([header.slice(0, colon), header.slice(colon + 1).trim()]);
      }
      return fetch(url, { headers, redirect: 'manual' }).then(
        async (response) => (await response.text(), 'sent'),
        () => 'refused',
      );
    };
    const refused = ['Transfer-Encoding: chunked', 'keep-alive: 5', 'Upgrade: h2c', 'Expect: 100-continue'];
    refused.push('Connection: upgrade', 'X-Note: a\x01b', 'X-Price: 5 €');
    for (const header of refused) {
      expect(parseCli(['inspect', server.url, '-H', header]).kind).toBe('error');
      expect(await send(server.url, header)).toBe('refused');
    }
    for (const header of ['Connection: keep-alive', 'X-City: Zürich', 'X-A: a\tb']) {
      expect(parseCli(['inspect', server.url, '-H', header]).kind).toBe('inspect');
      expect(await send(server.url, header)).toBe('sent');
    }
    expect(server.hits().total).toBe(3);
    // A bad port is refused before any connection is tried.
    for (const port of ['1', '6000']) {
      expect(parseCli(['inspect', `http://127.0.0.1:${port}/`]).kind).toBe('error');
      expect(await send(`http://127.0.0.1:${port}/`)).toBe('refused');
    }
  });
});
