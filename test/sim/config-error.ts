// SPDX-License-Identifier: Apache-2.0
/** The check every test of a refused platform description makes. */
import * as assert from 'uvu/assert';
import { ConfigError, validatePlatform, type Platform } from '../../src/config/platform.ts';

/**
 * Asserts that `validatePlatform(p)` throws a ConfigError whose field is
 * `field` and whose message starts with `<field>: ` (and matches `because`).
 */
export function assertRefused(p: Platform, field: string, because?: RegExp): void {
  let error: unknown;
  try {
    validatePlatform(p);
  } catch (e) {
    error = e;
  }
  if (error === undefined) assert.unreachable(`validatePlatform accepted a platform with a bad ${field}`);
  assert.instance(error, ConfigError);
  const e = error as ConfigError;
  assert.is(e.name, 'ConfigError');
  assert.is(e.field, field, e.message);
  assert.ok(e.message.startsWith(`${field}: `), `message names the field: ${e.message}`);
  if (because) assert.match(e.message, because);
}
