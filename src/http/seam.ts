// The one internal door of the adapters (`ratewise/axios`, `ratewise/undici`): what they need besides the public
// entry point, in one place, so that a change inside the engine does not reach into an adapter unseen.
export { carryRatewiseError, kindOf } from '../errors.js';
export { randomKey } from '../random-key.js';
export { setMarkScheduled } from './scheduled.js';
export { BODY_HEADERS, CREDENTIAL_HEADERS, inBrowser, nextHop, type RedirectHop } from './redirect.js';
// The checks of options at the door, so that an adapter reads a request's `ratewise` field and its own options as
// the core does: once, and only as checked.
export { knownOptions } from '../config/known-options.js';
export { checkRequestOptions } from '../config/request-options.js';
