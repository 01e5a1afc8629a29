// SPDX-License-Identifier: Apache-2.0
/**
 * Bundles one uvu test file into a single ES module that QuickJS can run:
 * esbuild, platform 'neutral', target es2022, `uvu` replaced by our shim,
 * lexical bindings turned into `var` as in the firmware's bundle,
 * `uvu/assert` the real one, and any Node module import refused with a
 * message that names it.
 */
import { builtinModules, SourceMap } from 'node:module';
import type { SourceMapPayload } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { withoutTdz } from '../../scripts/build.ts';

const here = dirname(fileURLToPath(import.meta.url));
/** Repository root. */
export const ROOT = join(here, '..', '..');
const SHIM = join(here, 'uvu-shim.ts');
const PRELUDE = join(here, 'prelude.ts');

/** A bundle, or the reason there is none. */
export type BundleResult =
  | { ok: true; code: string; bytes: number; map: SourceMap }
  | { ok: false; error: string };

const nodeBuiltins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

const quickjsPlugin: esbuild.Plugin = {
  name: 'baojs-quickjs',
  setup(build) {
    build.onResolve({ filter: /^uvu$/ }, () => ({ path: SHIM }));
    build.onResolve({ filter: /^(node:)?[a-z_/]+$/ }, (args) => {
      if (!nodeBuiltins.has(args.path) && !args.path.startsWith('node:')) return undefined;
      return {
        errors: [{
          text: `imports the Node module "${args.path}", which QuickJS (and the firmware) do not have: ` +
            'engine tests and the code they test must be pure JS',
        }],
      };
    });
  },
};

function formatMessages(messages: esbuild.Message[]): string {
  return messages.map((m) => {
    const where = m.location ? `${relative(ROOT, join(ROOT, m.location.file))}:${m.location.line}:${m.location.column}: ` : '';
    return `${where}${m.text}`;
  }).join('\n');
}

/**
 * Rewrites `<bundle name>:<line>:<column>` positions in `text` (stack
 * frames printed by the engine) to the original source positions.
 * @param name the file name the bundle ran under
 */
export function mapPositions(text: string, name: string, map: SourceMap): string {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return text.replace(new RegExp(`(?:[^\\s(]*/)?${escaped}:(\\d+)(?::(\\d+))?`, 'g'), (whole, line: string, col?: string) => {
    const entry = map.findEntry(Number(line) - 1, col ? Number(col) - 1 : 0) as Partial<{ originalSource: string; originalLine: number; originalColumn: number }>;
    if (!entry || entry.originalSource === undefined || entry.originalLine === undefined) return whole;
    return `${entry.originalSource}:${entry.originalLine + 1}:${(entry.originalColumn ?? 0) + 1}`;
  });
}

/**
 * Bundles `file` (absolute path) with the engine prelude first and a call
 * of the shim's `exec()` last.
 * @returns the module's source text (UTF-8 JS), or the esbuild errors as text
 */
export async function bundleForQuickjs(file: string): Promise<BundleResult> {
  const entry = [
    `import ${JSON.stringify(PRELUDE)};`,
    `import ${JSON.stringify(file)};`,
    `import { exec } from ${JSON.stringify(SHIM)};`,
    'exec();',
    '',
  ].join('\n');
  try {
    const r = await esbuild.build({
      stdin: { contents: entry, resolveDir: ROOT, sourcefile: 'engine-entry.js', loader: 'js' },
      bundle: true,
      write: false,
      platform: 'neutral',
      target: 'es2022',
      format: 'esm',
      mainFields: ['module', 'main'],
      conditions: ['import', 'default'],
      plugins: [quickjsPlugin],
      logLevel: 'silent',
      legalComments: 'none',
      charset: 'utf8',
      sourcemap: 'external',
      sourcesContent: false,
      outfile: join(ROOT, 'build', 'engine', 'bundle.mjs'),
    });
    const js = r.outputFiles.find((f) => f.path.endsWith('.mjs'))!;
    const map = r.outputFiles.find((f) => f.path.endsWith('.map'))!;
    // the firmware's transform too, so that the engines run the code the firmware runs
    const out = withoutTdz(js.text, 'bundle.mjs', JSON.parse(map.text) as SourceMapPayload);
    const payload = out.map as SourceMapPayload;
    // Map sources relative to the repository root, so reports name test/unit/… and src/….
    payload.sources = payload.sources.map((s) => relative(ROOT, join(dirname(map.path), s)));
    return { ok: true, code: out.code, bytes: Buffer.byteLength(out.code), map: new SourceMap(payload) };
  } catch (e) {
    const failure = e as Partial<esbuild.BuildFailure> & Error;
    return { ok: false, error: failure.errors ? formatMessages(failure.errors) : failure.message };
  }
}
