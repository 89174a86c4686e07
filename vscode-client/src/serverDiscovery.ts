// Decides how to start the language server. The order is fixed and documented:
//   1. the `mlEngineer.server.path` setting (machine scope, so a workspace cannot choose it),
//   2. the interpreter selected in the Python extension, if `ml_engineer` imports there
//      (trusted workspaces only: that interpreter may be chosen by the workspace),
//   3. `ml-engineer` on PATH.
// Probing is injected so the order can be unit-tested without processes or VS Code.

export interface ServerLaunch {
  command: string;
  args: string[];
  /** Where the choice came from, for the log and the status bar tooltip. */
  source: 'setting' | 'python-extension' | 'path';
}

export interface DiscoveryProbes {
  /** The value of `mlEngineer.server.path` ('' when unset). */
  configuredPath: string;
  trusted: boolean;
  fileExists(path: string): Promise<boolean>;
  /** The interpreter selected in the Python extension, if it is installed and has one. */
  selectedInterpreter(): Promise<string | undefined>;
  /** Whether `python -c "import ml_engineer"` succeeds. */
  canImportServer(python: string): Promise<boolean>;
  /** Absolute path of an executable on PATH. */
  which(name: string): Promise<string | undefined>;
}

export type Discovery =
  | { found: true; launch: ServerLaunch; tried: string[] }
  | { found: false; tried: string[]; problem?: string; installInterpreter?: string };

const SERVE_MODULE_ARGS = ['-m', 'ml_engineer', 'serve'];

/** `python`, `python3`, `python3.12`, `pythonw.exe`, ... */
export function looksLikePython(path: string): boolean {
  const name = path.split(/[\\/]/).pop() ?? '';
  return /^python(w)?(\d+(\.\d+)*)?(\.exe)?$/i.test(name);
}

export function launchFromPath(path: string, source: ServerLaunch['source']): ServerLaunch {
  return looksLikePython(path)
    ? { command: path, args: [...SERVE_MODULE_ARGS], source }
    : { command: path, args: ['serve'], source };
}

export async function discoverServer(probes: DiscoveryProbes): Promise<Discovery> {
  const tried: string[] = [];
  const configured = probes.configuredPath.trim();
  if (configured) {
    tried.push(`setting mlEngineer.server.path = ${configured}`);
    if (await probes.fileExists(configured)) {
      return { found: true, launch: launchFromPath(configured, 'setting'), tried };
    }
    // An explicit setting that is wrong is an error to report, not a reason to run something else.
    return {
      found: false,
      tried,
      problem: `The setting mlEngineer.server.path points to "${configured}", which does not exist.`,
    };
  }

  let interpreter: string | undefined;
  if (probes.trusted) {
    interpreter = await probes.selectedInterpreter();
    if (interpreter) {
      tried.push(`Python extension interpreter ${interpreter} (-m ml_engineer)`);
      if (await probes.canImportServer(interpreter)) {
        return { found: true, launch: { command: interpreter, args: [...SERVE_MODULE_ARGS], source: 'python-extension' }, tried };
      }
    }
  } else {
    tried.push('Python extension interpreter skipped (untrusted workspace)');
  }

  tried.push('ml-engineer on PATH');
  const onPath = await probes.which('ml-engineer');
  if (onPath) {
    return { found: true, launch: { command: onPath, args: ['serve'], source: 'path' }, tried };
  }

  const installInterpreter = interpreter ?? (await probes.which('python3')) ?? (await probes.which('python'));
  return { found: false, tried, installInterpreter };
}
