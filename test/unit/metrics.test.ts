// SPDX-License-Identifier: Apache-2.0
/**
 * The per-device metrics record (src/metrics.ts): after real traffic from
 * the driver models, each field says what was served where, the `Ctrl-] s`
 * lines print it, and the `Ctrl-] p` JSON reads back as the same record.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { allMetrics, deviceMetrics, metricsLines, type DeviceMetrics } from '../../src/metrics.ts';
import { statsLinesFrom } from '../../src/stats.ts';
import { BlkDriver } from '../driver/blk.ts';
import { makeSystem } from '../driver/system.ts';
import { MmioReg } from '../../src/virtio/spec.ts';

test('a blk device\'s record counts what the driver did, in every group', () => {
  const s = makeSystem({ sim: { regShadow: false } });
  const b = new BlkDriver(s.sim, s.model('vda'));
  const vda = s.backend.devices.get('vda')!;
  const before = deviceMetrics(s.sim, s.backend, vda);
  const data = new Uint8Array(4096).map((_, i) => i * 7);
  assert.is(b.write(8, data).status, 0);
  const r = b.read(8, 8);
  assert.is(r.status, 0);
  assert.equal(Array.from(r.data!), Array.from(data));
  for (let i = 0; i < 5; i++) b.drv.readl(MmioReg.Status);
  const m = deviceMetrics(s.sim, s.backend, vda);
  assert.is(m.name, 'vda');
  assert.is(m.kind, 'blk');
  assert.is(m.dmId, s.model('vda').dmId);
  // two requests, each a QueueNotify; five Status reads, all in TypeScript (no shadow, no C on the simulated host)
  assert.is(m.device.chains - before.device.chains, 2);
  assert.is(m.device.reads - before.device.reads, 1);
  assert.is(m.device.writes - before.device.writes, 1);
  assert.is(m.device.bytesRead - before.device.bytesRead, 4096);
  assert.is(m.device.bytesWritten - before.device.bytesWritten, 4096);
  assert.is(m.transport.kicks - before.transport.kicks, 2);
  assert.ok(m.transport.reads - before.transport.reads >= 5);
  assert.is(m.remio.reads - before.remio.reads, m.transport.reads - before.transport.reads);
  assert.is(m.remio.requests, m.remio.reads + m.remio.writes);
  assert.is(m.c, null);
  // the simulated host measures no service windows
  assert.equal(m.service.notify, { windows: 0, meanUs: null, meanJsUs: null });
});

test('Ctrl-] s prints every record; Ctrl-] p\'s JSON reads back as the same records', () => {
  const s = makeSystem();
  const b = new BlkDriver(s.sim, s.model('vda'));
  assert.is(b.flush().status, 0);
  const records = allMetrics(s.sim, s.backend);
  assert.equal(records.map((m) => m.name), [...s.backend.devices.keys()]);
  const lines = metricsLines(s.sim, s.backend);
  assert.is(lines.length, records.length + 1);
  assert.match(lines[lines.length - 1], /^baojs: metrics heap: used \d+ KiB, high water \d+ KiB of \d+ KiB$/);
  lines.slice(0, -1).forEach((line, i) => {
    const m = /^baojs: metrics (\w+): (\{.*\})$/.exec(line);
    assert.ok(m, line);
    assert.is(m[1], records[i].name);
    assert.equal(JSON.parse(m[2]) as DeviceMetrics, JSON.parse(JSON.stringify(records[i])));
  });
  const stats = statsLinesFrom(records);
  const vda = records.find((m) => m.name === 'vda')!;
  assert.ok(vda.device.flushes >= 1);
  const detail = stats.find((l) => l.startsWith('baojs: stats vda ('))!;
  assert.match(detail, `requests ${vda.remio.requests} (reads ${vda.remio.reads}, writes ${vda.remio.writes})`);
  assert.match(detail, `flushes ${vda.device.flushes}`);
  assert.match(detail, `transport: register reads ${vda.transport.reads}, register writes ${vda.transport.writes}, queue notifications ${vda.transport.kicks}`);
  assert.match(stats[0], /^baojs: stats \w+: register accesses \d+ in C \+ \d+ in TypeScript; requests \d+ in C \+ \d+ in TypeScript; mean service time/);
});

test.run();
