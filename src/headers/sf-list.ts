// RFC 9651 Lists, read by `structured-headers`, with a fast path in front of it for the shape every rate-limit
// server sends (`"name";q=100;w=60, …`): strings without escapes, tokens, integers, and byte sequences, with
// parameters. Anything else (a decimal, an escape, an inner list, a stray space, an error) goes to the full parser,
// which also decides what is malformed. A property test holds the two to the same result on every input.
import { base64ToArrayBuffer, type BareItem, type List, parseList, Token } from 'structured-headers';

// Character codes the reader compares against.
const TAB = 9;
const SPACE = 32;
const QUOTE = 34;
const STAR = 42;
const COMMA = 44;
const MINUS = 45;
const DOT = 46;
const COLON = 58;
const SEMICOLON = 59;
const EQUALS = 61;
const BACKSLASH = 92;
const UNDERSCORE = 95;

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isLcAlpha = (c: number): boolean => c >= 97 && c <= 122;
const isAlpha = (c: number): boolean => isLcAlpha(c) || (c >= 65 && c <= 90);
// tchar (RFC 9110) plus ":" and "/", as sf-token allows after its first character.
const TOKEN_CHAR = new Uint8Array(128);
for (const ch of "!#$%&'*+-.^_`|~:/") TOKEN_CHAR[ch.charCodeAt(0)] = 1;
for (let c = 48; c <= 57; c++) TOKEN_CHAR[c] = 1;
for (let c = 65; c <= 90; c++) TOKEN_CHAR[c] = TOKEN_CHAR[c + 32] = 1;
const BASE64_CHAR = new Uint8Array(128);
for (const ch of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=') BASE64_CHAR[ch.charCodeAt(0)] = 1;

/** Reads one field value; `undefined` means "not the common shape": let the full parser decide. */
class FastReader {
  pos = 0;
  constructor(readonly s: string) {}

  list(): List | undefined {
    const members: List = [];
    const { s } = this;
    if (s.length === 0) return undefined;
    for (;;) {
      const value = this.bareItem();
      if (value === undefined) return undefined;
      const params = this.params();
      if (params === undefined) return undefined;
      members.push([value, params]);
      if (this.pos === s.length) return members;
      while (this.pos < s.length && (s.charCodeAt(this.pos) === SPACE || s.charCodeAt(this.pos) === TAB)) this.pos++;
      if (s.charCodeAt(this.pos) !== COMMA) return undefined;
      this.pos++;
      while (this.pos < s.length && (s.charCodeAt(this.pos) === SPACE || s.charCodeAt(this.pos) === TAB)) this.pos++;
      if (this.pos === s.length) return undefined; // a trailing comma: malformed, the full parser says so
    }
  }

  params(): Map<string, BareItem> | undefined {
    const params = new Map<string, BareItem>();
    const { s } = this;
    while (s.charCodeAt(this.pos) === SEMICOLON) {
      this.pos++;
      while (s.charCodeAt(this.pos) === SPACE) this.pos++;
      const key = this.key();
      if (key === undefined) return undefined;
      if (s.charCodeAt(this.pos) === EQUALS) {
        this.pos++;
        const value = this.bareItem();
        if (value === undefined) return undefined;
        params.set(key, value);
      } else {
        params.set(key, true);
      }
    }
    return params;
  }

  key(): string | undefined {
    const { s } = this;
    const start = this.pos;
    const first = s.charCodeAt(start);
    if (!isLcAlpha(first) && first !== STAR) return undefined;
    let end = start + 1;
    for (; end < s.length; end++) {
      const c = s.charCodeAt(end);
      if (!(isLcAlpha(c) || isDigit(c) || c === UNDERSCORE || c === MINUS || c === DOT || c === STAR)) break;
    }
    this.pos = end;
    return s.slice(start, end);
  }

  bareItem(): BareItem | undefined {
    const c = this.s.charCodeAt(this.pos);
    if (c === QUOTE) return this.string();
    if (isDigit(c) || c === MINUS) return this.integer();
    if (isAlpha(c) || c === STAR) return this.token();
    if (c === COLON) return this.bytes();
    return undefined;
  }

  integer(): number | undefined {
    const { s } = this;
    let end = this.pos;
    const negative = s.charCodeAt(end) === MINUS;
    if (negative) end++;
    const digitsStart = end;
    // Up to 15 digits, the value is exact in a double: summed as read, without a substring to convert.
    let value = 0;
    for (let c = s.charCodeAt(end); end < s.length && isDigit(c); c = s.charCodeAt(++end)) value = value * 10 + c - 48;
    const digits = end - digitsStart;
    // A decimal point, no digit, or more than 15 digits: for the full parser.
    if (digits === 0 || digits > 15 || s.charCodeAt(end) === DOT) return undefined;
    this.pos = end;
    return negative ? -value : value;
  }

  string(): string | undefined {
    const { s } = this;
    const start = this.pos + 1;
    for (let end = start; end < s.length; end++) {
      const c = s.charCodeAt(end);
      if (c === QUOTE) {
        this.pos = end + 1;
        return s.slice(start, end);
      }
      if (c === BACKSLASH || c < 0x20 || c > 0x7e) return undefined;
    }
    return undefined;
  }

  token(): Token | undefined {
    const { s } = this;
    const start = this.pos;
    let end = start + 1;
    while (end < s.length) {
      const c = s.charCodeAt(end);
      if (c >= 128 || TOKEN_CHAR[c] !== 1) break;
      end++;
    }
    this.pos = end;
    return new Token(s.slice(start, end));
  }

  bytes(): ArrayBuffer | undefined {
    const { s } = this;
    const start = this.pos + 1;
    const end = s.indexOf(':', start);
    if (end < 0) return undefined;
    for (let i = start; i < end; i++) {
      const c = s.charCodeAt(i);
      if (c >= 128 || BASE64_CHAR[c] !== 1) return undefined;
    }
    try {
      const buffer = base64ToArrayBuffer(s.slice(start, end));
      this.pos = end + 1;
      return buffer;
    } catch {
      return undefined;
    }
  }
}

/** The RFC 9651 List in `value`; throws, as `structured-headers` does, when it is not one. */
export function readList(value: string): List {
  return new FastReader(value).list() ?? parseList(value);
}
