// "Ask ML engineer": collects the question, streams the answer into the panel, and carries out
// the panel's buttons (stop, copy, insert code, apply diff, follow-up).
import * as vscode from 'vscode';
import { AnswerStream, AskResult, ChunkRouter, describeResult } from './answerStream';
import { AnswerPanel } from './answerPanel';
import { applyUnifiedDiff } from './unifiedDiff';
import { AskParams, LspRange, PreviewResult } from './languageServer';
import { renderUntrustedMarkdown, RenderedAnswer } from './markdown';
import { ExchangeView, FromPanel } from './panelMessages';
import { defaultQuestion } from './questions';
import { PreviewDocuments } from './previewDocument';
import { ProposedChanges } from './proposedChanges';
import { offersApiKey } from './reviewSummary';

export interface AskBackend {
  readonly chunks: ChunkRouter;
  ask(params: AskParams, token: vscode.CancellationToken): Promise<AskResult>;
  preview(params: AskParams): Promise<PreviewResult>;
  resetConversation(uri: string): Promise<void>;
}

interface Exchange {
  id: number;
  question: string;
  stream: AnswerStream;
  rendered: RenderedAnswer;
  status: ExchangeView['status'];
  meta: string;
  error?: string;
  offerApiKey?: boolean;
  cancel?: vscode.CancellationTokenSource;
}

interface Conversation {
  uri: string;
  range?: LspRange;
  viewColumn?: vscode.ViewColumn;
  exchanges: Exchange[];
}

const RENDER_INTERVAL_MS = 50;

export function toLspRange(range: vscode.Range): LspRange {
  return {
    start: { line: range.start.line, character: range.start.character },
    end: { line: range.end.line, character: range.end.character },
  };
}

/**
 * How closely a finding concerns the range: 0 when it is reported there, else the line count of
 * the smallest related location there (e.g. ML101's "gradients computed here"); undefined if neither.
 */
