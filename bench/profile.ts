/**
 * Reads a V8 .cpuprofile (from `node --cpu-prof`) and lists the functions with the most self
 * time. Frames in the minified handler bundle are mapped back to the TypeScript / node_modules
 * source through the bundle's source map, and named from the original source line.
 */
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileEntry {
  readonly name: string;
  /** Original location (file:line) when mapped, else the script and line. */
  readonly location: string;
  readonly selfMs: number;
  readonly selfShare: number;
  /** Self time per record of the profiled calls (µs); undefined when the count is unknown. */
  readonly usPerRecord: number | undefined;
}

export interface ProfileSummary {
  readonly file: string;
  /** Only samples inside these windows (monotonic µs) were counted, when given. */
  readonly windows: number | undefined;
  readonly totalMs: number;
  /** Records handled by the profiled calls (0 when unknown). */
  readonly records: number;
  readonly top: ProfileEntry[];
  /** Self time grouped by original source file / package. */
  readonly byOrigin: ProfileEntry[];
}

const KEYWORDS = new Set([
  'function',
  'async',
  'return',
  'new',
  'await',
  'typeof',
  'if',
  'while',
  'for',
]);

/** The name of the function whose parameter list starts at `column` of `line`. */
function nameAt(line: string | undefined, column: number): string | undefined {
  if (line === undefined) return undefined;
  const before = line.slice(0, column);
  const direct = /([\w$]+)\s*\*?\s*$/.exec(before)?.[1];
  if (direct !== undefined && !KEYWORDS.has(direct)) return direct;
  return /([\w$]+)\s*[=:]\s*(?:async\s*)?(?:function\s*\*?\s*)?$/.exec(before)?.[1];
}

/** `../../lib/documents.ts` -> `lib/documents.ts`; keeps `node_modules/...` from its start. */
function cleanSource(source: string): string {
  const nm = source.lastIndexOf('node_modules/');
  if (nm !== -1) return source.slice(nm);
  return source.replace(/^(?:\.\.\/|\.\/)+/, '').replace(/^webpack:\/\/\//, '');
}

/** Group label: a package for node_modules, a repo file otherwise, node internals as such. */
function originOf(location: string): string {
  const nm = /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(location);
  if (nm) return nm[1] as string;
  if (location.startsWith('node:')) return 'node internals';
  if (location.startsWith('(')) return location;
  return location.replace(/:\d+$/, '');
}

export function summarizeProfile(
  file: string,
  bundlePath: string | undefined,
  sourceMapPath: string | undefined,
  root: string,
  windows: [number, number][] | undefined,
  records = 0,
  topN = 15,
): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const selfUs = new Map<number, number>();
  let at = profile.startTime;
  let w = 0; // windows are in time order, and so are samples
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0;
    if (windows !== undefined) {
      while (w < windows.length && at > (windows[w] as [number, number])[1]) w++;
      const current = windows[w];
      if (current === undefined || at < current[0]) continue;
    }
    const id = profile.samples[i] as number;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
  }
  const map =
    sourceMapPath && existsSync(sourceMapPath)
      ? new SourceMap(JSON.parse(readFileSync(sourceMapPath, 'utf8')))
      : undefined;
  const bundleLines = bundlePath ? readFileSync(bundlePath, 'utf8').split('\n') : [];
  const sourceLines = new Map<string, string[] | undefined>();
  const linesOf = (path: string): string[] | undefined => {
    if (!sourceLines.has(path)) {
      const full = join(root, path);
      sourceLines.set(path, existsSync(full) ? readFileSync(full, 'utf8').split('\n') : undefined);
    }
    return sourceLines.get(path);
  };

  const describe = (frame: CallFrame): { name: string; location: string } => {
    const special = frame.functionName.startsWith('(') && frame.url === '';
    if (special) return { name: frame.functionName, location: frame.functionName };
    let path = frame.url;
    if (path.startsWith('file://')) path = fileURLToPath(path);
    if (bundlePath !== undefined && path === bundlePath && map !== undefined) {
      // The entry at or before the parameter list: usually the function's name token, whose
      // original name the map keeps (`name`), else read from the source line.
      const entry = map.findEntry(frame.lineNumber, frame.columnNumber) as {
        originalSource?: string;
        originalLine?: number;
        originalColumn?: number;
        name?: string;
      };
      if (entry.originalSource !== undefined && entry.originalLine !== undefined) {
        const source = cleanSource(entry.originalSource);
        const original = linesOf(source)?.[entry.originalLine];
        const name =
          entry.name ??
          nameAt(original, entry.originalColumn ?? 0) ??
          nameAt(bundleLines[frame.lineNumber], frame.columnNumber) ??
          (frame.functionName || '(anonymous)');
        return { name, location: `${source}:${entry.originalLine + 1}` };
      }
    }
    const where = path.startsWith(root + '/') ? path.slice(root.length + 1) : path || '(native)';
    return {
      name: frame.functionName || '(anonymous)',
      location: `${where}:${frame.lineNumber + 1}`,
    };
  };

  const byFunction = new Map<string, { name: string; location: string; us: number }>();
  const byOrigin = new Map<string, number>();
  let total = 0;
  const parents = new Map<number, ProfileNode>();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parents.set(child, node);
  const isNative = (frame: CallFrame): boolean =>
    frame.url === '' && !frame.functionName.startsWith('(');
  for (const node of profile.nodes) {
    const us = selfUs.get(node.id) ?? 0;
    if (us === 0 || node.callFrame.functionName === '(idle)') continue;
    let { name, location } = describe(node.callFrame);
    let originLocation = location;
    if (isNative(node.callFrame)) {
      // C++ behind a binding (string encoding, hashing, socket writes): name it by its JS caller
      // and count it for the caller's origin.
      let caller = parents.get(node.id);
      while (caller !== undefined && isNative(caller.callFrame)) caller = parents.get(caller.id);
      const from = caller ? describe(caller.callFrame) : { name: '?', location: '?' };
      // Through node's own JS (Buffer.byteLength, stream writes) up to the first caller outside it.
      const chain = [from.name];
      for (
        let up = caller && parents.get(caller.id), i = 0;
        up && i < 4;
        up = parents.get(up.id), i++
      ) {
        if (!from.location.startsWith('node:')) break;
        const frame = describe(up.callFrame);
        if (isNative(up.callFrame)) continue;
        chain.push(frame.name);
        if (!frame.location.startsWith('node:')) break;
      }
      name = `${node.callFrame.functionName || 'native'} ← ${chain.join(' ← ')}`;
      location = `native, called from ${from.location}`;
      originLocation = from.location;
    }
    const key = `${name}@${location}`;
    const entry = byFunction.get(key) ?? { name, location, us: 0 };
    entry.us += us;
    byFunction.set(key, entry);
    const origin = originOf(originLocation);
    byOrigin.set(origin, (byOrigin.get(origin) ?? 0) + us);
    total += us;
  }
  const toEntry = (name: string, location: string, us: number): ProfileEntry => ({
    name,
    location,
    selfMs: Math.round(us / 100) / 10,
    selfShare: total === 0 ? 0 : us / total,
    usPerRecord: records > 0 ? Math.round((us / records) * 1000) / 1000 : undefined,
  });
  return {
    file,
    windows: windows?.length,
    totalMs: Math.round(total / 1000),
    records,
    top: [...byFunction.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, topN)
      .map((e) => toEntry(e.name, e.location, e.us)),
    byOrigin: [...byOrigin.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 12)
      .map(([origin, us]) => toEntry(origin, '', us)),
  };
}
