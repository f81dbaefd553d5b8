/**
 * One burst of concurrent calls from a process of its own, so the measured latency is the service's and the
 * transport's, not that of a client sharing its event loop with the busy simulators.
 * Usage: node --import tsx bench/burst-child.ts URL API_KEY N PATH keepalive|new  → prints CallTiming[] as JSON.
 */
import { burst, warmAgent } from './webhook-burst.js';

const [url, apiKey, n, path, mode] = process.argv.slice(2);
const calls = Number(n);
const agent = mode === 'keepalive' ? await warmAgent(url, calls) : false;
// a few calls first so the figures are not those of a cold client (first-request compilation)
await burst(url, apiKey, 5, '/healthz', agent);
const timings = await burst(url, apiKey, calls, path, agent);
if (agent) agent.destroy();
process.stdout.write(JSON.stringify(timings));
