// The AI review's request arguments and the one-line summary shown after it. Pure: no VS Code,
// so the tests check them directly. The result shape is docs/lsp-protocol.md, `mlEngineer.review`.

export const REVIEW_COMMAND = 'mlEngineer.review';

interface LspRangeLike {
  start: { line: number; character: number };
  end: { line: number; character: number };
}

export interface ReviewParams {
  uri: string;
  range?: LspRangeLike;
}

export interface ReviewFinding {
  code?: string;
  title?: string;
  severity?: string;
  /** The rule code whose finding this one repeats (shown in that finding's hover, not published). */
  duplicate_of?: string | null;
}

export interface ReviewResult {
  findings?: ReviewFinding[];
  backend?: string;
  model?: string;
  usage?: { input_tokens?: number; output_tokens?: number; cache_read_input_tokens?: number };
  cost_usd?: number | null;
  offline?: boolean;
  offline_reason?: string | null;
  cached?: boolean;
  dropped?: Record<string, number>;
  rule_findings?: unknown[];
  summary?: string;
}

/**
 * `{uri}` for a whole-file review, `{uri, range}` for a range. Only plain numbers are copied, so
 * a VS Code `Range` (with methods and getters) becomes the JSON an LSP server expects.
 */
export function reviewArguments(uri: string, range?: LspRangeLike): ReviewParams {
  if (!range) {
    return { uri };
  }
  return {
    uri,
    range: {
      start: { line: range.start.line, character: range.start.character },
      end: { line: range.end.line, character: range.end.character },
    },
  };
}

/** Whether the result is an offline answer that an API key would have turned into the agent's. */
export function offersApiKey(result: { offline?: boolean; offline_reason?: string | null }, trusted: boolean): boolean {
  return trusted && result.offline === true && /ANTHROPIC_API_KEY/.test(result.offline_reason ?? '');
}

export interface ReviewSummary {
  message: string;
  /** Findings the user can look at in the Problems panel. */
  findings: number;
  offerApiKey: boolean;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/** What the notification says after a review of `target` (a file name, or "lines 5-9 of x.py"). */
export function summarizeReview(result: ReviewResult, target: string, options: { trusted: boolean }): ReviewSummary {
  if (result.offline) {
    const rules = result.rule_findings?.length ?? 0;
    const why = !options.trusted
      ? 'untrusted workspace'
      : result.offline_reason
        ? result.offline_reason
        : 'offline backend';
    return {
      message: `ML Engineer: offline review of ${target} (${why}): ${plural(rules, 'rule finding')} explained; nothing was sent.`,
      findings: rules,
      offerApiKey: offersApiKey(result, options.trusted),
    };
  }
  const all = result.findings ?? [];
  const shown = all.filter((f) => !f.duplicate_of).length;
  const merged = all.length - shown;
  const parts = [shown === 0 ? 'no new findings' : plural(shown, 'finding')];
  if (merged) {
    parts[0] += ` (+${merged} agreeing with rule findings)`;
  }
  const dropped = Object.values(result.dropped ?? {}).reduce((sum, n) => sum + (typeof n === 'number' ? n : 0), 0);
  if (dropped) {
    parts.push(`${dropped} malformed item${dropped === 1 ? '' : 's'} dropped`);
  }
  const usage = result.usage ?? {};
  parts.push(`${usage.input_tokens ?? 0} in / ${usage.output_tokens ?? 0} out tokens`);
  if (result.cached) {
    parts.push('cached, no new cost');
  } else if (typeof result.cost_usd === 'number') {
    parts.push(`~$${result.cost_usd.toFixed(4)}`);
  }
  const model = result.model ? ` (${result.model})` : '';
  return { message: `ML Engineer: review of ${target}${model}: ${parts.join(' · ')}.`, findings: shown, offerApiKey: false };
}

/** "train.py" or "lines 5-9 of train.py" (1-based, a selection ending at column 0 stops before). */
export function describeTarget(uri: string, range?: LspRangeLike): string {
  const last = uri.split(/[?#]/)[0].split('/').pop() ?? '';
  let name = last;
  try {
    name = decodeURIComponent(last);
  } catch {
    // a malformed escape: show it as it is
  }
  name ||= uri;
  if (!range) {
    return name;
  }
  const first = range.start.line + 1;
  let end = range.end.line + 1;
  if (range.end.character === 0 && end > first) {
    end -= 1;
  }
  return first === end ? `line ${first} of ${name}` : `lines ${first}-${end} of ${name}`;
}
