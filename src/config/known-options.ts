// An options object as the checks of every entry point read it: an object, no key it does not know, each option read
// once.
import { invalidOption } from '../errors.js';

/**
 * The options in `value` whose keys are `keys`, each read once (a getter or a Proxy read again could answer something
 * other than what was checked), the undefined ones left out. Throws `TypeError` for a `value` that is not an object
 * (naming it `name`) and for a key not in `keys` (naming it `label` followed by the key).
 */
export function knownOptions(
  value: unknown,
  name: string,
  keys: readonly string[],
  label: string,
): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalidOption(name, 'an object', value);
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) {
      throw new TypeError(
        `Unknown option \`${label}${key}\`; expected one of ${keys.map((k) => `\`${k}\``).join(', ')}`,
      );
    }
  }
  const read: Record<string, unknown> = {};
  for (const key of keys) {
    const option = (value as Record<string, unknown>)[key];
    if (option !== undefined) read[key] = option;
  }
  return read;
}
