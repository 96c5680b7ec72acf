import { createHash } from 'node:crypto';
import { type FSWatcher, readFileSync, watch } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * Watches a set of files through their folders and calls back, once things settle, when any of
 * their contents changed. Folders rather than files: an atomic rename (`mv new.crt server.crt`)
 * or a Kubernetes secret update (the `..data` symlink swapped) replaces the file's inode, and a
 * watch on the old inode would never fire again.
 */
export class TlsFileWatcher {
  private readonly watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private digest: string;

  /**
   * @param files the files to watch
   * @param onChange called after a change, at most once per `settleMs`
   * @param settleMs how long the folders must stay quiet before the files are read: a writer
   *   that replaces the certificate and then the key is seen once, with both
   */
  constructor(
    private readonly files: readonly string[],
    private readonly onChange: () => void,
    private readonly settleMs = 100,
  ) {
    this.digest = this.digestOfFiles();
  }

  /** Starts watching. */
  start(): void {
    const folders = new Set(this.files.map((file) => dirname(resolve(file))));
    for (const folder of folders) {
      // Any change in the folder may be ours (Kubernetes swaps "..data", an editor renames a
      // temporary file over the original): the digest of the files' bytes decides.
      const watcher = watch(folder, { persistent: false }, () => this.schedule());
      watcher.on('error', () => this.schedule());
      this.watchers.push(watcher);
    }
  }

  /** Stops watching; a pending callback is dropped. */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const watcher of this.watchers.splice(0)) watcher.close();
  }

  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const digest = this.digestOfFiles();
      if (digest === this.digest) return;
      this.digest = digest;
      this.onChange();
    }, this.settleMs);
    this.timer.unref();
  }

  /** One digest over every file's bytes; a file that cannot be read counts as its error code. */
  private digestOfFiles(): string {
    const hash = createHash('sha256');
    for (const file of this.files) {
      try {
        hash.update(readFileSync(file));
      } catch (error) {
        hash.update(`unreadable:${String((error as { code?: unknown }).code)}`);
      }
      hash.update('\0');
    }
    return hash.digest('hex');
  }
}
