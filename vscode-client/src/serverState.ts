// What the status bar shows for each state of the server.

export type ServerState =
  | { kind: 'starting' }
  | { kind: 'running'; offline: boolean; untrusted: boolean; source: string }
  | { kind: 'missing'; detail: string }
  | { kind: 'error'; detail: string }
  | { kind: 'stopped' };

export interface StatusPresentation {
  text: string;
  /** Read by screen readers (and the end-to-end test): "ML Engineer: <state>". */
  label: string;
  tooltip: string;
  isError: boolean;
}

export function presentState(state: ServerState): StatusPresentation {
  switch (state.kind) {
    case 'starting':
      return { label: 'ML Engineer: starting', text: '$(sync~spin) ML Engineer', tooltip: 'ML Engineer: starting the language server…', isError: false };
    case 'running':
      if (state.offline) {
        const why = state.untrusted
          ? 'untrusted workspace: nothing is sent, questions are answered offline'
          : 'no API key or backend "offline": questions are answered from the local analysis';
        return { label: 'ML Engineer: running in offline mode', text: '$(circle-slash) ML Engineer: offline', tooltip: `ML Engineer: running in offline mode (${why}).\nServer: ${state.source}`, isError: false };
      }
      return { label: 'ML Engineer: running', text: '$(check) ML Engineer', tooltip: `ML Engineer: running, questions go to Claude.\nServer: ${state.source}`, isError: false };
    case 'missing':
      return { label: 'ML Engineer: server not installed', text: '$(warning) ML Engineer: not installed', tooltip: `ML Engineer: ${state.detail}`, isError: true };
    case 'error':
      return { label: 'ML Engineer: error', text: '$(error) ML Engineer', tooltip: `ML Engineer: ${state.detail}\nClick to see the server log.`, isError: true };
    case 'stopped':
      return { label: 'ML Engineer: stopped', text: '$(debug-stop) ML Engineer', tooltip: 'ML Engineer: server stopped.', isError: false };
  }
}
