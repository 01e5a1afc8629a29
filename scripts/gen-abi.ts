// SPDX-License-Identifier: Apache-2.0
/**
 * Generates `abi.h`, the C view of the constants the TypeScript side and
 * the C side share, from their one definition in TypeScript:
 *  - Bao's hypercall ids and function id base, remio hypercall ops and
 *    statuses (`HypercallId`, `RemioOp`, `RemioStatus` in src/host.ts; Bao
 *    src/core/remio.c, remio-abi.md) and the request record size of
 *    host.remioBatch;
 *  - virtio device ids (`DeviceId`, virtio 1.2 section 5), virtio-mmio
 *    register offsets (`MmioReg`, virtio 1.2 section 4.2.2) and device
 *    status bits (`DeviceStatus`, 2.1) in src/virtio/spec.ts;
 *  - the words and bits of the data plane's state array and of the
 *    register shadow (`DataPlaneWord`, `RegShadowWord` and their bits in
 *    src/host.ts);
 *  - the virtio-net header's layout and flags (`NetHdr`, `NetHdrFlag` in
 *    src/devices/net-spec.ts, virtio 1.2 5.1.6), its GSO types (`GsoType`)
 *    and the offload limits the network plane checks (src/net/offload.ts).
 *
 * Values come from the modules themselves (what the TypeScript code
 * compiles against), member order and docstrings from their source text.
 * The build writes the header next to `platform.h`
 * (scripts/gen-platform.ts), so every C file that sees one sees the other.
 *
 * Usage: `node --import tsx scripts/gen-abi.ts <outdir>`.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import * as host from '../src/host.ts';
import * as spec from '../src/virtio/spec.ts';
import * as offload from '../src/net/offload.ts';
import * as netSpec from '../src/devices/net-spec.ts';
import { displayPath } from './paths.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** One TypeScript `const enum` and the C names it becomes. */
export interface AbiEnum {
  /** source file, from the repository root */
  file: 'src/host.ts' | 'src/virtio/spec.ts' | 'src/devices/net-spec.ts' | 'src/net/offload.ts';
  /** the enum's TypeScript name */
  ts: string;
  /** C name of a member: prefix + member name in upper snake case */
  prefix: string;
  /** `enum <cEnum> { ... }` with a `<prefix>WORDS` terminator, or (absent) one `#define` per member */
  cEnum?: string;
  /** `u` for bit masks (unsigned, as C code combines them with u32 words) */
  suffix?: '' | 'u';
  /** hexadecimal values (register offsets) */
  hex?: boolean;
}

