// The report of one answer, from synthetic answers: what is read, from which fields, the warnings and the text.
import { describe, expect, it } from 'vitest';
import { parseCli } from '../../src/cli/args.js';
import { formatJson, formatText } from '../../src/cli/format.js';
import { formatLocalTime, formatSeconds } from '../../src/cli/time-text.js';
import { inspect, type Inspection } from '../../src/cli/inspect.js';
import { prepareRequest, type Answer } from '../../src/cli/request.js';

const T0 = Date.UTC(2026, 4, 22, 12, 0, 0); // Fri, 22 May 2026 12:00:00 GMT
const T0_SECONDS = T0 / 1000;
const DATE = 'Fri, 22 May 2026 12:00:00 GMT';

function answer(status: number, headers: Readonly<Record<string, string>>, sentAt = T0 - 20, receivedAt = T0): Answer {
  return {
    status,
    statusText: status === 200 ? 'OK' : status === 429 ? 'Too Many Requests' : '',
    headers: Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value] as const),
    sentAt,
    receivedAt,
  };
}

function report(argv: readonly string[], reply: Answer): Inspection {
  const decision = parseCli(['inspect', ...argv]);
  if (decision.kind !== 'inspect') throw new Error(JSON.stringify(decision));
  return inspect(prepareRequest(decision.options), reply);
}

const codes = (inspection: Inspection) => inspection.warnings.map((w) => w.code);

