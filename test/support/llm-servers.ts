/**
 * Local stand-ins for two LLM APIs, on 127.0.0.1, for tests and benchmarks: OpenAI's `POST /v1/chat/completions` and
 * Anthropic's `POST /v1/messages`, answering as their documentation describes (bodies, SSE streams, rate-limit
 * fields, `429` bodies), so that the official SDKs talk to them unchanged.
 *
 * Each server limits requests and tokens at once, as both vendors do: one continuously refilled bucket per unit
 * (llm-limits.ts). A request is charged when it is admitted: 1 request, and its prompt tokens (one per 4 characters
 * of its messages' text, rounded up: {@link promptTokens}) plus its declared `max_tokens`. It is admitted only if
 * every bucket holds its charge; a refused request is charged nothing. Time is scaled down (by default 60 requests and
 * 20,000 tokens per 2 s), so the vendors' "per minute" is the server's `windowMs`.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { closeServer, HOST, listen } from '../../scripts/lib/loopback.js';
import { goDuration, promptTokens, rfc3339, UnitBucket } from './llm-limits.js';
import type { UnitLimit } from './llm-limits.js';
import { hitCounts } from './servers.js';
import type { RecordedRequest, TestServer } from './servers.js';

export { countTokens, promptTokens, skewedTokenCosts } from './llm-limits.js';

/** Which API a server speaks. */
export type LlmVendor = 'openai' | 'anthropic';

/**
 * A unit a server limits. `tokens` is charged prompt + `max_tokens`; Anthropic's `input-tokens` the prompt alone and
 * `output-tokens` the `max_tokens` alone.
 */
export type LlmUnit = 'requests' | 'tokens' | 'input-tokens' | 'output-tokens';

/** A request as the server read it, before it decided anything. */
export interface LlmRequest {
  /** 0 for the first request the server received, 1 for the next, … */
  readonly index: number;
  readonly model: string;
  readonly stream: boolean;
  /** Prompt tokens as the server counts them ({@link promptTokens}). */
  readonly promptTokens: number;
  /** `max_tokens` (or OpenAI's `max_completion_tokens`) as declared, else the server's default. */
  readonly maxTokens: number;
  /** The parsed JSON body. */
  readonly body: Readonly<Record<string, unknown>>;
}

/** Options of {@link startOpenAiServer} and {@link startAnthropicServer}. */
export interface LlmServerOptions {
  /** Requests per window. @default 60 */
  readonly requests?: number;
  /** Tokens per window, each request charged its prompt tokens + `max_tokens`. @default 20_000 */
  readonly tokens?: number;
  /** Anthropic only: input tokens per window (the prompt). @default unlimited (no bucket, no fields) */
  readonly inputTokens?: number;
  /** Anthropic only: output tokens per window (`max_tokens`). @default unlimited (no bucket, no fields) */
  readonly outputTokens?: number;
  /** The window every limit refills over, ms. @default 2_000 */
  readonly windowMs?: number;
  /**
   * Completion tokens a request actually produces, reported in `usage` (clamped to 0..`max_tokens`, as a model
   * stops at `max_tokens`). @default the declared `max_tokens`
   */
  readonly completionTokens?: (request: LlmRequest) => number;
  /**
   * Whether the server gives back what a request was charged beyond its actual usage once its answer ends, as
   * Anthropic does for output tokens. @default false (the charge at admission stands, as OpenAI's does)
   */
  readonly settle?: boolean;
  /** How long an admitted request waits before its answer (a stream: before its first event), ms. @default 0 */
  readonly latencyMs?: number;
  /** How many pieces a streamed answer's text comes in. @default 4 */
  readonly streamChunks?: number;
  /** Pause between two events of a stream, ms. @default 0 (each on its own turn of the event loop) */
  readonly streamIntervalMs?: number;
  /** `max_tokens` of an OpenAI request that declares none (Anthropic requires it). @default 4_096 */
  readonly defaultMaxTokens?: number;
  /**
   * Whether an OpenAI `429` carries `retry-after` (whole seconds). OpenAI's documentation names no such field; an
   * Anthropic `429` always carries it. @default false
   */
  readonly retryAfter?: boolean;
  /** How Anthropic's RFC 3339 resets are written: whole seconds as Anthropic sends them, or ms. @default 'ms' */
  readonly resetPrecision?: 'ms' | 's';
  /** The server's clock, epoch ms: every charge, refill, reset and `date` field reads it. @default Date.now */
  readonly now?: () => number;
}

