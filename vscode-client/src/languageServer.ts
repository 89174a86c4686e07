// Starts, restarts and stops the language server, and is the one place that talks to it.
import * as vscode from 'vscode';
import {
  CancellationToken,
  ConfigurationParams,
  DidChangeConfigurationNotification,
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  RevealOutputChannelOn,
  ServerOptions,
  State,
} from 'vscode-languageclient/node';
import { AnswerChunk, AskResult, ChunkRouter } from './answerStream';
import { ApiKeyStore } from './apiKeyStore';
import { offerInstall } from './install';
import { canImportServer, fileExists, which } from './processProbes';
import { onDidChangeInterpreter, selectedInterpreter } from './pythonExtension';
import { Discovery, discoverServer, ServerLaunch } from './serverDiscovery';
import { API_KEY_VARIABLE, serverEnvironment } from './serverEnvironment';
import { REVIEW_COMMAND, ReviewParams, ReviewResult } from './reviewSummary';
import { presentState, ServerState } from './serverState';
import { answerConfigurationItems, answersOffline, SECTION, ServerSettings, toServerSettings } from './settings';

export { SECTION };

export const ASK_COMMAND = 'mlEngineer.ask';
export const ANSWER_CHUNK_NOTIFICATION = 'mlEngineer/answerChunk';

export interface LspPosition {
  line: number;
  character: number;
}
export interface LspRange {
  start: LspPosition;
  end: LspPosition;
}
export interface AskParams {
  uri: string;
  range?: LspRange;
  question: string;
  token?: string;
}
export interface PreviewResult {
  text: string;
  payload?: unknown;
}

/** Python files, unsaved Python buffers and Python cells of notebooks. */
export const DOCUMENT_SELECTOR = [
  { scheme: 'file', language: 'python' },
  { scheme: 'untitled', language: 'python' },
  { notebook: '*', language: 'python' },
];

export class LanguageServerManager implements vscode.Disposable {
  readonly chunks = new ChunkRouter();
  private client: LanguageClient | undefined;
  private launch: ServerLaunch | undefined;
  private state: ServerState = { kind: 'stopped' };
  private readonly statusItem: vscode.StatusBarItem;
  private readonly disposables: vscode.Disposable[] = [];
  private fallbackAskCommand: vscode.Disposable | undefined;
  private transition: Promise<void> = Promise.resolve();
  private stopping = false;
  private readonly stateEmitter = new vscode.EventEmitter<ServerState>();
  readonly onDidChangeState = this.stateEmitter.event;

  constructor(
    private readonly log: vscode.LogOutputChannel,
    private readonly apiKeys: ApiKeyStore,
    /** Runs an `mlEngineer.ask` that came from a code action or code lens of the server. */
    private readonly askFromServer: (args: unknown) => Promise<unknown>,
  ) {
    this.statusItem = vscode.window.createStatusBarItem('mlEngineer.status', vscode.StatusBarAlignment.Right, 100);
    this.statusItem.name = 'ML Engineer';
    this.statusItem.command = 'mlEngineer.showLog';
    this.disposables.push(
      this.statusItem,
      this.stateEmitter,
      apiKeys.onDidChange(() => void this.restart('the API key changed')),
      vscode.workspace.onDidGrantWorkspaceTrust(() => void this.restart('the workspace is now trusted')),
      vscode.workspace.onDidChangeConfiguration((event) => this.onConfigurationChanged(event)),
    );
    void onDidChangeInterpreter(() => {
      if (!this.launch || this.launch.source === 'python-extension') {
        void this.restart('the selected Python interpreter changed');
      }
    }).then((d) => d && this.disposables.push(d));
  }

  get currentState(): ServerState {
    return this.state;
  }

  start(): Promise<void> {
    return this.enqueue(() => this.doStart());
  }

  restart(reason: string): Promise<void> {
    return this.enqueue(async () => {
      this.log.info(`Restarting the server: ${reason}.`);
      await this.doStop();
      await this.doStart();
    });
  }

  stop(): Promise<void> {
    return this.enqueue(() => this.doStop());
  }

