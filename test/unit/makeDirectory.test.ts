import { mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeDirectory } from '../../shared/runtime/makeDirectory.ts';

describe('Function: makeDirectory()', () => {
  const dir = mkdtempSync(join(tmpdir(), 'skewless-make-directory-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('makes a directory and its missing parents, and takes one that is there', () => {
    // Act
    makeDirectory(join(dir, 'a', 'b', 'c'));
    makeDirectory(join(dir, 'a', 'b', 'c'));
    makeDirectory(join(dir, 'a', 'b', 'c', '..', 'd'));
    // Assess
    expect(statSync(join(dir, 'a', 'b', 'c')).isDirectory()).toBe(true);
    expect(statSync(join(dir, 'a', 'b', 'd')).isDirectory()).toBe(true);
  });

  it('throws the system error of a file or a dangling link in the way', () => {
    // Prepare
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    const link = join(dir, 'dangling');
    symlinkSync(join(dir, 'nowhere'), link);
    // Act, Assess
    expect(() => makeDirectory(file)).toThrow(
      expect.objectContaining({ code: 'EEXIST', path: file })
    );
    expect(() => makeDirectory(join(file, 'x', 'y'))).toThrow(
      expect.objectContaining({ code: 'ENOTDIR' })
    );
    // The link is there (EEXIST) and is no directory, as Node's recursive mkdir says too.
    expect(() => makeDirectory(join(link, 'x'))).toThrow(
      expect.objectContaining({ code: 'EEXIST', path: link })
    );
  });

  it('ends with the error where Node recursive mkdir loops forever (procfs: ENOENT under a directory that exists)', () => {
    // Act, Assess: procfs refuses a new folder with ENOENT (EROFS or EACCES on some machines)
    expect(() => makeDirectory('/proc/x/y')).toThrow(
      expect.objectContaining({ code: 'ENOENT', path: '/proc/x' })
    );
    expect(() => makeDirectory('/proc/sys/x/y')).toThrow(
      expect.objectContaining({ code: expect.stringMatching(/^(ENOENT|EROFS|EACCES|EPERM)$/) })
    );
  });
});
