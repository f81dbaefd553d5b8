/**
 * Transport rules of the configuration: outside sandbox mode the connector sends credentials and access tokens to
 * OKKI, DingTalk and the robot, so those connections must be https. Plain http is allowed only to a loopback host,
 * which is what tests and local fakes (a simulator, a capturing proxy on this machine) use: nothing leaves the host.
 */
import { isIP } from 'node:net';

/** 127.0.0.0/8 and ::1 (also written `[::1]`, in full, or IPv4-mapped). Names such as `localhost` are not: they resolve. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().replace(/^\[(.*)\]$/, '$1');
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) !== 6) return false;
  // The URL parser writes an IPv6 address in its one shortest form: ::1, and ::ffff:7fxx:xxxx for ::ffff:127.x.x.x.
  const canonical = new URL(`http://[${h}]/`).hostname;
  return canonical === '[::1]' || /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(canonical);
}

/** An https URL, or an http one whose host is loopback. */
export function httpsOrLoopback(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === 'https:' || (u.protocol === 'http:' && isLoopbackHost(u.hostname));
  } catch { return false; }
}