/** One request as the server saw and decided it. */
export interface LlmLogEntry extends RecordedRequest {
  /** The parsed request, when its body was a valid request. */
  readonly request: LlmRequest | undefined;
  /** Whether every bucket held its charge (a `200`). */
  readonly admitted: boolean;
  /** The unit whose bucket refused it (a `429`). */
  readonly refusedBy: LlmUnit | undefined;
  /** What admission took from each bucket (nothing for a refusal). */
  readonly charged: Readonly<Partial<Record<LlmUnit, number>>>;
  /** What `usage` reported, once the answer was written. */
  readonly usage: { readonly promptTokens: number; readonly completionTokens: number } | undefined;
  /** What the server gave back at the end of the answer ({@link LlmServerOptions.settle}). */
  readonly credited: Readonly<Partial<Record<LlmUnit, number>>>;
  /** Server `now()` when the answer ended (a stream's last event), or `undefined` while it runs or if it was cut. */
  readonly finishedAt: number | undefined;
}

/** A running LLM server. */
export interface LlmServer extends TestServer {
  readonly vendor: LlmVendor;
  /** Every bucket's limit and window. */
  readonly limits: Readonly<Partial<Record<LlmUnit, UnitLimit>>>;
  /** Every request so far, in arrival order, with its decision and charges. */
  log(): readonly LlmLogEntry[];
  /** Sum of what admission charged to `unit` (before any settlement). */
  admitted(unit: LlmUnit): number;
  /** Resolves once every request received so far has been handled to its end (answered, or its client gone). */
  idle(): Promise<void>;
  /** Whole units left in each bucket now. */
  remaining(): Partial<Record<LlmUnit, number>>;
}

/** OpenAI's Chat Completions: `POST /v1/chat/completions`, `x-ratelimit-*-requests` and `-tokens`. */
export function startOpenAiServer(options: LlmServerOptions = {}): Promise<LlmServer> {
  return startLlmServer('openai', options);
}

/**
 * Anthropic's Messages: `POST /v1/messages`, `anthropic-ratelimit-*` (requests, tokens, and input/output tokens
 * when limited), `retry-after` on a `429`.
 */
