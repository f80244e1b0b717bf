import { execFileSync } from 'node:child_process';
import { constants, publicDecrypt } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { loadOrCreateKey, signToken } from '../src/devices/adb/adb-key.ts';
import { ByteReader } from '../src/devices/adb/byte-reader.ts';
import { parseAdbAddress } from '../src/devices/adb/connect.ts';
import { parseBanner } from '../src/devices/adb/handshake.ts';
import { A_OKAY, A_WRTE, encodePacket, type Packet, PacketDecoder } from '../src/devices/adb/packet.ts';
import { encodeShellPacket, ShellPacketDecoder } from '../src/devices/adb/shell-protocol.ts';
import { parseGetprop } from '../src/devices/adb-device.ts';
import { parseDumpsysPackage } from '../src/devices/dumpsys-package.ts';
import { devicePath, packageName, permissionName, quote, selinuxContext } from '../src/devices/shell-args.ts';
import { isSocketOnlyFailure } from '../src/devices/tar-stderr.ts';

// The pure parts of the device layer: validation and quoting, the host key, banners, shell v2
// framing and the text formats of getprop / dumpsys.

describe('shell arguments', () => {
  it('accepts real package names and refuses anything a shell could interpret', () => {
    expect(packageName('com.example.notes')).toBe('com.example.notes');
    expect(packageName('a.B_1.c2')).toBe('a.B_1.c2');
    for (const bad of [
      'notes',
      'com.example;reboot',
      "com.ex'ample",
      'com.example notes',
      'com.example$(id)',
      '1com.x',
      'com..x',
      'com.x\n',
      '',
    ]) {
      expect(() => packageName(bad), bad).toThrow(/not a valid Android package name/);
    }
    expect(() => permissionName('android.permission.CAMERA`id`')).toThrow(/permission/);
    expect(selinuxContext('u:object_r:app_data_file:s0:c512,c768')).toBeTruthy();
    expect(() => selinuxContext("u:r:x:s0'; reboot")).toThrow(/SELinux/);
  });

  it('confines device paths to absolute, traversal-free, control-free strings', () => {
    expect(devicePath('/data/user/0/com.x')).toBe('/data/user/0/com.x');
    for (const bad of ['data/x', '/data/../etc', '/data/./x', '/data/x/..', '/a\nb', '/a\0b', '']) {
      expect(() => devicePath(bad), JSON.stringify(bad)).toThrow(/Path/);
    }
  });

  it('single-quotes so that sh sees exactly one literal word', () => {
    const nasty = `it's $(id) \`x\` "y" \\ ; | & *`;
    const out = execFileSync('sh', ['-c', `printf '%s' ${quote(nasty)}`]).toString();
    expect(out).toBe(nasty);
  });
});

describe('host key', () => {
  it('is created once with mode 0600, in the same format as `adb keygen`, and signs tokens adb-style', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'adbkey-'));
    const key = await loadOrCreateKey(dir);
    expect(statSync(join(dir, 'adbkey')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'adbkey.pub')).mode & 0o777).toBe(0o600);
    expect((await loadOrCreateKey(dir)).publicKeyLine).toBe(key.publicKeyLine);
    expect(readFileSync(join(dir, 'adbkey.pub'), 'utf8')).toBe(`${key.publicKeyLine}\n`);
    const token = Buffer.from('0123456789abcdefghij');
    const recovered = publicDecrypt(
      { key: key.privateKey, padding: constants.RSA_PKCS1_PADDING },
      signToken(key, token),
    );
    expect(recovered.toString('hex')).toBe(`3021300906052b0e03021a05000414${token.toString('hex')}`);

    // adb itself derives the same public key line from our private key
    const other = mkdtempSync(join(tmpdir(), 'adbkey-'));
    execFileSync('adb', ['keygen', join(other, 'adbkey')], { stdio: 'ignore' });
    const theirs = readFileSync(join(other, 'adbkey.pub'), 'utf8').split(' ')[0];
    const ours = (await loadOrCreateKey(other)).publicKeyLine.split(' ')[0];
    expect(ours).toBe(theirs);
  });

  it('lets concurrent first uses agree on one key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'adbkey-'));
    const keys = await Promise.all([loadOrCreateKey(dir), loadOrCreateKey(dir), loadOrCreateKey(dir)]);
    expect(new Set(keys.map((k) => k.publicKeyLine)).size).toBe(1);
    expect(readFileSync(join(dir, 'adbkey.pub'), 'utf8')).toBe(`${keys[0]?.publicKeyLine}\n`);
  });
});

