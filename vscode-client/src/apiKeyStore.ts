// The Anthropic API key, kept in VS Code's SecretStorage (the OS keychain where there is one).
import * as vscode from 'vscode';

const SECRET_NAME = 'mlEngineer.anthropicApiKey';

export class ApiKeyStore {
  constructor(private readonly secrets: vscode.SecretStorage) {}

  get(): Thenable<string | undefined> {
    return this.secrets.get(SECRET_NAME);
  }

  set(key: string): Thenable<void> {
    return this.secrets.store(SECRET_NAME, key);
  }

  clear(): Thenable<void> {
    return this.secrets.delete(SECRET_NAME);
  }

  onDidChange(listener: () => void): vscode.Disposable {
    return this.secrets.onDidChange((event) => {
      if (event.key === SECRET_NAME) {
        listener();
      }
    });
  }
}

export function validateApiKeyInput(value: string): string | undefined {
  const key = value.trim();
  if (!key) {
    return 'Paste a key, or press Escape to cancel.';
  }
  if (/\s/.test(key)) {
    return 'An API key has no spaces.';
  }
  return key.startsWith('sk-') ? undefined : 'Anthropic API keys start with "sk-".';
}

export async function promptAndStoreApiKey(store: ApiKeyStore): Promise<boolean> {
  const key = await vscode.window.showInputBox({
    title: 'ML Engineer: Anthropic API key',
    prompt: 'Stored in VS Code secret storage; given to the language server only as ANTHROPIC_API_KEY.',
    password: true,
    ignoreFocusOut: true,
    placeHolder: 'sk-ant-…',
    validateInput: validateApiKeyInput,
  });
  if (key === undefined) {
    return false;
  }
  await store.set(key.trim());
  return true;
}
