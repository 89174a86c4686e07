// The environment of the server process. The API key reaches the server only here, as
// ANTHROPIC_API_KEY: never in settings, initializationOptions or command arguments.

export const API_KEY_VARIABLE = 'ANTHROPIC_API_KEY';

export function serverEnvironment(
  base: NodeJS.ProcessEnv,
  apiKey: string | undefined,
  options: { trusted: boolean },
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  if (!options.trusted) {
    // Limited mode: nothing may be sent, so the server gets no key at all.
    delete env[API_KEY_VARIABLE];
  } else if (apiKey) {
    env[API_KEY_VARIABLE] = apiKey;
  }
  // Keep the server's stdout a clean JSON-RPC stream and its log lines unbuffered.
  env.PYTHONUNBUFFERED = '1';
  return env;
}
