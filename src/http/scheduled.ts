// Node's fetch sends through undici's global dispatcher, which `ratewise/undici` may have made a ratewise one: an
// attempt `rw.fetch` has scheduled already must not be scheduled there again (the outer call would hold the slot the
// inner one waits for). The undici adapter registers how such an attempt is marked; this module never imports undici.
// The hook lives on `globalThis`, as undici's global dispatcher does, so that every copy of ratewise in the process
// marks its attempts for the dispatchers of every other.

const HOOK = Symbol.for('ratewise.markScheduled');

/** Returns the fetch init of an attempt ratewise has scheduled, marked as such. */
export type MarkScheduled = (init: RequestInit) => RequestInit;

type HookSlot = { [HOOK]?: MarkScheduled };

/** `init` marked as scheduled by ratewise, or `init` itself while no ratewise dispatcher exists in the process. */
export function markScheduled(init: RequestInit): RequestInit {
  const hook = (globalThis as HookSlot)[HOOK];
  return hook === undefined ? init : hook(init);
}

/** Sets how attempts are marked (the undici adapter does, once it makes a dispatcher). */
export function setMarkScheduled(hook: MarkScheduled): void {
  Object.defineProperty(globalThis, HOOK, { value: hook, configurable: true, writable: true, enumerable: false });
}
