// SPDX-License-Identifier: Apache-2.0
/**
 * Property reads and writes across every kind of change to an object's
 * layout, run on the firmware and on Node by the shared workload: the
 * firmware's QuickJS caches where each `o.x` instruction found its
 * property (runtime/patches/quickjs-bare-metal.patch), so each case
 * below reads or writes through the same instruction before and after a
 * change that must make that instruction look again: a property added,
 * deleted, shadowed, turned into a getter or setter, made read-only or
 * frozen; a prototype replaced; a method replaced on a class two levels
 * up; arrays, typed arrays (whose `length` is a getter), Proxies,
 * primitives, `arguments`; one
 * instruction that sees many layouts; objects dropped and made again.
 * Returns one line per observation.
 */

type Bag = Record<string, unknown>;

// one instruction each: every case goes through the same three sites
function getX(o: unknown): unknown {
  return (o as Bag).x;
}
// the same read from a local instead of an argument (the firmware reads both without pushing the object)
function getXFromLocal(o: unknown): unknown {
  const local = o as Bag;
  return local.x;
}
/** getX and getXFromLocal, which must agree (each reads once: a getter runs twice) */
function readX(o: unknown): unknown {
  const a = getX(o);
  const b = getXFromLocal(o);
  return Object.is(a, b) || typeof a === 'object' ? a : `local read ${String(b)} != ${String(a)}`;
}
function setX(o: unknown, v: unknown): void {
  (o as Bag).x = v;
}
function callM(o: { m(): string }): string {
  return o.m();
}
function lengthOf(o: unknown): unknown {
  return (o as { length: unknown }).length;
}
function tryLengthOf(o: unknown): unknown {
  try {
    return lengthOf(o);
  } catch (e) {
    return (e as Error).constructor.name;
  }
}
function trySetX(o: unknown, v: unknown): string {
  try {
    setX(o, v);
    return 'set';
  } catch (e) {
    return (e as Error).constructor.name;
  }
}

class A {
  v = 1;
  m(): string {
    return `A${this.v}`;
  }
}
class B extends A {
  m(): string {
    return `B${super.m()}`;
  }
}
class C extends B {}

