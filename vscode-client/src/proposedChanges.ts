// Shows a proposed new text of a document in a diff editor and applies it only when the user
// confirms. The proposal is served read-only under its own URI scheme.
import * as vscode from 'vscode';

export const PROPOSED_SCHEME = 'ml-engineer-proposed';

export class ProposedChanges implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly proposals = new Map<string, string>();
  private readonly registration: vscode.Disposable;
  private counter = 0;

  constructor() {
    this.registration = vscode.workspace.registerTextDocumentContentProvider(PROPOSED_SCHEME, this);
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.proposals.get(uri.toString()) ?? '';
  }

  async previewAndApply(document: vscode.TextDocument, proposed: string): Promise<boolean> {
    this.counter += 1;
    const proposalUri = vscode.Uri.from({ scheme: PROPOSED_SCHEME, path: document.uri.path, query: `proposal=${this.counter}` });
    this.proposals.set(proposalUri.toString(), proposed);
    const version = document.version;
    const name = document.uri.path.split('/').pop();
    await vscode.commands.executeCommand('vscode.diff', document.uri, proposalUri, `${name} ↔ proposed by ML Engineer`, { preview: true });
    const apply = 'Apply';
    const choice = await vscode.window.showInformationMessage(`ML Engineer: apply the proposed change to ${name}?`, apply, 'Discard');
    this.proposals.delete(proposalUri.toString());
    if (choice !== apply) {
      return false;
    }
    if (document.version !== version) {
      void vscode.window.showWarningMessage(`ML Engineer: ${name} changed since the preview; nothing was applied. Apply the diff again.`);
      return false;
    }
    const edit = new vscode.WorkspaceEdit();
    const whole = new vscode.Range(document.positionAt(0), document.positionAt(document.getText().length));
    edit.replace(document.uri, whole, proposed);
    return vscode.workspace.applyEdit(edit);
  }

  dispose(): void {
    this.registration.dispose();
    this.proposals.clear();
  }
}
