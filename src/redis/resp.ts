/**
 * RESP2, the Redis protocol, in both directions: commands out as arrays of bulk strings, replies in
 * as they arrive, however the socket splits them. preflight never sends HELLO, so servers answer
 * in RESP2 and the parser knows only its five reply types.
 */

/** One argument of a command; numbers are sent in decimal. */
export type RedisArgument = string | number | Buffer;

/** A reply: simple and bulk strings (UTF-8), integers, null (nil bulk or array), arrays, errors. */
export type RedisReply = string | number | null | ReplyError | RedisReply[];

/** An error reply: the server's own text, e.g. "WRONGPASS invalid username-password pair ...". */
export class ReplyError extends Error {
  override name = 'ReplyError';
}

const crlf = '\r\n';

export function encodeCommand(args: readonly RedisArgument[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}${crlf}`)];
  for (const arg of args) {
    const bytes = Buffer.isBuffer(arg) ? arg : Buffer.from(String(arg));
    parts.push(Buffer.from(`$${bytes.length}${crlf}`), bytes, Buffer.from(crlf));
  }
  return Buffer.concat(parts);
}

/** Collects chunks and hands over every complete reply, in order; keeps the rest for the next chunk. */
export class ReplyParser {
  private buffer: Buffer = Buffer.alloc(0);

  constructor(private readonly onReply: (reply: RedisReply) => void) {}

  /** Throws on bytes that are not RESP2 (the connection is then unusable). */
  feed(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    let offset = 0;
    for (;;) {
      const parsed = parseReply(this.buffer, offset);
      if (parsed === undefined) break;
      offset = parsed.end;
      this.onReply(parsed.value);
    }
    this.buffer = this.buffer.subarray(offset);
  }
}

interface Parsed {
  value: RedisReply;
  /** offset just past the reply */
  end: number;
}

/** The reply at `offset`, or undefined when its last byte has not arrived yet. */
function parseReply(buffer: Buffer, offset: number): Parsed | undefined {
  if (offset >= buffer.length) return undefined;
  const lineEnd = buffer.indexOf(crlf, offset + 1);
  if (lineEnd === -1) return undefined;
  const line = buffer.toString('utf8', offset + 1, lineEnd);
  const next = lineEnd + 2;
  switch (buffer[offset]) {
    case 0x2b: // '+'
      return { value: line, end: next };
    case 0x2d: // '-'
      return { value: new ReplyError(line), end: next };
    case 0x3a: // ':'
      return { value: lengthOrInteger(line), end: next };
    case 0x24: {
      // '$'
      const length = lengthOrInteger(line);
      if (length < 0) return { value: null, end: next };
      if (buffer.length < next + length + 2) return undefined;
      return { value: buffer.toString('utf8', next, next + length), end: next + length + 2 };
    }
    case 0x2a: {
      // '*'
      const count = lengthOrInteger(line);
      if (count < 0) return { value: null, end: next };
      const items: RedisReply[] = [];
      let end = next;
      for (let index = 0; index < count; index++) {
        const item = parseReply(buffer, end);
        if (item === undefined) return undefined;
        items.push(item.value);
        end = item.end;
      }
      return { value: items, end };
    }
    default:
      throw new Error(
        `Redis protocol error: unexpected reply type ${JSON.stringify(String.fromCharCode(buffer[offset]))}`,
      );
  }
}

function lengthOrInteger(line: string): number {
  if (!/^-?\d+$/.test(line)) throw new Error(`Redis protocol error: ${JSON.stringify(line)} is not an integer`);
  return Number(line);
}
