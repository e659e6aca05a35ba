import { describe, expect, it } from 'vitest';
import { notUtf8 } from '../../../shared/record/unicode.ts';

describe('notUtf8', () => {
  it('accepts UTF-8 text, multi-byte and four-byte forms included', () => {
    expect(notUtf8(Buffer.from('café 😀 ✓', 'utf8'))).toBeUndefined();
    expect(notUtf8(Buffer.alloc(0))).toBeUndefined();
  });

  it.each([
    [
      'a Latin-1 é before ASCII',
      Buffer.from('caf\xe9,1', 'latin1'),
      'invalid byte 0xE9 at offset 3',
    ],
    ['a Latin-1 é at the end', Buffer.from('caf\xe9', 'latin1'), 'invalid byte 0xE9 at offset 3'],
    ['a stray continuation byte', Buffer.from([0x61, 0x80]), 'invalid byte 0x80 at offset 1'],
    ['an overlong form', Buffer.from([0xc0, 0xaf]), 'invalid byte 0xC0 at offset 0'],
    [
      'an overlong three-byte form',
      Buffer.from([0xe0, 0x80, 0xaf]),
      'invalid byte 0xE0 at offset 0',
    ],
    [
      'a surrogate (ED A0 80)',
      Buffer.from([0x61, 0xed, 0xa0, 0x80]),
      'invalid byte 0xED at offset 1',
    ],
    [
      'a code point past U+10FFFF',
      Buffer.from([0xf4, 0x90, 0x80, 0x80]),
      'invalid byte 0xF4 at offset 0',
    ],
    ['0xFF', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), 'invalid byte 0xFF at offset 1'],
    [
      'a bad byte after valid multi-byte text',
      Buffer.concat([Buffer.from('😀é', 'utf8'), Buffer.from([0xe9])]),
      'invalid byte 0xE9 at offset 6',
    ],
  ])('names the first invalid byte and its offset: %s', (_name, bytes, expected) => {
    expect(notUtf8(bytes)).toBe(expected);
  });
});
