// "Review file with the ML engineer" / "Review selection": runs the server's AI review
// (`mlEngineer.review`) under a cancellable progress notification, then says what came back.
// The findings themselves arrive as diagnostics (source `ml-engineer (agent)`).
import * as vscode from 'vscode';
import { describeTarget, ReviewParams, ReviewResult, reviewArguments, summarizeReview } from './reviewSummary';

export interface ReviewBackend {
  review(params: ReviewParams, token: vscode.CancellationToken): Promise<ReviewResult>;
}

export const SET_API_KEY_ACTION = 'Set Anthropic API key';
export const SHOW_PROBLEMS_ACTION = 'Show problems';

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Resolves when the token is cancelled, so a cancelled review ends at once. */
function whenCancelled(token: vscode.CancellationToken): Promise<'cancelled'> {
  return new Promise((resolve) => {
    if (token.isCancellationRequested) {
      resolve('cancelled');
    } else {
      token.onCancellationRequested(() => resolve('cancelled'));
    }
  });
}

export class ReviewController {
  constructor(private readonly backend: ReviewBackend) {}

  /** Command "Review file with the ML engineer". */
  reviewFile(): Promise<ReviewResult | undefined> {
    const editor = this.editor();
    return editor ? this.run(reviewArguments(editor.document.uri.toString())) : Promise.resolve(undefined);
  }

  /** Command "Review selection": the selection, or the line under the cursor when it is empty. */
  reviewSelection(): Promise<ReviewResult | undefined> {
    const editor = this.editor();
    if (!editor) {
      return Promise.resolve(undefined);
    }
    const selection = editor.selection;
    const range = selection.isEmpty ? editor.document.lineAt(selection.active.line).range : selection;
    return this.run(reviewArguments(editor.document.uri.toString(), range));
  }

  async run(params: ReviewParams): Promise<ReviewResult | undefined> {
    // In an untrusted workspace the server has no key and the offline backend (settings.ts,
    // serverEnvironment.ts): the review runs offline; the notification says so up front.
    const trusted = vscode.workspace.isTrusted;
    const target = describeTarget(params.uri, params.range);
    const title = trusted ? `ML Engineer: reviewing ${target}…` : `ML Engineer: reviewing ${target} offline (untrusted workspace: nothing is sent)…`;
    const outcome = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title, cancellable: true },
      async (_progress, token) => {
        try {
          // Cancelling the progress cancels the request ($/cancelRequest closes the HTTP call).
          const result = await Promise.race([this.backend.review(params, token), whenCancelled(token)]);
          return result === 'cancelled' ? { cancelled: true as const } : { result };
        } catch (error) {
          return token.isCancellationRequested ? { cancelled: true as const } : { error };
        }
      },
    );
    if ('cancelled' in outcome) {
      vscode.window.setStatusBarMessage('ML Engineer: review cancelled', 3000);
      return undefined;
    }
    if ('error' in outcome) {
      void vscode.window.showErrorMessage(`ML Engineer: the review of ${target} failed: ${errorMessage(outcome.error)}`);
      return undefined;
    }
    const result = outcome.result ?? {};
    const summary = summarizeReview(result, target, { trusted });
    const actions = [...(summary.offerApiKey ? [SET_API_KEY_ACTION] : []), ...(summary.findings > 0 ? [SHOW_PROBLEMS_ACTION] : [])];
    void Promise.resolve(vscode.window.showInformationMessage(summary.message, ...actions)).then((choice) => {
      if (choice === SET_API_KEY_ACTION) {
        void vscode.commands.executeCommand('mlEngineer.setApiKey');
      } else if (choice === SHOW_PROBLEMS_ACTION) {
        void vscode.commands.executeCommand('workbench.actions.view.problems');
      }
    });
    return result;
  }

  private editor(): vscode.TextEditor | undefined {
    const editor = vscode.window.activeTextEditor;
    if (!editor) {
      void vscode.window.showWarningMessage('ML Engineer: open a Python file to review it.');
    }
    return editor;
  }
}
