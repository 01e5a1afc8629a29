// SPDX-License-Identifier: Apache-2.0
/**
 * Small UTF-8 helpers (QuickJS has no TextEncoder/TextDecoder).
 * Malformed input becomes U+FFFD, one per bad byte, as the WHATWG decoder
 * does for the common cases; sequences may be split across chunks.
 */

/** Encodes `text` (UTF-16, lone surrogates as U+FFFD) as UTF-8 bytes. */
export function utf8Encode(text: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      }
    }
    if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return Uint8Array.from(out);
}

/**
 * A streaming UTF-8 decoder: {@link Utf8Decoder.decode} returns the text of
 * the complete characters seen so far and keeps an incomplete sequence at
 * the end of a chunk for the next call.
 */
export class Utf8Decoder {
  /** code point being assembled */
  private cp = 0;
  /** continuation bytes still expected */
  private need = 0;
  /** smallest code point valid for the current sequence length (overlong check) */
  private min = 0;

  /** Decodes `bytes`; returns the characters completed by them. */
  decode(bytes: Uint8Array): string {
    let s = '';
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      if (this.need > 0) {
        if ((b & 0xc0) === 0x80) {
          this.cp = (this.cp << 6) | (b & 63);
          if (--this.need === 0) s += this.emit(this.cp);
          continue;
        }
        this.need = 0;
        s += '\ufffd';
      }
      if (b < 0x80) s += String.fromCharCode(b);
      else if (b >= 0xc2 && b < 0xe0) this.start(b & 0x1f, 1, 0x80);
      else if (b >= 0xe0 && b < 0xf0) this.start(b & 0x0f, 2, 0x800);
      else if (b >= 0xf0 && b < 0xf5) this.start(b & 0x07, 3, 0x10000);
      else s += '\ufffd';
    }
    return s;
  }

  /** Ends the stream: an incomplete sequence becomes U+FFFD. */
  flush(): string {
    if (this.need > 0) {
      this.need = 0;
      return '\ufffd';
    }
    return '';
  }

  private start(bits: number, need: number, min: number): void {
    this.cp = bits;
    this.need = need;
    this.min = min;
  }

  private emit(cp: number): string {
    if (cp < this.min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return '\ufffd';
    if (cp < 0x10000) return String.fromCharCode(cp);
    cp -= 0x10000;
    return String.fromCharCode(0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
  }
}
