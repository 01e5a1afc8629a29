// SPDX-License-Identifier: Apache-2.0
/**
 * A whole simulated system for the tests: a simulated Bao running the
 * backend built by `createBackend` from a test platform, and helpers to
 * attach driver models to its devices.
 */
import type { DeviceModel, Platform } from '../../src/config/platform.ts';
import { createBackend, type Backend, type BackendOptions } from '../../src/backend.ts';
import { SimBao, type SimOptions } from '../sim/bao.ts';
import { testPlatform, type TestPlatformOptions } from '../sim/platforms.ts';

/** A simulated system. */
export interface System {
  sim: SimBao;
  backend: Backend;
  platform: Platform;
  /** log lines of the backend */
  logs: string[];
  /** bytes each console transmitted, by device name */
  consoleOut: Map<string, number[]>;
  /** the platform entry of device `name` */
  model(name: string): DeviceModel;
}

/** Options of {@link makeSystem}. */
export interface SystemOptions {
  platform?: TestPlatformOptions;
  sim?: SimOptions;
  backend?: BackendOptions;
  /** called with the simulated Bao before the backend starts (attach passthrough devices here) */
  beforeBackend?: (sim: SimBao) => void;
}

/** Builds a simulated Bao with a backend serving the test platform. */
export function makeSystem(options: SystemOptions = {}): System {
  const platform = testPlatform(options.platform);
  const sim = new SimBao(platform, options.sim);
  options.beforeBackend?.(sim);
  const logs: string[] = [];
  const consoleOut = new Map<string, number[]>();
  const backend = createBackend(sim, platform, {
    log: (line) => {
      if (logs.length < 10000) logs.push(line);
    },
    consoleOutput: (name, bytes, start, end) => {
      let a = consoleOut.get(name);
      if (!a) consoleOut.set(name, (a = []));
      for (let i = start; i < end; i++) a.push(bytes[i]);
    },
    ...options.backend,
  });
  return {
    sim, backend, platform, logs, consoleOut,
    model(name: string): DeviceModel {
      const d = platform.devices.find((x) => x.name === name);
      if (!d) throw new Error(`no device ${name}`);
      return d;
    },
  };
}
