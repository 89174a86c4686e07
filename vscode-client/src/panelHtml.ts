// The answer panel's HTML shell. Strict Content-Security-Policy: nothing loads except the
// extension's own stylesheet and one nonce'd script; no inline script, no remote content.
import { randomBytes } from 'node:crypto';

export function makeNonce(): string {
  return randomBytes(18).toString('base64').replace(/[^A-Za-z0-9]/g, '');
}

export function panelHtml(options: { cspSource: string; nonce: string; scriptUri: string; styleUri: string }): string {
  const { cspSource, nonce, scriptUri, styleUri } = options;
  const csp = [
    "default-src 'none'",
    `style-src ${cspSource}`,
    `font-src ${cspSource}`,
    `img-src ${cspSource}`,
    `script-src 'nonce-${nonce}'`,
    "connect-src 'none'",
    "form-action 'none'",
    "frame-src 'none'",
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${styleUri}">
<title>ML Engineer</title>
</head>
<body>
<header class="toolbar">
  <span id="title" class="title">ML Engineer</span>
  <span class="spacer"></span>
  <button id="stop" type="button" disabled title="Stop the answer (cancels the request)">Stop</button>
  <button id="new-conversation" type="button" class="secondary" title="Forget this conversation">New conversation</button>
</header>
<main id="exchanges" aria-live="polite"></main>
<form id="follow-up" class="follow-up">
  <textarea id="follow-up-input" rows="2" placeholder="Ask a follow-up question (Ctrl+Enter)"></textarea>
  <button id="follow-up-send" type="submit">Ask</button>
</form>
<script nonce="${nonce}" src="${scriptUri}"></script>
</body>
</html>`;
}