export function startAnthropicServer(options: LlmServerOptions = {}): Promise<LlmServer> {
  return startLlmServer('anthropic', options);
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type Charges = Partial<Record<LlmUnit, number>>;

const PATHS: Record<LlmVendor, string> = { openai: '/v1/chat/completions', anthropic: '/v1/messages' };
const UNIT_ORDER: readonly LlmUnit[] = ['requests', 'tokens', 'input-tokens', 'output-tokens'];

/** What each unit charges a request at admission. */
function chargeOf(unit: LlmUnit, request: LlmRequest): number {
  switch (unit) {
    case 'requests':
      return 1;
    case 'tokens':
      return request.promptTokens + request.maxTokens;
    case 'input-tokens':
      return request.promptTokens;
    case 'output-tokens':
      return request.maxTokens;
  }
}

function unitLimits(vendor: LlmVendor, options: LlmServerOptions): Partial<Record<LlmUnit, UnitLimit>> {
  const windowMs = options.windowMs ?? 2_000;
  const limits: Partial<Record<LlmUnit, UnitLimit>> = {
    requests: { limit: options.requests ?? 60, windowMs },
    tokens: { limit: options.tokens ?? 20_000, windowMs },
  };
  if (vendor === 'anthropic') {
    if (options.inputTokens !== undefined) limits['input-tokens'] = { limit: options.inputTokens, windowMs };
    if (options.outputTokens !== undefined) limits['output-tokens'] = { limit: options.outputTokens, windowMs };
  }
  return limits;
}

async function startLlmServer(vendor: LlmVendor, options: LlmServerOptions): Promise<LlmServer> {
  const now = options.now ?? Date.now;
  const limits = unitLimits(vendor, options);
  const buckets = new Map<LlmUnit, UnitBucket>();
  for (const unit of UNIT_ORDER) {
    const limit = limits[unit];
    if (limit) buckets.set(unit, new UnitBucket(limit, now()));
  }
  const log: Mutable<LlmLogEntry>[] = [];
  const open = new Set<ServerResponse>();
  const pending = new Set<Promise<void>>();
  let maxInFlight = 0;
  const context: Context = { vendor, options, now, buckets };
  const server = createServer((req, res) => {
    const entry: Mutable<LlmLogEntry> = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      receivedAt: now(),
      status: undefined,
      answeredAt: undefined,
      request: undefined,
      admitted: false,
      refusedBy: undefined,
      charged: {},
      usage: undefined,
      credited: {},
      finishedAt: undefined,
    };
    const index = log.length;
    log.push(entry);
    open.add(res);
    maxInFlight = Math.max(maxInFlight, open.size);
    res.once('close', () => open.delete(res));
    const handling = serve(context, index, entry, req, res)
      .catch((error: unknown) => {
        if (!res.headersSent) head(context, entry, res, 500, {});
        res.end(`server failed: ${String(error)}`);
      })
      .finally(() => pending.delete(handling));
    pending.add(handling);
  });
  const port = await listen(server);
  let closing: Promise<void> | undefined;
  return {
    vendor,
    url: `http://${HOST}:${port}`,
    port,
    limits,
    hits: () => hitCounts(log, open.size, maxInFlight),
    requests: () =>
      log.map(({ method, url, receivedAt, status, answeredAt }) => ({ method, url, receivedAt, status, answeredAt })),
    log: () => log.map((entry) => ({ ...entry })),
    admitted: (unit) => log.reduce((sum, entry) => sum + (entry.charged[unit] ?? 0), 0),
    idle: async () => {
      while (pending.size > 0) await Promise.all(pending);
    },
    remaining: () => Object.fromEntries([...buckets].map(([unit, bucket]) => [unit, bucket.remaining(now())])),
    close: () => (closing ??= closeServer(server)),
  };
}

interface Context {
  readonly vendor: LlmVendor;
  readonly options: LlmServerOptions;
  readonly now: () => number;
  readonly buckets: ReadonlyMap<LlmUnit, UnitBucket>;
}

/** Writes the head: the status, the server's `date`, the rate-limit fields as they stand now, and `extra`. */
function head(
  context: Context,
  entry: Mutable<LlmLogEntry>,
  res: ServerResponse,
  status: number,
  extra: Readonly<Record<string, string>>,
): void {
  const at = context.now();
  res.sendDate = false;
  res.setHeader('date', new Date(at).toUTCString());
  const fields = context.vendor === 'openai' ? openAiFields(context.buckets, at) : anthropicFields(context, at);
  for (const [name, value] of Object.entries({ ...fields, ...extra })) res.setHeader(name, value);
  res.statusCode = status;
  entry.status = status;
  entry.answeredAt = at;
  res.flushHeaders();
}

function openAiFields(buckets: ReadonlyMap<LlmUnit, UnitBucket>, at: number): Record<string, string> {
  const fields: Record<string, string> = { 'x-request-id': `req_${randomUUID().replaceAll('-', '')}` };
  for (const unit of ['requests', 'tokens'] as const) {
    const bucket = buckets.get(unit)!;
    fields[`x-ratelimit-limit-${unit}`] = String(bucket.limit);
    fields[`x-ratelimit-remaining-${unit}`] = String(bucket.remaining(at));
    fields[`x-ratelimit-reset-${unit}`] = goDuration(bucket.msUntilFull(at));
  }
  return fields;
}

