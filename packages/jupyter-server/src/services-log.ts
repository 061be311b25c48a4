/**
 * services writes to the console by itself ("Starting WebSocket: …", "Kernel: dead (…)",
 * "Connection lost, reconnecting in N seconds.", …) and has no switch for it. This routes exactly
 * those lines to a handler of the caller's (or drops them); every other console call is untouched.
 * Opt-in, because it wraps the global console methods; the returned function undoes it.
 */
export type ServicesLogLevel = 'debug' | 'log' | 'warn' | 'error';
export type ServicesLogHandler = (level: ServicesLogLevel, message: string) => void;

const SERVICES_LINES = [
  /^Starting WebSocket: /,
  /^Kernel: \w+ \(/,
  /^Connection lost, reconnecting in /,
  /^Server selected unknown kernel wire protocol/,
  /^Exception opening new comm/,
  /^Comm not found for comm id /,
  /^Kernel message validation error/,
];

const LEVELS: ServicesLogLevel[] = ['debug', 'log', 'warn', 'error'];
const handlers = new Set<ServicesLogHandler>();
let originals: Partial<Record<ServicesLogLevel, (...args: unknown[]) => void>> | undefined;

export function routeServicesLogs(handler: ServicesLogHandler = () => {}): () => void {
  handlers.add(handler);
  if (!originals) {
    originals = {};
    for (const level of LEVELS) {
      const original = console[level].bind(console);
      originals[level] = original;
      console[level] = (...args: unknown[]) => {
        const first = args[0];
        if (typeof first === 'string' && SERVICES_LINES.some((re) => re.test(first))) {
          for (const h of handlers) h(level, args.map(String).join(' '));
          return;
        }
        original(...args);
      };
    }
  }
  return () => {
    handlers.delete(handler);
    if (handlers.size > 0 || !originals) return;
    for (const level of LEVELS) console[level] = originals[level]!;
    originals = undefined;
  };
}
