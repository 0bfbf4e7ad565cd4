/**
 * Programmable faults for the OpenSearch stand-in. Every fault is explicit and bounded (a count
 * or a duration); probabilistic faults draw from a seeded RNG in the order items are processed,
 * so a run is deterministic given the seed and the product's request order.
 *
 * Request-level faults (checked in this order for each matching request, `_bulk` by default):
 *   drop connection before the body is read -> 403 "not authorized" window -> whole-request
 *   429/5xx -> drop after the body was read (nothing applied) -> delay -> (request is processed)
 *   -> drop after apply (applied, response lost).
 * Item-level faults (checked for each bulk item, in request order): poison (permanent 400
 * mapper_parsing_exception) -> chosen-id 429/503 -> random 429/503.
 */
import type { JsonNode } from './lossless-json';
import { Rng } from './rng';

export interface RequestView {
  readonly method: string;
  /** Path without the query string, e.g. `/transactions/_bulk`. */
  readonly path: string;
}

export interface BulkItemView {
  readonly action: 'index' | 'create' | 'delete';
  readonly index: string;
  readonly id: string | undefined;
  readonly version: bigint | undefined;
  /** Parsed document (index/create only, and only when it is valid JSON). */
  readonly source: JsonNode | undefined;
  /** Raw document text (index/create only). */
  readonly rawSource: string | undefined;
}

export type DropWhen = 'before-body' | 'after-body' | 'after-apply';

export interface RequestFaultDecision {
  dropBeforeBody: boolean;
  forbidden: boolean;
  status: number | undefined;
  dropAfterBody: boolean;
  delayMs: number;
  dropAfterApply: boolean;
}

export type ItemFaultDecision =
  | { readonly kind: 'poison'; readonly reason: string }
  | { readonly kind: 'status'; readonly status: 429 | 503 };

interface ItemRule {
  readonly predicate: (item: BulkItemView) => boolean;
  readonly status: 429 | 503;
  /** Remaining failures per id (ids never seen start at `times`). */
  readonly times: number;
  readonly used: Map<string, number>;
}

interface RandomItemRule {
  readonly probability: number;
  readonly status: 429 | 503 | 'mixed';
  remaining: number;
  readonly rng: Rng;
}

const isBulk = (r: RequestView): boolean => /(^|\/)_bulk$/.test(r.path);

export class OpenSearchFaults {
  private itemRules: ItemRule[] = [];
  private randomRules: RandomItemRule[] = [];
  private poisons: Array<{ predicate: (item: BulkItemView) => boolean; reason: string }> = [];
  private statusQueue: number[] = [];
  private forbiddenUntil = 0;
  private drops: Array<{ when: DropWhen; remaining: number }> = [];
  private delays: Array<{ ms: number; remaining: number }> = [];
  private requestMatcher: (r: RequestView) => boolean = isBulk;
  /** What was injected, in order: for assertions and for debugging a failing seed. */
  readonly log: string[] = [];

  constructor(
    private readonly seed = 1,
    private readonly now: () => number = Date.now,
  ) {}

  /** Which requests request-level faults apply to. Default: `_bulk` requests only. */
  matchRequests(matcher: (r: RequestView) => boolean): this {
    this.requestMatcher = matcher;
    return this;
  }

  /** Items for which `ids`/`predicate` holds fail with `status`, `times` times per id (default 1). */
  failItems(opts: {
    ids?: Iterable<string>;
    predicate?: (item: BulkItemView) => boolean;
    status?: 429 | 503;
    times?: number;
  }): this {
    const ids = opts.ids ? new Set(opts.ids) : undefined;
    const pred = opts.predicate;
    this.itemRules.push({
      predicate: (item) =>
        (ids ? item.id !== undefined && ids.has(item.id) : true) && (pred ? pred(item) : true),
      status: opts.status ?? 429,
      times: Math.min(opts.times ?? 1, 1000),
      used: new Map(),
    });
    return this;
  }

  /** Each item fails with `probability` (seeded), at most `maxFailures` times in total. */
  failItemsRandomly(opts: {
    probability: number;
    status?: 429 | 503 | 'mixed';
    maxFailures?: number;
    seed?: number;
  }): this {
    this.randomRules.push({
      probability: opts.probability,
      status: opts.status ?? 'mixed',
      remaining: opts.maxFailures ?? 100,
      rng: new Rng(opts.seed ?? this.seed),
    });
    return this;
  }

