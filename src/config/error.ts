// SPDX-License-Identifier: Apache-2.0
/** The error every check of a platform description throws (src/config/platform.ts, src/devices/registry.ts). */

/** A configuration error naming the bad field, e.g. `devices[2].window.base`. */
export class ConfigError extends Error {
  /**
   * @param field the path of the bad field in the description, e.g. `devices[2].window.base`
   * @param message what is wrong with it; the error's message is `<field>: <message>`
   */
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'ConfigError';
  }
}
