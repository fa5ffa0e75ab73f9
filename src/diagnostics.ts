// ratewise's events on Node's diagnostics channels, `ratewise:<event>`, as undici publishes its own: APM agents
// subscribe by name, without the application's code changing. The module is looked up at run time through
// `process.getBuiltinModule` rather than imported, so that bundles for browsers carry no `node:` import and there is
// nothing to resolve where Node's modules do not exist (there, and before Node 20.16, there are no channels).
import type { EventChannel } from './events.js';

type DiagnosticsChannel = typeof import('node:diagnostics_channel');

/** The channel of an event, `ratewise:<name>`, where Node's `diagnostics_channel` exists; otherwise undefined. */
export function diagnosticsChannels(): ((name: string) => EventChannel) | undefined {
  const process = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const module = process?.getBuiltinModule?.('node:diagnostics_channel') as DiagnosticsChannel | undefined;
  return module && ((name) => module.channel(`ratewise:${name}`));
}
