// Maps the VS Code settings under `mlEngineer` to the settings object the server reads
// (docs/lsp-protocol.md, section `mlEngineer`). Pure: the caller passes a getter, so tests
// need no VS Code.

/** The settings section, in VS Code and in the protocol. */
export const SECTION = 'mlEngineer';

export type Backend = 'auto' | 'anthropic' | 'offline';
export type Severity = 'error' | 'warning' | 'info' | 'hint';

export interface ServerSettings {
  rules: { select: string[]; ignore: string[]; severity: Record<string, Severity> };
  debounceMs: number;
  codeLens: { enabled: boolean };
  maxFileSizeBytes: number;
  agent: {
    backend: Backend;
    name: string;
    model: string;
    baseUrl: string;
    maxContextTokens: number;
    maxTokens: number;
    excludePaths: string[];
  };
  review: { onSave: boolean; maxPerHour: number };
}

/** Reads one setting by its key relative to `mlEngineer` (e.g. `agent.backend`). */
export type SettingGetter = (key: string) => unknown;

export const DEFAULT_SETTINGS: ServerSettings = {
  rules: { select: [], ignore: [], severity: {} },
  debounceMs: 200,
  codeLens: { enabled: true },
  maxFileSizeBytes: 2_000_000,
  agent: {
    backend: 'auto',
    name: 'ml-engineer',
    model: '',
    baseUrl: '',
    maxContextTokens: 6000,
    maxTokens: 2048,
    excludePaths: [],
  },
  review: { onSave: false, maxPerHour: 10 },
};

/** The server accepts at most this many automatic reviews per hour (lsp/review.py). */
const MAX_REVIEWS_PER_HOUR = 1000;

const BACKENDS: readonly Backend[] = ['auto', 'anthropic', 'offline'];
const SEVERITIES: readonly Severity[] = ['error', 'warning', 'info', 'hint'];

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string' && v.trim() !== '').map((v) => v.trim()) : [];
}

function text(value: unknown, fallback: string): string {
  return typeof value === 'string' ? value.trim() : fallback;
}

function count(value: unknown, fallback: number, minimum: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= minimum ? Math.floor(value) : fallback;
}

function flag(value: unknown, fallback: boolean): boolean {
  return typeof value === 'boolean' ? value : fallback;
}

function severities(value: unknown): Record<string, Severity> {
  const result: Record<string, Severity> = {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return result;
  }
  for (const [code, severity] of Object.entries(value as Record<string, unknown>)) {
    const normalised = typeof severity === 'string' ? severity.toLowerCase() : '';
    if ((SEVERITIES as readonly string[]).includes(normalised)) {
      result[code.trim().toUpperCase()] = normalised as Severity;
    }
  }
  return result;
}

/**
 * Builds the server settings. In an untrusted workspace the backend is forced to `offline` and
 * reviews on save are off, so that no code leaves the machine whatever the workspace's settings say.
 */
export function toServerSettings(get: SettingGetter, options: { trusted: boolean }): ServerSettings {
  const d = DEFAULT_SETTINGS;
  const backend = text(get('agent.backend'), d.agent.backend) as Backend;
  return {
    rules: {
      select: stringList(get('rules.select')),
      ignore: stringList(get('rules.ignore')),
      severity: severities(get('rules.severity')),
    },
    debounceMs: count(get('debounceMs'), d.debounceMs, 0),
    codeLens: { enabled: flag(get('codeLens.enabled'), d.codeLens.enabled) },
    maxFileSizeBytes: count(get('maxFileSizeBytes'), d.maxFileSizeBytes, 1),
    agent: {
      backend: !options.trusted ? 'offline' : BACKENDS.includes(backend) ? backend : d.agent.backend,
      name: text(get('agent.name'), d.agent.name) || d.agent.name,
      model: text(get('agent.model'), d.agent.model),
      baseUrl: text(get('agent.baseUrl'), d.agent.baseUrl),
      maxContextTokens: count(get('agent.maxContextTokens'), d.agent.maxContextTokens, 1),
      maxTokens: count(get('agent.maxTokens'), d.agent.maxTokens, 1),
      excludePaths: stringList(get('agent.excludePaths')),
    },
    review: {
      onSave: options.trusted && flag(get('review.onSave'), d.review.onSave),
      maxPerHour: reviewBudget(get('review.maxPerHour')),
    },
  };
}

function reviewBudget(value: unknown): number {
  return Math.min(count(value, DEFAULT_SETTINGS.review.maxPerHour, 0), MAX_REVIEWS_PER_HOUR);
}

/** Whether questions will be answered offline (shown in the status bar). */
export function answersOffline(settings: ServerSettings, hasApiKey: boolean): boolean {
  const backend = settings.agent.backend;
  return backend === 'offline' || (backend === 'auto' && !hasApiKey);
}

/**
 * The answer to a `workspace/configuration` request: items of the `mlEngineer` section (or one
 * of its sub-sections) get the mapped settings, any other section what VS Code answered.
 */
export function answerConfigurationItems(
  items: { section?: string; scopeUri?: string }[],
  defaults: unknown[],
  settingsFor: (scopeUri: string | undefined) => ServerSettings,
): unknown[] {
  return items.map((item, index) => {
    const section = item.section ?? '';
    if (section !== SECTION && !section.startsWith(`${SECTION}.`)) {
      return defaults[index] ?? null;
    }
    let value: unknown = settingsFor(item.scopeUri);
    for (const part of section.split('.').slice(1)) {
      value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined;
    }
    return value ?? null;
  });
}
