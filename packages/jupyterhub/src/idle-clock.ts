/**
 * When did the user last do something on a server? The Hub's `last_activity` and the kernels'
 * `last_activity` both move when the service itself talks to the server (its kernel listing, a
 * checkpoint, an announcement through the proxy), so the service notes when it last touched each
 * server and counts only activity after that (plus a slack for activity the server records a
 * moment after the service's request returned) as the user's.
 */
export const TOUCH_SLACK_MS = 2000;

export class IdleClock {
  private idleSince: number;
  private touchedUntil = -Infinity;

  constructor(startedAt: number) {
    this.idleSince = startedAt;
  }

  /** The service talked to the server up to `at` (ms since the epoch). */
  touched(at: number): void {
    this.touchedUntil = Math.max(this.touchedUntil, at);
  }

  /**
   * Takes in activity timestamps (ms; NaN/undefined ignored); returns true if one is the user's
   * (after the service's last touch) and newer than what was known.
   */
  observe(...activity: (number | undefined)[]): boolean {
    let moved = false;
    for (const at of activity) {
      if (at === undefined || !Number.isFinite(at)) continue;
      if (at <= this.touchedUntil + TOUCH_SLACK_MS) continue;
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

  /** Restart the idle period now (the server was just restored for the user). */
  reset(at: number): void {
    this.idleSince = at;
    this.touched(at);
  }
}