  /** Sends `mlEngineer.ask`; chunks arrive through `chunks` under `params.token`. */
  async ask(params: AskParams, token: vscode.CancellationToken): Promise<AskResult> {
    return (await this.execute(ASK_COMMAND, params, token)) as AskResult;
  }

  async preview(params: AskParams): Promise<PreviewResult> {
    return (await this.execute('mlEngineer.preview', params)) as PreviewResult;
  }

  /** Sends `mlEngineer.review`; the findings arrive as diagnostics, the result says what it cost. */
  async review(params: ReviewParams, token: vscode.CancellationToken): Promise<ReviewResult> {
    return (await this.execute(REVIEW_COMMAND, params, token)) as ReviewResult;
  }

  async resetConversation(uri: string): Promise<void> {
    await this.execute('mlEngineer.resetConversation', { uri });
  }

  settingsFor(scope?: vscode.Uri): ServerSettings {
    const config = vscode.workspace.getConfiguration(SECTION, scope);
    return toServerSettings((key) => config.get(key), { trusted: vscode.workspace.isTrusted });
  }

  dispose(): void {
    void this.stop();
    this.fallbackAskCommand?.dispose();
    this.disposables.forEach((d) => d.dispose());
  }

  private async execute(command: string, argument: unknown, token?: CancellationToken): Promise<unknown> {
    const client = this.client;
    if (!client || !client.isRunning()) {
      throw new Error('The ML Engineer language server is not running (see the status bar).');
    }
    return client.sendRequest(ExecuteCommandRequest.type, { command, arguments: [argument] }, token);
  }

  private enqueue(step: () => Promise<void>): Promise<void> {
    this.transition = this.transition.then(step, step);
    return this.transition;
  }

  private setState(state: ServerState): void {
    this.state = state;
    const view = presentState(state);
    this.statusItem.text = view.text;
    this.statusItem.tooltip = view.tooltip;
    this.statusItem.accessibilityInformation = { label: view.label };
    this.statusItem.backgroundColor = view.isError ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
    this.statusItem.show();
    this.stateEmitter.fire(state);
  }

  private async discover(): Promise<Discovery> {
    const trusted = vscode.workspace.isTrusted;
    const resource = vscode.window.activeTextEditor?.document.uri ?? vscode.workspace.workspaceFolders?.[0]?.uri;
    return discoverServer({
      configuredPath: vscode.workspace.getConfiguration(SECTION).get<string>('server.path') ?? '',
      trusted,
      fileExists,
      selectedInterpreter: () => selectedInterpreter(resource),
      canImportServer: (python) => canImportServer(python),
      which: (name) => which(name),
    });
  }

  private async doStart(): Promise<void> {
    this.setState({ kind: 'starting' });
    const discovery = await this.discover();
    for (const line of discovery.tried) {
      this.log.info(`Server discovery: ${line}`);
    }
    if (!discovery.found) {
      const detail = discovery.problem ?? 'the language server was not found.';
      this.log.warn(`No server to start: ${detail}`);
      this.setState({ kind: 'missing', detail });
      void offerInstall({
        problem: discovery.problem,
        installInterpreter: discovery.installInterpreter,
        log: this.log,
        onInstalled: () => this.restart('the package was installed'),
      });
      return;
    }

    const trusted = vscode.workspace.isTrusted;
    const apiKey = await this.apiKeys.get();
    const launch = discovery.launch;
    this.launch = launch;
    const serverOptions: ServerOptions = {
      command: launch.command,
      args: launch.args,
      // No `transport`: with TransportKind.stdio the library appends `--stdio` to the arguments.
      options: {
        env: serverEnvironment(process.env, apiKey, { trusted }),
        cwd: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath,
      },
    };
    const client = new LanguageClient('mlEngineer', 'ML Engineer', serverOptions, this.clientOptions());
    client.onNotification(ANSWER_CHUNK_NOTIFICATION, (params: AnswerChunk) => {
      this.chunks.accept(params);
    });
    // Set once the server is up; restored if the library restarts a crashed server.
    const started: { state?: ServerState } = {};
    client.onDidChangeState((event) => {
      if (this.client !== client || this.stopping) {
        return;
      }
      if (event.newState === State.Stopped) {
        this.setState({ kind: 'error', detail: 'the language server stopped unexpectedly; see the log.' });
      } else if (event.newState === State.Running && started.state && this.state.kind === 'error') {
        this.setState(started.state);
      }
    });
    this.client = client;
    this.log.info(`Starting: ${launch.command} ${launch.args.join(' ')} (from ${launch.source})`);
    try {
      await client.start();
    } catch (error) {
      const detail = `the language server failed to start (${launch.command}): ${error instanceof Error ? error.message : String(error)}`;
      this.log.error(detail);
      this.setState({ kind: 'error', detail });
      void vscode.window.showErrorMessage(`ML Engineer: ${detail}`, 'Show log').then((c) => c && this.log.show());
      return;
    }
    await this.ensureAskCommand();
    const hasKey = Boolean(trusted && (apiKey || process.env[API_KEY_VARIABLE]));
    started.state = {
      kind: 'running',
      offline: answersOffline(this.settingsFor(), hasKey),
      untrusted: !trusted,
      source: `${launch.command} ${launch.args.join(' ')}`,
    };
    this.setState(started.state);
  }

