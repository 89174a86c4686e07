// Hosts the answer panel webview: creates it on demand, posts the conversation to it and
// forwards validated messages from it.
import * as vscode from 'vscode';
import { FromPanel, isFromPanel, ToPanel } from './panelMessages';
import { makeNonce, panelHtml } from './panelHtml';

export class AnswerPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private ready = false;
  private pending: ToPanel | undefined;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly onMessage: (message: FromPanel) => void,
  ) {}

  reveal(): void {
    if (this.panel) {
      this.panel.reveal(this.panel.viewColumn ?? vscode.ViewColumn.Beside, true);
      return;
    }
    const dist = vscode.Uri.joinPath(this.extensionUri, 'dist');
    const panel = vscode.window.createWebviewPanel(
      'mlEngineer.answer',
      'ML Engineer',
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      { enableScripts: true, localResourceRoots: [dist], retainContextWhenHidden: true, enableFindWidget: true },
    );
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'images', 'icon.png');
    panel.webview.html = panelHtml({
      cspSource: panel.webview.cspSource,
      nonce: makeNonce(),
      scriptUri: panel.webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.js')).toString(),
      styleUri: panel.webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.css')).toString(),
    });
    panel.webview.onDidReceiveMessage((message: unknown) => {
      if (!isFromPanel(message)) {
        return;
      }
      if (message.type === 'ready') {
        this.ready = true;
        this.flush();
      }
      this.onMessage(message);
    });
    panel.onDidDispose(() => {
      this.panel = undefined;
      this.ready = false;
    });
    this.panel = panel;
    this.ready = false;
  }

  /** Sends the latest state; only the newest state matters, so older pending ones are dropped. */
  update(state: ToPanel): void {
    this.pending = state;
    this.flush();
  }

  private flush(): void {
    if (this.panel && this.ready && this.pending) {
      const state = this.pending;
      this.pending = undefined;
      void this.panel.webview.postMessage(state);
    }
  }

  dispose(): void {
    this.panel?.dispose();
  }
}
