// SPDX-License-Identifier: Apache-2.0
declare const __BAOJS_VERSION__: string | undefined;

/** The product version (package.json), set by the bundler; `dev` when run unbundled. */
export const BAOJS_VERSION: string = typeof __BAOJS_VERSION__ === 'string' ? __BAOJS_VERSION__ : 'dev';
