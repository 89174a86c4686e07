import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { serverEnvironment } from '../src/serverEnvironment';
import { answersOffline, DEFAULT_SETTINGS, toServerSettings } from '../src/settings';

const getter = (values: Record<string, unknown>) => (key: string) => values[key];

describe('settings mapping', () => {
  it('gives the protocol defaults when nothing is set', () => {
    assert.deepEqual(toServerSettings(getter({}), { trusted: true }), DEFAULT_SETTINGS);
  });

  it('maps every key to the shape of docs/lsp-protocol.md', () => {
    const settings = toServerSettings(
      getter({
        'rules.select': ['ML1', ' ML203 '],
        'rules.ignore': ['ML105'],
        'rules.severity': { ml101: 'Error', ML102: 'hint' },
        debounceMs: 350,
        'codeLens.enabled': false,
        maxFileSizeBytes: 1000,
        'agent.backend': 'anthropic',
        'agent.name': 'reviewer',
        'agent.model': 'claude-sonnet-4-5',
        'agent.baseUrl': 'http://127.0.0.1:8080',
        'agent.maxContextTokens': 3000,
        'agent.maxTokens': 512,
        'agent.excludePaths': ['**/secrets/**'],
        'review.onSave': true,
        'review.maxPerHour': 25,
      }),
      { trusted: true },
    );
    assert.deepEqual(settings, {
      rules: { select: ['ML1', 'ML203'], ignore: ['ML105'], severity: { ML101: 'error', ML102: 'hint' } },
      debounceMs: 350,
      codeLens: { enabled: false },
      maxFileSizeBytes: 1000,
      agent: {
        backend: 'anthropic',
        name: 'reviewer',
        model: 'claude-sonnet-4-5',
        baseUrl: 'http://127.0.0.1:8080',
        maxContextTokens: 3000,
        maxTokens: 512,
        excludePaths: ['**/secrets/**'],
      },
      review: { onSave: true, maxPerHour: 25 },
    });
  });

  it('replaces invalid values by defaults instead of passing them on', () => {
    const settings = toServerSettings(
      getter({ 'agent.backend': 'openai', debounceMs: -5, 'rules.select': 'ML1', 'rules.severity': { ML101: 'fatal' }, 'agent.maxTokens': Number.NaN }),
      { trusted: true },
    );
    assert.equal(settings.agent.backend, 'auto');
    assert.equal(settings.debounceMs, 200);
    assert.deepEqual(settings.rules.select, []);
    assert.deepEqual(settings.rules.severity, {});
    assert.equal(settings.agent.maxTokens, 2048);
  });

  it('forces the offline backend in an untrusted workspace', () => {
    const settings = toServerSettings(getter({ 'agent.backend': 'anthropic' }), { trusted: false });
    assert.equal(settings.agent.backend, 'offline');
  });

  it('maps the review settings, with the server\'s bounds', () => {
    const review = (values: Record<string, unknown>) => toServerSettings(getter(values), { trusted: true }).review;
    assert.deepEqual(review({}), { onSave: false, maxPerHour: 10 });
    assert.deepEqual(review({ 'review.onSave': true, 'review.maxPerHour': 0 }), { onSave: true, maxPerHour: 0 });
    assert.equal(review({ 'review.maxPerHour': 7.9 }).maxPerHour, 7, 'the server wants a whole number');
    assert.equal(review({ 'review.maxPerHour': 5000 }).maxPerHour, 1000, 'the server accepts at most 1000');
    assert.equal(review({ 'review.maxPerHour': -1 }).maxPerHour, 10);
    assert.equal(review({ 'review.maxPerHour': '20' }).maxPerHour, 10);
    assert.equal(review({ 'review.onSave': 'yes' }).onSave, false);
  });

  it('turns reviews on save off in an untrusted workspace', () => {
    const settings = toServerSettings(getter({ 'review.onSave': true, 'review.maxPerHour': 50 }), { trusted: false });
    assert.deepEqual(settings.review, { onSave: false, maxPerHour: 50 });
  });

  it('never carries an API key', () => {
    const settings = toServerSettings(getter({ 'agent.apiKey': 'sk-ant-secret' }), { trusted: true });
    assert.ok(!JSON.stringify(settings).includes('sk-ant-secret'));
  });

  it('knows when answers are offline', () => {
    const auto = toServerSettings(getter({}), { trusted: true });
    assert.equal(answersOffline(auto, false), true);
    assert.equal(answersOffline(auto, true), false);
    assert.equal(answersOffline(toServerSettings(getter({ 'agent.backend': 'offline' }), { trusted: true }), true), true);
    assert.equal(answersOffline(toServerSettings(getter({ 'agent.backend': 'anthropic' }), { trusted: true }), false), false);
  });
});

