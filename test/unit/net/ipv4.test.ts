import { describe, expect, it } from 'vitest';
import { addressOf, broadcastOf, formatIpv4, inSubnet, netmask, parseCidr, parseIpv4, sameSubnet, subnetsOverlap, subnetText } from '../../../installer/net/ipv4.js';

describe('IPv4 arithmetic', () => {
  it('parses, masks and compares subnets', () => {
    expect(parseIpv4('255.255.255.255')).toBe(0xffffffff);
    expect(subnetText(parseCidr('10.1.2.3/8'))).toBe('10.0.0.0/8');
    expect(subnetText(parseCidr('10.1.2.3/0'))).toBe('0.0.0.0/0');
    expect(subnetText(parseCidr('10.1.2.3/32'))).toBe('10.1.2.3/32');
    expect(inSubnet(parseIpv4('192.168.1.200'), parseCidr('192.168.1.1/25'))).toBe(false);
    expect(inSubnet(parseIpv4('192.168.1.100'), parseCidr('192.168.1.1/25'))).toBe(true);
    expect(subnetsOverlap(parseCidr('10.0.0.1/8'), parseCidr('10.200.0.1/24'))).toBe(true);
    expect(subnetsOverlap(parseCidr('10.0.0.1/24'), parseCidr('10.0.1.1/24'))).toBe(false);
  });
});

describe('parseCidr and parseIpv4: the one parser of IPv4 text', () => {
  it('reads an address with prefix, around white space', () => {
    expect(parseCidr('198.18.2.200/24')).toEqual({ address: 0xc61202c8, prefix: 24 });
    expect(parseCidr(' 198.18.2.200/24\n')).toEqual({ address: 0xc61202c8, prefix: 24 });
    expect(formatIpv4(parseCidr('198.18.2.200/24').address)).toBe('198.18.2.200');
  });

  it('refuses what is not an address with prefix, naming what it expected', () => {
    for (const bad of ['198.18.2.300/24', '198.18.2.200', '198.18.2.200/33', '198.018.2.200/24', '198.18.2/24', 'hv1/24', '']) {
      expect(() => parseCidr(bad), bad).toThrow(/expected an IPv4 address with prefix, like 198\.18\.1\.200\/24/);
    }
    expect(() => parseIpv4('198.18.2.256')).toThrow(/expected an IPv4 address, like 198\.18\.1\.1/);
    expect(() => parseIpv4('198.18.2.1/24')).toThrow(/expected an IPv4 address/);
  });

  it('gives the netmask, the broadcast address and compares subnets', () => {
    expect(formatIpv4(netmask(24))).toBe('255.255.255.0');
    expect(formatIpv4(netmask(0))).toBe('0.0.0.0');
    expect(formatIpv4(netmask(32))).toBe('255.255.255.255');
    expect(formatIpv4(broadcastOf(parseCidr('198.19.1.12/23')))).toBe('198.19.1.255');
    expect(sameSubnet(parseCidr('198.19.1.12/24'), parseCidr('198.19.1.13/24'))).toBe(true);
    expect(sameSubnet(parseCidr('198.19.1.12/24'), parseCidr('198.19.1.13/25'))).toBe(false);
  });
});

describe('addressOf', () => {
  it('keeps the address of an address with prefix, as written', () => {
    expect(addressOf('198.18.1.11/24')).toBe('198.18.1.11');
    expect(addressOf('198.18.1.11')).toBe('198.18.1.11');
  });
});
