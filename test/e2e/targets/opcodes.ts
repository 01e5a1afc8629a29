// SPDX-License-Identifier: Apache-2.0
/**
 * The instructions whose meaning depends on which opcode of a group ran,
 * run on the firmware and on Node by the shared workload: the firmware's
 * QuickJS dispatches without keeping the opcode, and the cases that need
 * it read it back from the bytecode (runtime/patches/quickjs-bare-metal.patch).
 * Each group below has its members side by side, through their slow paths
 * (BigInt and string operands, which the number fast paths do not take):
 * the constants 0..7; calls with 0..3 and more arguments, plain and as
 * methods, in tail position and not; arithmetic (-, *, /, %, **), unary
 * (-, +, ++, --), postfix, bitwise and relational operators; global
 * variables read, read with typeof and written; computed class members
 * and closures over locals and arguments. Returns one line per group.
 */

/* eslint-disable @typescript-eslint/no-explicit-any */
type Any = any;

// calls: call0..call3 and call (more than three arguments), each in tail position and not
function args(...a: unknown[]): string {
  return a.map(String).join(',');
}
function tail0(): string { return args(); }
function tail1(a: unknown): string { return args(a); }
function tail2(a: unknown, b: unknown): string { return args(a, b); }
function tail3(a: unknown, b: unknown, c: unknown): string { return args(a, b, c); }
function tail5(a: unknown, b: unknown, c: unknown, d: unknown, e: unknown): string { return args(a, b, c, d, e); }
function notTail(a: unknown, b: unknown): string {
  const r = [args(), args(a), args(a, b), args(a, b, a), args(a, b, a, b, a)].join('|');
  return r;
}
const obj = {
  k: 'o',
  m0(): string { return this.k; },
  m1(a: unknown): string { return this.k + String(a); },
  m4(a: unknown, b: unknown, c: unknown, d: unknown): string { return this.k + args(a, b, c, d); },
  tail(a: unknown): string { return this.m1(a); },
};

/** One line per group of opcodes. */
export function opcodeCases(): string[] {
  const lines: string[] = [];
  // push_0..push_7 (and push_i8 next to them)
  const ks = [0, 1, 2, 3, 4, 5, 6, 7, 8, -1];
  lines.push(`consts ${ks.join(',')} ${0 + 1 + 2 + 3 + 4 + 5 + 6 + 7}`);
  lines.push(`calls ${tail0()} ${tail1(1)} ${tail2(1, 2)} ${tail3(1, 2, 3)} ${tail5(1, 2, 3, 4, 5)} ${notTail('a', 'b')}`);
  lines.push(`methods ${obj.m0()} ${obj.m1(1)} ${obj.m4(1, 2, 3, 4)} ${obj.tail(7)}`);
  // arithmetic slow paths: BigInt operands (the opcode picks the operation)
  const big = [7n, -3n, 2n ** 70n];
  const arith: string[] = [];
  for (const x of big) {
    for (const y of big) {
      arith.push(String(x - y), String(x * y), String(x / y), String(x % y), String(x ** 2n), String(x + y));
    }
  }
  lines.push(`arith ${arith.join(',')}`);
  // unary and postfix slow paths
  const unary: string[] = [];
  for (const v of [5n, '5', '-2.5', true, null] as Any[]) {
    let a = v;
    let b = v;
    const pa = a++;
    const pb = b--;
    let c = v;
    let d = v;
    ++c;
    --d;
    unary.push(typeof v === 'bigint' ? String(-v) : String(-v), typeof v === 'bigint' ? 'n' : String(+v), String(pa), String(a), String(pb), String(b), String(c), String(d));
  }
  lines.push(`unary ${unary.join(',')}`);
  // bitwise slow paths
  const bits: string[] = [];
  for (const [x, y] of [[12n, 3n], [-12n, 2n], [2n ** 65n, 5n]] as Array<[bigint, bigint]>) {
    bits.push(String(x & y), String(x | y), String(x ^ y), String(x << y), String(x >> y), String(~x));
  }
  const s = '12' as Any;
  bits.push(String(s & 10), String(s | 1), String(s ^ 5), String(s << 2), String(s >> 1), String(s >>> 1));
  lines.push(`bits ${bits.join(',')}`);
  // relational slow paths: strings, BigInt against number and string
  const rel: string[] = [];
  for (const [x, y] of [['a', 'b'], ['b', 'a'], ['a', 'a'], [3n, 2], [2, 3n], ['10', 9], [1n, '1']] as Array<[Any, Any]>) {
    rel.push([x < y, x <= y, x > y, x >= y, x == y, x != y].map((b) => (b ? 1 : 0)).join(''));
  }
  lines.push(`relational ${rel.join(',')}`);
  // global variables: get_var, get_var_undef (typeof), put_var
  const g = globalThis as Any;
  g.baojsOpcodeGlobal = 41;
  const readBack = (0, eval)('typeof baojsOpcodeNone + ":" + (baojsOpcodeGlobal += 1)') as string;
  lines.push(`globals ${readBack} ${g.baojsOpcodeGlobal}`);
  delete g.baojsOpcodeGlobal;
  // computed class members (define_method_computed, define_class_computed)
  const key = 'dyn';
  const C = class {
    [key](): string { return 'm'; }
    get [`${key}Get`](): string { return 'g'; }
    static [`${key}Static`](): string { return 's'; }
  };
  const c = new C() as Any;
  lines.push(`classes ${c.dyn()} ${c.dynGet} ${(C as Any).dynStatic()}`);
  // closures over a local and an argument (make_loc_ref, make_arg_ref)
  const counters = ((start: number) => {
    let n = start;
    const inc = (): number => ++n;
    const bump = (): number => (start += 10);
    return [inc(), inc(), bump(), n, start];
  })(5);
  lines.push(`closures ${counters.join(',')}`);
  return lines;
}
