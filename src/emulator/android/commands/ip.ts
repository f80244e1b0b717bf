import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import type { Command } from './command.ts';

// ip (iproute2, /system/bin/ip on Android: external/iproute2 ip/Android.bp) for the one form a
// client needs: `ip -o [-4|-6] addr [show] [dev DEV] [scope SCOPE]`, one address a line, as
// ip/ipaddress.c print_addrinfo prints it with -oneline:
//   "4: eth0    inet 192.0.2.2/24 brd 192.0.2.255 scope global eth0\       valid_lft forever preferred_lft forever"
// (IFA_LABEL, the device name, only after IPv4 addresses; "\" is -o's line separator _SL_).
// The phone's shells run in a sandbox with no network of its own, but the phone is reached
// through its adbd, a socket of the host: the host's interfaces are the phone's network, so they
// are what this lists, by interface index. What os.networkInterfaces() does not tell is printed
// as a static address has it: `brd` for an IPv4 with room for one, lifetimes "forever", no flags.
// Any other form of ip is refused on stderr: the emulator does not imitate it.

interface Address {
  index: number;
  dev: string;
  family: 'inet' | 'inet6';
  address: string;
  prefix: number;
}

export function ip(): Command {
  return async ({ args, out, err }) => {
    let oneline = false;
    let family: 'inet' | 'inet6' | undefined;
    let i = 0;
    for (; i < args.length && args[i]?.startsWith('-'); i++) {
      const opt = args[i] as string;
      if (opt === '-o' || opt === '-oneline') oneline = true;
      else if (opt === '-4') family = 'inet';
      else if (opt === '-6') family = 'inet6';
      else return refuse(err, args);
    }
    const [object, verb, ...filters] = args.slice(i);
    if (!oneline || !object || !'address'.startsWith(object)) return refuse(err, args);
    if (verb !== undefined && !['show', 'list', 'lst', 'sh', 'ls'].includes(verb)) return refuse(err, args);
    let dev: string | undefined;
    let scope: string | undefined;
    for (let f = 0; f < filters.length; f += 2) {
      const [key, value] = [filters[f], filters[f + 1]];
      if (value === undefined || (key !== 'dev' && key !== 'scope')) return refuse(err, args);
      if (key === 'dev') dev = value;
      else scope = value;
    }
    const all = hostAddresses();
    if (dev !== undefined && !all.some((a) => a.dev === dev)) {
      err(`Device "${dev}" does not exist.\n`);
      return 255;
    }
    for (const a of all) {
      if ((family && a.family !== family) || (dev && a.dev !== dev) || (scope && scopeOf(a) !== scope)) continue;
      out(`${line(a)}\n`);
    }
    return 0;
  };
}

function refuse(err: (text: string) => void, args: string[]): number {
  err(
    `ip: the emulated phone answers only "ip -o [-4|-6] addr [show] [dev DEV] [scope SCOPE]", not "ip ${args.join(' ')}"\n`,
  );
  return 1;
}

function line(a: Address): string {
  const lifetimes = '\\       valid_lft forever preferred_lft forever';
  const scope = `scope ${scopeOf(a)}`;
  if (a.family === 'inet6') return `${a.index}: ${a.dev}    inet6 ${a.address}/${a.prefix} ${scope} ${lifetimes}`;
  const brd = a.prefix <= 30 && scopeOf(a) !== 'host' ? `brd ${broadcast(a.address, a.prefix)} ` : '';
  return `${a.index}: ${a.dev}    inet ${a.address}/${a.prefix} ${brd}${scope} ${a.dev}${lifetimes}`;
}

/** rtnl_rtscope_n2a of the scope the kernel gives such an address */
function scopeOf(a: Address): 'host' | 'link' | 'global' {
  if (a.family === 'inet') {
    if (a.address.startsWith('127.')) return 'host';
    return a.address.startsWith('169.254.') ? 'link' : 'global';
  }
  if (a.address === '::1') return 'host';
  return /^fe[89ab]/i.test(a.address) ? 'link' : 'global';
}

function broadcast(address: string, prefix: number): string {
  const n = address.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const host = 2 ** (32 - prefix) - 1;
  const b = n - (n % (host + 1)) + host;
  return [24, 16, 8, 0].map((s) => Math.floor(b / 2 ** s) % 256).join('.');
}

function hostAddresses(): Address[] {
  const found: Address[] = [];
  for (const [n, [dev, addresses]] of Object.entries(networkInterfaces()).entries()) {
    const index = ifindex(dev) ?? n + 1;
    for (const a of addresses ?? []) {
      const family = a.family === 'IPv4' ? 'inet' : 'inet6';
      const prefix = Number(a.cidr?.split('/')[1] ?? (family === 'inet' ? 32 : 128));
      found.push({ index, dev, family, address: a.address, prefix });
    }
  }
  // by link, and on a link IPv4 before IPv6, as a dump of every family lists them
  return found.sort((x, y) => x.index - y.index || (x.family === y.family ? 0 : x.family === 'inet' ? -1 : 1));
}

function ifindex(dev: string): number | null {
  try {
    const n = Number(readFileSync(`/sys/class/net/${dev}/ifindex`, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}
