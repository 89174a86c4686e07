import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AnswerStream, ChunkRouter, describeResult } from '../src/answerStream';

describe('chunk assembly', () => {
  it('assembles chunks in arrival order per token', () => {
    const router = new ChunkRouter();
    const first = new AnswerStream();
    const second = new AnswerStream();
    const a = router.open((t) => first.append(t));
    const b = router.open((t) => second.append(t));
    assert.notEqual(a, b);
    router.accept({ token: a, text: 'Call ' });
    router.accept({ token: b, text: 'Other' });
    router.accept({ token: a, text: '`model.eval()`' });
    router.accept({ token: a, text: ' first.' });
    assert.equal(first.text, 'Call `model.eval()` first.');
    assert.equal(second.text, 'Other');
  });

  it('drops chunks for unknown or released tokens and malformed notifications', () => {
    const router = new ChunkRouter();
    const stream = new AnswerStream();
    const token = router.open((t) => stream.append(t));
    assert.equal(router.accept({ token: 'someone-else', text: 'x' }), false);
    assert.equal(router.accept({ token, text: 42 }), false);
    assert.equal(router.accept(null), false);
    assert.equal(router.accept({ token, text: 'kept' }), true);
    router.release(token);
    assert.equal(router.accept({ token, text: ' late' }), false);
    assert.equal(stream.text, 'kept');
  });

  it('lets the final markdown replace the streamed text, and ignores chunks after it', () => {
    const stream = new AnswerStream();
    stream.append('partial');
    stream.finish('complete answer');
    stream.append(' straggler');
    assert.equal(stream.text, 'complete answer');
    assert.ok(stream.finished);
  });

  it('keeps the streamed text when the result carries no markdown', () => {
    const stream = new AnswerStream();
    stream.append('streamed');
    stream.finish(undefined);
    assert.equal(stream.text, 'streamed');
  });
});

describe('answer metadata line', () => {
  it('shows agent, model, tokens and cost', () => {
    const line = describeResult({
      markdown: '',
      agent: 'ml-engineer',
      model: 'claude-sonnet-4-5',
      backend: 'anthropic',
      usage: { input_tokens: 1200, output_tokens: 300, cache_read_input_tokens: 1000 },
      cost_usd: 0.0123,
    });
    assert.equal(line, 'agent ml-engineer · model claude-sonnet-4-5 · 1200 in / 300 out tokens (1000 from cache) · $0.01');
  });

  it('says offline and cached', () => {
    assert.equal(describeResult({ markdown: '', agent: 'ml-engineer', backend: 'offline', offline: true, cost_usd: 0, cached: true }), 'agent ml-engineer · offline · $0.0000 · cached answer');
  });
});
