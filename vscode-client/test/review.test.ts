// The AI review commands against a fake server: arguments, progress and cancellation, summary.
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import * as vscode from 'vscode';
import { ReviewBackend, ReviewController, SET_API_KEY_ACTION, SHOW_PROBLEMS_ACTION } from '../src/reviewController';
import { describeTarget, offersApiKey, ReviewParams, ReviewResult, reviewArguments, summarizeReview } from '../src/reviewSummary';
import { stub, window as stubWindow } from './vscodeStub';

const URI = 'file:///ws/train.py';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// What the server returns (lsp/review.py, ReviewResult.to_dict) for an online and an offline review.
const ONLINE: ReviewResult = {
  findings: [
    { code: 'AI123', title: 'Learning rate too high for batch 8', severity: 'warning', duplicate_of: null },
    { code: 'AI456', title: 'Validation set augmented', severity: 'error', duplicate_of: null },
    { code: 'AI789', title: 'Gradients never zeroed', severity: 'error', duplicate_of: 'ML102' },
  ],
  backend: 'anthropic',
  model: 'claude-sonnet-4-5',
  usage: { input_tokens: 3523, output_tokens: 412, cache_read_input_tokens: 1250 },
  cost_usd: 0.01675,
  offline: false,
  offline_reason: null,
  cached: false,
  dropped: { 'line range outside the snippets': 1 },
  rule_findings: [],
};
const OFFLINE: ReviewResult = {
  findings: [],
  backend: 'offline',
  model: 'offline',
  usage: { input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 0 },
  cost_usd: null,
  offline: true,
  offline_reason: 'ANTHROPIC_API_KEY is not set',
  cached: false,
  rule_findings: [{ code: 'ML201' }, { code: 'ML102' }, { code: 'ML301' }],
};

describe('review arguments', () => {
  it('sends only the uri for a whole file', () => {
    assert.deepEqual(reviewArguments(URI), { uri: URI });
  });

  it('copies a VS Code range into a plain LSP range', () => {
    const range = new vscode.Range(4, 2, 9, 0);
    const params = reviewArguments(URI, range);
    assert.deepEqual(params, { uri: URI, range: { start: { line: 4, character: 2 }, end: { line: 9, character: 0 } } });
    assert.equal(Object.getPrototypeOf(params.range), Object.prototype, 'a plain object, not the Range instance');
  });

  it('names what is reviewed in the notification, 1-based', () => {
    assert.equal(describeTarget(URI), 'train.py');
    assert.equal(describeTarget('file:///ws/my%20model.py'), 'my model.py');
    assert.equal(describeTarget(URI, { start: { line: 4, character: 0 }, end: { line: 9, character: 0 } }), 'lines 5-9 of train.py');
    assert.equal(describeTarget(URI, { start: { line: 4, character: 0 }, end: { line: 4, character: 12 } }), 'line 5 of train.py');
    assert.equal(describeTarget('vscode-notebook-cell:/ws/nb.ipynb#W1sZmlsZQ%3D%3D'), 'nb.ipynb');
  });
});

describe('review summary', () => {
  it('counts published findings, tokens and cost', () => {
    const summary = summarizeReview(ONLINE, 'train.py', { trusted: true });
    assert.equal(summary.findings, 2);
    assert.equal(summary.offerApiKey, false);
    assert.equal(
      summary.message,
      'ML Engineer: review of train.py (claude-sonnet-4-5): 2 findings (+1 agreeing with rule findings) · 1 malformed item dropped · 3523 in / 412 out tokens · ~$0.0168.',
    );
  });

  it('says when the result came from the cache and cost nothing', () => {
    const summary = summarizeReview({ ...ONLINE, findings: [], dropped: {}, cached: true, cost_usd: 0 }, 'train.py', { trusted: true });
    assert.equal(summary.findings, 0);
    assert.match(summary.message, /no new findings · 3523 in \/ 412 out tokens · cached, no new cost\.$/);
    assert.doesNotMatch(summary.message, /\$/);
  });

  it('notes an offline review, its reason, and offers the API key when that is the reason', () => {
    const summary = summarizeReview(OFFLINE, 'train.py', { trusted: true });
    assert.equal(summary.message, 'ML Engineer: offline review of train.py (ANTHROPIC_API_KEY is not set): 3 rule findings explained; nothing was sent.');
    assert.equal(summary.findings, 3);
    assert.equal(summary.offerApiKey, true);
  });

  it('does not offer a key when it would not help', () => {
    assert.equal(summarizeReview({ ...OFFLINE, offline_reason: 'offline backend requested' }, 'x.py', { trusted: true }).offerApiKey, false);
    assert.equal(summarizeReview({ ...OFFLINE, offline_reason: "the file matches agent.excludePaths pattern '**/secret*'" }, 'x.py', { trusted: true }).offerApiKey, false);
    const untrusted = summarizeReview(OFFLINE, 'x.py', { trusted: false });
    assert.equal(untrusted.offerApiKey, false);
    assert.match(untrusted.message, /offline review of x\.py \(untrusted workspace\).*nothing was sent/);
    assert.equal(offersApiKey({ offline: false, offline_reason: 'ANTHROPIC_API_KEY is not set' }, true), false);
  });
});

interface PendingReview {
  params: ReviewParams;
  token: vscode.CancellationToken;
  resolve(result: ReviewResult): void;
  reject(error: Error): void;
}