/** The observations, in order (see the file's description). */
export function shapeCases(): string[] {
  const out: string[] = [];
  const log = (...a: unknown[]): void => {
    out.push(a.map(String).join(' '));
  };
  // one site, many layouts
  for (let i = 0; i < 40; i++) {
    const o: Bag = {};
    if (i & 1) o.a = 1;
    if (i & 2) o.b = 2;
    o.x = i;
    if (i & 4) o.c = 3;
    const before = readX(o);
    setX(o, i * 2);
    log(before, readX(o));
  }
  {
    const o: Bag = { x: 1, y: 2 };
    log(readX(o));
    delete o.x;
    log(readX(o));
    o.x = 5;
    log(readX(o));
    delete o.y;
    log(readX(o));
  }
  {
    // a prototype's property, then shadowed, then unshadowed, then changed
    const proto: Bag = { x: 'p' };
    const o = Object.create(proto) as Bag;
    log(readX(o));
    o.x = 'own';
    log(readX(o));
    delete o.x;
    log(readX(o));
    proto.x = 'p2';
    log(readX(o));
  }
  {
    const a = { x: 'a' };
    const b = { x: 'b' };
    const o = Object.create(a) as Bag;
    log(readX(o));
    Object.setPrototypeOf(o, b);
    log(readX(o));
  }
  {
    // two levels up
    const g: Bag = { x: 'g' };
    const p = Object.create(g) as Bag;
    const o = Object.create(p) as Bag;
    log(readX(o));
    p.x = 'p';
    log(readX(o));
    delete p.x;
    log(readX(o));
    g.x = 'g2';
    log(readX(o));
    Object.setPrototypeOf(p, { x: 'n' });
    log(readX(o));
  }
  {
    const o: Bag = { x: 1 };
    log(readX(o));
    Object.defineProperty(o, 'x', { get: () => 'getter', configurable: true });
    log(readX(o));
    Object.defineProperty(o, 'x', { value: 'v', writable: true, configurable: true });
    log(readX(o));
    setX(o, 'w');
    log(readX(o));
  }
  {
    const p: Bag = { x: 1 };
    const o = Object.create(p) as Bag;
    log(readX(o));
    Object.defineProperty(p, 'x', { get(this: unknown) { return `pg${this === o}`; } });
    log(readX(o));
  }
  {
    // writes: read-only, frozen, not extensible, a setter appearing on the prototype
    const o: Bag = { x: 1 };
    setX(o, 2);
    Object.defineProperty(o, 'x', { writable: false });
    log(trySetX(o, 3), readX(o));
    const f: Bag = { x: 1 };
    setX(f, 2);
    Object.freeze(f);
    log(trySetX(f, 3), readX(f));
    const n: Bag = { y: 1 };
    Object.preventExtensions(n);
    log(trySetX(n, 1), readX(n));
    const proto: Bag = {};
    const q = Object.create(proto) as Bag;
    const r = Object.create(proto) as Bag;
    setX(q, 1);
    setX(q, 2);
    const seen: unknown[] = [];
    Object.defineProperty(proto, 'x', { set(v: unknown) { seen.push(v); }, configurable: true });
    setX(r, 3);
    setX(q, 4);
    log(seen, Object.keys(r), readX(q));
  }
  // methods two levels up, replaced and deleted
  for (let i = 0; i < 5; i++) log(callM(new A()), callM(new B()), callM(new C()));
  const saved = B.prototype.m;
  B.prototype.m = function m(): string {
    return 'B2';
  };
  log(callM(new C()), callM(new B()));
  (A.prototype as unknown as Bag).n = 1;
  log(callM(new C()));
  delete (B.prototype as unknown as Bag).m;
  log(callM(new C()));
  B.prototype.m = saved;
  log(callM(new C()));
  {
    const a = [1, 2, 3];
    const lens: number[] = [];
    for (let i = 0; i < 5; i++) {
      lens.push(a.length);
      a.push(i);
    }
    log(lens, a.length);
    a.length = 1;
    log(a.length, a);
    (a as unknown as Bag).x = 'ax';
    log(readX(a));
    const sparse: number[] = [];
    sparse[1000] = 1;
    (sparse as unknown as Bag).x = 'sp';
    log(readX(sparse), sparse.length);
  }
  {
    const u = new Uint8Array(4);
    log(u.length, u.byteLength);
    setX(u, 'ux');
    log(readX(u), (u as unknown as Bag).Infinity, (u as unknown as Bag).NaN);
    const p = new Proxy({ x: 1 }, { get: (_t, k) => `proxy-${String(k)}` });
    log(readX(p), readX(Object.create(p)));
  }
  {
    // `.length` through one instruction: typed arrays (a getter), arrays, strings, objects, functions
    const u8 = new Uint8Array(5);
    const u32 = new Uint32Array(3);
    const f64 = new Float64Array(new ArrayBuffer(64), 8, 2);
    const seen: unknown[] = [];
    for (const o of [u8, u32, f64, u8.subarray(1, 3), [1, 2], 'abc', { length: 'own' }, (a: number, b: number) => a + b, u8]) seen.push(lengthOf(o));
    log(seen);
    const ta = Object.getPrototypeOf(Uint8Array.prototype) as object;
    const desc = Object.getOwnPropertyDescriptor(ta, 'length')!;
    Object.defineProperty(ta, 'length', { get: () => 'replaced', configurable: true });
    log(lengthOf(u8), lengthOf(u32));
    Object.defineProperty(ta, 'length', desc);
    log(lengthOf(u8), lengthOf(u32));
    Object.defineProperty(u8, 'length', { value: 'own', configurable: true });
    log(lengthOf(u8), lengthOf(new Uint8Array(7)));
    Object.defineProperty(Uint16Array.prototype, 'length', { get: () => 'u16', configurable: true });
    log(lengthOf(new Uint16Array(2)), lengthOf(new Uint8Array(2)));
    delete (Uint16Array.prototype as unknown as Bag).length;
    log(lengthOf(new Uint16Array(2)));
    log(tryLengthOf(Object.create(Uint8Array.prototype)), tryLengthOf(Object.create(u32)));
    const grow = [1];
    const lens: unknown[] = [];
    for (let i = 0; i < 4; i++) {
      lens.push(lengthOf(grow));
      grow.push(i);
    }
    log(lens);
  }
  // objects dropped and made again with the same and with other layouts
  for (let r = 0; r < 60; r++) {
    const o: Bag = { [`k${r % 7}`]: r, x: r };
    log(readX(o));
  }
  log(readX(5), readX('s'), (() => { try { return readX(null); } catch (e) { return (e as Error).constructor.name; } })());
  (function args(..._: number[]) {
    // eslint-disable-next-line prefer-rest-params
    const argv = arguments as unknown;
    log(readX(argv));
    setX(argv, 'argx');
    log(readX(argv));
  })(1, 2);
  {
    const objs: Bag[] = [];
    for (let i = 0; i < 20; i++) {
      const o: Bag = i % 3 ? { a: i } : { b: i };
      setX(o, i);
      objs.push(o);
    }
    log(objs.map((o) => Object.keys(o).join('') + String(o.x)).join(','));
  }
  {
    // one layout shared by many objects, then one of them changed
    const arr: Bag[] = [];
    for (let i = 0; i < 50; i++) arr.push({ x: i, y: 0 });
    let s = 0;
    for (const o of arr) s += readX(o) as number;
    delete arr[5].x;
    arr[6].z = 1;
    let t = 0;
    for (const o of arr) t += (readX(o) as number | undefined) ?? -1000;
    log(s, t);
  }
  return out;
}
