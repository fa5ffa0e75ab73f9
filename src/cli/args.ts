// The command line of `ratewise`: arguments in, a decision out (inspect, help, or a usage error). Pure: nothing here
// reads the environment, touches the network or prints. Error messages never echo a header value or a URL as
// typed, since either may carry a credential.
import { parseArgs } from 'node:util';
import { hasBadPort, refusedHeader } from './fetch-limits.js';

/** What `ratewise inspect` was asked to do. */
export interface InspectOptions {
  /** The URL to send to, as typed (userinfo included: the request step moves it into a header). */
  readonly url: URL;
  /** Upper-cased HTTP method. */
  readonly method: string;
  /** `-H` headers in order, names as typed, values trimmed. */
  readonly headers: readonly (readonly [name: string, value: string])[];
  /** Print one JSON document instead of the report. */
  readonly json: boolean;
  /** The `Origin` to send (an origin, such as `https://app.example`), to check what a browser page would see. */
  readonly origin?: string;
  /** How long to wait for the response head, in ms. */
  readonly timeoutMs: number;
}

export type CliDecision =
  | { readonly kind: 'inspect'; readonly options: InspectOptions }
  | { readonly kind: 'help'; readonly text: string }
  | { readonly kind: 'error'; readonly message: string };

/** How long `inspect` waits for an answer unless `--timeout` says otherwise, in ms. */
export const DEFAULT_TIMEOUT_MS = 30_000;
/** The longest `--timeout` accepted, in ms (what one timer can hold). */
export const MAX_TIMEOUT_MS = 2_147_483_647;

export const USAGE = `Usage: ratewise <command> [options]

Commands:
  inspect <url>   send one request and show what the server says about its rate limits

Run \`ratewise inspect --help\` for its options.`;

export const INSPECT_USAGE = `Usage: ratewise inspect <url> [options]

Sends one request to <url> (http or https) and prints what its answer says about the server's rate limits, as
ratewise's parseRateLimit reads them: each quota, the header family and raw fields it came from, warnings, and the
createRatewise budget that matches. Redirects are not followed. Credentials (Authorization, cookies, API keys,
tokens, a URL's user:password and secret query parameters) are sent but never printed.

Options:
  -X, --method METHOD    the request's method (default GET)
  -H, --header 'N: V'    a request header; repeat for several
  --origin ORIGIN        send \`Origin: ORIGIN\` and check what a browser page at ORIGIN may read (CORS)
  --timeout MS           how long to wait for the answer, in milliseconds (default ${DEFAULT_TIMEOUT_MS})
  --json                 print one JSON document (instants in epoch ms, durations in ms)
  -h, --help             show this help

Exit codes: 0 when the server answered (whatever the status), 1 when it could not be reached or did not answer in
time, 2 for a usage error.`;

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// fetch refuses these methods (CONNECT, TRACE, TRACK): they are usage errors, not network errors.
const FORBIDDEN_METHODS: ReadonlySet<string> = new Set(['CONNECT', 'TRACE', 'TRACK']);

/** The first sentence of a parseArgs error: it may add advice meant for other programs. */
function firstSentence(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('. ')[0]!.replace(/\.$/, '');
}

/** Reads `ratewise`'s arguments (`argv` without node and the script). Never throws. */
export function parseCli(argv: readonly string[]): CliDecision {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        method: { type: 'string', short: 'X' },
        header: { type: 'string', short: 'H', multiple: true },
        origin: { type: 'string' },
        timeout: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: true,
      tokens: true,
    });
  } catch (error) {
    return { kind: 'error', message: firstSentence(error) };
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (command === undefined || command === 'help') {
    return values.help === true || command === 'help'
      ? { kind: 'help', text: USAGE }
      : { kind: 'error', message: 'Missing command: try `ratewise inspect <url>`' };
  }
  if (command !== 'inspect') return { kind: 'error', message: `Unknown command '${command}': try \`inspect\`` };
  if (values.help === true) return { kind: 'help', text: INSPECT_USAGE };
  const repeated = repeatedOption(parsed.tokens);
  if (repeated !== undefined) return { kind: 'error', message: `${repeated} was given more than once: give it once` };
  if (rest.length === 0) return { kind: 'error', message: 'inspect needs a URL: `ratewise inspect <url>`' };
  if (rest.length > 1) return { kind: 'error', message: `inspect takes one URL, got ${rest.length} arguments` };
  return readInspect(rest[0]!, values);
}