function anthropicFields({ buckets, options }: Context, at: number): Record<string, string> {
  const precision = options.resetPrecision ?? 'ms';
  const fields: Record<string, string> = { 'request-id': `req_${randomUUID().replaceAll('-', '')}` };
  for (const [unit, bucket] of buckets) {
    fields[`anthropic-ratelimit-${unit}-limit`] = String(bucket.limit);
    fields[`anthropic-ratelimit-${unit}-remaining`] = String(bucket.remaining(at));
    fields[`anthropic-ratelimit-${unit}-reset`] = rfc3339(at + bucket.msUntilFull(at), precision);
  }
  return fields;
}

/** A vendor-shaped error answer. */
function fail(
  context: Context,
  entry: Mutable<LlmLogEntry>,
  res: ServerResponse,
  status: number,
  type: string,
  message: string,
  extra: Readonly<Record<string, string>> = {},
): void {
  const body =
    context.vendor === 'openai'
      ? { error: { message, type, param: null, code: status === 429 ? 'rate_limit_exceeded' : null } }
      : { type: 'error', error: { type, message }, request_id: `req_${randomUUID().replaceAll('-', '')}` };
  head(context, entry, res, status, { 'content-type': 'application/json', ...extra });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The request in a body, or the message of a `400` that says what is wrong with it. */
function parseRequest(context: Context, index: number, text: string): LlmRequest | string {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return 'the body is not valid JSON';
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return 'the body is not a JSON object';
  const record = body as Record<string, unknown>;
  if (!Array.isArray(record['messages'])) return 'messages: an array is required';
  const declared = record['max_tokens'] ?? record['max_completion_tokens'];
  if (declared === undefined && context.vendor === 'anthropic') return 'max_tokens: Field required';
  const maxTokens = declared ?? context.options.defaultMaxTokens ?? 4_096;
  if (typeof maxTokens !== 'number' || !Number.isSafeInteger(maxTokens) || maxTokens < 1)
    return 'max_tokens: an integer of at least 1 is required';
  return {
    index,
    model: typeof record['model'] === 'string' ? record['model'] : 'unknown',
    stream: record['stream'] === true,
    promptTokens: promptTokens(record),
    maxTokens,
    body: record,
  };
}

/** Waits `ms` (0: one turn of the event loop), or less if the client goes away meanwhile. */
function pause(ms: number, res: ServerResponse): Promise<void> {
  if (res.destroyed) return Promise.resolve();
  if (ms <= 0) return new Promise((resolve) => setImmediate(resolve));
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      res.off('close', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    res.once('close', done);
  });
}

async function serve(
  context: Context,
  index: number,
  entry: Mutable<LlmLogEntry>,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const { vendor } = context;
  const text = await readBody(req);
  if (req.method !== 'POST' || (req.url ?? '').split('?')[0] !== PATHS[vendor]) {
    fail(context, entry, res, 404, vendor === 'openai' ? 'invalid_request_error' : 'not_found_error', 'Not found');
    return;
  }
  // Anthropic takes its key in `x-api-key`, and (as its SDK 1.x sends it) as a bearer token.
  const bearer = req.headers.authorization?.startsWith('Bearer ') === true;
  if (!(bearer || (vendor === 'anthropic' && req.headers['x-api-key']))) {
    const message = vendor === 'openai' ? "You didn't provide an API key." : 'x-api-key header is required';
    fail(context, entry, res, 401, vendor === 'openai' ? 'invalid_request_error' : 'authentication_error', message);
    return;
  }
  const request = parseRequest(context, index, text);
  if (typeof request === 'string') {
    fail(context, entry, res, 400, 'invalid_request_error', request);
    return;
  }
  entry.request = request;
  if (!admit(context, entry, request, res)) return;
  await pause(context.options.latencyMs ?? 0, res);
  const requested = context.options.completionTokens?.(request) ?? request.maxTokens;
  const completionTokens = Math.max(0, Math.min(request.maxTokens, Math.round(requested)));
  const usage = { promptTokens: request.promptTokens, completionTokens };
  const answer = vendor === 'openai' ? openAiAnswer : anthropicAnswer;
  const finished = await answer(context, entry, request, usage, res);
  if (!finished) return;
  entry.usage = usage;
  entry.finishedAt = context.now();
  if (context.options.settle) settle(context, entry, request, usage);
}

