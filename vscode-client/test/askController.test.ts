// The ask flow against a fake server: streaming into the panel, stop, follow-up, copy.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import * as vscode from 'vscode';
import { AskResult, ChunkRouter } from '../src/answerStream';
import { AskBackend, AskController } from '../src/askController';
import { AskParams } from '../src/languageServer';
import { ExchangeView, ToPanel } from '../src/panelMessages';
import { PreviewDocuments } from '../src/previewDocument';
import { ProposedChanges } from '../src/proposedChanges';
import { stub } from './vscodeStub';

interface PendingAsk {
  params: AskParams;
  token: vscode.CancellationToken;
  resolve(result: AskResult): void;
  reject(error: Error): void;
}

class FakeServer implements AskBackend {
  readonly chunks = new ChunkRouter();
  readonly asks: PendingAsk[] = [];
  resets: string[] = [];
  ask(params: AskParams, token: vscode.CancellationToken): Promise<AskResult> {
    return new Promise((resolve, reject) => this.asks.push({ params, token, resolve, reject }));
  }
  async preview(): Promise<{ text: string }> {
    return { text: 'preview' };
  }
  async resetConversation(uri: string): Promise<void> {
    this.resets.push(uri);
  }
  chunk(index: number, text: string): void {
    this.chunks.accept({ token: this.asks[index].params.token, text });
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const RANGE = { start: { line: 4, character: 0 }, end: { line: 9, character: 0 } };
const URI = 'file:///ws/train.py';

function lastRender(): ToPanel {
  const renders = stub.posted.filter((m): m is ToPanel => (m as ToPanel).type === 'render');
  assert.ok(renders.length > 0, 'the panel received nothing');
  return renders[renders.length - 1];
}
function lastExchange(): ExchangeView {
  const exchanges = lastRender().exchanges;
  return exchanges[exchanges.length - 1];
}
function fromWebview(message: unknown): void {
  assert.ok(stub.webviewListener, 'the webview has no message listener');
  stub.webviewListener(message);
}

describe('ask controller', () => {
  let server: FakeServer;
  let controller: AskController;

  beforeEach(() => {
    stub.reset();
    server = new FakeServer();
    controller = new AskController(vscode.Uri.file('/ext'), server, new ProposedChanges(), new PreviewDocuments());
  });

  // A test's pending render timer must not post into the next test's (shared) webview stub.
  afterEach(() => controller.dispose());

  // Returns the pending ask wrapped in an object: an async function cannot return a bare promise.
  async function startAsk(question = 'Why is eval mode missing?'): Promise<{ done: Promise<AskResult | undefined> }> {
    const done = controller.askFromServer({ uri: URI, range: RANGE, question });
    fromWebview({ type: 'ready' });
    await sleep(0);
    return { done };
  }

  it('sends the request with a chunk token and streams chunks into the panel', async () => {
    const { done } = await startAsk();
    assert.equal(server.asks.length, 1);
    const sent = server.asks[0].params;
    assert.deepEqual({ ...sent, token: undefined }, { uri: URI, range: RANGE, question: 'Why is eval mode missing?', token: undefined });
    assert.ok(sent.token);

    server.chunk(0, 'Call `model.eval()` ');
    server.chunk(0, 'before **evaluating**.');
    await sleep(80);
    assert.equal(lastExchange().status, 'streaming');
    assert.equal(lastRender().busy, true);
    assert.match(lastExchange().html, /Call <code>model\.eval\(\)<\/code> before <strong>evaluating<\/strong>\./);

    server.asks[0].resolve({ markdown: 'Final: call `model.eval()`.', agent: 'ml-engineer', backend: 'offline', offline: true, cost_usd: 0 });
    const result = await done;
    assert.equal(result?.markdown, 'Final: call `model.eval()`.');
    assert.equal(lastRender().busy, false);
    assert.equal(lastExchange().status, 'done');
    assert.match(lastExchange().html, /Final: call/);
    assert.match(lastExchange().meta, /agent ml-engineer · offline/);
  });

  it('renders streamed markdown sanitised', async () => {
    const { done } = await startAsk();
    server.chunk(0, '<script>alert(1)</script>[x](javascript:alert(2))');
    server.asks[0].resolve({ markdown: '<img src=x onerror=alert(1)>' });
    await done;
    assert.doesNotMatch(lastExchange().html, /<script|<img|javascript:/);
  });

  it('stops: cancels the request, ignores later chunks and the late result', async () => {
    const { done } = await startAsk();
    server.chunk(0, 'first part');
    fromWebview({ type: 'stop' });
    assert.equal(server.asks[0].token.isCancellationRequested, true);
    server.chunk(0, ' after stop');
    server.asks[0].resolve({ markdown: 'late result' });
    assert.equal(await done, undefined);
    assert.equal(lastExchange().status, 'stopped');
    assert.match(lastExchange().html, /first part/);
    assert.doesNotMatch(lastExchange().html, /after stop|late result/);
  });

  it('shows a failed request as an error', async () => {
    const { done } = await startAsk();
    server.asks[0].reject(new Error('Anthropic API: 401 invalid x-api-key'));
    await done;
    assert.equal(lastExchange().status, 'error');
    assert.match(lastExchange().error ?? '', /401/);
  });

  it('asks follow-ups about the same code and keeps the transcript', async () => {
    const { done: first } = await startAsk();
    server.asks[0].resolve({ markdown: 'one' });
    await first;
    fromWebview({ type: 'followUp', question: 'And the scheduler?' });
    await sleep(0);
    assert.equal(server.asks.length, 2);
    assert.equal(server.asks[1].params.uri, URI);
    assert.deepEqual(server.asks[1].params.range, RANGE);
    assert.equal(server.asks[1].params.question, 'And the scheduler?');
    server.asks[1].resolve({ markdown: 'two' });
    await sleep(0);
    assert.deepEqual(
      lastRender().exchanges.map((e) => e.question),
      ['Why is eval mode missing?', 'And the scheduler?'],
    );
  });

  it('offers to set an API key under an answer that is offline for want of one', async () => {
    const { done } = await startAsk();
    server.asks[0].resolve({ markdown: 'offline answer', offline: true, offline_reason: 'ANTHROPIC_API_KEY is not set' });
    await done;
    assert.equal(lastExchange().offerApiKey, true);
    fromWebview({ type: 'setApiKey' });
    await sleep(0);
    assert.deepEqual(stub.executed.map((e) => e.command), ['mlEngineer.setApiKey']);

    const { done: second } = await startAsk('Other?');
    server.asks[1].resolve({ markdown: 'offline by choice', offline: true, offline_reason: 'offline backend requested' });
    await second;
    assert.equal(lastExchange().offerApiKey, false);
  });

  it('copies the answer markdown', async () => {
    const { done } = await startAsk();
    server.asks[0].resolve({ markdown: '**bold** answer' });
    await done;
    fromWebview({ type: 'copy', exchange: lastExchange().id });
    await sleep(0);
    assert.equal(stub.clipboard, '**bold** answer');
  });

  it('starts a new conversation on the server too', async () => {
    const { done } = await startAsk();
    server.asks[0].resolve({ markdown: 'x' });
    await done;
    fromWebview({ type: 'newConversation' });
    await sleep(0);
    assert.deepEqual(server.resets, [URI]);
    assert.deepEqual(lastRender().exchanges, []);
  });

  it('prompts for a question when a code lens gives none, and sends nothing on Escape', async () => {
    stub.inputAnswers = [undefined];
    assert.equal(await controller.askFromServer({ uri: URI, range: RANGE }), undefined);
    assert.equal(stub.inputBoxes.length, 1);
    assert.match(stub.inputBoxes[0].value ?? '', /What could go wrong/);
    assert.equal(server.asks.length, 0);
  });

  it('ignores malformed messages from the webview', async () => {
    const { done } = await startAsk();
    fromWebview({ type: 'insert', exchange: 'x' });
    fromWebview({ type: 'followUp', question: '   ' });
    fromWebview({ type: 'eval', code: 'x' });
    await sleep(0);
    assert.equal(server.asks.length, 1);
    server.asks[0].resolve({ markdown: '' });
    await done;
  });

  it('loads the panel with a strict Content-Security-Policy', async () => {
    const { done } = await startAsk();
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(stub.panelHtml)?.[1] ?? '';
    assert.match(csp, /default-src 'none'/);
    const nonce = /script-src 'nonce-([A-Za-z0-9]+)'/.exec(csp)?.[1];
    assert.ok(nonce && nonce.length >= 16);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:/);
    const scripts = [...stub.panelHtml.matchAll(/<script([^>]*)>/g)].map((m) => m[1]);
    assert.deepEqual(scripts, [` nonce="${nonce}" src="file:///ext/dist/webview.js"`]);
    server.asks[0].resolve({ markdown: '' });
    await done;
  });
});