describe('wire formats', () => {
  it('parses addresses strictly', () => {
    expect(parseAdbAddress('10.0.0.5:5555')).toEqual({ host: '10.0.0.5', port: 5555 });
    expect(parseAdbAddress('[::1]:5037')).toEqual({ host: '::1', port: 5037 });
    expect(parseAdbAddress('phone-1.internal:40000')).toEqual({ host: 'phone-1.internal', port: 40000 });
    for (const bad of ['host', 'host:0', 'host:70000', 'a b:1', 'h;x:1', '[zz]:1', ':5555', 'host:55a']) {
      expect(() => parseAdbAddress(bad), bad).toThrow(/Address/);
    }
  });

  it('reads the device banner', () => {
    const b = parseBanner('device::ro.product.name=cp;ro.product.model=M;features=shell_v2,stat_v2\0');
    expect(b.state).toBe('device');
    expect(b.props['ro.product.model']).toBe('M');
    expect([...b.features]).toEqual(['shell_v2', 'stat_v2']);
  });

  it('decodes shell v2 packets split at every byte boundary', () => {
    const wire = Buffer.concat([
      encodeShellPacket(1, Buffer.from('out-1')),
      encodeShellPacket(2, Buffer.from('err')),
      encodeShellPacket(1, Buffer.alloc(0)),
      encodeShellPacket(1, Buffer.from('out-2')),
      encodeShellPacket(3, Buffer.of(7)),
    ]);
    for (let cut = 0; cut <= wire.length; cut++) {
      const got: Record<number, string> = {};
      const d = new ShellPacketDecoder((id, data) => {
        got[id] = (got[id] ?? '') + data.toString('latin1');
      });
      d.push(wire.subarray(0, cut));
      d.push(wire.subarray(cut));
      expect(got).toEqual({ 1: 'out-1out-2', 2: 'err', 3: String.fromCharCode(7) });
    }
  });

  it('decodes ADB packets cut anywhere, a payload as the pieces it arrived in', () => {
    const big = Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 251));
    const wire = Buffer.concat([
      encodePacket(A_WRTE, 1, 2, big),
      encodePacket(A_OKAY, 3, 4),
      encodePacket(A_WRTE, 5, 6, Buffer.from('tail')),
    ]);
    const expectPackets = (got: Packet[]) => {
      expect(got.map((p) => [p.command, p.arg0, p.arg1, p.payload.toString('hex')])).toEqual([
        [A_WRTE, 1, 2, big.toString('hex')],
        [A_OKAY, 3, 4, ''],
        [A_WRTE, 5, 6, Buffer.from('tail').toString('hex')],
      ]);
      expect(Buffer.concat(got[0]?.parts ?? []).equals(big)).toBe(true);
    };
    for (const size of [1, 7, 23, 24, 25, 1000, wire.length]) {
      const d = new PacketDecoder();
      const got: Packet[] = [];
      for (let at = 0; at < wire.length; at += size) got.push(...d.push(wire.subarray(at, at + size)));
      expectPackets(got);
      // fed in pieces, the big payload stays in pieces: nothing was joined to hand it over
      if (size === 1000) expect(got[0]?.parts.length).toBe(4);
    }
  });

  it('waits for the rest of a partly buffered message without starving the event loop', async () => {
    const stream = new PassThrough();
    const reader = new ByteReader(stream, () => new Error('ended early'));
    stream.write(Buffer.from('0123456789'));
    let timers = 0;
    const ticking = setInterval(() => timers++, 5);
    setTimeout(() => stream.write(Buffer.from('abcdefghij')), 100);
    expect((await reader.read(20)).toString()).toBe('0123456789abcdefghij');
    clearInterval(ticking);
    expect(timers).toBeGreaterThan(5);
    stream.end(Buffer.from('xyz'));
    await expect(reader.read(8)).rejects.toThrow('ended early');
  });

  it('accepts toybox tar’s exit 1 only when every complaint is about a skipped socket', () => {
    const sockets = "tar: unknown file type '140000'\ntar: unknown file type '140000'\ntar: had errors";
    expect(isSocketOnlyFailure({ exitCode: 1, stderr: sockets })).toBe(true);
    expect(isSocketOnlyFailure({ exitCode: 1, stderr: "tar: unknown file type '140000'" })).toBe(true);
    for (const stderr of [
      "tar: unknown file type '140000'\ntar: short read\ntar: had errors",
      "tar: unknown file type '60000'\ntar: had errors",
      'tar: had errors',
      '',
    ]) {
      expect(isSocketOnlyFailure({ exitCode: 1, stderr }), stderr).toBe(false);
    }
    expect(isSocketOnlyFailure({ exitCode: 2, stderr: sockets })).toBe(false);
  });

  it('parses getprop and dumpsys package output', () => {
    expect(parseGetprop('[ro.build.version.sdk]: [33]\n[ro.product.cpu.abi]: [x86_64]\n[empty]: []\n')).toEqual({
      'ro.build.version.sdk': '33',
      'ro.product.cpu.abi': 'x86_64',
      empty: '',
    });
    const dump = [
      'Activity Resolver Table:',
      '  Non-Data Actions:',
      'Packages:',
      '  Package [com.example.notes] (8d2f1c3):',
      '    userId=10057',
      '    pkg=Package{5e0ab71 com.example.notes}',
      '    codePath=/data/app/~~abc==/com.example.notes-def==',
      '    versionCode=3 minSdk=21 targetSdk=33',
      '    versionName=1.2 beta',
      '    install permissions:',
      '      android.permission.INTERNET: granted=true',
      '    User 0: ceDataInode=4242 installed=true hidden=false suspended=false',
      '      gids=[3003]',
      '      runtime permissions:',
      '        android.permission.CAMERA: granted=true, flags=[ USER_SET ]',
      '        android.permission.READ_CONTACTS: granted=false, flags=[ ]',
      '        android.permission.RECORD_AUDIO: granted=true',
      '      enabledComponents:',
      '        com.example.notes.Main',
      '    User 10: ceDataInode=0 installed=true',
      '      runtime permissions:',
      '        android.permission.READ_CONTACTS: granted=true',
      '',
      'Hidden system packages:',
      '  Package [com.example.notes] (1111111):',
      '    userId=10001',
      '    versionCode=1',
    ].join('\n');
    const d = parseDumpsysPackage(dump, 'com.example.notes');
    expect(d).toMatchObject({ appId: 10057, versionCode: 3, versionName: '1.2 beta', installer: null, system: false });
    const granted = d
      ?.user(0)
      ?.runtimePermissions.filter((p) => p.granted)
      .map((p) => p.name);
    expect(granted).toEqual(['android.permission.CAMERA', 'android.permission.RECORD_AUDIO']);
    expect(d?.user(10)?.runtimePermissions).toEqual([
      { name: 'android.permission.READ_CONTACTS', granted: true, flags: [] },
    ]);
    expect(parseDumpsysPackage(dump, 'com.example.other')).toBeNull();
  });
});
