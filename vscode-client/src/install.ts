// When no server is found: tell the user, and offer to pip-install the package into an
// interpreter, with progress, or to open the setting.
import { spawn } from 'node:child_process';
import * as vscode from 'vscode';

export const PYPI_PACKAGE = 'ml-engineer-lsp';

export async function offerInstall(options: {
  problem?: string;
  installInterpreter?: string;
  log: vscode.LogOutputChannel;
  onInstalled: () => Promise<void>;
}): Promise<void> {
  const installLabel = options.installInterpreter ? `Install into ${options.installInterpreter}` : undefined;
  const openSettings = 'Open settings';
  const message =
    options.problem ??
    `ML Engineer: the language server was not found. Install the "${PYPI_PACKAGE}" Python package, select an interpreter that has it, or set mlEngineer.server.path.`;
  const actions = installLabel && !options.problem ? [installLabel, openSettings] : [openSettings];
  const choice = await vscode.window.showWarningMessage(message, ...actions);
  if (choice === openSettings) {
    await vscode.commands.executeCommand('workbench.action.openSettings', 'mlEngineer.server.path');
  } else if (choice === installLabel && options.installInterpreter) {
    if (await pipInstall(options.installInterpreter, options.log)) {
      await options.onInstalled();
    }
  }
}

async function pipInstall(python: string, log: vscode.LogOutputChannel): Promise<boolean> {
  const args = ['-m', 'pip', 'install', '--upgrade', PYPI_PACKAGE];
  log.info(`Running: ${python} ${args.join(' ')}`);
  const exitCode = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Installing ${PYPI_PACKAGE} into ${python}`, cancellable: true },
    (progress, token) =>
      new Promise<number | null>((resolve) => {
        const child = spawn(python, args, { env: { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: '1' } });
        token.onCancellationRequested(() => child.kill());
        const onOutput = (data: Buffer) => {
          for (const line of data.toString().split(/\r?\n/).filter(Boolean)) {
            log.info(`pip: ${line}`);
            progress.report({ message: line.length > 80 ? `${line.slice(0, 77)}…` : line });
          }
        };
        child.stdout.on('data', onOutput);
        child.stderr.on('data', onOutput);
        child.on('error', (error) => {
          log.error(`pip could not start: ${error.message}`);
          resolve(null);
        });
        child.on('close', resolve);
      }),
  );
  if (exitCode === 0) {
    void vscode.window.showInformationMessage(`ML Engineer: installed ${PYPI_PACKAGE}; starting the server.`);
    return true;
  }
  const showLog = 'Show log';
  const choice = await vscode.window.showErrorMessage(
    `ML Engineer: installing ${PYPI_PACKAGE} into ${python} failed (exit code ${exitCode ?? 'none'}). The log has pip's output.`,
    showLog,
  );
  if (choice === showLog) {
    log.show();
  }
  return false;
}
