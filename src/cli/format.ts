// The report of an inspection, as text for a terminal or as one JSON document. Pure: the time zone is a parameter,
// so the same inspection prints the same text anywhere.
import type { Inspection, PolicyReport } from './inspect.js';
import { formatLocalTime, formatSeconds } from './time-text.js';

/** How the text report is written. */
export interface TextOptions {
  /** The IANA time zone of local times. @default the system's */
  readonly timeZone?: string;
}

// Control characters a server could slip into a field value (C1 controls arrive as latin1 bytes) would be read by the
// terminal as commands: they are printed as escapes instead. Line feeds and tabs are the report's own.
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
const escapeControl = (ch: string): string => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** `reset 2026-05-22 14:03:07 GMT+2 (in 60 s)`. */
function instant(label: string, at: number, inMs: number, timeZone: string | undefined): string {
  return `${label} ${formatLocalTime(at, timeZone)} (in ${formatSeconds(inMs)})`;
}

interface QuotaFacts {
  readonly unit?: string;
  readonly limit?: number;
  readonly remaining?: number;
  readonly windowMs?: number;
  readonly resetAt?: number;
  readonly resetInMs?: number;
}

/** `limit 5 requests, remaining 4, window 60 s, reset … (in 60 s)`: each fact the server stated, or that it did not. */
function quotaFacts(q: QuotaFacts, timeZone: string | undefined): string {
  const unit = q.unit ?? 'requests';
  return [
    q.limit === undefined ? 'limit not stated' : `limit ${q.limit} ${q.limit === 1 ? unit.replace(/s$/, '') : unit}`,
    q.remaining === undefined ? 'remaining not stated' : `remaining ${q.remaining}`,
    q.windowMs === undefined ? 'window not stated' : `window ${formatSeconds(q.windowMs)}`,
    q.resetAt === undefined ? 'reset not stated' : instant('reset', q.resetAt, q.resetInMs!, timeZone),
  ].join(', ');
}

function policyLines(p: PolicyReport, timeZone: string | undefined): string[] {
  const name = p.name === undefined ? '' : ` "${p.name}"`;
  const lines = [
    `  ${p.selected ? '*' : '-'} ${p.family}${name}${p.selected ? ' (selected: the most restrictive)' : ''}`,
    `    ${quotaFacts(p, timeZone)}`,
  ];
  if (p.partitionKey !== undefined) lines.push(`    partition key ${p.partitionKey}`);
  for (const field of p.fields) lines.push(`      ${field.name}: ${field.value}`);
  return lines;
}

/** The report as text, one section after another; ends without a newline. */
export function formatText(inspection: Inspection, options: TextOptions = {}): string {
  const { timeZone } = options;
  const { request, response, rateLimit, policies, fields, warnings, budget } = inspection;
  const lines: string[] = [`${request.method} ${request.url}`];
  for (const header of request.headers) lines.push(`  ${header.name}: ${header.value}`);
  lines.push(
    `HTTP ${response.status}${response.statusText === '' ? '' : ` ${response.statusText}`} in ${response.elapsedMs} ms`,
  );
  if (response.location !== undefined) {
    lines.push(`  redirects to ${response.location} (not followed: inspect that URL to see its limits)`);
  }

  lines.push('', 'Rate limit, as parseRateLimit reads it');
  if (policies.length === 0 && rateLimit.retryAt === undefined) {
    lines.push('  no rate-limit fields in this answer');
  } else {
    const unit = policies.find((p) => p.selected)?.unit;
    if (policies.length > 0)
      lines.push(`  ${quotaFacts({ ...rateLimit, ...(unit !== undefined && { unit }) }, timeZone)}`);
    if (rateLimit.retryAt !== undefined) {
      lines.push(`  ${instant('retry at', rateLimit.retryAt, rateLimit.retryInMs!, timeZone)}`);
    }
    if (rateLimit.bucket !== undefined) lines.push(`  bucket ${rateLimit.bucket}`);
    if (rateLimit.scope !== undefined) lines.push(`  scope ${rateLimit.scope}`);
  }
  lines.push(`  rate limited: ${rateLimit.isRateLimited ? 'yes' : 'no'} (HTTP ${response.status})`);

  if (policies.length > 0) {
    lines.push('', `Quotas (${policies.length}), with the fields each was read from`);
    for (const p of policies) lines.push(...policyLines(p, timeZone));
  }
  const shown = new Set(policies.flatMap((p) => p.fields.map((f) => f.name)));
  const others = fields.filter((f) => !shown.has(f.name));
  if (others.length > 0) {
    lines.push('', 'Other fields read');
    for (const field of others) lines.push(`  ${field.name}: ${field.value}`);
  }
  if (warnings.length > 0) {
    lines.push('', 'Warnings');
    for (const warning of warnings) lines.push(`  ! ${warning.message}`);
  }
  lines.push(
    '',
    'The createRatewise budget that matches',
    ...budget.snippet.split('\n').map((l) => `  ${l}`.trimEnd()),
  );
  return lines.join('\n').replace(CONTROL, escapeControl);
}

/** The report as one JSON document (instants in epoch ms, durations in ms); ends without a newline. */
export function formatJson(inspection: Inspection): string {
  // JSON.stringify escapes C0 controls but not DEL and C1; the escapes keep the document the same value.
  return JSON.stringify(inspection, null, 2).replace(CONTROL, escapeControl);
}
