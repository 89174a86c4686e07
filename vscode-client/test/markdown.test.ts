import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderUntrustedMarkdown, sanitizeHtml } from '../src/markdown';

const html = (markdown: string) => renderUntrustedMarkdown(markdown).html;

function assertNoActiveContent(output: string): void {
  assert.doesNotMatch(output, /<script/i);
  assert.doesNotMatch(output, /<(img|iframe|object|embed|svg|style|form|input|link|meta)\b/i);
  assert.doesNotMatch(output, /<[^>]*\son[a-z]+\s*=/i);
  assert.doesNotMatch(output, /<[^>]*href="(?!https?:|mailto:)/i);
  assert.doesNotMatch(output, /<[^>]*\ssrc=/i);
}

describe('markdown rendering of untrusted answers', () => {
  it('renders ordinary markdown', () => {
    const output = html('# Fix\n\nCall **`model.eval()`** before *evaluation*.\n\n- one\n- two\n');
    assert.match(output, /<h1>Fix<\/h1>/);
    assert.match(output, /<strong><code>model\.eval\(\)<\/code><\/strong>/);
    assert.match(output, /<em>evaluation<\/em>/);
    assert.match(output, /<li>one<\/li>/);
  });

  it('shows raw HTML as text instead of interpreting it', () => {
    const output = html('Hello <script>alert(1)</script> <img src=x onerror="alert(2)"> <b onclick="x()">b</b>');
    assertNoActiveContent(output);
    assert.match(output, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    assert.match(output, /&lt;img src=x onerror=&quot;alert\(2\)&quot;&gt;/);
  });

  it('drops links to javascript:, data:, file: and vscode: targets but keeps their text', () => {
    const output = html(
      '[a](javascript:alert(1)) [b](JaVaScRiPt:alert(1)) [c](data:text/html;base64,PHNjcmlwdD4=) [d](file:///etc/passwd) [e](command:workbench.action.terminal.new) [f](vscode://x)',
    );
    assertNoActiveContent(output);
    for (const text of ['a', 'b', 'c', 'd', 'e', 'f']) {
      assert.match(output, new RegExp(`\\b${text}\\b`));
    }
    assert.doesNotMatch(output, /<a /);
  });

  it('keeps https and mailto links, showing the target as a title', () => {
    const output = html('[docs](https://pytorch.org/docs) and <mailto:a@b.c>');
    assert.match(output, /<a href="https:\/\/pytorch\.org\/docs" title="https:\/\/pytorch\.org\/docs">docs<\/a>/);
    assert.match(output, /<a href="mailto:a@b\.c"/);
  });

  it('never loads images: they become links or text', () => {
    const output = html('![tracker](https://evil.example/pixel.png) ![local](x.png)');
    assertNoActiveContent(output);
    assert.match(output, /<a href="https:\/\/evil\.example\/pixel\.png"[^>]*>\[image: tracker\]<\/a>/);
    assert.match(output, /<span>\[image: local\]<\/span>/);
  });

  it('escapes code blocks and records them for the Insert / Apply buttons', () => {
    const answer = renderUntrustedMarkdown('```python\nif a < b and "x" > \'y\':\n    pass\n```\n\n```diff\n--- a/t.py\n+++ b/t.py\n@@ -1 +1 @@\n-x\n+y\n```\n');
    assert.match(answer.html, /<pre data-block="0"><code class="language-python">if a &lt; b and &quot;x&quot; &gt; &#39;y&#39;:/);
    assert.match(answer.html, /<pre data-block="1">/);
    assert.deepEqual(
      answer.codeBlocks.map((b) => [b.language, b.isDiff]),
      [
        ['python', false],
        ['diff', true],
      ],
    );
    assert.equal(answer.codeBlocks[0].code, 'if a < b and "x" > \'y\':\n    pass\n');
  });

  it('cannot smuggle attributes through the fence language', () => {
    const output = html('```python" onmouseover="alert(1)\nx\n```');
    assertNoActiveContent(output);
    assert.doesNotMatch(output, /onmouseover="/);
  });

  it('keeps table alignment but no other styles', () => {
    const output = html('| a | b |\n|--:|---|\n| 1 | 2 |\n');
    assert.match(output, /<th style="text-align:right">a<\/th>/);
  });
});

describe('HTML allowlist', () => {
  it('escapes tags that are not allowed and drops attributes that are not', () => {
    const output = sanitizeHtml('<p class="x" onclick="evil()">t</p><script>alert(1)</script><a href="javascript:alert(1)" title="t">l</a><iframe src="https://x"></iframe>');
    assert.equal(
      output,
      '<p>t</p>&lt;script&gt;alert(1)&lt;/script&gt;<a title="t">l</a>&lt;iframe src=&quot;https://x&quot;&gt;&lt;/iframe&gt;',
    );
  });

  it('rejects an entity-encoded javascript: href', () => {
    assert.equal(sanitizeHtml('<a href="&#106;avascript:alert(1)">x</a>'), '<a>x</a>');
  });
});