/** Every enum shared with C, in header order. */
export const ABI_ENUMS: AbiEnum[] = [
  { file: 'src/host.ts', ts: 'HypercallId', prefix: 'HC_' },
  { file: 'src/host.ts', ts: 'RemioOp', prefix: 'REMIO_OP_' },
  { file: 'src/host.ts', ts: 'RemioStatus', prefix: 'REMIO_STATUS_' },
  { file: 'src/host.ts', ts: 'RemioReq', prefix: 'RQ_', cEnum: 'remio_req' },
  { file: 'src/host.ts', ts: 'RemioServeResult', prefix: 'RM_CALL_', suffix: 'u' },
  { file: 'src/host.ts', ts: 'RemioDirectWord', prefix: 'RD_', cEnum: 'rd_word' },
  { file: 'src/virtio/spec.ts', ts: 'DeviceId', prefix: 'VIRTIO_ID_' },
  { file: 'src/virtio/spec.ts', ts: 'MmioReg', prefix: 'VIRTIO_MMIO_', hex: true },
  { file: 'src/virtio/spec.ts', ts: 'DeviceStatus', prefix: 'VIRTIO_STATUS_', suffix: 'u' },
  { file: 'src/host.ts', ts: 'DataPlaneWord', prefix: 'DP_', cEnum: 'dp_word' },
  { file: 'src/host.ts', ts: 'QueueWord', prefix: 'VQ_', cEnum: 'vq_word' },
  { file: 'src/host.ts', ts: 'QueueChainWord', prefix: 'VQ_CHAIN_', cEnum: 'vq_chain_word' },
  { file: 'src/host.ts', ts: 'DataPlaneCtrl', prefix: 'DP_CTRL_', suffix: 'u' },
  { file: 'src/host.ts', ts: 'DataPlaneQueueFlag', prefix: 'DP_QF_', suffix: 'u' },
  { file: 'src/host.ts', ts: 'RegShadowWord', prefix: 'RS_', cEnum: 'rs_word' },
  { file: 'src/host.ts', ts: 'RegShadowCtrl', prefix: 'RS_CTRL_', suffix: 'u' },
  { file: 'src/host.ts', ts: 'DriverQueueWord', prefix: 'DQ_', cEnum: 'dq_word' },
  { file: 'src/host.ts', ts: 'DiskPlaneWord', prefix: 'PT_', cEnum: 'pt_word' },
  { file: 'src/host.ts', ts: 'DiskBroken', prefix: 'PT_BROKEN_' },
  { file: 'src/host.ts', ts: 'DiskReqWord', prefix: 'PT_REQ_', cEnum: 'pt_req_word' },
  { file: 'src/host.ts', ts: 'DiskEventWord', prefix: 'PT_EV_', cEnum: 'pt_event_word' },
  { file: 'src/host.ts', ts: 'NetPortWord', prefix: 'NP_', cEnum: 'np_word' },
  { file: 'src/host.ts', ts: 'NetPortCtrl', prefix: 'NP_CTRL_', suffix: 'u' },
  { file: 'src/host.ts', ts: 'NetFdbWord', prefix: 'NP_FDB_', cEnum: 'np_fdb_word' },
  { file: 'src/host.ts', ts: 'ConsolePortWord', prefix: 'CP_', cEnum: 'cp_word' },
  { file: 'src/host.ts', ts: 'ConsolePortCtrl', prefix: 'CP_CTRL_', suffix: 'u' },
  { file: 'src/devices/net-spec.ts', ts: 'NetHdr', prefix: 'NET_HDR_', suffix: 'u' },
  { file: 'src/devices/net-spec.ts', ts: 'NetHdrFlag', prefix: 'NET_HDR_F_', suffix: 'u' },
  { file: 'src/devices/net-spec.ts', ts: 'GsoType', prefix: 'NET_GSO_', suffix: 'u' },
];

/** Plain numeric constants shared with C: C name, value, source, and how C writes it. */
export const ABI_VALUES: { c: string; value: number; source: string; hex?: boolean; suffix?: 'UL' }[] = [
  { c: 'HC_FID_BASE', value: host.HYPERCALL_FID_BASE, source: 'src/host.ts HYPERCALL_FID_BASE', hex: true, suffix: 'UL' },
  { c: 'REMIO_REQ_WORDS', value: host.REMIO_REQ_WORDS, source: 'src/host.ts REMIO_REQ_WORDS' },
  { c: 'RD_WORDS', value: host.REMIO_DIRECT_WORDS, source: 'src/host.ts REMIO_DIRECT_WORDS' },
  { c: 'DP_WORDS', value: host.DATA_PLANE_WORDS, source: 'src/host.ts DATA_PLANE_WORDS' },
  { c: 'QUEUE_WORDS', value: host.QUEUE_WORDS, source: 'src/host.ts QUEUE_WORDS' },
  { c: 'VQ_CHAIN_WORDS', value: host.QUEUE_CHAIN_WORDS, source: 'src/host.ts QUEUE_CHAIN_WORDS' },
  { c: 'VQ_POP_DRAINED', value: host.VQ_POP_DRAINED, source: 'src/host.ts VQ_POP_DRAINED', hex: true },
  { c: 'RS_CONTROL_REGS', value: host.REG_SHADOW_CONTROL_REGS, source: 'src/host.ts REG_SHADOW_CONTROL_REGS' },
  { c: 'RS_WORDS', value: host.REG_SHADOW_WORDS, source: 'src/host.ts REG_SHADOW_WORDS' },
  { c: 'DRIVER_QUEUE_WORDS', value: host.DRIVER_QUEUE_WORDS, source: 'src/host.ts DRIVER_QUEUE_WORDS' },
  { c: 'PT_STATE_WORDS', value: host.DISK_PLANE_WORDS, source: 'src/host.ts DISK_PLANE_WORDS' },
  { c: 'PT_REQ_RECORD_WORDS', value: host.DISK_REQ_WORDS, source: 'src/host.ts DISK_REQ_WORDS' },
  { c: 'PT_EVENT_RECORD_WORDS', value: host.DISK_EVENT_WORDS, source: 'src/host.ts DISK_EVENT_WORDS' },
  { c: 'PT_EVENT_HOST', value: host.DISK_EVENT_HOST, source: 'src/host.ts DISK_EVENT_HOST', hex: true, suffix: 'UL' },
  { c: 'NP_STATE_WORDS', value: host.NET_PORT_WORDS, source: 'src/host.ts NET_PORT_WORDS' },
  { c: 'NP_FDB_ENTRY_WORDS', value: host.NET_FDB_WORDS, source: 'src/host.ts NET_FDB_WORDS' },
  { c: 'CP_STATE_WORDS', value: host.CONSOLE_PORT_WORDS, source: 'src/host.ts CONSOLE_PORT_WORDS' },
  { c: 'CONSOLE_ESCAPE', value: host.CONSOLE_ESCAPE_BYTE, source: 'src/host.ts CONSOLE_ESCAPE_BYTE', hex: true },
  { c: 'NP_FDB_VALID', value: host.NET_FDB_VALID, source: 'src/host.ts NET_FDB_VALID', hex: true, suffix: 'UL' },
  { c: 'NP_GSO_MAX_FRAME', value: offload.GSO_MAX_FRAME, source: 'src/net/offload.ts GSO_MAX_FRAME' },
  { c: 'NP_GSO_MAX_SEGS', value: offload.GSO_MAX_SEGS, source: 'src/net/offload.ts GSO_MAX_SEGS' },
];

