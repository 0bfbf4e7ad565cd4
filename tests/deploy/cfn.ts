/**
 * Just enough of CloudFormation to read a generated template as a stack would see it: conditions
 * are evaluated, resources whose condition is false are dropped, and intrinsics are resolved
 * (Fn::If, Fn::Join, Fn::Sub, Ref, Fn::GetAtt, AWS::NoValue). References to resources become
 * tokens such as `{{Ref:DeadLetterBucket}}` and `{{OpenSearchDomain.DomainEndpoint}}`, and every
 * reference is recorded, so a test can check that none points at a resource that is not created.
 */
export interface CfnResource {
  readonly Type: string;
  readonly Condition?: string;
  readonly DependsOn?: string | string[];
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
  readonly Properties?: Record<string, unknown>;
}

export interface CfnTemplate {
  readonly Parameters?: Record<string, { Type: string; Default?: unknown }>;
  readonly Conditions?: Record<string, unknown>;
  readonly Resources: Record<string, CfnResource>;
  readonly Outputs?: Record<string, { Condition?: string; Value: unknown }>;
}

export const PSEUDO: Readonly<Record<string, string>> = {
  'AWS::Partition': 'aws',
  'AWS::Region': 'eu-central-1',
  'AWS::AccountId': '123456789012',
  'AWS::StackName': 'dynamodb-opensearch-indexer-dev',
  'AWS::URLSuffix': 'amazonaws.com',
};

const NO_VALUE = Symbol('AWS::NoValue');

export class Stack {
  private readonly evaluated = new Map<string, boolean>();
  /** Logical ids referenced by what the stack creates (resources, DependsOn, outputs). */
  readonly references = new Set<string>();
  readonly resources: Record<string, CfnResource>;
  readonly outputs: Record<string, unknown>;

  /** `parameters` stand for values given at deploy time; the others take their Default. */
  constructor(
    readonly template: CfnTemplate,
    private readonly parameters: Readonly<Record<string, unknown>> = {},
  ) {
    this.resources = {};
    for (const [id, resource] of Object.entries(template.Resources)) {
      if (resource.Condition !== undefined && !this.condition(resource.Condition)) continue;
      const dependsOn = resource.DependsOn === undefined ? [] : [resource.DependsOn].flat();
      for (const dep of dependsOn) this.references.add(dep);
      this.resources[id] = {
        ...resource,
        Properties: this.resolve(resource.Properties ?? {}) as Record<string, unknown>,
      };
    }
    this.outputs = {};
    for (const [name, output] of Object.entries(template.Outputs ?? {})) {
      if (output.Condition !== undefined && !this.condition(output.Condition)) continue;
      this.outputs[name] = this.resolve(output.Value);
    }
  }

  /** References to logical ids that are not among the created resources. */
  danglingReferences(): string[] {
    return [...this.references].filter((id) => !(id in this.resources)).sort();
  }

  condition(name: string): boolean {
    const known = this.evaluated.get(name);
    if (known !== undefined) return known;
    const definition = this.template.Conditions?.[name];
    if (definition === undefined) throw new Error(`unknown condition ${name}`);
    const value = this.evaluate(definition);
    this.evaluated.set(name, value);
    return value;
  }

  private evaluate(expression: unknown): boolean {
    const [fn, args] = single(expression);
    const list = args as unknown[];
    switch (fn) {
      case 'Condition':
        return this.condition(args as string);
      case 'Fn::Equals':
        return JSON.stringify(this.resolve(list[0])) === JSON.stringify(this.resolve(list[1]));
      case 'Fn::Not':
        return !this.evaluate(list[0]);
      case 'Fn::And':
        return list.every((e) => this.evaluate(e));
      case 'Fn::Or':
        return list.some((e) => this.evaluate(e));
      default:
        throw new Error(`unsupported condition function ${String(fn)}`);
    }
  }

