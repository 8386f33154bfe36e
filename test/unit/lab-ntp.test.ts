/**
 * The lab's NTP server answers a client request the way chrony expects of a server: mode 4, its
 * version, stratum 1, the client's transmit timestamp as the origin, the host's receive and transmit
 * times; anything that is not a client request gets no answer.
 */
import { describe, expect, it } from 'vitest';
import { ntpReply, readTimestamp } from '../lab/ntp.js';

function request(version: number, mode: number, transmit: Buffer): Buffer {
  const b = Buffer.alloc(48);
  b[0] = (version << 3) | mode;
  b[2] = 6; // poll 2^6 s
  transmit.copy(b, 40);
  return b;
}

describe('lab NTP server', () => {
  const origin = Buffer.from('0123456789abcdef', 'hex');
  const received = Date.UTC(2026, 11, 6, 12, 0, 0, 250.5);
  const sent = received + 0.125;

  it('answers a client request as a stratum-1 server, echoing its transmit timestamp as the origin', () => {
    const r = ntpReply(request(4, 3, origin), received, sent)!;
    expect(r).toHaveLength(48);
    expect(r[0]! >> 6).toBe(0); // leap indicator: synchronized
    expect((r[0]! >> 3) & 7).toBe(4);
    expect(r[0]! & 7).toBe(4); // server
    expect(r[1]).toBe(1);
    expect(r[2]).toBe(6);
    expect(r.subarray(12, 16).toString('latin1')).toBe('LAB\0');
    expect(r.subarray(24, 32)).toEqual(origin);
    expect(readTimestamp(r, 32)).toBeCloseTo(received, 3);
    expect(readTimestamp(r, 40)).toBeCloseTo(sent, 3);
    expect(readTimestamp(r, 40) - readTimestamp(r, 32)).toBeCloseTo(0.125, 3);
  });

  it("keeps an NTPv3 client's version", () => {
    expect((ntpReply(request(3, 3, origin), received, sent)![0]! >> 3) & 7).toBe(3);
  });

  it('does not answer a server or broadcast packet, a short one, or an unknown version', () => {
    expect(ntpReply(request(4, 4, origin), received, sent)).toBeNull();
    expect(ntpReply(request(4, 5, origin), received, sent)).toBeNull();
    expect(ntpReply(request(4, 3, origin).subarray(0, 47), received, sent)).toBeNull();
    expect(ntpReply(request(0, 3, origin), received, sent)).toBeNull();
    expect(ntpReply(request(5, 3, origin), received, sent)).toBeNull();
  });
});
