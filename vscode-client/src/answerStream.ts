// Assembles streamed answers. The server sends `mlEngineer/answerChunk` {token, text} while a
// `mlEngineer.ask` request runs; chunks are routed by token to the answer they belong to.
// Chunks for unknown or finished tokens are dropped (a stopped request may still send some).

export interface AnswerChunk {
  token: string;
  text: string;
}

export interface AskResult {
  markdown: string;
  backend?: string;
  agent?: string;
  model?: string;
  usage?: { input_tokens?: number; output_tokens?: number; cache_read_input_tokens?: number };
  cost_usd?: number | null;
  offline?: boolean;
  /** Why the answer is offline (e.g. "ANTHROPIC_API_KEY is not set"). */
  offline_reason?: string | null;
  cached?: boolean;
}

/** The text of one answer as it fills in. */
export class AnswerStream {
  private parts: string[] = [];
  private finalText: string | undefined;

  append(text: string): void {
    if (this.finalText === undefined) {
      this.parts.push(text);
    }
  }

  /** The server's final markdown is authoritative: it replaces whatever was streamed. */
  finish(markdown: string | undefined): void {
    this.finalText = markdown ?? this.parts.join('');
  }

  get text(): string {
    return this.finalText ?? this.parts.join('');
  }

  get finished(): boolean {
    return this.finalText !== undefined;
  }
}

export class ChunkRouter {
  private readonly listeners = new Map<string, (text: string) => void>();
  private counter = 0;

  /** A fresh token; `listener` receives every chunk sent with it until `release`. */
  open(listener: (text: string) => void): string {
    this.counter += 1;
    const token = `ask-${Date.now().toString(36)}-${this.counter}`;
    this.listeners.set(token, listener);
    return token;
  }

  release(token: string): void {
    this.listeners.delete(token);
  }

  /** Handles one notification; returns whether it was delivered. */
  accept(params: unknown): boolean {
    if (!isChunk(params)) {
      return false;
    }
    const listener = this.listeners.get(params.token);
    if (!listener) {
      return false;
    }
    listener(params.text);
    return true;
  }
}

function isChunk(value: unknown): value is AnswerChunk {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as AnswerChunk).token === 'string' &&
    typeof (value as AnswerChunk).text === 'string'
  );
}

/** One line under the answer: who answered and what it cost. */
export function describeResult(result: AskResult): string {
  const parts: string[] = [];
  if (result.agent) {
    parts.push(`agent ${result.agent}`);
  }
  if (result.offline || result.backend === 'offline') {
    parts.push('offline');
  } else if (result.model) {
    parts.push(`model ${result.model}`);
  }
  const usage = result.usage;
  if (usage && (usage.input_tokens !== undefined || usage.output_tokens !== undefined)) {
    let tokens = `${usage.input_tokens ?? 0} in / ${usage.output_tokens ?? 0} out tokens`;
    if (usage.cache_read_input_tokens) {
      tokens += ` (${usage.cache_read_input_tokens} from cache)`;
    }
    parts.push(tokens);
  }
  if (typeof result.cost_usd === 'number') {
    parts.push(`$${result.cost_usd < 0.01 ? result.cost_usd.toFixed(4) : result.cost_usd.toFixed(2)}`);
  }
  if (result.cached) {
    parts.push('cached answer');
  }
  return parts.join(' · ');
}