describe('what an answer says', () => {
  it('lists every quota with its family and the raw fields it came from, and marks the selected one', () => {
    const inspection = report(
      ['http://127.0.0.1:8080/items'],
      answer(200, {
        date: DATE,
        'ratelimit-policy': '"5-in-1min"; q=5; w=60',
        ratelimit: '"5-in-1min"; r=4; t=60',
        'x-ratelimit-limit': '5',
        'x-ratelimit-remaining': '4',
        'x-ratelimit-reset': String(T0_SECONDS + 60),
        'content-type': 'application/json',
      }),
    );
    expect(inspection.rateLimit).toEqual({
      isRateLimited: false,
      limit: 5,
      remaining: 4,
      windowMs: 60_000,
      resetAt: T0 + 60_000,
      resetInMs: 60_000,
    });
    expect(inspection.policies.map((p) => [p.source, p.name, p.selected, p.fields.map((f) => f.name)])).toEqual([
      ['ietf', '5-in-1min', true, ['ratelimit-policy', 'ratelimit']],
      ['x-ratelimit', undefined, false, ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset']],
    ]);
    expect(inspection.fields.map((f) => [f.name, f.group])).toEqual([
      ['date', 'context'],
      ['ratelimit-policy', 'ietf'],
      ['ratelimit', 'ietf'],
      ['x-ratelimit-limit', 'x-ratelimit'],
      ['x-ratelimit-remaining', 'x-ratelimit'],
      ['x-ratelimit-reset', 'x-ratelimit'],
    ]);
    expect(inspection.budget.rates).toEqual(['5/min']);
  });

  it('ties vendor dimensions to their own fields: OpenAI requests and tokens, Kong periods', () => {
    const openai = report(
      ['https://api.example/'],
      answer(200, {
        'x-ratelimit-limit-requests': '500',
        'x-ratelimit-remaining-requests': '499',
        'x-ratelimit-reset-requests': '120ms',
        'x-ratelimit-limit-tokens': '30000',
        'x-ratelimit-remaining-tokens': '29000',
        'x-ratelimit-reset-tokens': '2s',
      }),
    );
    expect(openai.policies.map((p) => [p.name, p.fields.map((f) => f.name)])).toEqual([
      ['requests', ['x-ratelimit-limit-requests', 'x-ratelimit-remaining-requests', 'x-ratelimit-reset-requests']],
      ['tokens', ['x-ratelimit-limit-tokens', 'x-ratelimit-remaining-tokens', 'x-ratelimit-reset-tokens']],
    ]);
    const kong = report(
      ['https://api.example/'],
      answer(200, {
        'x-ratelimit-limit-minute': '60',
        'x-ratelimit-remaining-minute': '59',
        'x-ratelimit-limit-hour': '1000',
        'x-ratelimit-remaining-hour': '990',
      }),
    );
    expect(kong.policies.map((p) => [p.name, p.windowMs, p.fields.map((f) => f.name)])).toEqual([
      ['minute', 60_000, ['x-ratelimit-limit-minute', 'x-ratelimit-remaining-minute']],
      ['hour', 3_600_000, ['x-ratelimit-limit-hour', 'x-ratelimit-remaining-hour']],
    ]);
    expect(kong.budget.rates).toEqual(['60/min', '1000/hour']);
  });

  it('reports a 429 as rate limited, with its retry time', () => {
    const inspection = report(['https://api.example/'], answer(429, { date: DATE, 'retry-after': '30' }));
    expect(inspection.rateLimit).toEqual({ isRateLimited: true, retryAt: T0 + 30_000, retryInMs: 30_000 });
    expect(inspection.policies).toEqual([]);
  });

  it('shows where a redirect points, its secrets redacted, without following it', () => {
    const inspection = report(['https://api.example/old'], answer(302, { location: '/new?access_token=abc&page=2' }));
    expect(inspection.response.location).toBe('https://api.example/new?access_token=[REDACTED]&page=2');
  });
});

describe('warnings', () => {
  it('says how a bare reset number was read by its size: epoch seconds, epoch ms, or left out', () => {
    const seconds = report(
      ['https://a.example/'],
      answer(200, { date: DATE, 'x-ratelimit-remaining': '3', 'x-ratelimit-reset': String(T0_SECONDS + 30) }),
    );
    expect(seconds.warnings).toEqual([
      {
        code: 'reset-magnitude',
        message: `x-ratelimit-reset: ${T0_SECONDS + 30} has no unit of its own: read as epoch seconds by its size: a reset in 30 s, where seconds from now would be 56 years.`,
      },
    ]);
    const ms = report(
      ['https://a.example/'],
      answer(200, { date: DATE, 'ratelimit-remaining': '3', 'ratelimit-reset': String(T0 + 5000) }),
    );
    expect(ms.warnings[0]?.message).toMatch(
      /^ratelimit-reset: \d+ has no unit of its own: read as epoch milliseconds by its size: a reset in 5 s/,
    );
    const outOfWindow = report(
      ['https://a.example/'],
      answer(200, { date: DATE, 'x-ratelimit-remaining': '3', 'x-ratelimit-reset': '1000000000' }),
    );
    expect(outOfWindow.warnings).toEqual([
      {
        code: 'reset-magnitude',
        message:
          "x-ratelimit-reset: 1000000000 has no unit of its own: read as epoch seconds by its size, 2001-09-09T01:46:40.000Z, which is not within a day before to a year after the server's Date: left out.",
      },
    ]);
  });

  it('says nothing of a reset in seconds from now, of a family that fixes the unit, or of an unread Reset beside Reset-After', () => {
    for (const headers of [
      { 'x-ratelimit-remaining': '3', 'x-ratelimit-reset': '60' },
      { ratelimit: 'limit=10, remaining=3, reset=60' },
      { 'x-ratelimit-remaining': '3', 'x-ratelimit-reset': String(T0_SECONDS + 2), 'x-ratelimit-reset-after': '1.5' },
    ]) {
      expect(report(['https://a.example/'], answer(200, { date: DATE, ...headers })).warnings).toEqual([]);
    }
  });

  it('reports a server Date well ahead of or behind the span in which it was written', () => {
    const at = (date: number) => report(['https://a.example/'], answer(200, { date: new Date(date).toUTCString() }));
    // Sent at T0 - 20 ms, received at T0: a Date from T0 - 1 s (truncated) to T0 is on time, and 1 s more is let pass.
    for (const date of [T0 - 2000, T0 - 1000, T0, T0 + 1000]) expect(codes(at(date))).toEqual([]);
    const ahead = at(T0 + 5000);
    expect(codes(ahead)).toEqual(['date-skew']);
    expect(ahead.warnings[0]?.message).toMatch(
      /^The server's Date \(Fri, 22 May 2026 12:00:05 GMT\) is at least 5 s ahead of this machine's clock\./,
    );
    expect(at(T0 - 10_000).warnings[0]?.message).toMatch(/is at least 9 s behind this machine's clock/);
  });

  it('warns that a cached answer was not read, and names fields no quota could be read from', () => {
    const cachedAnswer = report(['https://a.example/'], answer(200, { age: '30', 'x-ratelimit-remaining': '3' }));
    expect(cachedAnswer.policies).toEqual([]);
    expect(codes(cachedAnswer)).toEqual(['cached']);
    const unreadable = report(
      ['https://a.example/'],
      answer(200, { 'x-ratelimit-limit': 'lots', 'x-ratelimit-remaining': '-1' }),
    );
    expect(unreadable.warnings).toEqual([
      {
        code: 'unread-fields',
        message:
          'No quota could be read from the X-RateLimit-* fields (x-ratelimit-limit, x-ratelimit-remaining): their values are not in a form ratewise knows, so they were left out.',
      },
    ]);
  });

  it('with --origin, says when a page at that origin cannot read the answer or its rate-limit fields', () => {
    const fields = { date: DATE, ratelimit: '"d";r=4;t=60', 'ratelimit-policy': '"d";q=5;w=60', 'retry-after': '1' };
    const check = (headers: Readonly<Record<string, string>>) =>
      report(['https://api.example/', '--origin', 'https://app.example'], answer(200, { ...fields, ...headers }));
    expect(check({}).warnings).toEqual([
      {
        code: 'cors-origin-refused',
        message: 'No Access-Control-Allow-Origin: a page at https://app.example cannot read this answer at all.',
      },
    ]);
    expect(check({ 'access-control-allow-origin': 'https://other.example' }).warnings[0]?.message).toBe(
      'Access-Control-Allow-Origin is https://other.example, not https://app.example: a page at https://app.example cannot read this answer at all.',
    );
    const partly = check({
      'access-control-allow-origin': 'https://app.example',
      'access-control-expose-headers': 'RateLimit, X-Other',
    });
    expect(partly.warnings).toEqual([
      {
        code: 'cors-fields-hidden',
        message:
          'Access-Control-Expose-Headers does not list ratelimit-policy, retry-after: a script at https://app.example cannot read them, so ratewise in a browser cannot pace by them. Ask the API to expose them.',
      },
    ]);
    const all = check({
      'access-control-allow-origin': '*',
      'access-control-expose-headers': 'RateLimit, RateLimit-Policy, Retry-After',
    });
    expect(all.warnings).toEqual([]);
    expect(check({ 'access-control-allow-origin': '*', 'access-control-expose-headers': '*' }).warnings).toEqual([]);
    const credentialed = check({
      'access-control-allow-origin': 'https://app.example',
      'access-control-allow-credentials': 'true',
      'access-control-expose-headers': '*',
    });
    expect(credentialed.warnings[0]?.message).toContain(
      '(`*` does not cover requests with credentials, which this server allows)',
    );
  });

  it('checks nothing of CORS without --origin', () => {
    expect(report(['https://api.example/'], answer(200, { ratelimit: '"d";r=4;t=60' })).warnings).toEqual([]);
  });
});

describe('the text report', () => {
  it('prints local times in the given zone, and durations in seconds', () => {
    expect(formatLocalTime(T0, 'UTC')).toBe('2026-05-22 12:00:00 UTC');
    expect(formatLocalTime(T0, 'Europe/Paris')).toBe('2026-05-22 14:00:00 GMT+2');
    expect(formatSeconds(60_000)).toBe('60 s');
    expect(formatSeconds(59_440)).toBe('59.4 s');
  });

  it('reads as documented', () => {
    const inspection = report(
      [
        'http://127.0.0.1:8080/items?api_key=sk_live_123',
        '-H',
        'Authorization: Bearer abc',
        '--origin',
        'https://app.example',
      ],
      answer(200, {
        date: DATE,
        'ratelimit-policy': '"5-in-1min"; q=5; w=60',
        ratelimit: '"5-in-1min"; r=4; t=60',
        'x-ratelimit-limit': '5',
        'x-ratelimit-remaining': '4',
        'x-ratelimit-reset': String(T0_SECONDS + 60),
        'access-control-allow-origin': '*',
        'access-control-expose-headers': 'RateLimit, RateLimit-Policy',
      }),
    );
    expect(formatText(inspection, { timeZone: 'UTC' })).toBe(
      [
        'GET http://127.0.0.1:8080/items?api_key=[REDACTED]',
        '  Authorization: [REDACTED]',
        '  User-Agent: ratewise-inspect',
        '  Origin: https://app.example',
        'HTTP 200 OK in 20 ms',
        '',
        'Rate limit, as parseRateLimit reads it',
        '  limit 5 requests, remaining 4, window 60 s, reset 2026-05-22 12:01:00 UTC (in 60 s)',
        '  rate limited: no (HTTP 200)',
        '',
        'Quotas (2), with the fields each was read from',
        '  * IETF RateLimit and RateLimit-Policy (draft 08 and later) "5-in-1min" (selected: the most restrictive)',
        '    limit 5 requests, remaining 4, window 60 s, reset 2026-05-22 12:01:00 UTC (in 60 s)',
        '      ratelimit-policy: "5-in-1min"; q=5; w=60',
        '      ratelimit: "5-in-1min"; r=4; t=60',
        '  - X-RateLimit-*',
        '    limit 5 requests, remaining 4, window not stated, reset 2026-05-22 12:01:00 UTC (in 60 s)',
        '      x-ratelimit-limit: 5',
        '      x-ratelimit-remaining: 4',
        `      x-ratelimit-reset: ${T0_SECONDS + 60}`,
        '',
        'Other fields read',
        '  date: Fri, 22 May 2026 12:00:00 GMT',
        '',
        'Warnings',
        `  ! x-ratelimit-reset: ${T0_SECONDS + 60} has no unit of its own: read as epoch seconds by its size: a reset in 60 s, where seconds from now would be 56 years.`,
        '  ! Access-Control-Expose-Headers does not list x-ratelimit-limit, x-ratelimit-remaining, x-ratelimit-reset: a script at https://app.example cannot read them, so ratewise in a browser cannot pace by them. Ask the API to expose them.',
        '',
        'The createRatewise budget that matches',
        "  import { createRatewise } from 'ratewise';",
        '',
        '  const rw = createRatewise({',
        '    budgets: {',
        "      '127.0.0.1:8080': { rate: '5/min' },",
        '    },',
        '  });',
      ].join('\n'),
    );
  });

  it('says when an answer carries no rate-limit field', () => {
    const text = formatText(report(['https://api.example/'], answer(404, {})), { timeZone: 'UTC' });
    expect(text).toContain(
      'HTTP 404 in 20 ms\n\nRate limit, as parseRateLimit reads it\n  no rate-limit fields in this answer\n  rate limited: no (HTTP 404)',
    );
    expect(text).toContain('// This answer describes no quota');
  });

  it('prints control characters a server sent as escapes, never as terminal commands', () => {
    const inspection = report(
      ['https://api.example/'],
      answer(200, {
        ratelimit: '"a\u009b31m";r=1;t=5',
        'ratelimit-policy': '"a\u009b31m";q=2;w=5',
        'x-ratelimit-remaining': 'x\u001b[2J',
      }),
    );
    const text = formatText(inspection, { timeZone: 'UTC' });
    const json = formatJson(inspection);
    for (const output of [text, json]) {
      expect(output).not.toContain('\u001b');
      expect(output).not.toContain('\u009b');
    }
    expect(text).toContain('ratelimit: "a\\u009b31m";r=1;t=5');
    expect(text).toContain('x-ratelimit-remaining: x\\u001b[2J');
    expect(JSON.parse(json)).toEqual(JSON.parse(JSON.stringify(inspection)));
  });

  it('prints JSON that holds the same facts, instants in epoch ms', () => {
    const inspection = report(['https://api.example/?token=t0k3n'], answer(429, { 'retry-after': '30' }));
    const json = JSON.parse(formatJson(inspection)) as Inspection;
    expect(json).toEqual(JSON.parse(JSON.stringify(inspection)));
    expect(json.request.url).toBe('https://api.example/?token=[REDACTED]');
    expect(json.rateLimit.retryAt).toBe(T0 + 30_000);
  });
});
