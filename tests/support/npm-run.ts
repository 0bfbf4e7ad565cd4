/**
 * Runs `npm run --silent <script> -- <args>` in the project root as a child process, the way a
 * user types it, and collects its output (for the CLI's end-to-end tests).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

export interface NpmRunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function npmRun(
  script: string,
  args: readonly string[],
  env: Record<string, string | undefined>,
): Promise<NpmRunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '--silent', script, '--', ...args], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
