// Node implementations of the discovery probes: file checks, PATH lookup, import test.
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import * as path from 'node:path';

export async function fileExists(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

export async function which(name: string, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const dirs = (env.PATH ?? '').split(path.delimiter).filter(Boolean);
  const extensions = process.platform === 'win32' ? (env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';') : [''];
  for (const dir of dirs) {
    for (const ext of extensions) {
      const candidate = path.join(dir, name + ext);
      try {
        await access(candidate, constants.X_OK);
        if (await fileExists(candidate)) {
          return candidate;
        }
      } catch {
        // not here; keep looking
      }
    }
  }
  return undefined;
}

export function canImportServer(python: string, timeoutMs = 15_000): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(python, ['-c', 'import ml_engineer'], { timeout: timeoutMs }, (error) => resolve(!error));
  });
}
