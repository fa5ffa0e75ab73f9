// What a reader of an answer's rate-limit fields should be warned about: a reset whose unit was guessed from its
// size, a server clock far from this one, a cached answer, fields no quota could be read from, and (with an Origin)
// what a browser page would not be allowed to read. Pure: the answer and the instants around it come in.
import type { RateLimitPolicy } from '../headers/index.js';
import { readServerDate } from '../headers/retry-after.js';
import {
  EPOCH_MS_FROM,
  EPOCH_SECONDS_FROM,
  parseCount,
  parseResetInstant,
  splitMembers,
  type TimeBase,
} from '../headers/values.js';
import { fieldGroup, fieldSources, groupLabel, type RawField } from './fields.js';
import { formatSeconds } from './time-text.js';

export type WarningCode =
  'reset-magnitude' | 'date-skew' | 'cached' | 'unread-fields' | 'cors-origin-refused' | 'cors-fields-hidden';

export interface Warning {
  readonly code: WarningCode;
  readonly message: string;
}

/** What the warnings are drawn from. */
export interface WarningInput {
  /** The rate-limit fields of the answer (as parseRateLimit reads them). */
  readonly fields: readonly RawField[];
  /** Every response header, lower-case names. */
  readonly headers: ReadonlyMap<string, string>;
  readonly policies: readonly RateLimitPolicy[];
  /** When the request left and when its answer arrived, epoch ms. */
  readonly sentAt: number;
  readonly receivedAt: number;
  /** The `Origin` sent, when one was. */
  readonly origin?: string;
}

/** Reset fields whose unit their family does not fix: read by the size of the number. */
const VARIABLE_RESETS: readonly (readonly [field: string, preferred?: string])[] = [
  ['ratelimit-reset'],
  // Discord's exact Reset-After is preferred over its epoch Reset: the latter is then not read at all.
  ['x-ratelimit-reset', 'x-ratelimit-reset-after'],
  ['x-rate-limit-reset', 'x-rate-limit-reset-after'],
];
/** A Date this far outside the span in which the server could have written it is reported as skew, in ms. */
export const SKEW_TOLERANCE_MS = 1000;
/** A Date has whole seconds: the server wrote it up to this long before the instant it names, in ms. */
const DATE_RESOLUTION_MS = 1000;

function resetMagnitude(fields: ReadonlyMap<string, string>, time: TimeBase): Warning[] {
  const out: Warning[] = [];
  for (const [name, preferred] of VARIABLE_RESETS) {
    const value = fields.get(name);
    if (value === undefined || (preferred !== undefined && fields.has(preferred))) continue;
    for (const member of splitMembers(value)) {
      const v = parseCount(member);
      if (v === undefined || v < EPOCH_SECONDS_FROM) continue;
      const unit = v >= EPOCH_MS_FROM ? 'epoch milliseconds' : 'epoch seconds';
      const instant = new Date(v >= EPOCH_MS_FROM ? v : v * 1000);
      const at = parseResetInstant(member, time);
      const said = `${name}: ${member} has no unit of its own: read as ${unit} by its size`;
      out.push({
        code: 'reset-magnitude',
        message:
          at === undefined
            ? `${said}, ${instant.toISOString()}, which is not within a day before to a year after the server's Date: left out.`
            : `${said}: a reset in ${formatSeconds(at - time.now)}, where seconds from now would be ${Math.round(v / 31_557_600)} years.`,
      });
    }
  }
  return out;
}

