// The answer panel's script (runs inside the webview). It receives already sanitised HTML from
// the extension and only adds buttons; it never builds HTML from strings itself.
import type { ExchangeView, FromPanel, ToPanel } from '../panelMessages';

interface VsCodeApi {
  postMessage(message: FromPanel): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const exchangesElement = document.getElementById('exchanges') as HTMLElement;
const stopButton = document.getElementById('stop') as HTMLButtonElement;
const newConversationButton = document.getElementById('new-conversation') as HTMLButtonElement;
const titleElement = document.getElementById('title') as HTMLElement;
const form = document.getElementById('follow-up') as HTMLFormElement;
const input = document.getElementById('follow-up-input') as HTMLTextAreaElement;

/** The HTML last put in each exchange, so streaming updates touch only what changed. */
const renderedHtml = new Map<number, string>();

function button(label: string, title: string, onClick: () => void, secondary = false): HTMLButtonElement {
  const element = document.createElement('button');
  element.type = 'button';
  element.textContent = label;
  element.title = title;
  if (secondary) {
    element.classList.add('secondary');
  }
  element.addEventListener('click', onClick);
  return element;
}

function exchangeElement(view: ExchangeView): HTMLElement {
  let section = document.getElementById(`exchange-${view.id}`);
  if (!section) {
    section = document.createElement('section');
    section.id = `exchange-${view.id}`;
    section.className = 'exchange';
    const question = document.createElement('h2');
    question.className = 'question';
    const answer = document.createElement('div');
    answer.className = 'answer';
    const footer = document.createElement('footer');
    const meta = document.createElement('span');
    meta.className = 'meta';
    const error = document.createElement('div');
    error.className = 'error';
    const apiKey = button('Set API key…', 'Answered offline because no Anthropic API key is set: set one to ask the ML engineer agent', () => vscode.postMessage({ type: 'setApiKey' }), true);
    apiKey.classList.add('api-key');
    apiKey.hidden = true;
    footer.append(meta, apiKey, button('Copy', 'Copy the answer as markdown', () => vscode.postMessage({ type: 'copy', exchange: view.id }), true));
    section.append(question, answer, error, footer);
    exchangesElement.append(section);
    if (exchangesElement.childElementCount > 1) {
      // A new question starts at the top of the panel; its answer then fills in below it.
      requestAnimationFrame(() => section?.scrollIntoView({ block: 'start' }));
    }
  }
  return section;
}

function addBlockButtons(answer: HTMLElement, view: ExchangeView): void {
  answer.querySelectorAll<HTMLPreElement>('pre[data-block]').forEach((pre) => {
    const block = Number(pre.dataset.block);
    const actions = document.createElement('div');
    actions.className = 'block-actions';
    actions.append(
      view.blocks[block]?.isDiff
        ? button('Apply diff…', 'Preview this diff against the file, then apply it', () => vscode.postMessage({ type: 'applyDiff', exchange: view.id, block }))
        : button('Insert at cursor', 'Insert this code at the cursor of the file you asked about', () => vscode.postMessage({ type: 'insert', exchange: view.id, block })),
    );
    pre.after(actions);
  });
}

function statusText(view: ExchangeView): string {
  switch (view.status) {
    case 'streaming':
      return view.html ? 'Answering…' : 'Thinking…';
    case 'stopped':
      return 'Stopped.';
    case 'error':
      return '';
    case 'done':
      return view.meta;
  }
}

function render(state: ToPanel): void {
  titleElement.textContent = state.title ? `ML Engineer — ${state.title}` : 'ML Engineer';
  stopButton.disabled = !state.busy;
  const keep = new Set(state.exchanges.map((e) => `exchange-${e.id}`));
  exchangesElement.querySelectorAll('section.exchange').forEach((section) => {
    if (!keep.has(section.id)) {
      section.remove();
      renderedHtml.delete(Number(section.id.slice('exchange-'.length)));
    }
  });
  for (const view of state.exchanges) {
    const section = exchangeElement(view);
    section.dataset.status = view.status;
    (section.querySelector('.question') as HTMLElement).textContent = view.question;
    const answer = section.querySelector('.answer') as HTMLElement;
    if (renderedHtml.get(view.id) !== view.html) {
      // Sanitised by the extension (src/markdown.ts); the CSP forbids inline script regardless.
      answer.innerHTML = view.html;
      renderedHtml.set(view.id, view.html);
      addBlockButtons(answer, view);
    }
    (section.querySelector('.meta') as HTMLElement).textContent = statusText(view);
    (section.querySelector('.api-key') as HTMLElement).hidden = !(view.offerApiKey && view.status === 'done');
    (section.querySelector('.error') as HTMLElement).textContent = view.error ? `The question failed: ${view.error}` : '';
  }
}

window.addEventListener('message', (event: MessageEvent<ToPanel>) => {
  if (event.data?.type === 'render') {
    render(event.data);
  }
});

stopButton.addEventListener('click', () => vscode.postMessage({ type: 'stop' }));
newConversationButton.addEventListener('click', () => vscode.postMessage({ type: 'newConversation' }));
form.addEventListener('submit', (event) => {
  event.preventDefault();
  const question = input.value.trim();
  if (question) {
    vscode.postMessage({ type: 'followUp', question });
    input.value = '';
  }
});
input.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
    form.requestSubmit();
  }
});

vscode.postMessage({ type: 'ready' });