/** `QueueNotify` → `QUEUE_NOTIFY`, `DeviceID` → `DEVICE_ID`, `SHMLenLow` → `SHM_LEN_LOW`, `N_KICKS` unchanged. */
export function cMember(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2').toUpperCase();
}

/** The module each {@link AbiEnum.file} names, as the TypeScript code imports it. */
export const ABI_MODULES: Record<AbiEnum['file'], Record<string, unknown>> = {
  'src/host.ts': host, 'src/virtio/spec.ts': spec, 'src/devices/net-spec.ts': netSpec, 'src/net/offload.ts': offload,
};

/**
 * Members of enum `e` in declaration order with their values (as the
 * TypeScript code sees them) and the first sentence of their docstrings.
 * @throws Error if the enum is missing or a member's value is not an integer.
 */
export function abiMembers(e: AbiEnum): { name: string; value: number; doc: string }[] {
  const decl = enumDecl(e);
  const obj = ABI_MODULES[e.file][e.ts] as Record<string, unknown> | undefined;
  if (!obj) throw new Error(`${e.file} exports no ${e.ts}`);
  return decl.members.map((m) => {
    const name = (m.name as ts.Identifier).text;
    const value = obj[name];
    if (typeof value !== 'number' || !Number.isInteger(value)) throw new Error(`${e.ts}.${name} is not an integer`);
    return { name, value, doc: docOf(m) };
  });
}

const parsed = new Map<string, ts.SourceFile>();

function enumDecl(e: AbiEnum): ts.EnumDeclaration {
  let sf = parsed.get(e.file);
  if (!sf) {
    sf = ts.createSourceFile(e.file, readFileSync(join(root, e.file), 'utf8'), ts.ScriptTarget.ES2022, true);
    parsed.set(e.file, sf);
  }
  const d = sf.statements.find((s): s is ts.EnumDeclaration => ts.isEnumDeclaration(s) && s.name.text === e.ts);
  if (!d) throw new Error(`no enum ${e.ts} in ${e.file}`);
  return d;
}

/** The first sentence of a node's JSDoc text, on one line, made safe inside a C comment. */
function docOf(n: ts.Node): string {
  const doc = ts.getJSDocCommentsAndTags(n).find(ts.isJSDoc);
  const text = typeof doc?.comment === 'string' ? doc.comment : ts.getTextOfJSDocComment(doc?.comment) ?? '';
  const one = text.replace(/\{@link\s+([^}]+)\}/g, '$1').replace(/\*\//g, '* /').replace(/\s+/g, ' ').trim();
  return one.replace(/(\.)\s.*$/, '$1');
}

