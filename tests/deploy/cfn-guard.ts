/**
 * AWS Control Tower's proactive controls, as AWS ships them for offline use: the cfn-guard rules
 * and the `cfn-guard` binary inside the npm package `@cdklabs/cdk-validator-cfnguard` (pinned in
 * devDependencies, so nothing is downloaded at test time). Each `ct-<service>-pr-<n>.guard` file
 * is one control, CT.<SERVICE>.PR.<n>.
 *
 * `evaluateControls` runs `cfn-guard validate -d <template> -r <rules> --show-summary all` and
 * reads its text report: one `<file>/<rule> PASS|FAIL|SKIP` line per rule (SKIP: the template has
 * no resource the control applies to), then, per failing rule file, the non-compliant resources
 * with the control's message.
 */
import { execFile } from 'node:child_process';
import { accessSync, chmodSync, constants } from 'node:fs';
import path from 'node:path';
import { ROOT } from './serverless-run';

const PACKAGE_DIR = path.dirname(
  require.resolve('@cdklabs/cdk-validator-cfnguard/package.json', { paths: [ROOT] }),
);
export const CONTROL_TOWER_RULES = path.join(PACKAGE_DIR, 'rules', 'control-tower', 'cfn-guard');

/** The binary the package ships for this machine (bin/<os>/<arch>/cfn-guard). */
export function cfnGuardBinary(): string {
  const os = process.platform === 'darwin' ? 'macos' : 'ubuntu';
  const arch = process.arch === 'arm64' ? 'aarch64' : 'x86_64';
  const binary = path.join(PACKAGE_DIR, 'bin', os, arch, 'cfn-guard');
  try {
    accessSync(binary, constants.X_OK);
  } catch {
    // An install that skips lifecycle scripts or unpacks without modes leaves it unexecutable.
    chmodSync(binary, 0o755);
  }
  return binary;
}

export type ControlStatus = 'PASS' | 'FAIL' | 'SKIP';

export interface ControlResult {
  /** e.g. CT.S3.PR.8 */
  readonly control: string;
  readonly status: ControlStatus;
  /** Non-compliant logical ids (FAIL only). */
  readonly resources: readonly string[];
  /** The control's own message (FAIL only), e.g. "Require that Amazon S3 bucket requests use SSL". */
  readonly message: string;
}

/** ct-opensearch-pr-16.guard -> CT.OPENSEARCH.PR.16 */
export function controlId(ruleFile: string): string {
  const match = /^ct-([a-z0-9-]+)-pr-(\d+)\.guard$/.exec(ruleFile);
  if (match === null) throw new Error(`not a Control Tower rule file: ${ruleFile}`);
  return `CT.${(match[1] as string).toUpperCase()}.PR.${match[2] as string}`;
}

const STATUS_LINE = /^(ct-[a-z0-9-]+\.guard)\/\S+\s+(PASS|FAIL|SKIP)$/;
const EVALUATING = /^Evaluating data .* against rules (ct-[a-z0-9-]+\.guard)$/;
const RESOURCE = /^Resource = (\S+) \{$/;
const MESSAGE = /^\s*\[(CT\.[A-Z0-9]+\.PR\.\d+)\]: (.*)$/;

/** Reads the text report of `cfn-guard validate --show-summary all`. */
export function parseGuardReport(report: string): Map<string, ControlResult> {
  const statuses = new Map<string, ControlStatus>();
  const failures = new Map<string, { resources: Set<string>; message: string }>();
  let current: { resources: Set<string>; message: string } | undefined;
  for (const line of report.split('\n')) {
    const status = STATUS_LINE.exec(line.trim());
    if (status !== null) {
      const control = controlId(status[1] as string);
      const seen = statuses.get(control);
      // A file with several rules fails if any of them fails, and applies if any applies.
      const rank = { FAIL: 2, PASS: 1, SKIP: 0 } as const;
      const next = status[2] as ControlStatus;
      if (seen === undefined || rank[next] > rank[seen]) statuses.set(control, next);
      continue;
    }
    const evaluating = EVALUATING.exec(line.trim());
    if (evaluating !== null) {
      const control = controlId(evaluating[1] as string);
      current = failures.get(control) ?? { resources: new Set(), message: '' };
      failures.set(control, current);
      continue;
    }
    if (current === undefined) continue;
    const resource = RESOURCE.exec(line);
    if (resource !== null) current.resources.add(resource[1] as string);
    const message = MESSAGE.exec(line);
    if (message !== null && current.message === '') current.message = message[2] as string;
  }
  const results = new Map<string, ControlResult>();
  for (const [control, status] of statuses) {
    const failure = status === 'FAIL' ? failures.get(control) : undefined;
    results.set(control, {
      control,
      status,
      resources: failure === undefined ? [] : [...failure.resources].sort(),
      message: failure?.message ?? '',
    });
  }
  return results;
}

/**
 * Runs the Control Tower rules (all of them, or one service's directory such as `s3`) over one
 * template. Asynchronous, so a slow run on a busy machine never blocks the test worker.
 */
export function evaluateControls(
  templateFile: string,
  service?: string,
): Promise<Map<string, ControlResult>> {
  const rules =
    service === undefined ? CONTROL_TOWER_RULES : path.join(CONTROL_TOWER_RULES, service);
  const args = ['validate', '-d', templateFile, '-r', rules, '--show-summary', 'all'];
  return new Promise((resolve, reject) => {
    execFile(
      cfnGuardBinary(),
      args,
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 300_000 },
      (error, stdout, stderr) => {
        // cfn-guard exits 0 when every rule passes or skips and 19 when one fails; anything else
        // is an error of the run itself (bad rules path, unreadable template, killed).
        const code = error === null ? 0 : error.code;
        if (code !== 0 && code !== 19) {
          reject(new Error(`cfn-guard ${args.join(' ')} failed (${String(error)}):\n${stderr}`));
          return;
        }
        resolve(parseGuardReport(stdout));
      },
    );
  });
}

/** One line per failing control: `CT.S3.PR.9 DeadLetterBucket, ...: <message>`. */
export function describeFailures(results: Map<string, ControlResult>): string[] {
  return [...results.values()]
    .filter((r) => r.status === 'FAIL')
    .sort((a, b) => a.control.localeCompare(b.control, 'en', { numeric: true }))
    .map((r) => `${r.control} ${r.resources.join(', ')}: ${r.message}`);
}
