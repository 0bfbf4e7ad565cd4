/** Shared HTTP plumbing for the stand-ins: bounded body reading, socket tracking, clean shutdown. */
import type * as http from 'node:http';
import type { Socket } from 'node:net';

export class BodyTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`body larger than ${limit} bytes`);
  }
}

/** Reads the request body, failing with BodyTooLarge past `limit` bytes. */
export function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (c: Buffer) => {
      if (failed) return;
      size += c.length;
      if (size > limit) {
        failed = true;
        reject(new BodyTooLarge(limit));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!failed) resolve(Buffer.concat(chunks));
    });
    req.on('error', (e) => {
      if (!failed) reject(e);
    });
    req.on('aborted', () => {
      if (!failed) reject(new Error('request aborted'));
    });
  });
}

/** Tracks sockets and timers of a server so close() leaves no open handles. */
export class ServerLifecycle {
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly pendingWork = new Set<Promise<unknown>>();
  closed = false;

  constructor(private readonly server: http.Server) {
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  /** setTimeout that is cleared on close (the callback then never runs). */
  delay(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
    });
  }

  track<T>(p: Promise<T>): Promise<T> {
    this.pendingWork.add(p);
    const done = (): void => {
      this.pendingWork.delete(p);
    };
    p.then(done, done);
    return p;
  }

  async listen(host = '127.0.0.1'): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const addr = this.server.address();
    if (addr === null || typeof addr === 'string') throw new Error('server has no port');
    return addr.port;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const s of this.sockets) s.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    // Requests whose delay timer was cleared never settle; only wait for the rest, bounded.
    await Promise.race([
      Promise.allSettled([...this.pendingWork]),
      new Promise((r) => setTimeout(r, 50).unref()),
    ]);
  }
}
