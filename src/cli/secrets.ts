// What the CLI must never print: credential headers' values, a URL's password, secret query and fragment values. The
// URL rules are the library's own (http/redact.ts); headers are judged by the same names, plus the credential
// headers and the values that carry an authentication scheme.
import { isSecretParam, REDACTED } from '../http/redact.js';

const CREDENTIAL_HEADERS: ReadonlySet<string> = new Set(['authorization', 'proxy-authorization', 'cookie']);
/** Words of a credential shorter than this are not scrubbed on their own (see {@link secretsOf}). */
const MIN_WORD = 8;
// A value such as `Bearer abc…` is a credential whatever the header is called.
const AUTH_SCHEME = /^(?:basic|bearer|digest|token|bot|apikey|sso-key|ssws|oauth|negotiate|aws4-hmac-sha256)\s+\S/i;

/** Whether a request header's value must not be printed: by its name (`X-Api-Key`, `Cookie`) or its value. */
export function isSecretHeader(name: string, value: string): boolean {
  const lower = name.toLowerCase();
  return CREDENTIAL_HEADERS.has(lower) || isSecretParam(lower) || AUTH_SCHEME.test(value);
}

/** Request headers as they may be printed: secret values replaced by `[REDACTED]`. */
export function redactHeaders(
  headers: readonly (readonly [string, string])[],
): readonly (readonly [name: string, value: string])[] {
  return headers.map(([name, value]) => [name, isSecretHeader(name, value) ? REDACTED : value] as const);
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

/** The secret values of `name=value` pairs (query or fragment), as sent and decoded. */
function paramSecrets(params: string): string[] {
  const out: string[] = [];
  for (const pair of params.split('&')) {
    const eq = pair.indexOf('=');
    if (eq <= 0 || !isSecretParam(decoded(pair.slice(0, eq)))) continue;
    const value = pair.slice(eq + 1);
    out.push(value, decoded(value));
  }
  return out;
}

/**
 * Every secret string of a request, to scrub from text that did not come from the CLI itself (a network error's
 * message): credential header values and their words after the scheme, the URL's password, secret parameter values.
 */
export function secretsOf(url: URL, headers: readonly (readonly [string, string])[]): string[] {
  const out: string[] = [];
  for (const [name, value] of headers) {
    if (!isSecretHeader(name, value)) continue;
    // A message may quote the token alone; words this short would scrub ordinary text, and are in the value anyway.
    out.push(value, ...value.split(/[\s;,=]+/).filter((word) => word.length >= MIN_WORD));
  }
  if (url.password !== '') out.push(url.password, decoded(url.password));
  if (url.search.length > 1) out.push(...paramSecrets(url.search.slice(1)));
  if (url.hash.length > 1) out.push(...paramSecrets(url.hash.slice(1)));
  // Longest first, so that a secret containing another is replaced whole.
  return [...new Set(out.filter((s) => s.trim() !== ''))].sort((a, b) => b.length - a.length);
}

/** `text` with every one of `secrets` replaced by `[REDACTED]`. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join(REDACTED);
  return out;
}
