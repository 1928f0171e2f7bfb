import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A second release server on its own empty database: no administrator, so it prints a one-time
 * setup link on standard output, as on a new installation. The suite's main server cannot be
 * used for this: it was started with an administrator.
 */
export class FreshServer {
  private constructor(
    private readonly child: ChildProcess,
    private readonly dataDir: string,
    readonly baseURL: string,
    /** The setup link as printed. */
    readonly setupLink: string,
  ) {}

  static async start(port: number): Promise<FreshServer> {
    const bin = process.env.XK_SERVER_BIN;
    if (!bin) throw new Error('XK_SERVER_BIN is not set: run the suite through scripts/test.sh');
    const dataDir = mkdtempSync(join(tmpdir(), 'xray-keys-setup-'));
    const baseURL = `http://127.0.0.1:${port}`;
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      XRAY_KEYS_SITE_ROOT: process.env.XRAY_KEYS_SITE_ROOT,
      XRAY_KEYS_DATA_DIR: dataDir,
      XRAY_KEYS_LISTEN: `127.0.0.1:${port}`,
      XRAY_KEYS_PUBLIC_URL: baseURL,
      XRAY_KEYS_LOG: 'warn',
    };
    const child = spawn(bin, ['serve'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let printed = '';
    const setupLink = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no setup link was printed: ${printed}`)), 30_000);
      child.stdout!.on('data', (chunk: Buffer) => {
        printed += chunk.toString();
        const link = printed.match(/(https?:\/\/\S+\/setup\?token=\S+)/);
        if (link) {
          clearTimeout(timer);
          resolve(link[1]);
        }
      });
      child.on('exit', (code) => reject(new Error(`the server exited with ${code}: ${printed}`)));
    });
    // Printed before listening: wait until it answers.
    for (let i = 0; i < 600; i++) {
      try {
        if ((await fetch(`${baseURL}/readyz`)).ok) return new FreshServer(child, dataDir, baseURL, setupLink);
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGKILL');
    throw new Error(`the setup server did not become ready on ${baseURL}`);
  }

  async stop() {
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    await exited;
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