/** Charges every bucket, or answers `429` for the first that cannot hold its charge. */
function admit(context: Context, entry: Mutable<LlmLogEntry>, request: LlmRequest, res: ServerResponse): boolean {
  const at = context.now();
  const charges: Charges = {};
  let refusedBy: LlmUnit | undefined;
  let waitMs = 0;
  for (const [unit, bucket] of context.buckets) {
    const charge = chargeOf(unit, request);
    charges[unit] = charge;
    if (!bucket.holds(charge, at)) {
      refusedBy ??= unit;
      waitMs = Math.max(waitMs, bucket.msUntil(charge, at));
    }
  }
  if (refusedBy === undefined) {
    for (const [unit, bucket] of context.buckets) bucket.take(charges[unit]!, at);
    entry.admitted = true;
    entry.charged = charges;
    return true;
  }
  entry.refusedBy = refusedBy;
  const bucket = context.buckets.get(refusedBy)!;
  const charge = charges[refusedBy]!;
  const tooLarge = !Number.isFinite(waitMs);
  const extra: Record<string, string> = {};
  if (!tooLarge && (context.vendor === 'anthropic' || context.options.retryAfter))
    extra['retry-after'] = String(Math.ceil(waitMs / 1_000));
  const message =
    context.vendor === 'openai'
      ? openAiRefusal(request.model, refusedBy, bucket, charge, waitMs, at)
      : anthropicRefusal(refusedBy, bucket, tooLarge);
  fail(context, entry, res, 429, context.vendor === 'openai' ? refusedBy : 'rate_limit_error', message, extra);
  return false;
}

const OPENAI_NAMES: Partial<Record<LlmUnit, string>> = {
  requests: 'requests per min (RPM)',
  tokens: 'tokens per min (TPM)',
};

/** OpenAI's wording, `Used` and `Requested` included; a request larger than the whole limit can never go. */
function openAiRefusal(
  model: string,
  unit: LlmUnit,
  bucket: UnitBucket,
  charge: number,
  waitMs: number,
  at: number,
): string {
  const where = `for ${model} in organization org-ratewise-test on ${OPENAI_NAMES[unit]}`;
  const rest = 'Visit https://platform.openai.com/account/rate-limits to learn more.';
  if (!Number.isFinite(waitMs))
    return `Request too large ${where}: Limit ${bucket.limit}, Requested ${charge}. The input or output tokens must be reduced in order to run successfully. ${rest}`;
  const used = bucket.limit - bucket.remaining(at);
  return `Rate limit reached ${where}: Limit ${bucket.limit}, Used ${used}, Requested ${charge}. Please try again in ${goDuration(waitMs)}. ${rest}`;
}

function anthropicRefusal(unit: LlmUnit, bucket: UnitBucket, tooLarge: boolean): string {
  const what = unit === 'requests' ? 'requests' : unit.replace('-', ' ');
  if (tooLarge)
    return `This request's ${what} exceed your organization's rate limit of ${bucket.limit} ${what} per minute.`;
  return `This request would exceed your organization's rate limit of ${bucket.limit} ${what} per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits.`;
}

/** Gives back what admission charged beyond the actual usage. */
function settle(
  context: Context,
  entry: Mutable<LlmLogEntry>,
  request: LlmRequest,
  usage: { readonly completionTokens: number },
): void {
  const unused = request.maxTokens - usage.completionTokens;
  const at = context.now();
  const credited: Charges = {};
  for (const unit of ['tokens', 'output-tokens'] as const) {
    const bucket = context.buckets.get(unit);
    if (!bucket || unused <= 0) continue;
    bucket.credit(unused, at);
    credited[unit] = unused;
  }
  entry.credited = credited;
}

/** The model's text: `completionTokens` tokens by the servers' own count, in `pieces` pieces. */
function completionText(completionTokens: number, pieces: number): string[] {
  const text = 'tok '.repeat(completionTokens);
  const count = Math.max(1, Math.min(pieces, completionTokens));
  const size = Math.ceil(text.length / count / 4) * 4;
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out.length ? out : [''];
}

