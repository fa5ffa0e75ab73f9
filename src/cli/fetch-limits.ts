// What fetch refuses to send whatever the server: a URL on a port the Fetch standard blocks, and request header
// fields undici does not let a caller set. `inspect` reports them as usage errors (exit 2) rather than as a server it
// could not reach (exit 1). Pure.

/**
 * The Fetch standard's bad ports (https://fetch.spec.whatwg.org/#bad-port), which fetch refuses to connect to for
 * http and https; Node's fetch (undici) holds the same list.
 */
const BAD_PORTS: ReadonlySet<string> = new Set(
  [
    1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104, 109, 110,
    111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532,
    540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061,
    6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
  ].map(String),
);

/** Whether fetch refuses `url` for its port (a URL's default port is `''`, never refused). */
export function hasBadPort(url: URL): boolean {
  return BAD_PORTS.has(url.port);
}

/** Fields undici refuses whatever their value: it frames the message and the connection itself. */
const REFUSED_FIELDS: ReadonlySet<string> = new Set(['transfer-encoding', 'keep-alive', 'upgrade', 'expect']);

/** The `Connection` values undici accepts. */
const CONNECTION_VALUES: ReadonlySet<string> = new Set(['close', 'keep-alive']);

/**
 * Field value characters fetch sends: tab, space, visible ASCII and the bytes 0x80 to 0xFF. Others (control
 * characters, DEL, characters past U+00FF, which are not one byte) fail the request.
 */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** Why fetch would refuse the header `name: value` (a message naming the field, never its value), or undefined. */
export function refusedHeader(name: string, value: string): string | undefined {
  const lower = name.toLowerCase();
  if (REFUSED_FIELDS.has(lower)) return `-H ${name} cannot be sent by fetch, which sets it itself or not at all`;
  if (lower === 'connection' && !CONNECTION_VALUES.has(value.toLowerCase())) {
    return `-H ${name} can only be close or keep-alive: fetch manages the connection`;
  }
  if (!FIELD_VALUE.test(value)) {
    return `-H ${name}: the value holds a control character or a character past U+00FF, which fetch cannot send`;
  }
  return undefined;
}