  private async doStop(): Promise<void> {
    const client = this.client;
    this.fallbackAskCommand?.dispose();
    this.fallbackAskCommand = undefined;
    if (!client) {
      return;
    }
    this.stopping = true;
    try {
      if (client.isRunning()) {
        await client.stop(5000);
      }
      await client.dispose();
    } catch (error) {
      this.log.warn(`Stopping the server: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      this.client = undefined;
      this.stopping = false;
      this.setState({ kind: 'stopped' });
    }
  }

  /**
   * Code actions and code lenses of the server run `mlEngineer.ask`. When the server lists it in
   * `executeCommandProvider`, the client library registers that command and our middleware
   * routes it to the panel; otherwise we register it ourselves.
   */
  private async ensureAskCommand(): Promise<void> {
    const commands = await vscode.commands.getCommands(true);
    if (!commands.includes(ASK_COMMAND)) {
      this.fallbackAskCommand = vscode.commands.registerCommand(ASK_COMMAND, (args: unknown) => this.askFromServer(args));
    }
  }

  private clientOptions(): LanguageClientOptions {
    return {
      documentSelector: DOCUMENT_SELECTOR,
      outputChannel: this.log,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      initializationOptions: this.settingsFor(),
      middleware: {
        executeCommand: (command, args, next) => (command === ASK_COMMAND ? this.askFromServer(args[0]) : next(command, args)),
        workspace: {
          configuration: (params, token, next) => this.answerConfiguration(params, token, next),
        },
      },
    };
  }

  /** Answers `workspace/configuration` for our section with the mapped settings, others as usual. */
  private async answerConfiguration(
    params: ConfigurationParams,
    token: CancellationToken,
    next: (params: ConfigurationParams, token: CancellationToken) => unknown,
  ): Promise<unknown[]> {
    const defaults = await Promise.resolve(next(params, token));
    return answerConfigurationItems(params.items, Array.isArray(defaults) ? defaults : [], (scopeUri) =>
      this.settingsFor(scopeUri ? vscode.Uri.parse(scopeUri) : undefined),
    );
  }

  private onConfigurationChanged(event: vscode.ConfigurationChangeEvent): void {
    if (event.affectsConfiguration(`${SECTION}.server.path`)) {
      void this.restart('mlEngineer.server.path changed');
      return;
    }
    if (!event.affectsConfiguration(SECTION) || !this.client?.isRunning()) {
      return;
    }
    const settings = this.settingsFor();
    void this.client.sendNotification(DidChangeConfigurationNotification.type, { settings: { [SECTION]: settings } });
    if (this.state.kind === 'running') {
      void this.apiKeys.get().then((key) => {
        if (this.state.kind === 'running') {
          const hasKey = Boolean(vscode.workspace.isTrusted && (key || process.env[API_KEY_VARIABLE]));
          this.setState({ ...this.state, offline: answersOffline(settings, hasKey) });
        }
      });
    }
  }
}