  resolve(value: unknown): unknown {
    if (Array.isArray(value))
      return value.map((v) => this.resolve(v)).filter((v) => v !== NO_VALUE);
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value as Record<string, unknown>);
    const [first] = entries;
    if (
      entries.length === 1 &&
      first !== undefined &&
      (first[0] === 'Ref' || first[0].startsWith('Fn::'))
    ) {
      return this.intrinsic(first[0], first[1]);
    }
    const out: Record<string, unknown> = {};
    for (const [key, v] of entries) {
      const resolved = this.resolve(v);
      if (resolved !== NO_VALUE) out[key] = resolved;
    }
    return out;
  }

  private intrinsic(fn: string, args: unknown): unknown {
    const list = args as unknown[];
    switch (fn) {
      case 'Ref': {
        const name = args as string;
        if (name === 'AWS::NoValue') return NO_VALUE;
        if (name in PSEUDO) return PSEUDO[name];
        const parameter = this.template.Parameters?.[name];
        if (parameter !== undefined) {
          if (name in this.parameters) return this.parameters[name];
          if (parameter.Default === undefined) throw new Error(`parameter ${name} has no value`);
          return parameter.Default;
        }
        this.references.add(name);
        return `{{Ref:${name}}}`;
      }
      case 'Fn::GetAtt': {
        const [id, attribute] = typeof args === 'string' ? args.split('.') : (list as string[]);
        this.references.add(id as string);
        return `{{${id}.${attribute}}}`;
      }
      case 'Fn::If':
        return this.resolve(this.condition(list[0] as string) ? list[1] : list[2]);
      case 'Fn::Join': {
        const parts = this.resolve(list[1]) as unknown[];
        return parts
          .map((p) => {
            if (typeof p !== 'string')
              throw new Error(`Fn::Join of a non-string ${JSON.stringify(p)}`);
            return p;
          })
          .join(list[0] as string);
      }
      case 'Fn::Sub': {
        const text = (typeof args === 'string' ? args : list[0]) as string;
        return text.replace(/\$\{([^}]+)\}/g, (_m, name: string) => {
          if (name in PSEUDO) return PSEUDO[name] as string;
          const [id, attribute] = name.split('.');
          this.references.add(id as string);
          return attribute === undefined ? `{{Ref:${id}}}` : `{{${id}.${attribute}}}`;
        });
      }
      default:
        throw new Error(`unsupported intrinsic ${fn}`);
    }
  }

  /** The only created resource of a type. */
  one(type: string): [string, CfnResource] {
    const found = Object.entries(this.resources).filter(([, r]) => r.Type === type);
    if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
    return found[0] as [string, CfnResource];
  }

  /**
   * The created resource with this logical id, which must be of `type`: for types the stack
   * creates more than one of (functions, roles), so a test names the one it means.
   */
  byId(id: string, type: string): CfnResource {
    const found = this.resources[id];
    if (found === undefined) throw new Error(`no created resource ${id}`);
    if (found.Type !== type) throw new Error(`${id} is a ${found.Type}, not a ${type}`);
    return found;
  }

  ofType(type: string): [string, CfnResource][] {
    return Object.entries(this.resources).filter(([, r]) => r.Type === type);
  }
}

function single(expression: unknown): [string, unknown] {
  const entries = Object.entries(expression as Record<string, unknown>);
  if (entries.length !== 1) throw new Error(`not an intrinsic: ${JSON.stringify(expression)}`);
  return entries[0] as [string, unknown];
}

export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Principal?: unknown;
  readonly Action: string | string[];
  readonly Resource: string | string[];
  readonly Condition?: unknown;
}

/** Every policy statement in the stack, with where it comes from. */
export function policyStatements(stack: Stack): { where: string; statement: PolicyStatement }[] {
  const found: { where: string; statement: PolicyStatement }[] = [];
  const add = (where: string, document: unknown): void => {
    const statements = (document as { Statement?: unknown } | undefined)?.Statement;
    for (const statement of [statements ?? []].flat() as PolicyStatement[])
      found.push({ where, statement });
  };
  for (const [id, resource] of Object.entries(stack.resources)) {
    const p = resource.Properties ?? {};
    switch (resource.Type) {
      case 'AWS::IAM::Role':
        for (const policy of (p.Policies as
          { PolicyName: string; PolicyDocument: unknown }[] | undefined) ?? []) {
          add(`${id} (role policy)`, policy.PolicyDocument);
        }
        break;
      case 'AWS::IAM::Policy':
      case 'AWS::IAM::ManagedPolicy':
        add(id, p.PolicyDocument);
        break;
      case 'AWS::S3::BucketPolicy':
      case 'AWS::SQS::QueuePolicy':
        add(id, p.PolicyDocument);
        break;
      case 'AWS::OpenSearchService::Domain':
        add(`${id} (access policy)`, p.AccessPolicies);
        break;
      default:
        break;
    }
  }
  return found;
}
