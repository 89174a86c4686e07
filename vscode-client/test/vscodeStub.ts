// A small stand-in for the `vscode` module, enough for the controller and panel code under test.
// Tests drive it through `stub` (what the user answers, what the webview received).

type Listener<T> = (value: T) => void;

export class EventEmitter<T> {
  private listeners: Listener<T>[] = [];
  event = (listener: Listener<T>) => {
    this.listeners.push(listener);
    return { dispose: () => (this.listeners = this.listeners.filter((l) => l !== listener)) };
  };
  fire(value: T): void {
    this.listeners.forEach((l) => l(value));
  }
  dispose(): void {
    this.listeners = [];
  }
}

export class CancellationTokenSource {
  private emitter = new EventEmitter<void>();
  token = { isCancellationRequested: false, onCancellationRequested: this.emitter.event };
  cancel(): void {
    if (!this.token.isCancellationRequested) {
      this.token.isCancellationRequested = true;
      this.emitter.fire();
    }
  }
  dispose(): void {}
}

export class Uri {
  private constructor(
    readonly scheme: string,
    readonly path: string,
    readonly query = '',
  ) {}
  static parse(value: string): Uri {
    const match = /^([a-z][a-z0-9+.-]*):(?:\/\/[^/]*)?([^?]*)(?:\?(.*))?$/i.exec(value);
    return match ? new Uri(match[1], match[2], match[3] ?? '') : new Uri('file', value);
  }
  static file(path: string): Uri {
    return new Uri('file', path);
  }
  static joinPath(base: Uri, ...parts: string[]): Uri {
    return new Uri(base.scheme, [base.path, ...parts].join('/'));
  }
  static from(parts: { scheme: string; path: string; query?: string }): Uri {
    return new Uri(parts.scheme, parts.path, parts.query ?? '');
  }
  get fsPath(): string {
    return this.path;
  }
  toString(): string {
    return `${this.scheme}://${this.path}${this.query ? `?${this.query}` : ''}`;
  }
}

export class Position {
  constructor(
    readonly line: number,
    readonly character: number,
  ) {}
}

export class Range {
  readonly start: Position;
  readonly end: Position;
  constructor(startLine: number, startCharacter: number, endLine: number, endCharacter: number) {
    this.start = new Position(startLine, startCharacter);
    this.end = new Position(endLine, endCharacter);
  }
}

export enum ViewColumn {
  Active = -1,
  Beside = -2,
  One = 1,
  Two = 2,
}

export const stub = {
  /** Answers given to showInputBox, in order (undefined = Escape). */
  inputAnswers: [] as (string | undefined)[],
  inputBoxes: [] as { value?: string; password?: boolean }[],
  /** Messages the extension posted to the webview. */
  posted: [] as unknown[],
  panelHtml: '',
  webviewListener: undefined as Listener<unknown> | undefined,
  clipboard: '',
  warnings: [] as string[],
  /** Information messages shown, with their buttons; `infoChoice` is the button the user clicks. */
  infos: [] as { message: string; items: string[] }[],
  infoChoice: undefined as string | undefined,
  /** Progress notifications opened, and the token source of the last one (to cancel it). */
  progress: [] as { title?: string; cancellable?: boolean; location?: number }[],
  progressCancel: undefined as CancellationTokenSource | undefined,
  statusMessages: [] as string[],
  executed: [] as { command: string; args: unknown[] }[],
  trusted: true,
  reset(): void {
    this.inputAnswers = [];
    this.inputBoxes = [];
    this.posted = [];
    this.panelHtml = '';
    this.webviewListener = undefined;
    this.clipboard = '';
    this.warnings = [];
    this.infos = [];
    this.infoChoice = undefined;
    this.progress = [];
    this.progressCancel = undefined;
    this.statusMessages = [];
    this.executed = [];
    this.trusted = true;
    window.activeTextEditor = undefined;
  },
};

function fakeWebviewPanel() {
  const disposeEmitter = new EventEmitter<void>();
  const webview = {
    cspSource: 'vscode-webview://fake',
    set html(value: string) {
      stub.panelHtml = value;
    },
    get html() {
      return stub.panelHtml;
    },
    asWebviewUri: (uri: Uri) => uri,
    postMessage: async (message: unknown) => {
      stub.posted.push(message);
      return true;
    },
    onDidReceiveMessage: (listener: Listener<unknown>) => {
      stub.webviewListener = listener;
      return { dispose() {} };
    },
  };
  return {
    webview,
    viewColumn: ViewColumn.Two,
    iconPath: undefined as unknown,
    reveal() {},
    onDidDispose: disposeEmitter.event,
    dispose: () => disposeEmitter.fire(),
  };
}

export const window = {
  activeTextEditor: undefined as unknown,
  visibleTextEditors: [] as unknown[],
  createWebviewPanel: () => fakeWebviewPanel(),
  showInputBox: async (options: { value?: string; password?: boolean }) => {
    stub.inputBoxes.push(options);
    return stub.inputAnswers.shift();
  },
  showWarningMessage: async (message: string) => {
    stub.warnings.push(message);
    return undefined;
  },
  showErrorMessage: async (message: string) => {
    stub.warnings.push(message);
    return undefined;
  },
  showInformationMessage: async (message: string, ...items: string[]) => {
    stub.infos.push({ message, items });
    return stub.infoChoice;
  },
  setStatusBarMessage: (message: string) => {
    stub.statusMessages.push(message);
    return { dispose() {} };
  },
  withProgress: async <R>(
    options: { title?: string; cancellable?: boolean; location?: number },
    task: (progress: { report(value: unknown): void }, token: CancellationTokenSource['token']) => Promise<R>,
  ): Promise<R> => {
    stub.progress.push(options);
    const source = new CancellationTokenSource();
    stub.progressCancel = source;
    return task({ report() {} }, source.token);
  },
};

export enum ProgressLocation {
  SourceControl = 1,
  Window = 10,
  Notification = 15,
}

export const workspace = {
  get isTrusted() {
    return stub.trusted;
  },
  registerTextDocumentContentProvider: () => ({ dispose() {} }),
};

export const languages = {
  getDiagnostics: () => [],
};

export const env = {
  clipboard: {
    writeText: async (text: string) => {
      stub.clipboard = text;
    },
  },
};

export const commands = {
  executeCommand: async (command: string, ...args: unknown[]) => {
    stub.executed.push({ command, args });
    return undefined;
  },
};

export class WorkspaceEdit {
  readonly edits: { uri: Uri; range: Range; text: string }[] = [];
  replace(uri: Uri, range: Range, text: string): void {
    this.edits.push({ uri, range, text });
  }
}