describe('server environment', () => {
  it('passes the stored key as ANTHROPIC_API_KEY', () => {
    const env = serverEnvironment({ PATH: '/bin' }, 'sk-ant-1', { trusted: true });
    assert.equal(env.ANTHROPIC_API_KEY, 'sk-ant-1');
    assert.equal(env.PATH, '/bin');
  });

  it('keeps an inherited key when none is stored', () => {
    assert.equal(serverEnvironment({ ANTHROPIC_API_KEY: 'sk-ant-env' }, undefined, { trusted: true }).ANTHROPIC_API_KEY, 'sk-ant-env');
  });

  it('gives no key at all to the server of an untrusted workspace', () => {
    const env = serverEnvironment({ ANTHROPIC_API_KEY: 'sk-ant-env' }, 'sk-ant-1', { trusted: false });
    assert.equal(env.ANTHROPIC_API_KEY, undefined);
  });

  it('does not modify the environment it was given', () => {
    const base = { PATH: '/bin' };
    serverEnvironment(base, 'sk-ant-1', { trusted: true });
    assert.deepEqual(base, { PATH: '/bin' });
  });
});

describe('status bar states', () => {
  it('labels every state distinctly and flags only failures as errors', async () => {
    const { presentState } = await import('../src/serverState');
    const states = [
      presentState({ kind: 'starting' }),
      presentState({ kind: 'running', offline: false, untrusted: false, source: 'x' }),
      presentState({ kind: 'running', offline: true, untrusted: true, source: 'x' }),
      presentState({ kind: 'missing', detail: 'not found' }),
      presentState({ kind: 'error', detail: 'crashed' }),
    ];
    assert.equal(new Set(states.map((s) => s.label)).size, states.length);
    assert.deepEqual(
      states.map((s) => s.isError),
      [false, false, false, true, true],
    );
    assert.match(states[2].text, /offline/);
    assert.match(states[2].tooltip, /untrusted/);
  });
});

describe('workspace/configuration answers', () => {
  it('answers the mlEngineer section and its sub-sections with mapped settings, others with the defaults', async () => {
    const { answerConfigurationItems } = await import('../src/settings');
    const scopes: (string | undefined)[] = [];
    const settingsFor = (scope: string | undefined) => {
      scopes.push(scope);
      return toServerSettings(getter({ 'agent.backend': 'anthropic', 'server.path': '/x' }), { trusted: true });
    };
    const answers = answerConfigurationItems(
      [{ section: 'mlEngineer', scopeUri: 'file:///ws/a.py' }, { section: 'mlEngineer.agent' }, { section: 'mlEngineer.agent.backend' }, { section: 'python' }, { section: 'mlEngineer.nope' }],
      ['raw', 'raw', 'raw', { python: true }, 'raw'],
      settingsFor,
    );
    assert.equal((answers[0] as { agent: { backend: string } }).agent.backend, 'anthropic');
    assert.ok(!('server' in (answers[0] as object)), 'the server path is not a server setting');
    assert.equal((answers[1] as { backend: string }).backend, 'anthropic');
    assert.equal(answers[2], 'anthropic');
    assert.deepEqual(
      answerConfigurationItems([{ section: 'mlEngineer.review' }], [null], () => toServerSettings(getter({ 'review.onSave': true }), { trusted: true })),
      [{ onSave: true, maxPerHour: 10 }],
    );
    assert.deepEqual(answers[3], { python: true });
    assert.equal(answers[4], null);
    assert.equal(scopes[0], 'file:///ws/a.py');
  });
});
