// SPDX-License-Identifier: Apache-2.0
// The console bridge (src/console-bridge.ts): one UART, a console per
// frontend; input reaches only the bridged console, the others' output is
// kept (its last CONSOLE_TAIL_BYTES) and shown when switched to.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CONSOLE_TAIL_BYTES, ConsoleBridge } from '../../src/console-bridge.ts';

const enc = (s: string): Uint8Array => new Uint8Array([...s].map((c) => c.charCodeAt(0)));
const dec = (b: Uint8Array): string => String.fromCharCode(...b);

function setup(count = 2) {
  const uart: string[] = [];
  const lines: string[] = [];
  const inputs: string[][] = [];
  const consoles = Array.from({ length: count }, (_, i) => {
    inputs.push([]);
    return { number: i + 1, frontend: i ? `linux${i + 1}` : 'linux', name: i ? `con${i + 1}` : 'hvc0', device: { input: (d: Uint8Array | string) => { inputs[i].push(typeof d === 'string' ? d : dec(d)); return d.length; } } };
  });
  const bridge = new ConsoleBridge(consoles, { write: (b, start, end) => uart.push(dec(b.subarray(start, end))), writeLine: (l) => lines.push(l) });
  return { bridge, uart, lines, inputs };
}

test('frontend 1 is bridged at start: its output goes to the UART, the UART\'s input only to it', () => {
  const { bridge, uart, inputs } = setup();
  assert.is(bridge.bridged, 1);
  bridge.output('hvc0', enc('login: '));
  bridge.output('con2', enc('frontend 2 boot log'));
  assert.equal(uart, ['login: ']);
  assert.is(bridge.input(enc('ls\n')), 3);
  assert.equal(inputs, [['ls\n'], []]);
});

test('switching shows a notice, then what the console printed while away, once; input follows the switch', () => {
  const { bridge, uart, lines, inputs } = setup();
  bridge.output('con2', enc('boot '));
  bridge.output('con2', enc('ready\n# '));
  assert.ok(bridge.select(2));
  assert.is(bridge.bridged, 2);
  assert.match(lines[0], /^baojs: console bridged to frontend 2 linux2 \(con2\); switch with Ctrl-\] 1 linux \(hvc0\), Ctrl-\] 2 linux2 \(con2\)$/);
  assert.equal(uart, ['boot ready\n# ']);
  bridge.input(enc('uname\n'));
  assert.equal(inputs, [[], ['uname\n']]);
  bridge.output('hvc0', enc('while away'));
  bridge.output('con2', enc('live'));
  assert.equal(uart, ['boot ready\n# ', 'live']);
  bridge.select(2);
  assert.equal(uart.length, 2, 'nothing held twice');
  bridge.select(1);
  assert.equal(uart.slice(2), ['while away']);
});

test('a console away from the UART keeps only its last CONSOLE_TAIL_BYTES, in order, across many small and one huge write', () => {
  const { bridge, uart } = setup();
  let all = '';
  for (let i = 0; all.length < CONSOLE_TAIL_BYTES * 2; i++) {
    const s = `line ${i}\n`;
    all += s;
    bridge.output('con2', enc(s));
  }
  bridge.select(2);
  assert.is(uart.join(''), all.slice(-CONSOLE_TAIL_BYTES));
  bridge.select(1);
  const huge = 'x'.repeat(CONSOLE_TAIL_BYTES) + 'tail';
  bridge.output('con2', enc(huge));
  bridge.select(2);
  assert.is(uart[uart.length - 1], huge.slice(-CONSOLE_TAIL_BYTES));
});

test('a frontend with no console is refused with a line; the bridged one stays', () => {
  const { bridge, lines } = setup();
  assert.not.ok(bridge.select(3));
  assert.match(lines[0], /no console for frontend 3 \(frontends with a console: 1, 2\)/);
  assert.is(bridge.bridged, 1);
  const none = new ConsoleBridge([], { write: () => {}, writeLine: () => {} });
  assert.is(none.bridged, 0);
  assert.is(none.input(enc('x')), 0);
});

test('frontends are selected by their number, also when one between has no console', () => {
  const uart: string[] = [];
  const lines: string[] = [];
  const got: string[] = [];
  const bridge = new ConsoleBridge([
    { number: 1, frontend: 'a', name: 'hvc0', device: { input: () => 0 } },
    { number: 3, frontend: 'c', name: 'con3', device: { input: (d: Uint8Array | string) => { got.push(typeof d === 'string' ? d : dec(d)); return d.length; } } },
  ], { write: (b) => uart.push(dec(b)), writeLine: (l) => lines.push(l) });
  assert.not.ok(bridge.select(2));
  assert.ok(bridge.select(3));
  assert.is(bridge.bridged, 3);
  bridge.input(enc('x'));
  assert.equal(got, ['x']);
  assert.match(lines[1], /Ctrl-\] 1 a \(hvc0\), Ctrl-\] 3 c \(con3\)/);
});

test('each console is told whether it is the bridged one, at start and at every switch', () => {
  const told: boolean[][] = [[], []];
  const consoles = [0, 1].map((i) => ({
    number: i + 1, frontend: `linux${i + 1}`, name: `con${i + 1}`,
    device: { input: () => 0, setBridged: (on: boolean) => { told[i].push(on); } },
  }));
  const bridge = new ConsoleBridge(consoles, { write: () => {}, writeLine: () => {} });
  assert.equal(told, [[true], [false]]);
  bridge.select(2);
  assert.equal(told, [[true, false], [false, true]]);
  assert.not.ok(bridge.select(7));
  assert.equal(told, [[true, false], [false, true]], 'no console: nobody told');
});

test.run();
