// Renders answer markdown, which comes from an untrusted source (a model, or text quoted from
// the user's repository), into HTML that is safe to put in the answer panel:
//   - raw HTML in the markdown is never interpreted (markdown-it `html: false` escapes it),
//   - links keep only http(s) and mailto targets; others become plain text,
//   - images are never loaded (no remote content): they become links or plain text,
//   - the produced HTML then passes an allowlist of tags and attributes, as a second line of defence.
// The webview's Content-Security-Policy (no inline script, no remote content) is the third.
import MarkdownIt from 'markdown-it';
import type Token from 'markdown-it/lib/token.mjs';

export interface CodeBlock {
  language: string;
  code: string;
  /** A unified diff (```diff or text that starts like one): offered as "Apply diff". */
  isDiff: boolean;
}

export interface RenderedAnswer {
  html: string;
  codeBlocks: CodeBlock[];
}

const SAFE_URL = /^(https?:\/\/|mailto:)/i;

export function isSafeUrl(url: string): boolean {
  return SAFE_URL.test(url.trim());
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

export function looksLikeDiff(language: string, code: string): boolean {
  if (/^(diff|patch|udiff)$/i.test(language)) {
    return true;
  }
  return /^--- .*\n\+\+\+ .*\n@@ /m.test(code);
}

function createRenderer(codeBlocks: CodeBlock[]): MarkdownIt {
  const md = new MarkdownIt({ html: false, linkify: true, typographer: false });
  const rules = md.renderer.rules;

  rules.fence = (tokens: Token[], idx: number) => {
    const token = tokens[idx];
    const language = (token.info.trim().split(/\s+/)[0] ?? '').replace(/[^A-Za-z0-9_+-]/g, '');
    const index = codeBlocks.length;
    codeBlocks.push({ language, code: token.content, isDiff: looksLikeDiff(language, token.content) });
    const cls = language ? ` class="language-${language}"` : '';
    return `<pre data-block="${index}"><code${cls}>${escapeHtml(token.content)}</code></pre>\n`;
  };
  rules.code_block = rules.fence;

  const defaultLinkOpen = rules.link_open ?? ((tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options));
  rules.link_open = (tokens, idx, options, env, self) => {
    const href = tokens[idx].attrGet('href') ?? '';
    if (!isSafeUrl(href)) {
      tokens[idx].meta = { dropped: true };
      return '';
    }
    tokens[idx].attrSet('title', href);
    return defaultLinkOpen(tokens, idx, options, env, self);
  };
  rules.link_close = (tokens, idx, options, _env, self) => {
    // Find the matching link_open to know whether it was dropped.
    let depth = 0;
    for (let i = idx - 1; i >= 0; i--) {
      if (tokens[i].type === 'link_close') {
        depth++;
      } else if (tokens[i].type === 'link_open') {
        if (depth === 0) {
          return tokens[i].meta?.dropped ? '' : self.renderToken(tokens, idx, options);
        }
        depth--;
      }
    }
    return self.renderToken(tokens, idx, options);
  };

  rules.image = (tokens, idx) => {
    const token = tokens[idx];
    const src = token.attrGet('src') ?? '';
    const alt = escapeHtml(token.content || 'image');
    return isSafeUrl(src)
      ? `<a href="${escapeHtml(src)}" title="${escapeHtml(src)}">[image: ${alt}]</a>`
      : `<span>[image: ${alt}]</span>`;
  };

  // Unreachable with `html: false`, kept so that enabling it by mistake cannot open a hole.
  rules.html_block = (tokens, idx) => `<p>${escapeHtml(tokens[idx].content)}</p>`;
  rules.html_inline = (tokens, idx) => escapeHtml(tokens[idx].content);
  return md;
}

const ALLOWED_TAGS = new Set([
  'p', 'br', 'hr', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'strong', 'em', 's', 'del', 'code', 'pre',
  'blockquote', 'ul', 'ol', 'li', 'a', 'span', 'table', 'thead', 'tbody', 'tr', 'th', 'td',
]);

function allowedAttribute(tag: string, name: string, value: string): boolean {
  switch (name) {
    case 'href':
      return tag === 'a' && isSafeUrl(value);
    case 'title':
      return tag === 'a';
    case 'class':
      return (tag === 'code' || tag === 'span') && /^[A-Za-z0-9_+ -]*$/.test(value);
    case 'data-block':
      return tag === 'pre' && /^\d+$/.test(value);
    case 'start':
      return tag === 'ol' && /^\d+$/.test(value);
    case 'style':
      return (tag === 'th' || tag === 'td') && /^text-align:(left|right|center)$/.test(value);
    default:
      return false;
  }
}

/**
 * Allowlist filter over HTML: unknown tags are escaped into visible text, unknown attributes
 * dropped. It relies on attribute values being double-quoted and escaped, as markdown-it emits them.
 */
export function sanitizeHtml(html: string): string {
  return html.replace(/<(\/?)([A-Za-z][A-Za-z0-9-]*)([^>]*)>/g, (whole, slash: string, rawTag: string, rawAttrs: string) => {
    const tag = rawTag.toLowerCase();
    if (!ALLOWED_TAGS.has(tag)) {
      return escapeHtml(whole);
    }
    if (slash) {
      return `</${tag}>`;
    }
    const kept: string[] = [];
    for (const match of rawAttrs.matchAll(/\s([A-Za-z-]+)="([^"]*)"/g)) {
      const name = match[1].toLowerCase();
      if (allowedAttribute(tag, name, decodeEntities(match[2]))) {
        kept.push(` ${name}="${match[2]}"`);
      }
    }
    return `<${tag}${kept.join('')}${rawAttrs.trim().endsWith('/') ? ' /' : ''}>`;
  });
}

function decodeEntities(value: string): string {
  return value
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

export function renderUntrustedMarkdown(markdown: string): RenderedAnswer {
  const codeBlocks: CodeBlock[] = [];
  const html = sanitizeHtml(createRenderer(codeBlocks).render(markdown));
  return { html, codeBlocks };
}
