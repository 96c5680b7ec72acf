import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogDestination, loggingStats } from './logger-params.js';

describe('createLogDestination', () => {
  let dir: string;
  let fd: number | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'secure-api-log-'));
  });

  afterEach(() => {
    if (fd !== undefined) closeSync(fd);
    fd = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('drops and counts lines when nobody reads, instead of blocking or buffering without bound', () => {
    // A pipe with no reader: opened read-write so that opening does not wait for one, and
    // non-blocking, so that a full pipe answers EAGAIN as a slow stdout reader would.
    const fifo = join(dir, 'stdout');
    execFileSync('mkfifo', [fifo]);
    fd = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK);
    const destination = createLogDestination(fd, { bufferBytes: 16 * 1024, batchBytes: 0 });
    const before = loggingStats().droppedLines;
    const line = `${JSON.stringify({ msg: 'x'.repeat(200) })}\n`;
    // 2 MB: thirty times what a Linux pipe holds (64 KiB), plus the 16 KiB buffer.
    for (let i = 0; i < 10_000; i++) destination.write(line);

    const dropped = loggingStats().droppedLines - before;
    // What fits: the pipe and the buffer, at most (64 + 16) KiB of 2 MB.
    expect(dropped).toBeGreaterThan(10_000 - Math.ceil((80 * 1024) / line.length) - 1);
    expect(dropped).toBeLessThan(10_000);
  });
});