/** The options that take one value: given twice, which one was meant is a guess. Named as the help names them. */
const SINGLE_VALUED: Readonly<Record<string, string>> = {
  method: '-X/--method',
  origin: '--origin',
  timeout: '--timeout',
};

/** The first single-valued option given more than once, as the help names it; undefined when none is. */
function repeatedOption(tokens: readonly { readonly kind: string; readonly name?: string }[]): string | undefined {
  const seen = new Set<string>();
  for (const token of tokens) {
    if (token.kind !== 'option' || token.name === undefined) continue;
    const label = SINGLE_VALUED[token.name];
    if (label === undefined) continue;
    if (seen.has(token.name)) return label;
    seen.add(token.name);
  }
  return undefined;
}

interface RawValues {
  readonly method?: string | undefined;
  readonly header?: string[] | undefined;
  readonly origin?: string | undefined;
  readonly timeout?: string | undefined;
  readonly json?: boolean | undefined;
}

function readInspect(input: string, values: RawValues): CliDecision {
  const url = readUrl(input);
  if (typeof url === 'string') return { kind: 'error', message: url };
  const method = (values.method ?? 'GET').toUpperCase();
  if (!TOKEN.test(method)) return { kind: 'error', message: `--method must be an HTTP method such as GET or POST` };
  if (FORBIDDEN_METHODS.has(method)) return { kind: 'error', message: `--method ${method} cannot be sent by fetch` };
  const headers: (readonly [string, string])[] = [];
  for (const line of values.header ?? []) {
    const header = readHeader(line);
    if (typeof header === 'string') return { kind: 'error', message: header };
    headers.push(header);
  }
  let origin: string | undefined;
  if (values.origin !== undefined) {
    origin = readOrigin(values.origin);
    if (origin === undefined) {
      return { kind: 'error', message: '--origin must be an origin such as https://app.example' };
    }
    if (headers.some(([name]) => name.toLowerCase() === 'origin')) {
      return { kind: 'error', message: 'Give the Origin once: with --origin, or with -H, not both' };
    }
  }
  const timeoutMs = values.timeout === undefined ? DEFAULT_TIMEOUT_MS : readTimeout(values.timeout);
  if (timeoutMs === undefined) {
    return {
      kind: 'error',
      message: `--timeout must be a whole number of milliseconds from 1 to ${MAX_TIMEOUT_MS}, got ${JSON.stringify(values.timeout)}`,
    };
  }
  const options: InspectOptions = { url, method, headers, json: values.json === true, timeoutMs };
  return { kind: 'inspect', options: origin === undefined ? options : { ...options, origin } };
}

/** The URL, or a message that does not repeat it (it may hold a password or a token). */
function readUrl(input: string): URL | string {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return 'The URL could not be read: give an absolute http:// or https:// URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return `The URL must be http:// or https://, got ${url.protocol}`;
  }
  if (hasBadPort(url)) return `The URL's port ${url.port} is one fetch refuses to connect to (a bad port)`;
  return url;
}

/** `name: value`, or a message naming the header (never its value). */
function readHeader(line: string): readonly [string, string] | string {
  const colon = line.indexOf(':');
  if (colon <= 0) return `-H expects 'name: value', got a header without a name and a colon`;
  const name = line.slice(0, colon).trim();
  if (!TOKEN.test(name)) return `-H expects 'name: value', got a name that is not an HTTP field name`;
  const value = line.slice(colon + 1).trim();
  // CR, LF and NUL would split the header or be refused by fetch after the fact.
  if (/[\r\n\0]/.test(value)) return `-H ${name}: the value holds a line break or a NUL`;
  return refusedHeader(name, value) ?? [name, value];
}

function readOrigin(input: string): string | undefined {
  try {
    const url = new URL(input);
    const isOrigin = url.protocol === 'http:' || url.protocol === 'https:';
    return isOrigin && url.username === '' && url.password === '' ? url.origin : undefined;
  } catch {
    return undefined;
  }
}

function readTimeout(input: string): number | undefined {
  const text = input.trim();
  const ms = /^\d+$/.test(text) ? Number(text) : NaN;
  return Number.isSafeInteger(ms) && ms >= 1 && ms <= MAX_TIMEOUT_MS ? ms : undefined;
}
