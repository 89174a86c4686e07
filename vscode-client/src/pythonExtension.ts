// Optional integration with the Python extension (ms-python.python): the interpreter it has
// selected for a resource. Nothing here requires that extension to be installed.
import * as vscode from 'vscode';

interface EnvironmentPath {
  path: string;
}
interface ResolvedEnvironment {
  executable?: { uri?: vscode.Uri };
}
interface PythonExtensionApi {
  environments?: {
    getActiveEnvironmentPath(resource?: vscode.Uri): EnvironmentPath | undefined;
    resolveEnvironment(path: EnvironmentPath | string): Promise<ResolvedEnvironment | undefined>;
    onDidChangeActiveEnvironmentPath?: vscode.Event<unknown>;
  };
  settings?: {
    getExecutionDetails?(resource?: vscode.Uri): { execCommand?: string[] };
  };
}

const PYTHON_EXTENSION_ID = 'ms-python.python';

async function pythonApi(): Promise<PythonExtensionApi | undefined> {
  const extension = vscode.extensions.getExtension<PythonExtensionApi>(PYTHON_EXTENSION_ID);
  if (!extension) {
    return undefined;
  }
  try {
    return extension.isActive ? extension.exports : await extension.activate();
  } catch {
    return undefined;
  }
}

export async function selectedInterpreter(resource?: vscode.Uri): Promise<string | undefined> {
  const api = await pythonApi();
  if (!api) {
    return undefined;
  }
  try {
    const environments = api.environments;
    if (environments) {
      const active = environments.getActiveEnvironmentPath(resource);
      if (active) {
        const resolved = await environments.resolveEnvironment(active);
        return resolved?.executable?.uri?.fsPath ?? active.path;
      }
    }
    return api.settings?.getExecutionDetails?.(resource)?.execCommand?.[0];
  } catch {
    return undefined;
  }
}

/** Fires when the user picks another interpreter, so the server can be restarted with it. */
export async function onDidChangeInterpreter(listener: () => void): Promise<vscode.Disposable | undefined> {
  const event = (await pythonApi())?.environments?.onDidChangeActiveEnvironmentPath;
  return event ? event(listener) : undefined;
}
