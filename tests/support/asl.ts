/**
 * A small interpreter for the subset of Amazon States Language the backfill state machine uses
 * (stepfunctions/backfill.asl.json), so its loop logic runs locally with the real worker:
 * - Map (INLINE) over `ItemsPath`, at most `MaxConcurrencyPath` iterations at once;
 * - Task `arn:aws:states:::lambda:invoke` with `Payload.$: "$"` and `OutputPath: "$.Payload"`
 *   (the Lambda's result is under `Payload`);
 * - Choice on `Variable` + `BooleanEquals`, with `Default`;
 * - Succeed, `End`.
 * Source: AWS Step Functions Developer Guide, "Map state", "Task", "Choice", "Input and output
 * processing" (InputPath/Parameters/OutputPath). Anything else throws, so the test cannot pass on
 * a definition it does not understand.
 */
type Json = Record<string, unknown>;

export interface AslStats {
  invocations: number;
  maxConcurrent: number;
}

function path(input: unknown, p: string): unknown {
  if (p === '$') return input;
  if (!p.startsWith('$.')) throw new Error(`unsupported path ${p}`);
  let v: unknown = input;
  for (const part of p.slice(2).split('.')) v = (v as Json | undefined)?.[part];
  return v;
}

export async function runStateMachine(
  definition: Json,
  input: unknown,
  invoke: (payload: unknown) => Promise<unknown>,
  stats: AslStats = { invocations: 0, maxConcurrent: 0 },
): Promise<unknown> {
  return runStates(definition, input, invoke, stats, { running: 0 });
}

async function runStates(
  machine: Json,
  input: unknown,
  invoke: (payload: unknown) => Promise<unknown>,
  stats: AslStats,
  live: { running: number },
): Promise<unknown> {
  const states = machine.States as Record<string, Json>;
  let name = machine.StartAt as string;
  let data = input;
  for (let steps = 0; steps < 10_000; steps++) {
    const state = states[name];
    if (state === undefined) throw new Error(`no state ${name}`);
    switch (state.Type) {
      case 'Map': {
        const items = path(data, state.ItemsPath as string) as unknown[];
        const limit = Number(path(data, state.MaxConcurrencyPath as string)) || items.length;
        const processor = state.ItemProcessor as Json;
        if ((processor.ProcessorConfig as Json).Mode !== 'INLINE') throw new Error('Map mode');
        const results: unknown[] = new Array(items.length);
        let next = 0;
        const lane = async (): Promise<void> => {
          while (next < items.length) {
            const i = next++;
            live.running++;
            stats.maxConcurrent = Math.max(stats.maxConcurrent, live.running);
            try {
              results[i] = await runStates(processor, items[i], invoke, stats, { running: 0 });
            } finally {
              live.running--;
            }
          }
        };
        await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
        data = results;
        break;
      }
      case 'Task': {
        if (state.Resource !== 'arn:aws:states:::lambda:invoke') throw new Error('Task resource');
        const params = state.Parameters as Json;
        if (params['Payload.$'] !== '$' || state.OutputPath !== '$.Payload') {
          throw new Error('unsupported Task input/output processing');
        }
        stats.invocations++;
        data = path({ Payload: await invoke(data) }, state.OutputPath as string);
        break;
      }
      case 'Choice': {
        const choices = state.Choices as Json[];
        const hit = choices.find((c) => {
          if (c.BooleanEquals === undefined) throw new Error('unsupported Choice rule');
          return path(data, c.Variable as string) === c.BooleanEquals;
        });
        name = (hit?.Next ?? state.Default) as string;
        continue;
      }
      case 'Succeed':
        return data;
      default:
        throw new Error(`unsupported state type ${String(state.Type)}`);
    }
    if (state.End === true) return data;
    name = state.Next as string;
  }
  throw new Error('state machine did not finish in 10 000 steps');
}
