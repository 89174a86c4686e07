import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyUnifiedDiff, parseUnifiedDiff } from '../src/unifiedDiff';

const original = ['import torch', '', 'def evaluate(model, loader):', '    for x, y in loader:', '        out = model(x)', '    return out', ''].join('\n');

describe('unified diff', () => {
  it('applies a hunk located by its context', () => {
    const diff = ['--- a/train.py', '+++ b/train.py', '@@ -3,3 +3,5 @@', ' def evaluate(model, loader):', '+    model.eval()', '+    with torch.no_grad():', '     for x, y in loader:'].join('\n');
    const result = applyUnifiedDiff(original, diff);
    assert.ok(result.ok);
    assert.equal(result.text.split('\n').slice(2, 6).join('\n'), 'def evaluate(model, loader):\n    model.eval()\n    with torch.no_grad():\n    for x, y in loader:');
  });

  it('finds the hunk even when its line numbers are off', () => {
    const diff = ['@@ -40,2 +40,2 @@', '-        out = model(x)', '+        out = model(x.float())', '     return out'].join('\n');
    const result = applyUnifiedDiff(original, diff);
    assert.ok(result.ok);
    assert.match(result.text, /model\(x\.float\(\)\)/);
    assert.doesNotMatch(result.text, /out = model\(x\)\n/);
  });

  it('refuses a diff whose context is not in the document', () => {
    const result = applyUnifiedDiff(original, '@@ -1,1 +1,1 @@\n-import numpy\n+import numpy as np\n');
    assert.equal(result.ok, false);
  });

  it('refuses text without hunks', () => {
    assert.equal(applyUnifiedDiff(original, 'just prose').ok, false);
  });

  it('applies several hunks in order and keeps CRLF line ends', () => {
    const crlf = 'a\r\nb\r\nc\r\nd\r\n';
    const result = applyUnifiedDiff(crlf, '@@ -1 +1 @@\n-a\n+A\n@@ -4 +4 @@\n-d\n+D\n');
    assert.ok(result.ok);
    assert.equal(result.text, 'A\r\nb\r\nc\r\nD\r\n');
  });

  it('parses added, removed and context lines', () => {
    assert.deepEqual(parseUnifiedDiff('@@ -2,2 +2,2 @@\n x\n-y\n+z\n'), [{ oldStart: 2, before: ['x', 'y'], after: ['x', 'z'] }]);
  });
});
