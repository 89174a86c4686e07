import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DiscoveryProbes, discoverServer, launchFromPath, looksLikePython } from '../src/serverDiscovery';

function probes(overrides: Partial<DiscoveryProbes> & { calls?: string[] } = {}): DiscoveryProbes {
  const calls = overrides.calls ?? [];
  return {
    configuredPath: '',
    trusted: true,
    fileExists: async (path) => {
      calls.push(`exists ${path}`);
      return false;
    },
    selectedInterpreter: async () => {
      calls.push('interpreter');
      return undefined;
    },
    canImportServer: async (python) => {
      calls.push(`import ${python}`);
      return false;
    },
    which: async (name) => {
      calls.push(`which ${name}`);
      return undefined;
    },
    ...overrides,
  };
}

describe('server discovery order', () => {
  it('uses mlEngineer.server.path first and probes nothing else', async () => {
    const calls: string[] = [];
    const result = await discoverServer(
      probes({ calls, configuredPath: '/opt/venv/bin/ml-engineer', fileExists: async () => true, selectedInterpreter: async () => '/usr/bin/python3' }),
    );
    assert.ok(result.found);
    assert.deepEqual(result.launch, { command: '/opt/venv/bin/ml-engineer', args: ['serve'], source: 'setting' });
    assert.deepEqual(calls, []);
  });

  it('runs a configured interpreter as `-m ml_engineer serve`', async () => {
    const result = await discoverServer(probes({ configuredPath: '/opt/venv/bin/python3.12', fileExists: async () => true }));
    assert.ok(result.found);
    assert.deepEqual(result.launch.args, ['-m', 'ml_engineer', 'serve']);
  });

  it('reports a configured path that does not exist instead of falling back', async () => {
    const calls: string[] = [];
    const result = await discoverServer(probes({ calls, configuredPath: '/nope/ml-engineer', which: async () => '/usr/bin/ml-engineer' }));
    assert.equal(result.found, false);
    assert.match(result.found ? '' : (result.problem ?? ''), /\/nope\/ml-engineer.*does not exist/);
    assert.ok(!calls.includes('interpreter'));
  });

  it('prefers the Python extension interpreter when ml_engineer imports there', async () => {
    const result = await discoverServer(
      probes({ selectedInterpreter: async () => '/ws/.venv/bin/python', canImportServer: async () => true, which: async () => '/usr/bin/ml-engineer' }),
    );
    assert.ok(result.found);
    assert.deepEqual(result.launch, { command: '/ws/.venv/bin/python', args: ['-m', 'ml_engineer', 'serve'], source: 'python-extension' });
  });

  it('falls back to ml-engineer on PATH when the interpreter lacks the package', async () => {
    const calls: string[] = [];
    const result = await discoverServer(
      probes({
        calls,
        selectedInterpreter: async () => '/ws/.venv/bin/python',
        which: async (name) => (name === 'ml-engineer' ? '/usr/local/bin/ml-engineer' : undefined),
      }),
    );
    assert.ok(result.found);
    assert.deepEqual(result.launch, { command: '/usr/local/bin/ml-engineer', args: ['serve'], source: 'path' });
    assert.deepEqual(calls, ['import /ws/.venv/bin/python']);
  });

  it('never asks for or launches the workspace interpreter in an untrusted workspace', async () => {
    const calls: string[] = [];
    const result = await discoverServer(probes({ calls, trusted: false, canImportServer: async () => true }));
    assert.equal(result.found, false);
    assert.ok(!calls.includes('interpreter'));
    assert.ok(!calls.some((c) => c.startsWith('import')));
  });

  it('offers to install into the selected interpreter, else python3 on PATH', async () => {
    const withInterpreter = await discoverServer(probes({ selectedInterpreter: async () => '/ws/.venv/bin/python' }));
    assert.equal(withInterpreter.found ? '' : withInterpreter.installInterpreter, '/ws/.venv/bin/python');
    const withoutInterpreter = await discoverServer(probes({ which: async (n) => (n === 'python3' ? '/usr/bin/python3' : undefined) }));
    assert.equal(withoutInterpreter.found ? '' : withoutInterpreter.installInterpreter, '/usr/bin/python3');
  });
});

describe('launch commands', () => {
  it('recognises interpreter names', () => {
    for (const name of ['/usr/bin/python', '/usr/bin/python3', 'C:\\Py\\python.exe', '/v/bin/python3.12', 'pythonw.exe']) {
      assert.ok(looksLikePython(name), name);
    }
    for (const name of ['/usr/bin/ml-engineer', '/home/python/ml-engineer', '/usr/bin/python-config']) {
      assert.ok(!looksLikePython(name), name);
    }
  });

  it('runs an executable with `serve`', () => {
    assert.deepEqual(launchFromPath('/x/ml-engineer', 'setting').args, ['serve']);
  });
});
