// Entry point: wires the server manager, the ask controller and the commands together.
import * as vscode from 'vscode';
import { ApiKeyStore, promptAndStoreApiKey } from './apiKeyStore';
import { AskController } from './askController';
import { LanguageServerManager } from './languageServer';
import { PreviewDocuments } from './previewDocument';
import { ProposedChanges } from './proposedChanges';
import { ReviewController } from './reviewController';

let server: LanguageServerManager | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const log = vscode.window.createOutputChannel('ML Engineer', { log: true });
  const apiKeys = new ApiKeyStore(context.secrets);
  const proposedChanges = new ProposedChanges();
  const previews = new PreviewDocuments();
  // The controller and the manager need each other: the server's code actions run `mlEngineer.ask`,
  // which the controller serves, and the controller sends its requests through the manager.
  const late: { controller?: AskController } = {};
  const manager = new LanguageServerManager(log, apiKeys, (args) => late.controller!.askFromServer(args));
  const ask = new AskController(context.extensionUri, manager, proposedChanges, previews);
  late.controller = ask;
  const review = new ReviewController(manager);
  server = manager;

  context.subscriptions.push(
    log,
    proposedChanges,
    previews,
    manager,
    ask,
    vscode.commands.registerCommand('mlEngineer.askSelection', () => ask.askAboutSelection()),
    vscode.commands.registerCommand('mlEngineer.showPreview', () => ask.showPreview()),
    vscode.commands.registerCommand('mlEngineer.reviewFile', () => review.reviewFile()),
    vscode.commands.registerCommand('mlEngineer.reviewSelection', () => review.reviewSelection()),
    vscode.commands.registerCommand('mlEngineer.restartServer', () => manager.restart('requested by the user')),
    vscode.commands.registerCommand('mlEngineer.showLog', () => log.show()),
    vscode.commands.registerCommand('mlEngineer.setApiKey', async () => {
      if (await promptAndStoreApiKey(apiKeys)) {
        void vscode.window.showInformationMessage('ML Engineer: API key stored; the server restarts to use it.');
      }
    }),
    vscode.commands.registerCommand('mlEngineer.clearApiKey', async () => {
      await apiKeys.clear();
      void vscode.window.showInformationMessage('ML Engineer: API key removed; the server restarts without it.');
    }),
  );
  await manager.start();
}

export async function deactivate(): Promise<void> {
  await server?.stop();
  server = undefined;
}
