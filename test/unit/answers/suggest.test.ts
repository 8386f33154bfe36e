import { describe, expect, it } from 'vitest';
import { levenshtein, nearestKey } from '../../../installer/answers/suggest.js';

describe('nearestKey', () => {
  const keys = ['address', 'port', 'user', 'identityFile', 'agent', 'passwordFrom', 'replicationMtu', 'bridge'];
  it('finds typos, other spellings and partial names', () => {
    expect(levenshtein('adress', 'address')).toBe(1);
    expect(nearestKey('adress', keys)).toBe('address');
    expect(nearestKey('identity_file', keys)).toBe('identityFile');
    expect(nearestKey('REPLICATION-MTU', keys)).toBe('replicationMtu');
    expect(nearestKey('prot', keys)).toBe('port');
    expect(nearestKey('mtu', keys)).toBe('replicationMtu');
  });
  it('suggests nothing when nothing is close', () => {
    expect(nearestKey('color', keys)).toBeUndefined();
    expect(nearestKey('x', keys)).toBeUndefined();
  });
});