class FakeServer implements ReviewBackend {
  readonly reviews: PendingReview[] = [];
  review(params: ReviewParams, token: vscode.CancellationToken): Promise<ReviewResult> {
    return new Promise((resolve, reject) => this.reviews.push({ params, token, resolve, reject }));
  }
}

function editor(selection: vscode.Range & { isEmpty: boolean; active: vscode.Position }) {
  return {
    document: {
      uri: vscode.Uri.parse(URI),
      lineAt: (line: number) => ({ range: new vscode.Range(line, 0, line, 30) }),
    },
    selection,
  };
}

function selection(startLine: number, startCharacter: number, endLine: number, endCharacter: number) {
  const range = new vscode.Range(startLine, startCharacter, endLine, endCharacter);
  return Object.assign(range, { isEmpty: startLine === endLine && startCharacter === endCharacter, active: range.end });
}

describe('review commands', () => {
  let server: FakeServer;
  let controller: ReviewController;

  beforeEach(() => {
    stub.reset();
    server = new FakeServer();
    controller = new ReviewController(server);
  });

  it('reviews the whole file under a cancellable notification and summarises the result', async () => {
    stub.infoChoice = SHOW_PROBLEMS_ACTION;
    stubWindow.activeTextEditor = editor(selection(3, 0, 5, 4));
    const done = controller.reviewFile();
    await sleep(0);
    assert.deepEqual(server.reviews[0].params, { uri: URI });
    assert.deepEqual(stub.progress, [{ location: vscode.ProgressLocation.Notification, title: 'ML Engineer: reviewing train.py…', cancellable: true }]);
    server.reviews[0].resolve(ONLINE);
    assert.equal(await done, ONLINE);
    await sleep(0);
    assert.equal(stub.infos.length, 1);
    assert.match(stub.infos[0].message, /review of train\.py .*2 findings/);
    assert.deepEqual(stub.infos[0].items, [SHOW_PROBLEMS_ACTION]);
    assert.deepEqual(stub.executed.map((e) => e.command), ['workbench.actions.view.problems']);
  });

  it('reviews the selection, or the line under the cursor when nothing is selected', async () => {
    stubWindow.activeTextEditor = editor(selection(3, 0, 5, 4));
    void controller.reviewSelection();
    stubWindow.activeTextEditor = editor(selection(7, 3, 7, 3));
    void controller.reviewSelection();
    await sleep(0);
    assert.deepEqual(
      server.reviews.map((r) => r.params.range),
      [
        { start: { line: 3, character: 0 }, end: { line: 5, character: 4 } },
        { start: { line: 7, character: 0 }, end: { line: 7, character: 30 } },
      ],
    );
    assert.equal(stub.progress[0].title, 'ML Engineer: reviewing lines 4-6 of train.py…');
  });

  it('cancelling the notification cancels the request and shows no summary', async () => {
    stubWindow.activeTextEditor = editor(selection(0, 0, 0, 0));
    const done = controller.reviewFile();
    await sleep(0);
    stub.progressCancel!.cancel();
    assert.equal(server.reviews[0].token.isCancellationRequested, true);
    assert.equal(await done, undefined, 'ends without waiting for the server');
    server.reviews[0].resolve(ONLINE);
    await sleep(0);
    assert.deepEqual(stub.infos, []);
    assert.deepEqual(stub.warnings, []);
    assert.deepEqual(stub.statusMessages, ['ML Engineer: review cancelled']);
  });

  it('reports a failed review as an error', async () => {
    stubWindow.activeTextEditor = editor(selection(0, 0, 0, 0));
    const done = controller.reviewFile();
    await sleep(0);
    server.reviews[0].reject(new Error('Anthropic API: 401 invalid x-api-key'));
    assert.equal(await done, undefined);
    assert.deepEqual(stub.warnings, ['ML Engineer: the review of train.py failed: Anthropic API: 401 invalid x-api-key']);
    assert.deepEqual(stub.infos, []);
  });

  it('offers "Set Anthropic API key" after an offline review for want of a key, and runs it', async () => {
    stub.infoChoice = SET_API_KEY_ACTION;
    stubWindow.activeTextEditor = editor(selection(0, 0, 0, 0));
    const done = controller.reviewFile();
    await sleep(0);
    server.reviews[0].resolve(OFFLINE);
    await done;
    await sleep(0);
    assert.deepEqual(stub.infos[0].items, [SET_API_KEY_ACTION, SHOW_PROBLEMS_ACTION]);
    assert.deepEqual(stub.executed.map((e) => e.command), ['mlEngineer.setApiKey']);
  });

  it('in an untrusted workspace says up front that the review runs offline, and offers no key', async () => {
    stub.trusted = false;
    stubWindow.activeTextEditor = editor(selection(0, 0, 0, 0));
    const done = controller.reviewFile();
    await sleep(0);
    assert.match(stub.progress[0].title ?? '', /offline \(untrusted workspace: nothing is sent\)/);
    server.reviews[0].resolve({ ...OFFLINE, offline_reason: 'offline backend requested' });
    await done;
    assert.match(stub.infos[0].message, /offline review of train\.py \(untrusted workspace\)/);
    assert.ok(!stub.infos[0].items.includes(SET_API_KEY_ACTION));
  });

  it('asks for a file when no editor is open', async () => {
    assert.equal(await controller.reviewFile(), undefined);
    assert.equal(server.reviews.length, 0);
    assert.match(stub.warnings[0], /open a Python file/);
  });
});