function closeness(diagnostic: vscode.Diagnostic, uri: vscode.Uri, range: vscode.Range): number | undefined {
  if (diagnostic.range.intersection(range) !== undefined) {
    return 0;
  }
  const spans = (diagnostic.relatedInformation ?? [])
    .filter((r) => r.location.uri.toString() === uri.toString() && r.location.range.intersection(range) !== undefined)
    .map((r) => 1 + r.location.range.end.line - r.location.range.start.line);
  return spans.length ? Math.min(...spans) : undefined;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class AskController implements vscode.Disposable {
  private readonly panel: AnswerPanel;
  private conversation: Conversation | undefined;
  private nextId = 1;
  private renderTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    extensionUri: vscode.Uri,
    private readonly backend: AskBackend,
    private readonly proposedChanges: ProposedChanges,
    private readonly previews: PreviewDocuments,
  ) {
    this.panel = new AnswerPanel(extensionUri, (message) => void this.onPanelMessage(message));
  }

  /** Command "Ask about selection…": the question about the active editor's selection. */
  async askAboutSelection(): Promise<void> {
    const request = await this.requestFromEditor('Ask ML engineer');
    if (request) {
      await this.ask(request.params, request.viewColumn);
    }
  }

  /** `mlEngineer.ask` run by a code action or code lens of the server: `{uri, range?, question?}`. */
  async askFromServer(args: unknown): Promise<AskResult | undefined> {
    const given = (typeof args === 'object' && args !== null ? args : {}) as Partial<AskParams>;
    const uri = typeof given.uri === 'string' ? given.uri : vscode.window.activeTextEditor?.document.uri.toString();
    if (!uri) {
      void vscode.window.showWarningMessage('ML Engineer: open a Python file to ask about it.');
      return undefined;
    }
    let question = typeof given.question === 'string' ? given.question.trim() : '';
    if (!question) {
      question = (await this.promptQuestion(defaultQuestion([], !given.range))) ?? '';
      if (!question) {
        return undefined;
      }
    }
    const viewColumn = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === uri)?.viewColumn;
    return this.ask({ uri, range: given.range, question }, viewColumn);
  }

  /** Command "Show what would be sent": the dry run, opened as a read-only document. */
  async showPreview(): Promise<void> {
    const request = await this.requestFromEditor('Show what would be sent for');
    if (!request) {
      return;
    }
    try {
      const result = await this.backend.preview(request.params);
      let content = result.text;
      if (result.payload !== undefined && result.payload !== null) {
        content += `\n\n--- request body (JSON) ---\n${JSON.stringify(result.payload, null, 2)}\n`;
      }
      await this.previews.show(vscode.Uri.parse(request.params.uri).path.split('/').pop() ?? 'selection', content);
    } catch (error) {
      void vscode.window.showErrorMessage(`ML Engineer: the preview failed: ${errorMessage(error)}`);
    }
  }

  async ask(params: AskParams, viewColumn?: vscode.ViewColumn): Promise<AskResult | undefined> {
    this.stop();
    if (!this.conversation || this.conversation.uri !== params.uri) {
      this.conversation = { uri: params.uri, range: params.range, viewColumn, exchanges: [] };
    } else if (params.range) {
      this.conversation.range = params.range;
    }
    this.conversation.viewColumn = viewColumn ?? this.conversation.viewColumn;
    const exchange: Exchange = {
      id: this.nextId++,
      question: params.question,
      stream: new AnswerStream(),
      rendered: { html: '', codeBlocks: [] },
      status: 'streaming',
      meta: '',
      cancel: new vscode.CancellationTokenSource(),
    };
    this.conversation.exchanges.push(exchange);
    this.panel.reveal();
    this.render();

    const token = this.backend.chunks.open((text) => {
      if (exchange.status === 'streaming') {
        exchange.stream.append(text);
        this.scheduleRender();
      }
    });
    try {
      const result = await this.backend.ask({ ...params, token }, exchange.cancel!.token);
      if (exchange.status !== 'streaming') {
        return undefined;
      }
      exchange.stream.finish(result?.markdown);
      exchange.meta = result ? describeResult(result) : '';
      exchange.offerApiKey = result ? offersApiKey(result, vscode.workspace.isTrusted) : false;
      exchange.status = 'done';
      return result;
    } catch (error) {
      if (exchange.status === 'streaming') {
        exchange.status = 'error';
        exchange.error = errorMessage(error);
      }
      return undefined;
    } finally {
      this.backend.chunks.release(token);
      exchange.cancel?.dispose();
      exchange.cancel = undefined;
      this.render();
    }
  }

  stop(): void {
    for (const exchange of this.conversation?.exchanges ?? []) {
      if (exchange.status === 'streaming') {
        exchange.status = 'stopped';
        exchange.cancel?.cancel();
      }
    }
    this.render();
  }

  dispose(): void {
    this.stop();
    // A render scheduled while streaming must not fire after the panel is gone.
    clearTimeout(this.renderTimer);
    this.renderTimer = undefined;
    this.panel.dispose();
  }

  private async requestFromEditor(action: string): Promise<{ params: AskParams; viewColumn?: vscode.ViewColumn } | undefined> {
    const editor = vscode.window.activeTextEditor;
    if (!editor) {
      void vscode.window.showWarningMessage('ML Engineer: open a Python file and select the code to ask about.');
      return undefined;
    }
    const selection = editor.selection;
    // No selection: the line under the cursor, from which the server widens the context.
    const range = selection.isEmpty ? editor.document.lineAt(selection.active.line).range : selection;
    const findings = vscode.languages
      .getDiagnostics(editor.document.uri)
      .filter((d) => d.source?.startsWith('ml-engineer'))
      .map((d) => ({ d, rank: closeness(d, editor.document.uri, range) }))
      .filter((f): f is { d: vscode.Diagnostic; rank: number } => f.rank !== undefined)
      .sort((a, b) => a.rank - b.rank)
      .map(({ d }) => ({ code: typeof d.code === 'object' ? String(d.code.value) : d.code?.toString(), message: d.message }));
    const question = await this.promptQuestion(defaultQuestion(findings, selection.isEmpty), action);
    if (!question) {
      return undefined;
    }
    return { params: { uri: editor.document.uri.toString(), range: toLspRange(range), question }, viewColumn: editor.viewColumn };
  }

  private async promptQuestion(value: string, action = 'Ask ML engineer'): Promise<string | undefined> {
    const question = await vscode.window.showInputBox({
      title: `ML Engineer: ${action}`,
      prompt: vscode.workspace.isTrusted
        ? 'The selection and the code it depends on are sent, with secrets redacted (backend permitting).'
        : 'Untrusted workspace: answered offline, nothing is sent.',
      value,
      valueSelection: [0, value.length],
      ignoreFocusOut: true,
    });
    return question?.trim() || undefined;
  }

  private scheduleRender(): void {
    if (!this.renderTimer) {
      this.renderTimer = setTimeout(() => {
        this.renderTimer = undefined;
        this.render();
      }, RENDER_INTERVAL_MS);
    }
  }

  private render(): void {
    const conversation = this.conversation;
    const exchanges: ExchangeView[] = (conversation?.exchanges ?? []).map((exchange) => {
      exchange.rendered = renderUntrustedMarkdown(exchange.stream.text);
      return {
        id: exchange.id,
        question: exchange.question,
        html: exchange.rendered.html,
        blocks: exchange.rendered.codeBlocks.map((b) => ({ isDiff: b.isDiff })),
        status: exchange.status,
        meta: exchange.meta,
        error: exchange.error,
        offerApiKey: exchange.offerApiKey,
      };
    });
    const title = conversation ? vscode.Uri.parse(conversation.uri).path.split('/').pop() ?? '' : '';
    this.panel.update({ type: 'render', exchanges, busy: exchanges.some((e) => e.status === 'streaming'), title });
  }

  private findExchange(id: number): Exchange | undefined {
    return this.conversation?.exchanges.find((e) => e.id === id);
  }

  private async onPanelMessage(message: FromPanel): Promise<void> {
    switch (message.type) {
      case 'ready':
        this.render();
        return;
      case 'stop':
        this.stop();
        return;
      case 'copy': {
        const exchange = this.findExchange(message.exchange);
        if (exchange) {
          await vscode.env.clipboard.writeText(exchange.stream.text);
          void vscode.window.setStatusBarMessage('ML Engineer: answer copied', 2000);
        }
        return;
      }
      case 'insert':
        await this.insertCode(message.exchange, message.block);
        return;
      case 'applyDiff':
        await this.applyDiff(message.exchange, message.block);
        return;
      case 'followUp':
        if (this.conversation) {
          await this.ask({ uri: this.conversation.uri, range: this.conversation.range, question: message.question.trim() });
        }
        return;
      case 'setApiKey':
        await vscode.commands.executeCommand('mlEngineer.setApiKey');
        return;
      case 'newConversation':
        this.stop();
        if (this.conversation) {
          const uri = this.conversation.uri;
          this.conversation.exchanges = [];
          this.render();
          await this.backend.resetConversation(uri).catch(() => undefined);
        }
        return;
    }
  }

  private async originEditor(): Promise<vscode.TextEditor | undefined> {
    const conversation = this.conversation;
    if (!conversation) {
      return undefined;
    }
    const visible = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === conversation.uri);
    const document = visible?.document ?? (await vscode.workspace.openTextDocument(vscode.Uri.parse(conversation.uri)));
    return vscode.window.showTextDocument(document, { viewColumn: visible?.viewColumn ?? conversation.viewColumn, preserveFocus: false });
  }

  private async insertCode(exchangeId: number, blockIndex: number): Promise<void> {
    const block = this.findExchange(exchangeId)?.rendered.codeBlocks[blockIndex];
    const editor = await this.originEditor();
    if (!block || !editor) {
      return;
    }
    const code = block.code.endsWith('\n') ? block.code : `${block.code}\n`;
    await editor.edit((edit) => {
      for (const selection of editor.selections) {
        edit.replace(selection, code);
      }
    });
  }

  private async applyDiff(exchangeId: number, blockIndex: number): Promise<void> {
    const block = this.findExchange(exchangeId)?.rendered.codeBlocks[blockIndex];
    const conversation = this.conversation;
    if (!block || !conversation) {
      return;
    }
    const document = await vscode.workspace.openTextDocument(vscode.Uri.parse(conversation.uri));
    const applied = applyUnifiedDiff(document.getText(), block.code);
    if (!applied.ok) {
      void vscode.window.showErrorMessage(`ML Engineer: ${applied.error}`);
      return;
    }
    await this.proposedChanges.previewAndApply(document, applied.text);
  }
}
