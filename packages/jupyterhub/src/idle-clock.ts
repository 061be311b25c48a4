/**
 * When did the user last do something on a server? The Hub's `last_activity` and the kernels'
 * `last_activity` also move when the service itself works on the server, so the service notes
 * when it last did, and counts only activity after that (plus a slack for activity the server
 * records a moment after the service's request returned) as the user's. Two marks, because not
 * every visit moves both: a listing through the proxy (with no_track_activity) can move the Hub's
 * activity (the proxy's route timestamps), never a kernel's; a checkpoint moves both.
 */
export const TOUCH_SLACK_MS = 2000;

export type ActivitySource = 'hub' | 'kernels';

export class IdleClock {
  private idleSince: number;
  private readonly touchedUntil: Record<ActivitySource, number> = { hub: -Infinity, kernels: -Infinity };

  constructor(startedAt: number) {
    this.idleSince = startedAt;
  }

  /**
   * The service worked on the server up to `at` (ms since the epoch): through the proxy only
   * ('hub': a listing, an announcement), or with its kernels too ('kernels': a checkpoint, a restore).
   */
  touched(at: number, reach: ActivitySource = 'kernels'): void {
    this.touchedUntil.hub = Math.max(this.touchedUntil.hub, at);
    if (reach === 'kernels') this.touchedUntil.kernels = Math.max(this.touchedUntil.kernels, at);
  }

  /**
   * Takes in activity timestamps from one source (ms; NaN/undefined ignored); returns true if one
   * is the user's (after the service's last touch of that source) and newer than what was known.
   */
  observe(source: ActivitySource, ...activity: (number | undefined)[]): boolean {
    let moved = false;
    for (const at of activity) {
      if (at === undefined || !Number.isFinite(at)) continue;
      if (at <= this.touchedUntil[source] + TOUCH_SLACK_MS) continue;
      if (at > this.idleSince) {
        this.idleSince = at;
        moved = true;
      }
    }
    return moved;
  }

  /** The user's last activity (ms since the epoch). */
  get since(): number {
    return this.idleSince;
  }

  /** A new idle period from `at` (the server was just restored, or a kernel is busy now). */
  reset(at: number): void {
    this.idleSince = at;
  }
}
