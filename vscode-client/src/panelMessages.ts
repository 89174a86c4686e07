// Messages between the answer panel (webview) and the extension. Shared by both sides.

export interface ExchangeView {
  id: number;
  question: string;
  html: string;
  /** Per code block: whether it is offered as a diff (else "Insert at cursor"). */
  blocks: { isDiff: boolean }[];
  status: 'streaming' | 'done' | 'stopped' | 'error';
  meta: string;
  error?: string;
  /** An offline answer given only because no API key is set: the panel offers to set one. */
  offerApiKey?: boolean;
}

export type ToPanel = { type: 'render'; exchanges: ExchangeView[]; busy: boolean; title: string };

export type FromPanel =
  | { type: 'ready' }
  | { type: 'stop' }
  | { type: 'copy'; exchange: number }
  | { type: 'insert'; exchange: number; block: number }
  | { type: 'applyDiff'; exchange: number; block: number }
  | { type: 'followUp'; question: string }
  | { type: 'newConversation' }
  | { type: 'setApiKey' };

export function isFromPanel(value: unknown): value is FromPanel {
  if (typeof value !== 'object' || value === null) {
    return false;
  }
  const message = value as Record<string, unknown>;
  switch (message.type) {
    case 'ready':
    case 'stop':
    case 'newConversation':
    case 'setApiKey':
      return true;
    case 'copy':
      return Number.isInteger(message.exchange);
    case 'insert':
    case 'applyDiff':
      return Number.isInteger(message.exchange) && Number.isInteger(message.block);
    case 'followUp':
      return typeof message.question === 'string' && message.question.trim() !== '';
    default:
      return false;
  }
}