  /** Documents for which `predicate` holds are rejected permanently: item 400 mapper_parsing_exception. */
  poison(
    predicate: (item: BulkItemView) => boolean,
    reason = 'failed to parse: document rejected by the stand-in (poison)',
  ): this {
    this.poisons.push({ predicate, reason });
    return this;
  }

  /** The next `n` matching requests get HTTP `status` (429 es_rejected_execution_exception, 5xx). */
  failNextRequests(n: number, status: 429 | 500 | 502 | 503 | 504 = 503): this {
    for (let i = 0; i < n; i++) this.statusQueue.push(status);
    return this;
  }

  /** Matching requests get 403 for `ms` from now, like an IAM policy that has not propagated yet. */
  forbidFor(ms: number): this {
    this.forbiddenUntil = this.now() + ms;
    return this;
  }

  /** The next `n` matching requests lose their connection at `when`. */
  dropConnections(n: number, when: DropWhen = 'before-body'): this {
    this.drops.push({ when, remaining: n });
    return this;
  }

  /** The next `requests` matching requests (default: unlimited, until reset) are answered `ms` later. */
  slow(ms: number, requests = Number.POSITIVE_INFINITY): this {
    this.delays.push({ ms, remaining: requests });
    return this;
  }

  reset(): void {
    this.itemRules = [];
    this.randomRules = [];
    this.poisons = [];
    this.statusQueue = [];
    this.forbiddenUntil = 0;
    this.drops = [];
    this.delays = [];
    this.requestMatcher = isBulk;
  }

  /** True when no count-limited fault is still pending (time windows and `slow` without a count excepted). */
  get exhausted(): boolean {
    return this.statusQueue.length === 0 && this.drops.every((d) => d.remaining <= 0);
  }

  private takeDrop(when: DropWhen): boolean {
    const d = this.drops.find((x) => x.when === when && x.remaining > 0);
    if (!d) return false;
    d.remaining--;
    this.log.push(`drop ${when}`);
    return true;
  }

  /** Called once per request by the stand-in; consumes counters. */
  decideRequest(req: RequestView): RequestFaultDecision {
    const none: RequestFaultDecision = {
      dropBeforeBody: false,
      forbidden: false,
      status: undefined,
      dropAfterBody: false,
      delayMs: 0,
      dropAfterApply: false,
    };
    if (!this.requestMatcher(req)) return none;
    if (this.takeDrop('before-body')) return { ...none, dropBeforeBody: true };
    if (this.now() < this.forbiddenUntil) {
      this.log.push(`403 ${req.method} ${req.path}`);
      return { ...none, forbidden: true };
    }
    const status = this.statusQueue.shift();
    if (status !== undefined) {
      this.log.push(`${status} ${req.method} ${req.path}`);
      return { ...none, status };
    }
    if (this.takeDrop('after-body')) return { ...none, dropAfterBody: true };
    let delayMs = 0;
    const d = this.delays.find((x) => x.remaining > 0);
    if (d) {
      d.remaining--;
      delayMs = d.ms;
      this.log.push(`delay ${d.ms}ms`);
    }
    return { ...none, delayMs, dropAfterApply: this.takeDrop('after-apply') };
  }

  /** Called for each bulk item, in request order. */
  decideItem(item: BulkItemView): ItemFaultDecision | undefined {
    if (item.action !== 'delete') {
      for (const p of this.poisons) {
        if (p.predicate(item)) {
          this.log.push(`poison ${item.id}`);
          return { kind: 'poison', reason: p.reason };
        }
      }
    }
    for (const rule of this.itemRules) {
      if (!rule.predicate(item)) continue;
      const key = item.id ?? '';
      const used = rule.used.get(key) ?? 0;
      if (used >= rule.times) continue;
      rule.used.set(key, used + 1);
      this.log.push(`${rule.status} item ${item.id}`);
      return { kind: 'status', status: rule.status };
    }
    for (const rule of this.randomRules) {
      if (rule.remaining <= 0) continue;
      const hit = rule.rng.chance(rule.probability);
      const status: 429 | 503 =
        rule.status === 'mixed' ? (rule.rng.chance(0.5) ? 429 : 503) : rule.status;
      if (hit) {
        rule.remaining--;
        this.log.push(`${status} random item ${item.id}`);
        return { kind: 'status', status };
      }
    }
    return undefined;
  }
}