function dateSkew(input: WarningInput): Warning[] {
  const value = input.headers.get('date');
  const date = readServerDate(value, input.receivedAt);
  if (date === undefined) return [];
  // The server wrote its Date between the request leaving and the answer arriving, truncated to the second.
  const ahead = date - input.receivedAt;
  const behind = input.sentAt - DATE_RESOLUTION_MS - date;
  const skew = ahead > SKEW_TOLERANCE_MS ? ahead : behind > SKEW_TOLERANCE_MS ? -behind : 0;
  if (skew === 0) return [];
  return [
    {
      code: 'date-skew',
      message:
        `The server's Date (${value!}) is at least ${formatSeconds(Math.abs(skew))} ${skew > 0 ? 'ahead of' : 'behind'} ` +
        `this machine's clock. ratewise measures the server's absolute instants against its Date, so its waits are ` +
        `not distorted; code that compares them with this machine's clock would be off by as much.`,
    },
  ];
}

function cached(headers: ReadonlyMap<string, string>, fields: readonly RawField[]): Warning[] {
  const age = headers.get('age');
  if (age === undefined || !((parseCount(age.trim()) ?? 0) > 0)) return [];
  if (!fields.some((field) => fieldSources(field.name).length > 0)) return [];
  return [
    {
      code: 'cached',
      message: `Age: ${age}: this answer came from a cache, so its quota fields describe the past and were not read.`,
    },
  ];
}

function unreadFields(fields: readonly RawField[], policies: readonly RateLimitPolicy[], isCached: boolean): Warning[] {
  if (isCached) return [];
  const read = new Set(policies.map((p) => p.source));
  const unread = fields.filter((field) => {
    const sources = fieldSources(field.name);
    return sources.length > 0 && !sources.some((source) => read.has(source));
  });
  const families = [...new Set(unread.map((field) => fieldGroup(field.name)))];
  return families.map((family) => ({
    code: 'unread-fields',
    message:
      `No quota could be read from the ${groupLabel(family)} fields ` +
      `(${unread
        .filter((field) => fieldGroup(field.name) === family)
        .map((field) => field.name)
        .join(', ')}): their values are not in a form ratewise knows, so they were left out.`,
  }));
}

function cors(input: WarningInput, origin: string): Warning[] {
  const allowOrigin = input.headers.get('access-control-allow-origin')?.trim();
  if (allowOrigin !== '*' && allowOrigin !== origin) {
    return [
      {
        code: 'cors-origin-refused',
        message:
          allowOrigin === undefined
            ? `No Access-Control-Allow-Origin: a page at ${origin} cannot read this answer at all.`
            : `Access-Control-Allow-Origin is ${allowOrigin}, not ${origin}: a page at ${origin} cannot read this answer at all.`,
      },
    ];
  }
  const exposed = new Set(
    (input.headers.get('access-control-expose-headers') ?? '')
      .split(',')
      .map((name) => name.trim().toLowerCase())
      .filter((name) => name !== ''),
  );
  // `*` exposes every field, except to requests with credentials, which it does not cover.
  const credentials = input.headers.get('access-control-allow-credentials')?.trim().toLowerCase() === 'true';
  const wildcard = exposed.has('*') && !credentials;
  const wanted = input.fields.map((field) => field.name).filter((name) => name !== 'age' && name !== 'date');
  const hidden = wildcard ? [] : wanted.filter((name) => !exposed.has(name));
  if (hidden.length === 0) return [];
  const note = exposed.has('*') ? ' (`*` does not cover requests with credentials, which this server allows)' : '';
  return [
    {
      code: 'cors-fields-hidden',
      message:
        `Access-Control-Expose-Headers does not list ${hidden.join(', ')}${note}: a script at ${origin} cannot read ` +
        `them, so ratewise in a browser cannot pace by them. Ask the API to expose them.`,
    },
  ];
}

/** Every warning the answer calls for, in a fixed order. */
export function warningsOf(input: WarningInput, time: TimeBase): Warning[] {
  const fieldMap = new Map(input.fields.map((field) => [field.name, field.value]));
  const fromCache = cached(input.headers, input.fields);
  return [
    ...resetMagnitude(fieldMap, time),
    ...dateSkew(input),
    ...fromCache,
    ...unreadFields(input.fields, input.policies, fromCache.length > 0),
    ...(input.origin === undefined ? [] : cors(input, input.origin)),
  ];
}