const num = (v: number, e: AbiEnum): string => {
  const s = e.hex && v >= 0 ? `0x${v.toString(16).padStart(3, '0')}` : String(v);
  return v < 0 ? `(${s})` : `${s}${e.suffix ?? ''}`;
};

/** The text of abi.h. */
export function abiHeader(): string {
  const L: string[] = [
    '/* SPDX-License-Identifier: Apache-2.0 */',
    '/* Generated from src/host.ts, src/virtio/spec.ts, src/devices/net-spec.ts and src/net/offload.ts by scripts/gen-abi.ts: do not edit. */',
    '#ifndef BAOJS_ABI_H', '#define BAOJS_ABI_H', '',
  ];
  for (const e of ABI_ENUMS) {
    const members = abiMembers(e);
    L.push(`/** ${docOf(enumDecl(e))} (${e.file} ${e.ts}) */`);
    const note = (d: string): string => (d ? ` /**< ${d} */` : '');
    if (e.cEnum) {
      L.push(`enum ${e.cEnum} {`);
      for (const m of members) L.push(`\t${e.prefix}${cMember(m.name)} = ${num(m.value, e)},${note(m.doc)}`);
      L.push('};', '');
    } else {
      for (const m of members) L.push(`#define ${e.prefix}${cMember(m.name)} ${num(m.value, e)}${note(m.doc)}`);
      L.push('');
    }
  }
  const words = (e: string): number => abiMembers(ABI_ENUMS.find((a) => a.ts === e)!).length;
  const value = (c: string): number => ABI_VALUES.find((v) => v.c === c)!.value;
  if (value('REMIO_REQ_WORDS') !== words('RemioReq')) throw new Error('REMIO_REQ_WORDS is not the number of RemioReq members');
  if (value('VQ_CHAIN_WORDS') !== words('QueueChainWord')) throw new Error('QUEUE_CHAIN_WORDS is not the number of QueueChainWord members');
  if (value('QUEUE_WORDS') !== words('QueueWord')) throw new Error('QUEUE_WORDS is not the number of QueueWord members');
  // the data plane's Q_ block is a queue's state: the same words in the same order
  const dp = abiMembers(ABI_ENUMS.find((a) => a.ts === 'DataPlaneWord')!);
  const qNum = dp.find((m) => m.name === 'Q_NUM')!.value;
  for (const m of abiMembers(ABI_ENUMS.find((a) => a.ts === 'QueueWord')!)) {
    if (dp.find((d) => d.name === `Q_${m.name}`)?.value !== qNum + m.value) throw new Error(`DataPlaneWord.Q_${m.name} is not Q_NUM + QueueWord.${m.name}`);
  }
  if (value('RD_WORDS') !== words('RemioDirectWord')) throw new Error('REMIO_DIRECT_WORDS is not the number of RemioDirectWord members');
  if (value('DP_WORDS') !== words('DataPlaneWord')) throw new Error('DATA_PLANE_WORDS is not the number of DataPlaneWord members');
  if (value('RS_WORDS') !== words('RegShadowWord') - 1 + value('RS_CONTROL_REGS')) {
    throw new Error('REG_SHADOW_WORDS is not RegShadowWord.REGS + REG_SHADOW_CONTROL_REGS');
  }
  for (const v of ABI_VALUES) L.push(`/** ${v.source} */`, `#define ${v.c} ${v.hex ? `0x${v.value.toString(16)}` : v.value}${v.suffix ?? ''}`);
  L.push('', '#endif', '');
  return L.join('\n');
}

/**
 * Writes `text` to `file` only when it differs, so make-style caching keeps
 * working; atomically (write, then rename), so a concurrent build never
 * reads half a file.
 */
export function writeIfChanged(file: string, text: string): boolean {
  if (existsSync(file) && readFileSync(file, 'utf8') === text) return false;
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
  return true;
}

/** Writes abi.h into `outDir` (only when it changed); returns its path. */
export function generateAbi(outDir: string): string {
  const file = join(outDir, 'abi.h');
  writeIfChanged(file, abiHeader());
  return file;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [out = join(root, 'build', 'gen', 'abi')] = process.argv.slice(2);
  try {
    console.log(`[gen] ${displayPath(generateAbi(out))}`);
  } catch (e) {
    console.error(`[gen] ${(e as Error).message}`);
    process.exit(1);
  }
}