type Usage = { readonly promptTokens: number; readonly completionTokens: number };
type Answer = (
  context: Context,
  entry: Mutable<LlmLogEntry>,
  request: LlmRequest,
  usage: Usage,
  res: ServerResponse,
) => Promise<boolean>;

/** Writes SSE events one turn (or `streamIntervalMs`) apart; false if the client went away first. */
async function stream(
  context: Context,
  entry: Mutable<LlmLogEntry>,
  res: ServerResponse,
  events: readonly string[],
): Promise<boolean> {
  head(context, entry, res, 200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
  for (const event of events) {
    if (res.destroyed) return false;
    res.write(event);
    await pause(context.options.streamIntervalMs ?? 0, res);
  }
  if (res.destroyed) return false;
  res.end();
  return true;
}

function json(context: Context, entry: Mutable<LlmLogEntry>, res: ServerResponse, body: unknown): boolean {
  if (res.destroyed) return false;
  head(context, entry, res, 200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
  return true;
}

const openAiAnswer: Answer = async (context, entry, request, usage, res) => {
  const id = `chatcmpl-${randomUUID().replaceAll('-', '')}`;
  const created = Math.floor(context.now() / 1_000);
  const finish = usage.completionTokens < request.maxTokens ? 'stop' : 'length';
  const openAiUsage = {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.promptTokens + usage.completionTokens,
  };
  const pieces = completionText(usage.completionTokens, context.options.streamChunks ?? 4);
  if (!request.stream) {
    return json(context, entry, res, {
      id,
      object: 'chat.completion',
      created,
      model: request.model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: pieces.join(''), refusal: null },
          logprobs: null,
          finish_reason: finish,
        },
      ],
      usage: openAiUsage,
      system_fingerprint: null,
    });
  }
  const options = request.body['stream_options'] as { include_usage?: unknown } | undefined;
  const includeUsage = options?.include_usage === true;
  // With include_usage, every chunk carries `usage: null` and one last chunk, with no choices, the usage.
  const chunk = (choices: unknown[], last?: typeof openAiUsage) =>
    `data: ${JSON.stringify({
      id,
      object: 'chat.completion.chunk',
      created,
      model: request.model,
      system_fingerprint: null,
      choices,
      ...(includeUsage && { usage: last ?? null }),
    })}\n\n`;
  const delta = (value: unknown, finishReason: string | null = null) => [
    { index: 0, delta: value, logprobs: null, finish_reason: finishReason },
  ];
  const events = [
    chunk(delta({ role: 'assistant', content: '', refusal: null })),
    ...pieces.map((piece) => chunk(delta({ content: piece }))),
    chunk(delta({}, finish)),
    ...(includeUsage ? [chunk([], openAiUsage)] : []),
    'data: [DONE]\n\n',
  ];
  return stream(context, entry, res, events);
};

const anthropicAnswer: Answer = async (context, entry, request, usage, res) => {
  const id = `msg_${randomUUID().replaceAll('-', '')}`;
  const stopReason = usage.completionTokens < request.maxTokens ? 'end_turn' : 'max_tokens';
  const pieces = completionText(usage.completionTokens, context.options.streamChunks ?? 4);
  const message = { id, type: 'message', role: 'assistant', model: request.model };
  if (!request.stream) {
    return json(context, entry, res, {
      ...message,
      content: [{ type: 'text', text: pieces.join('') }],
      stop_reason: stopReason,
      stop_sequence: null,
      usage: { input_tokens: usage.promptTokens, output_tokens: usage.completionTokens },
    });
  }
  const event = (data: { type: string } & Record<string, unknown>) =>
    `event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`;
  const events = [
    event({
      type: 'message_start',
      message: {
        ...message,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: usage.promptTokens, output_tokens: 1 },
      },
    }),
    event({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
    event({ type: 'ping' }),
    ...pieces.map((text) => event({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } })),
    event({ type: 'content_block_stop', index: 0 }),
    event({
      type: 'message_delta',
      delta: { stop_reason: stopReason, stop_sequence: null },
      usage: { output_tokens: usage.completionTokens },
    }),
    event({ type: 'message_stop' }),
  ];
  return stream(context, entry, res, events);
};
