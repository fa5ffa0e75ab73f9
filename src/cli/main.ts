// `ratewise` from arguments to an exit code, with the outside world passed in: tests run it in-process against
// real servers, and bin.ts runs it with the process's own streams, fetch and clock.
import { parseCli } from './args.js';
import { formatJson, formatText } from './format.js';
import { inspect } from './inspect.js';
import { prepareRequest, sendOnce } from './request.js';

/** What the CLI needs from its process. */
export interface CliIo {
  /** Writes a complete line (or lines) to standard output. */
  readonly stdout: (text: string) => void;
  /** Writes a complete line (or lines) to standard error. */
  readonly stderr: (text: string) => void;
  readonly fetch: typeof globalThis.fetch;
  /** The clock, epoch ms. */
  readonly now: () => number;
  /** The IANA time zone of local times in the report. @default the system's */
  readonly timeZone?: string;
}

/** Exit codes: any HTTP answer, no answer (network error or timeout), bad usage. */
export const EXIT = { answered: 0, unreachable: 1, usage: 2 } as const;

/** Runs `ratewise` with `argv` (without node and the script); resolves with the exit code. Never rejects. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const decision = parseCli(argv);
  if (decision.kind === 'help') {
    io.stdout(decision.text);
    return EXIT.answered;
  }
  if (decision.kind === 'error') {
    io.stderr(`ratewise: ${decision.message}\nRun \`ratewise inspect --help\` for usage.`);
    return EXIT.usage;
  }
  const { options } = decision;
  const request = prepareRequest(options);
  const outcome = await sendOnce(request, options.timeoutMs, io);
  if (outcome.kind === 'unreachable') {
    io.stderr(`ratewise: ${outcome.message}`);
    if (options.json) io.stdout(JSON.stringify({ error: { kind: 'unreachable', message: outcome.message } }, null, 2));
    return EXIT.unreachable;
  }
  const inspection = inspect(request, outcome.answer);
  io.stdout(
    options.json
      ? formatJson(inspection)
      : formatText(inspection, io.timeZone === undefined ? {} : { timeZone: io.timeZone }),
  );
  return EXIT.answered;
}
